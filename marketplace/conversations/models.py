"""Threads, quote versions, agreed-price notices and what the reminders already said.

A thread belongs to a record by a generic subject (``subject_kind``, ``subject_id``):
an enquiry, order, booking, claim or voucher application (a domain registers its kind with
``marketplace.conversations.threads.register_subject``). Messages are never edited or
deleted: the thread is the record's history.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organization, User
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db


class Thread(db.Model):
    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", name="uq_threads_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    messages: Mapped[list["ThreadMessage"]] = relationship(back_populates="thread", order_by="ThreadMessage.id")


class ThreadMessage(db.Model):
    __tablename__ = "thread_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    thread: Mapped[Thread] = relationship(back_populates="messages")
    author: Mapped[User] = relationship()
    organization: Mapped[Organization | None] = relationship()
    attachments: Mapped[list["ThreadAttachment"]] = relationship(back_populates="message",
                                                                 order_by="ThreadAttachment.id")


class ThreadAttachment(db.Model):
    """A file sent in a thread, checked and stored like every upload (core/uploads)."""

    __tablename__ = "thread_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("thread_messages.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))

    message: Mapped[ThreadMessage] = relationship(back_populates="attachments")


class ThreadRead(db.Model):
    """Read receipt: the last message of a thread a user has seen."""

    __tablename__ = "thread_reads"

    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    last_message_id: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship()


VERSION_STATUSES = ("open", "accepted", "declined", "countered", "withdrawn", "expired")


class QuoteVersion(db.Model):
    """One version of the terms of an enquiry (a quote, a proposal on a demand, a counter).
    Either side makes one; the other side accepts it, declines it with a reason or counters
    it with the next version. Versions are never changed but for their status."""

    __tablename__ = "quote_versions"
    __table_args__ = (
        UniqueConstraint("enquiry_id", "version", name="uq_quote_versions_enquiry_version"),
        CheckConstraint("price_fen > 0", name="price"),
        CheckConstraint("instalments BETWEEN 1 AND 12", name="instalments"),
        CheckConstraint("side IN ('seller', 'buyer')", name="side"),
        CheckConstraint("status IN ('open', 'accepted', 'declined', 'countered', 'withdrawn', 'expired')",
                        name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(ForeignKey("enquiries.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    side: Mapped[str] = mapped_column(String(6))  # who made it: the seller's side or the buyer's
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    delivery_on: Mapped[date | None] = mapped_column(Date)
    instalments: Mapped[int] = mapped_column(Integer, default=1)
    valid_until: Mapped[date] = mapped_column(Date)  # may be accepted up to and including this day
    notice_days: Mapped[int | None] = mapped_column(Integer)  # the seller's agreed-price notice period
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was declined
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User] = relationship(foreign_keys=[author_id])


NOTICE_STATUSES = ("on_notice", "cleared", "withdrawn")


class PriceNotice(db.Model):
    """The agreed-price public notice (协议定价公示, 促进科技成果转化法 art. 18): a university or
    public institute that sells at a negotiated price publishes the achievement and the price
    for a period it sets; the contract is signed and paid only after the period ended with no
    objection upheld. ``withdrawn`` when the seller upheld an objection."""

    __tablename__ = "price_notices"
    __table_args__ = (CheckConstraint("status IN ('on_notice', 'cleared', 'withdrawn')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(ForeignKey("enquiries.id"), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("quote_versions.id"))
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    title: Mapped[str] = mapped_column(String(200))
    price_fen: Mapped[int] = mapped_column(BigInteger)
    notice_from: Mapped[date] = mapped_column(Date)
    notice_until: Mapped[date] = mapped_column(Date)  # excluded: the contract may be signed from this day
    status: Mapped[str] = mapped_column(String(10), default="on_notice", index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    seller: Mapped[Organization] = relationship(foreign_keys=[seller_org_id])
    buyer: Mapped[Organization] = relationship(foreign_keys=[buyer_org_id])
    objections: Mapped[list["PriceObjection"]] = relationship(back_populates="notice", order_by="PriceObjection.id")


class PriceObjection(db.Model):
    """An objection to an agreed price on notice, by a logged-in user; the seller decides it."""

    __tablename__ = "price_objections"
    __table_args__ = (CheckConstraint("status IN ('open', 'upheld', 'dismissed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("price_notices.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)

    notice: Mapped[PriceNotice] = relationship(back_populates="objections")
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class AttachmentGrant(db.Model):
    """The seller let one enquirer's organisation see a listing's confidential files."""

    __tablename__ = "attachment_grants"
    __table_args__ = (UniqueConstraint("listing_id", "organization_id", name="uq_attachment_grants_listing_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReminderSent(db.Model):
    """A timed reminder that was sent (the key makes each one go out once, whichever worker)."""

    __tablename__ = "reminders_sent"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
