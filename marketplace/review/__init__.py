"""The city's side of claims: the review queue and its decisions, public notice (公示) and
objections, budgets per clause and the waiting queue, payouts by city finance."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.home.services import Action, add_action
    from marketplace.review import views

    app.register_blueprint(views.bp)
    add_action(app, (perm.REVIEWER, perm.ADMIN), Action(
        _l("Review queue"), "review.queue", _l("Subsidy claims waiting for the city's decision.")))
    add_action(app, (perm.FINANCE,), Action(
        _l("Payouts and budgets"), "review.payouts",
        _l("Budgets per clause, and approved claims to pay after their public notice.")))
