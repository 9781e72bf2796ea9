"""Payments through the gateway (Stripe), its webhooks, refunds and voucher receivables."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.payments import models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
