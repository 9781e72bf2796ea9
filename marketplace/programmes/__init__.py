"""The city's programmes beyond the market (issue 10): the high-tech enterprise cultivation
pool (1.3), the IP database by industry (4.3), science and technology commissioners (3.3),
the major project reserve (1.1), the five-year targets, and people's own data.

Read-only service functions for the API (each takes the acting user first and checks
permission; each returns JSON-ready lists of dicts)::

    list_pool(actor, status="admitted")          # cultivation pool, with each criterion
    list_ip(actor, q=None, industry=None, kind=None)
    list_commissioners(actor)                    # with their bases, projects and selections
    list_projects(actor, status=None)            # the city sees all; members their own
"""
from __future__ import annotations

from flask import Flask


def list_pool(actor, status: str | None = "admitted") -> list[dict]:
    from marketplace.programmes.cultivation import list_pool as f

    return f(actor, status)


def list_ip(actor, q: str | None = None, industry: str | None = None, kind: str | None = None) -> list[dict]:
    from marketplace.programmes.ipdb import list_ip as f

    return f(actor, q=q, industry=industry, kind=kind)


def list_commissioners(actor) -> list[dict]:
    from marketplace.programmes.commissioners import list_commissioners as f

    return f(actor)


def list_projects(actor, status: str | None = None) -> list[dict]:
    from marketplace.programmes.projects import list_projects as f

    return f(actor, status)


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.home.services import Action, add_action
    from marketplace.programmes import models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
    add_action(app, perm.ROLES, Action(
        _l("City programmes"), "programmes.index",
        _l("Cultivation pool, IP database, commissioners, project reserve, targets.")))
