"""The search domain: what the platform indexes (indexing.py, fed through the outbox) and the
/search pages (views.py). The backends themselves live in the top-level ``search`` package."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.search import indexing, views

    app.register_blueprint(views.bp)
    indexing.init_app(app)  # the "search" outbox topic and ``flask search``
