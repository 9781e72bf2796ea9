"""The JSON API (/api/v1) for programs acting as a user, with bearer tokens and an OpenAPI document."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.api import models, token_views, views  # noqa: F401 - models: the tables
    from marketplace.home.services import Action, add_action

    app.register_blueprint(views.bp)
    app.register_blueprint(token_views.bp)
    add_action(app, perm.MARKET_ROLES, Action(
        _l("API tokens"), "api_tokens.tokens", _l("Let your own programs use the platform's API.")))
