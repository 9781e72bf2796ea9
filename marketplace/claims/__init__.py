"""Subsidy claims (补贴申报): drafted from the rules engine for the transaction clauses (A1–A5),
filed with evidence for the award clauses (B1–B6, A2.national, A2.provincial), submitted by the
beneficiary and decided by the city (see ``marketplace.review``).

Public functions for other domains (keep these names):

* ``marketplace.claims.services.file_claim(actor, organization_id, kind, evidence, year, files=())``
* ``marketplace.claims.services.claims_for_export(year)``
* ``marketplace.claims.services.awards_by_clause(year)``
* ``marketplace.claims.services.budget_status(year)``, ``set_budget``, ``promote_waiting`` (claims/budgets.py)
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.claims import cli, drafting, models, views  # noqa: F401 - models: the tables
    from marketplace.home.services import Action, add_action

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
    drafting.init_app(app)  # the "claims" outbox topic: recompute a year after commit
    add_action(app, perm.MARKET_ROLES, Action(
        _l("My subsidy claims"), "claims.mine",
        _l("Claims drafted from your trade, and award claims filed with evidence.")))
