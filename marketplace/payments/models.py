"""Payments, refunds, received webhook events and voucher receivables."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.states import Transitions
from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.core.timeutil import utcnow


class PaymentStatus(StrEnum):
    PROCESSING = "processing"  # the live attempt: at most one per order
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a new attempt may follow
    REFUNDED = "refunded"


PAYMENT = Transitions("payment", {
    PaymentStatus.PROCESSING: {PaymentStatus.SUCCEEDED, PaymentStatus.FAILED},
    PaymentStatus.SUCCEEDED: {PaymentStatus.REFUNDED},
    PaymentStatus.FAILED: set(),
    PaymentStatus.REFUNDED: set(),
})
LIVE = (PaymentStatus.PROCESSING, PaymentStatus.SUCCEEDED)


class Payment(db.Model):
    """What the buyer pays through the gateway (with a voucher: only its own share)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount"),
        # One live attempt per order: a second payment of an order that is being paid or is
        # paid fails inside the database, whatever the concurrency (a failed attempt may be
        # followed by a new one).
        Index("uq_payments_order_live", "order_id", unique=True,
              sqlite_where=text("status IN ('processing', 'succeeded')"),
              postgresql_where=text("status IN ('processing', 'succeeded')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    gateway_id: Mapped[str] = mapped_column(String(80), unique=True)  # the PaymentIntent id
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="cny")
    status: Mapped[str] = mapped_column(String(12), default=PaymentStatus.PROCESSING)
    ledger_seq: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime)

    order: Mapped[Order] = relationship()


class Refund(db.Model):
    """A payment is refunded in full, once: ``payment_id`` is unique."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True, unique=True)
    gateway_id: Mapped[str] = mapped_column(String(80), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebhookEvent(db.Model):
    """Every gateway event handled, by its id: a replayed event finds itself here and does nothing."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class VoucherReceivable(db.Model):
    """The province's or the city's share of a voucher-paid fee, owed to the provider."""

    __tablename__ = "voucher_receivables"
    __table_args__ = (CheckConstraint("payer IN ('province', 'city')", name="payer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    payer: Mapped[str] = mapped_column(String(10))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="owed")  # owed, settled, void
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
