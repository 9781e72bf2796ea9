"""The administrator's pages: organisations to verify, users and their roles."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.admin import views

    app.register_blueprint(views.bp)
