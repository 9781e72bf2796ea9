"""Shared instruments as core facilities run them (大型科学仪器共享).

An instrument is a published listing of kind ``instrument``; its bookable hours are the
``bookings`` and ``booking_slots`` of marketplace.orders. This domain adds what a facility
needs around them:

* ``InstrumentSettings`` — how the instrument is used: 送样 (samples sent in, run by the
  facility's staff, priced per sample) and/or 上机 (self-operation by the hour, for
  qualified users), the approval rule, calendar rules, cancellation rules and billing.
* ``Qualification`` — who may operate it themselves, and until when (it lapses).
* ``BookingTerms`` — what a booking is beyond its hours: who operates, training or use, its
  approval, where an outage moved it from, the use actually recorded, a no-show or late
  cancellation and its fee.
* ``SampleOrder`` — samples sent in: received → testing → reported.
* ``Outage`` — maintenance or breakdown blocks.
* ``WaitlistEntry`` — waiting for a day that is full; offered a freed slot in turn.
* ``CalendarFeed`` — the secret address of an iCal feed, per user or per instrument.

Booking and outage times are Beijing wall-clock times, as ``bookings.start_at`` is (the
calendar's hours); every other timestamp is UTC.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organization, User
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.orders.models import Booking, Order

APPROVAL_RULES = ("instant", "manager")
LATE_RULES = ("none", "fee", "mark")  # late cancellation and no-show: nothing, a fee, or a mark
BILLING_RULES = ("booked", "used", "greater")
PURPOSES = ("use", "training")
APPROVALS = ("instant", "pending", "approved", "refused", "lapsed")
ATTENDANCE = ("", "no_show", "late_cancel")
SAMPLE_STATUSES = ("submitted", "received", "testing", "reported", "cancelled")
OUTAGE_KINDS = ("maintenance", "outage")
WAITLIST_STATUSES = ("waiting", "offered", "withdrawn")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class InstrumentSettings(db.Model):
    __tablename__ = "instrument_settings"
    __table_args__ = (
        CheckConstraint(_in("approval", APPROVAL_RULES), name="approval"),
        CheckConstraint(_in("late_rule", LATE_RULES), name="late_rule"),
        CheckConstraint(_in("billing", BILLING_RULES), name="billing"),
        CheckConstraint("sample_mode OR self_mode", name="some_mode"),
        CheckConstraint("hold_hours > 0 AND max_hours > 0 AND cancel_window_hours >= 0", name="hours"),
        CheckConstraint("late_fee_fen >= 0 AND (sample_price_fen IS NULL OR sample_price_fen > 0)"
                        " AND training_price_fen >= 0", name="prices"),
    )

    instrument_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), primary_key=True)
    sample_mode: Mapped[bool] = mapped_column(Boolean, default=False)  # 送样
    self_mode: Mapped[bool] = mapped_column(Boolean, default=True)  # 上机
    sample_price_fen: Mapped[int | None] = mapped_column(BigInteger)
    sample_days: Mapped[int] = mapped_column(Integer, default=5)  # usual days from receipt to report
    requires_training: Mapped[bool] = mapped_column(Boolean, default=False)
    training_hours: Mapped[int] = mapped_column(Integer, default=2)
    training_price_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    qualification_months: Mapped[int] = mapped_column(Integer, default=12)
    approval: Mapped[str] = mapped_column(String(8), default="instant")
    hold_hours: Mapped[int] = mapped_column(Integer, default=48)  # a pending request holds its hours this long
    weekly_quota_hours: Mapped[int | None] = mapped_column(Integer)  # per organisation and week
    overnight: Mapped[bool] = mapped_column(Boolean, default=False)  # runs past closing and over several days
    max_hours: Mapped[int] = mapped_column(Integer, default=12)
    cancel_window_hours: Mapped[int] = mapped_column(Integer, default=24)  # later than this before start is late
    late_rule: Mapped[str] = mapped_column(String(8), default="mark")
    late_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    billing: Mapped[str] = mapped_column(String(8), default="booked")
    specifications: Mapped[str] = mapped_column(Text, default="")
    accreditation: Mapped[str | None] = mapped_column(String(120))  # CMA / CNAS certificates
    latitude: Mapped[str | None] = mapped_column(String(12))
    longitude: Mapped[str | None] = mapped_column(String(12))

    instrument: Mapped[Listing] = relationship()


class Qualification(db.Model):
    """A user may operate an instrument themselves from ``qualified_on`` to ``expires_on``."""

    __tablename__ = "instrument_qualifications"
    __table_args__ = (UniqueConstraint("instrument_id", "user_id", name="uq_qualification_user"),
                      CheckConstraint("expires_on >= qualified_on", name="period"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    qualified_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    instrument: Mapped[Listing] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def valid_on(self, day: date) -> bool:
        return self.revoked_at is None and self.qualified_on <= day <= self.expires_on


class BookingTerms(db.Model):
    __tablename__ = "booking_terms"
    __table_args__ = (
        CheckConstraint(_in("purpose", PURPOSES), name="purpose"),
        CheckConstraint(_in("approval", APPROVALS), name="approval"),
        CheckConstraint(_in("attendance", ATTENDANCE), name="attendance"),
        CheckConstraint("penalty_fen >= 0", name="penalty"),
        CheckConstraint("used_end IS NULL OR used_end > used_start", name="used"),
    )

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # who operates
    purpose: Mapped[str] = mapped_column(String(8), default="use")
    approval: Mapped[str] = mapped_column(String(8), default="instant")
    hold_until: Mapped[datetime | None] = mapped_column(DateTime)  # UTC; a pending request lapses then
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    refusal_reason: Mapped[str | None] = mapped_column(String(300))
    series: Mapped[str | None] = mapped_column(String(16), index=True)  # recurring bookings made together
    moved_from: Mapped[datetime | None] = mapped_column(DateTime)  # the start before an outage moved it
    used_start: Mapped[datetime | None] = mapped_column(DateTime)  # Beijing wall-clock, as start_at
    used_end: Mapped[datetime | None] = mapped_column(DateTime)
    attendance: Mapped[str] = mapped_column(String(12), default="")
    penalty_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    booking: Mapped[Booking] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def used_hours(self) -> float | None:
        if self.used_start is None or self.used_end is None:
            return None
        return round((self.used_end - self.used_start).total_seconds() / 3600, 2)


class SampleOrder(db.Model):
    """Samples sent in (送样): the facility receives, tests and reports."""

    __tablename__ = "sample_orders"
    __table_args__ = (
        CheckConstraint(_in("status", SAMPLE_STATUSES), name="status"),
        CheckConstraint("samples > 0 AND amount_fen > 0", name="amounts"),
        CheckConstraint("samples_done IS NULL OR (samples_done >= 0 AND samples_done <= samples)", name="done"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    customer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    samples: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="submitted", index=True)
    samples_done: Mapped[int | None] = mapped_column(Integer)
    report: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(DateTime)
    testing_at: Mapped[datetime | None] = mapped_column(DateTime)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime)

    instrument: Mapped[Listing] = relationship()

    # The parties, as on an order, for the permission rules (BUY, SELL, VIEW_ORDER).
    @property
    def buyer_org_id(self) -> int:
        return self.customer_org_id

    @property
    def seller_org_id(self) -> int:
        return self.instrument.organization_id
    customer: Mapped[Organization] = relationship()
    order: Mapped[Order | None] = relationship()

    @property
    def ref(self) -> str:
        return f"SMP-{self.id}"


class Outage(db.Model):
    __tablename__ = "instrument_outages"
    __table_args__ = (CheckConstraint("end_at > start_at", name="period"),
                      CheckConstraint(_in("kind", OUTAGE_KINDS), name="kind"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="maintenance")
    start_at: Mapped[datetime] = mapped_column(DateTime)  # Beijing wall-clock
    end_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(300))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WaitlistEntry(db.Model):
    __tablename__ = "instrument_waitlist"
    __table_args__ = (UniqueConstraint("instrument_id", "user_id", "day", name="uq_waitlist_user_day"),
                      CheckConstraint(_in("status", WAITLIST_STATUSES), name="status"),
                      CheckConstraint("hours > 0", name="hours"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    day: Mapped[date] = mapped_column(Date)
    hours: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    offered_start: Mapped[datetime | None] = mapped_column(DateTime)  # Beijing wall-clock
    offered_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    user: Mapped[User] = relationship()


class CalendarFeed(db.Model):
    """The secret address of an iCal feed: of one user's bookings, or of one instrument's."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (CheckConstraint("(user_id IS NULL) <> (instrument_id IS NULL)", name="owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    instrument_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
