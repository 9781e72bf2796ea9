"""Each role's home page: what it can do and what waits for it."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.home import views

    app.register_blueprint(views.bp)
