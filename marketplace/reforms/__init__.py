"""Policy reforms (政策测算): "what would last year have cost under another rule?"

A reviewer or finance user copies the parameters in force into a named draft, edits values
with a reason, replays any past year's scenario under the draft with the same engine, and
reads a forecast; an administrator publishes a draft as new dated values. Drafts never touch
the claims; published values do, from their effective date on (``parameters.in_force``).
"""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.home.services import Action, add_action
    from marketplace.reforms import models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
    add_action(app, perm.CITY_ROLES, Action(
        _l("Policy reforms"), "reforms.index",
        _l("What would a year have cost under other rates, caps or thresholds? Draft, replay, forecast.")))
