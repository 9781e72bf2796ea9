"""Listings: achievements, instruments, services and demands, from draft to published."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.listings import models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
