"""Trade: enquiries and quotes, orders, technology contracts, instrument bookings, lease fees."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.orders import cli, models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
    cli.init_app(app)  # ``flask bookings`` and the worker's sweep of unpaid bookings
