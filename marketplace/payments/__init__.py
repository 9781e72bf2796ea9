"""Payments through the gateways (cards through Stripe, bank transfers with the platform's
references), webhooks, receipts of transfers and statement imports, refunds and voucher
receivables."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.home.services import Action, add_action
    from marketplace.payments import models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
    app.jinja_env.globals.update(payment_order_panel=views.order_panel)
    add_action(app, (perm.FINANCE, perm.ADMIN), Action(_l("Bank transfers"), "payments.transfers_page",
                                                       _l("Transfers awaited, statement imports, transfers to resolve.")))
