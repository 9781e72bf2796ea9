"""What a visitor keeps while choosing: favourites (收藏, stored per user) and the comparison
(对比, up to four listings held in the session, no login needed)."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    from marketplace import permissions as perm
    from marketplace.favourites import models, views  # noqa: F401 - models: the tables
    from marketplace.home.services import Action, add_action

    app.register_blueprint(views.bp)

    @app.context_processor
    def keeping():
        """For every page: the listings in the comparison (the top bar's count, the buttons'
        state) and ``starred(ids)``, the ones the user starred among those a page shows."""
        from flask import has_request_context, session
        from flask_login import current_user

        from marketplace.favourites import compare, services

        if not has_request_context():  # mail and documents rendered by the worker
            return {}
        return {"compare_ids": compare.held_ids(session.get(compare.SESSION_KEY)),
                "starred": lambda ids: services.starred_ids(current_user, list(ids))}
    add_action(app, perm.ROLES, Action(_l("Favourites"), "favourites.favourites",
                                       _l("Listings you starred, to come back to.")))
