"""The city's programmes beyond the market (issue 10): the high-tech enterprise cultivation
pool (1.3), the IP database by industry (4.3), science and technology commissioners (3.3),
the major project reserve (1.1), and the five-year targets.
Own data and account closing moved to accounts/; what other domains ask is in services.py.
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.home.services import Action, add_action
    from marketplace.programmes import models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
    add_action(app, perm.ROLES, Action(
        _l("City programmes"), "programmes.index",
        _l("Cultivation pool, IP database, commissioners, project reserve, targets.")))
