"""Sending the mail that services queue: after commit, through the outbox, never in a request.

``queue_mail`` (models.py) writes the message and a ("mail", id) outbox row in the caller's
transaction; this handler sends it with Flask-Mailman through the backend ``MAIL_BACKEND``
names — ``smtp`` in production, ``console`` in development (printed by the worker),
``locmem`` in tests — and stamps ``sent_at``. A notification's mail is written and sent in
one step from its notification (``services.compose_mail``, through ``deliver`` here) and
recorded as sent. A batch of messages goes over one connection; each is its own outbox row,
and the handler reports the ones that failed: a server that refuses a message leaves just
that one to be retried with the outbox's back-off, a connection lost midway leaves that
message and the ones after it, and a message that was sent is never sent again by a retry
of another.

Each message is a plain-text one: its headers are encoded here (``TextMail``) rather than by the
e-mail package's general machinery, which cost a third of a millisecond a message — a
message out of the common case (a long line, an address that is not plain ASCII, a charset
other than UTF-8) is built by Flask-Mailman as before.
"""
from __future__ import annotations

import functools
import logging
import re
import smtplib
from base64 import b64encode
from email.message import Message
from email.utils import formatdate, make_msgid

from flask import Flask, current_app
from flask_mailman import EmailMessage, Mail
from flask_mailman.backends import smtp
from flask_mailman.message import BadHeaderError, sanitize_address
from flask_mailman.utils import DNS_NAME
from sqlalchemy import select, update

from marketplace import outbox
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import lock_for_writing
from marketplace.extensions import db
from marketplace.notifications.models import MAIL_TOPIC, OutgoingMail

mail = Mail()
log = logging.getLogger(__name__)


def _connection():
    """A connection from the settings as they are now (tests point them at their own server)."""
    config = current_app.config
    backend = SMTPBackend if config["MAIL_BACKEND"] == "smtp" else config["MAIL_BACKEND"]
    return mail.get_connection(
        backend=backend, host=config["MAIL_SERVER"], port=config["MAIL_PORT"],
        username=config["MAIL_USERNAME"] or None, password=config["MAIL_PASSWORD"] or None,
        use_tls=config["MAIL_USE_TLS"], use_ssl=config["MAIL_USE_SSL"], timeout=config["MAIL_TIMEOUT"])


# --- one message ---------------------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
# RFC 5322 lines are kept within 78 characters: "Subject: " and an encoded word of 42 bytes
# (56 base64 characters) on the first line, a space and one of 45 bytes (60) on the next ones,
# each word within RFC 2047's 75 characters.
_FIRST_WORD, _NEXT_WORD = 42, 45
_PLAIN_SUBJECT = 78 - len("Subject: ")


def _encoded_words(text: str) -> str:
    """``text`` as RFC 2047 encoded words (UTF-8, base64), folded; no character is split."""
    data = text.encode("utf-8")
    words, start, room = [], 0, _FIRST_WORD
    while start < len(data):
        end = min(len(data), start + room)
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a continuation byte: not inside a character
            end -= 1
        words.append("=?utf-8?b?" + b64encode(data[start:end]).decode("ascii") + "?=")
        start, room = end, _NEXT_WORD
    return "\n ".join(words)


@functools.lru_cache(maxsize=16)
def _from_header(sender: str) -> str:
    """The From header of ``sender`` (the same for every message: encoded once)."""
    return sanitize_address(sender, "utf-8")


class _Wire(Message):
    """A message whose headers are encoded already and whose body is 8-bit UTF-8 text: flattened
    as it is, with the line ends asked for."""

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        head = "".join(f"{name}: {value}\n" for name, value in self.items())
        return _LINE_BREAK.sub(linesep, head + "\n" + self.get_payload())

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        return self.as_string(unixfrom, linesep).encode("utf-8")


