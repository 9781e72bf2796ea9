"""Sending the mail that services queue: after commit, through the outbox, never in a request.

``queue_mail`` (models.py) writes the message and a ("mail", id) outbox row in the caller's
transaction; this handler sends it with Flask-Mailman through the backend ``MAIL_BACKEND``
names — ``smtp`` in production, ``console`` in development (printed by the worker),
``locmem`` in tests — and stamps ``sent_at``. A batch of messages goes over one connection;
each is its own outbox row, and the handler reports the ones that failed: a server that
refuses a message leaves just that one to be retried with the outbox's back-off, a connection
lost midway leaves that message and the ones after it, and a message that was sent is never
sent again by a retry of another.
"""
from __future__ import annotations

import logging
import smtplib

from flask import Flask, current_app
from flask_mailman import EmailMessage, Mail
from sqlalchemy import select

from marketplace import outbox
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.notifications.models import MAIL_TOPIC, OutgoingMail

mail = Mail()
log = logging.getLogger(__name__)


def _connection():
    """A connection from the settings as they are now (tests point them at their own server)."""
    config = current_app.config
    return mail.get_connection(
        backend=config["MAIL_BACKEND"], host=config["MAIL_SERVER"], port=config["MAIL_PORT"],
        username=config["MAIL_USERNAME"] or None, password=config["MAIL_PASSWORD"] or None,
        use_tls=config["MAIL_USE_TLS"], use_ssl=config["MAIL_USE_SSL"], timeout=config["MAIL_TIMEOUT"])


# The server answered about this message (a refused recipient, sender or content): the
# connection is still good for the next one.
REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)
# Messages sent over one connection, at most (each still its own outbox row).
BATCH = 100


def send(keys: list[str]) -> dict[str, Exception]:
    """The outbox handler: send each queued message not sent yet over one connection, stamp the
    ones sent, and return the ones that failed (key: error) for the outbox to retry alone."""
    ids = [int(key) for key in keys]
    messages = list(db.session.scalars(select(OutgoingMail).where(OutgoingMail.id.in_(ids),
                                                                  OutgoingMail.sent_at.is_(None))
                                       .order_by(OutgoingMail.id)))
    failed: dict[str, Exception] = {}
    if not messages:
        return failed
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    connection = _connection()
    connection.open()  # a server that cannot be reached fails the whole batch (nothing was sent)
    try:
        for n, message in enumerate(messages):
            try:
                EmailMessage(subject=message.subject, body=message.body, from_email=sender,
                             to=[message.recipient], connection=connection).send()
            except REFUSED as exc:
                failed[str(message.id)] = exc
                continue
            except (smtplib.SMTPException, OSError) as exc:  # the connection is gone: these wait
                for left in messages[n:]:
                    failed[str(left.id)] = exc
                break
            message.sent_at = utcnow()
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - what was sent is sent: stamp it all the same
            log.warning("closing the mail connection failed", exc_info=True)
    return failed


def init_app(app: Flask) -> None:
    mail.init_app(app)
    from marketplace.notifications.services import COMPOSE_TOPIC, compose_mail

    # (before the mail topic: a drain writes the notifications' mail, then sends it)
    outbox.register(app, COMPOSE_TOPIC, compose_mail, batch=BATCH)
    outbox.register(app, MAIL_TOPIC, send, batch=BATCH)
