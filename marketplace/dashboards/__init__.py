"""The city's dashboard and exports: turnover, awards, budgets, the county R&D indicator."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import outbox, worker
    from marketplace import permissions as perm
    from marketplace.dashboards import cli, models, stored, views  # noqa: F401 - models: the tables
    from marketplace.home.services import Action, add_action

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.cli)
    # The year's turnover sums kept in the database: brought forward after each ledger append
    # (the ledger enqueues the entry's year), and every year of the ledger stored by a timed job.
    outbox.register(app, stored.TOPIC, stored.handle)
    worker.schedule(app, "dashboards.sums", stored.SUMS_EVERY_SECONDS, stored.store_every_year)
    for action in (Action(_l("Dashboard"), "dashboards.overview",
                          _l("Turnover by month and county, awards and budgets by clause, the county R&D "
                             "indicator.")),
                   Action(_l("Exports"), "dashboards.exports",
                          _l("The ledger and the awards of a year, as Excel or CSV files."))):
        add_action(app, perm.CITY_ROLES, action)
