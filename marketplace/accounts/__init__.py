"""Organisations, users and memberships: registering, logging in, inviting, verifying."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.accounts import models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
