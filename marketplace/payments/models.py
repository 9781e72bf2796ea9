"""Payments, refunds, received webhook events, voucher receivables, and bank transfers
received with the statements they came in."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.states import Transitions
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order


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


class PaymentMethod(StrEnum):
    CARD = "card"  # the card gateway (Stripe)
    BANK = "bank"  # 对公转账: the buyer transfers, finance or the seller confirms receipt


METHODS = (PaymentMethod.CARD, PaymentMethod.BANK)


class Payment(db.Model):
    """What the buyer pays through a gateway (with a voucher: only its own share), for one
    instalment of the order (1 of 1 unless the accepted quote agreed more).

    By card ``gateway_id`` is the PaymentIntent id; by bank transfer it is the platform's
    reference the buyer writes on the transfer, and ``received_fen`` sums what has arrived."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount"),
        CheckConstraint("received_fen >= 0", name="received"),
        CheckConstraint("instalment BETWEEN 1 AND instalments", name="instalment"),
        CheckConstraint("method IN ('card', 'bank')", name="method"),
        # One live attempt per instalment of an order: a second payment of a part that is
        # being paid or is paid fails inside the database, whatever the concurrency (a failed
        # attempt may be followed by a new one).
        Index("uq_payments_order_live", "order_id", "instalment", unique=True,
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
    method: Mapped[str] = mapped_column(String(8), default=PaymentMethod.CARD, server_default="card")
    instalment: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    instalments: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    received_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

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


class TransferStatus(StrEnum):
    MATCHED = "matched"  # its payment is confirmed
    PARTIAL = "partial"  # carries a payment's reference, but less than it is due has arrived
    EXCESS = "excess"  # more than is due has arrived under the reference
    UNMATCHED = "unmatched"  # no reference found: a person matches it or returns it
    RETURNED = "returned"  # the money was sent back to the payer
    DUPLICATE = "duplicate"  # the same money was already recorded (a receipt confirmed by hand)


OPEN_TRANSFERS = (TransferStatus.PARTIAL, TransferStatus.EXCESS, TransferStatus.UNMATCHED)


class BankStatement(db.Model):
    """An imported bank statement (CSV): who imported it, how many rows, how many matched."""

    __tablename__ = "bank_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BankTransfer(db.Model):
    """Money that arrived on the payee account: a statement row, or a receipt a person confirmed.

    ``fingerprint`` is unique: a statement row imported twice (the same file again, or an
    overlapping export) is recognised and not counted twice."""

    __tablename__ = "bank_transfers"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount"),
        CheckConstraint("status IN ('matched', 'partial', 'excess', 'unmatched', 'returned', 'duplicate')", name="status"),
        CheckConstraint("source IN ('statement', 'manual')", name="source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("bank_statements.id"), index=True)
    line_no: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    value_date: Mapped[date] = mapped_column(Date)
    payer_name: Mapped[str] = mapped_column(String(200))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    remark: Mapped[str] = mapped_column(String(300), default="")
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    payment: Mapped[Payment | None] = relationship()
