"""Sending the mail that services queue: after commit, through the outbox, never in a request.

``queue_mail`` (models.py) writes the message and a ("mail", id) outbox row in the caller's
transaction; this handler sends it with Flask-Mailman through the backend ``MAIL_BACKEND``
names — ``smtp`` in production, ``console`` in development (printed by the worker),
``locmem`` in tests — and stamps ``sent_at``. One message per outbox row: a server that
refuses a message leaves just that one to be retried with the outbox's back-off, and a message
that was sent is never sent again by a retry of another.
"""
from __future__ import annotations

from flask import Flask, current_app
from flask_mailman import EmailMessage, Mail
from sqlalchemy import select

from marketplace import outbox
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.notifications.models import MAIL_TOPIC, OutgoingMail

mail = Mail()


def _connection():
    """A connection from the settings as they are now (tests point them at their own server)."""
    config = current_app.config
    return mail.get_connection(
        backend=config["MAIL_BACKEND"], host=config["MAIL_SERVER"], port=config["MAIL_PORT"],
        username=config["MAIL_USERNAME"] or None, password=config["MAIL_PASSWORD"] or None,
        use_tls=config["MAIL_USE_TLS"], use_ssl=config["MAIL_USE_SSL"], timeout=config["MAIL_TIMEOUT"])


def send(keys: list[str]) -> None:
    """The outbox handler: send each queued message not sent yet, and stamp it."""
    ids = [int(key) for key in keys]
    messages = list(db.session.scalars(select(OutgoingMail).where(OutgoingMail.id.in_(ids),
                                                                  OutgoingMail.sent_at.is_(None))))
    if not messages:
        return
    with _connection() as connection:
        for message in messages:
            EmailMessage(subject=message.subject, body=message.body,
                         from_email=current_app.config["MAIL_DEFAULT_SENDER"], to=[message.recipient],
                         connection=connection).send()
            message.sent_at = utcnow()


def init_app(app: Flask) -> None:
    mail.init_app(app)
    outbox.register(app, MAIL_TOPIC, send, batch=1)
