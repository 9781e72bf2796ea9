from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.instruments import cli, models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
    cli.init_app(app)  # ``flask instruments`` and the worker's lapse of unanswered requests
