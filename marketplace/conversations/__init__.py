"""Conversations between the parties of a record: threads and messages, negotiation (quote
versions), demands answered by responders, the agreed-price public notice (协议定价公示) and
the timed reminders. See models.py for the tables."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.conversations import jobs, models, views  # noqa: F401 - models: the tables

    app.register_blueprint(views.bp)
    jobs.init_app(app)  # the timed reminders and the price-notice sweeps, run by the worker
