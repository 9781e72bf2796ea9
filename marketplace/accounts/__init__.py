"""Organisations, users and memberships: registering, logging in, inviting, verifying; a user's
API tokens, the download of one's own data and closing one's account."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.accounts import models, views  # noqa: F401 - models: the tables
    from marketplace.home.services import Action, add_action

    app.register_blueprint(views.bp)
    add_action(app, perm.MARKET_ROLES, Action(
        _l("API tokens"), "accounts.tokens", _l("Let your own programs use the platform's API.")))
