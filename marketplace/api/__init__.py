"""The JSON API (/api/v1) for programs acting as a user, with bearer tokens and an OpenAPI document.
The tokens themselves (the table, the account page) belong to accounts/."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.api import views

    app.register_blueprint(views.bp)
