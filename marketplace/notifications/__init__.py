"""Notices on the site and mail, sent after commit through the outbox."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.notifications import mail, models  # noqa: F401 - models: the tables

    mail.init_app(app)
