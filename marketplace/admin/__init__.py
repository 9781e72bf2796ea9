"""The administrator's pages: organisations to verify, the audit log, outgoing mail."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.admin import views

    app.register_blueprint(views.bp)
