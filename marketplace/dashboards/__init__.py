"""The city's dashboard and exports: turnover, awards, budgets, the county R&D indicator."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.dashboards import models, views  # noqa: F401 - models: the tables
    from marketplace.home.services import Action, add_action

    app.register_blueprint(views.bp)
    for action in (Action(_l("Dashboard"), "dashboards.overview",
                          _l("Turnover by month and county, awards and budgets by clause, the county R&D "
                             "indicator.")),
                   Action(_l("Exports"), "dashboards.exports",
                          _l("The ledger and the awards of a year, as Excel or CSV files."))):
        add_action(app, perm.CITY_ROLES, action)