class TextMail(EmailMessage):
    """A plain-text message to one recipient, its headers encoded here in the common case."""

    def message(self):
        wire = self._wire()
        return wire if wire is not None else super().message()

    def _wire(self) -> _Wire | None:
        mailman = current_app.extensions["mailman"]
        subject, body = str(self.subject), self.body
        if "\n" in subject or "\r" in subject:  # (the same refusal as Flask-Mailman's)
            raise BadHeaderError(f"a mail's subject must be one line: {subject!r}")
        if ((self.encoding or mailman.default_charset).lower() != "utf-8" or self.cc or self.reply_to
                or self.extra_headers or self.attachments or len(self.to) != 1
                or not _PLAIN_ADDRESS.fullmatch(self.to[0])
                or any(len(line.encode("utf-8", "surrogateescape")) > 998 for line in body.splitlines())):
            return None
        if subject.isascii() and "=?" not in subject:  # ("=?": a reader would decode it as a word)
            if len(subject) > _PLAIN_SUBJECT:
                return None  # (folded at its spaces by Flask-Mailman)
        else:
            subject = _encoded_words(subject)
        wire = _Wire()
        for name, value in (("Content-Type", 'text/plain; charset="utf-8"'), ("MIME-Version", "1.0"),
                            ("Content-Transfer-Encoding", "8bit"), ("Subject", subject),
                            ("From", _from_header(self.from_email)), ("To", self.to[0]),
                            ("Date", formatdate(localtime=mailman.use_localtime)),
                            ("Message-ID", make_msgid(domain=DNS_NAME))):
            wire[name] = value
        wire.set_payload(body)
        return wire


@functools.lru_cache(maxsize=256)
def _envelope_address(address: str, encoding: str) -> str:
    """An address as the SMTP envelope takes it (``MAIL FROM``, ``RCPT TO``): a plain ASCII one
    as it is, any other as Flask-Mailman formats it — once (the sender is the same every time)."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return address
    return sanitize_address(address, encoding)


class SMTPBackend(smtp.EmailBackend):
    """Flask-Mailman's SMTP backend, the envelope's addresses formatted once each (its own
    parsed and encoded the sender's Chinese name twice for every message)."""

    def _send(self, email_message) -> bool:
        recipients = email_message.recipients()
        if not recipients:
            return False
        encoding = email_message.encoding or self.mailman.default_charset
        try:
            self.connection.sendmail(_envelope_address(email_message.from_email, encoding),
                                     [_envelope_address(address, encoding) for address in recipients],
                                     email_message.message().as_bytes(linesep="\r\n"),
                                     mail_options=self.mailman.mail_options)
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True


# --- a batch of messages -------------------------------------------------------------------------

# The server answered about this message (a refused recipient, sender or content): the
# connection is still good for the next one.
REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)
# Messages sent over one connection, at most (each still its own outbox row).
BATCH = 100


def deliver(messages: list[tuple[str, str, str, str]]) -> tuple[list[str], dict[str, Exception]]:
    """Send these ``(key, recipient, subject, body)`` messages over one connection, in order.
    Returns the keys sent and the keys that failed (key: error): a refused message alone, a
    lost connection that message and every one after it. A server that cannot be reached
    raises (nothing was sent)."""
    sent: list[str] = []
    failed: dict[str, Exception] = {}
    if not messages:
        return sent, failed
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    connection = _connection()
    connection.open()
    try:
        for n, (key, recipient, subject, body) in enumerate(messages):
            try:
                TextMail(subject=subject, body=body, from_email=sender, to=[recipient], connection=connection).send()
            except REFUSED as exc:
                failed[key] = exc
                continue
            except (smtplib.SMTPException, OSError) as exc:  # the connection is gone: these wait
                for left in messages[n:]:
                    failed[left[0]] = exc
                break
            sent.append(key)
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - what was sent is sent: stamp it all the same
            log.warning("closing the mail connection failed", exc_info=True)
    return sent, failed


def send(keys: list[str]) -> dict[str, Exception]:
    """The outbox handler: send each queued message not sent yet over one connection, stamp the
    ones sent, and return the ones that failed (key: error) for the outbox to retry alone."""
    ids = [int(key) for key in keys]
    rows = db.session.execute(select(OutgoingMail.id, OutgoingMail.recipient, OutgoingMail.subject,
                                     OutgoingMail.body)
                              .where(OutgoingMail.id.in_(ids), OutgoingMail.sent_at.is_(None))
                              .order_by(OutgoingMail.id)).all()
    sent, failed = deliver([(str(row.id), row.recipient, row.subject, row.body) for row in rows])
    if sent:
        lock_for_writing()  # (registered with sends=True: nothing was locked while sending)
        db.session.execute(update(OutgoingMail).where(OutgoingMail.id.in_([int(key) for key in sent]))
                           .values(sent_at=utcnow()).execution_options(synchronize_session=False))
    return failed


def init_app(app: Flask) -> None:
    mail.init_app(app)
    from marketplace.notifications.services import COMPOSE_TOPIC, compose_mail

    # (both send before they write: no web request waits for the database while they talk to
    # the mail server)
    outbox.register(app, COMPOSE_TOPIC, compose_mail, batch=BATCH, sends=True)
    outbox.register(app, MAIL_TOPIC, send, batch=BATCH, sends=True)
