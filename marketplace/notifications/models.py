"""Outgoing mail and in-app notifications.

Mail is written inside the caller's transaction with a ("mail", id) outbox row, so a message
is only sent for work that committed; ``marketplace.notifications.mail`` sends it after
commit (the worker, or the end of the request in inline mode) and stamps ``sent_at``. A
notification's mail is written from the notification after commit and recorded here once
sent. The messages stay in the table, where an administrator can read them.
"""
from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db


class OutgoingMail(db.Model):
    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    message: Mapped[str] = mapped_column(String(300))
    link: Mapped[str | None] = mapped_column(String(300))
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Specific notifications (marketplace.notifications.services.tell): the kind a user may
    # switch off, and the names and amounts the text is written with, in JSON; the text itself
    # is translated when shown, in the reader's language.
    kind: Mapped[str | None] = mapped_column(String(20))
    params: Mapped[str | None] = mapped_column(Text)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class NotificationPreference(db.Model):
    """A user's choice for one kind of notification on one channel (in-app, mail); no row
    means the default (on)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


MAIL_TOPIC = "mail"


def queue_mail(recipient: str, subject: str, body: str) -> OutgoingMail:
    """Send this message once the caller's transaction commits."""
    from marketplace.outbox import enqueue

    mail = OutgoingMail(recipient=recipient, subject=subject, body=body)
    db.session.add(mail)
    db.session.flush()  # (its id is the outbox key)
    enqueue(MAIL_TOPIC, str(mail.id))
    return mail


def notify(user_id: int, message: str, link: str | None = None) -> None:
    """A plain notice (``message`` a notice label) for one user, written at once in the caller's
    transaction through the table (an ORM row flushed at commit cost more than the INSERT)."""
    db.session.execute(_insert_notice(), {"user_id": user_id, "message": message, "link": link})


@functools.cache
def _insert_notice():
    return Notification.__table__.insert()
