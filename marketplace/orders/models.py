"""Enquiries, orders, technology contracts, instrument bookings and lease fees."""
from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organization
from marketplace.core.states import Transitions
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.listings.models import Listing


class EnquiryStatus(StrEnum):
    OPEN = "open"  # asked, not answered
    QUOTED = "quoted"  # the seller quoted (a new quote replaces the last)
    ORDERED = "ordered"  # the buyer accepted the quote: one order
    ON_NOTICE = "on_notice"  # a university's agreed price stands on public notice before the order
    CLOSED = "closed"  # the demand was closed, or another proposal was chosen


class OrderStatus(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    DELIVERED = "delivered"  # the buyer confirmed, or the provider completed the booking
    REFUNDED = "refunded"
    CANCELLED = "cancelled"  # unpaid and given up (a booking cancelled or expired)


class BookingStatus(StrEnum):
    BOOKED = "booked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # unpaid past BOOKING_PAYMENT_MINUTES: its hours are free again


ENQUIRY = Transitions("enquiry", {
    EnquiryStatus.OPEN: {EnquiryStatus.QUOTED, EnquiryStatus.CLOSED},
    EnquiryStatus.QUOTED: {EnquiryStatus.QUOTED, EnquiryStatus.ORDERED, EnquiryStatus.ON_NOTICE, EnquiryStatus.CLOSED},
    EnquiryStatus.ON_NOTICE: {EnquiryStatus.ORDERED, EnquiryStatus.CLOSED},
    EnquiryStatus.ORDERED: set(),
    EnquiryStatus.CLOSED: set(),
})
ORDER = Transitions("order", {
    OrderStatus.PENDING_PAYMENT: {OrderStatus.PAID, OrderStatus.CANCELLED},
    OrderStatus.PAID: {OrderStatus.DELIVERED, OrderStatus.REFUNDED},
    OrderStatus.DELIVERED: {OrderStatus.REFUNDED},
    OrderStatus.REFUNDED: set(),
    OrderStatus.CANCELLED: set(),
})
BOOKING = Transitions("booking", {
    BookingStatus.BOOKED: {BookingStatus.COMPLETED, BookingStatus.CANCELLED, BookingStatus.EXPIRED},
    BookingStatus.COMPLETED: set(),
    BookingStatus.CANCELLED: set(),
    BookingStatus.EXPIRED: set(),
})

ORDER_STATUSES = tuple(OrderStatus)
CONTRACT_TYPES = ("development", "transfer", "consulting", "service")  # 技术开发/转让/咨询/服务


class Enquiry(db.Model):
    """An enterprise asks; the seller answers with a quote; the buyer accepts it as an order."""

    __tablename__ = "enquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    buyer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=EnquiryStatus.OPEN)
    quote_fen: Mapped[int | None] = mapped_column(BigInteger)
    quote_note: Mapped[str | None] = mapped_column(Text)
    transfer_mode: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    quoted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # On a demand (需求) the responder is the seller and the organisation that posted it the
    # buyer; on every other listing this is empty and the listing's owner sells.
    responder_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)

    listing: Mapped[Listing] = relationship()
    buyer: Mapped[Organization] = relationship(foreign_keys=[buyer_org_id])
    responder: Mapped[Organization | None] = relationship(foreign_keys=[responder_org_id])

    @property
    def seller_org_id(self) -> int:
        return self.responder_org_id if self.responder_org_id is not None else self.listing.organization_id

    @property
    def seller_org(self) -> Organization:
        return self.responder if self.responder_org_id is not None else self.listing.organization


# The references under which orders, contracts and bookings stand in the ledger, from their ids
# (a read of the ids alone, without the rows, names them the same way).
def order_ref(order_id: int) -> str:
    return f"ORD-{order_id}"


def contract_ref(contract_id: int) -> str:
    return f"CTR-{contract_id}"


def booking_ref(booking_id: int) -> str:
    return f"BKG-{booking_id}"


def voucher_ref(order_id: int) -> str:
    """A voucher order's payment and its redemption stand under this (business_ref)."""
    return f"VCH-{order_id}"


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount"),
        CheckConstraint("status IN ('pending_payment', 'paid', 'delivered', 'refunded', 'cancelled')", name="status"),
        CheckConstraint("province_fen + city_fen + enterprise_fen = amount_fen", name="split"),
        # A quote is accepted once: one order per enquiry.
        Index("uq_orders_enquiry_id", "enquiry_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    enquiry_id: Mapped[int | None] = mapped_column(ForeignKey("enquiries.id"))
    kind: Mapped[str] = mapped_column(String(16))  # service, licence, booking
    transfer_mode: Mapped[str | None] = mapped_column(String(24))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # Who pays the fee: with an innovation voucher the province and city owe their shares (A3).
    with_voucher: Mapped[bool] = mapped_column(Boolean, default=False)
    province_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    city_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    enterprise_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING_PAYMENT, index=True)
    related_party: Mapped[bool] = mapped_column(Boolean, default=False)  # buyer and seller share a member
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)

    listing: Mapped[Listing] = relationship()
    buyer: Mapped[Organization] = relationship(foreign_keys=[buyer_org_id])
    seller: Mapped[Organization] = relationship(foreign_keys=[seller_org_id])
    contract: Mapped["TechContract | None"] = relationship(back_populates="order", uselist=False)
    booking: Mapped["Booking | None"] = relationship(back_populates="order", uselist=False)

    @property
    def ref(self) -> str:
        return order_ref(self.id)


class TechContract(db.Model):
    """A technology contract (技术合同); it counts for subsidies once registered (认定登记)."""

    __tablename__ = "tech_contracts"
    __table_args__ = (
        CheckConstraint("contract_type IN ('development', 'transfer', 'consulting', 'service')", name="type"),
        CheckConstraint("amount_fen > 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    contract_type: Mapped[str] = mapped_column(String(12))
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    broker_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    project: Mapped[str | None] = mapped_column(String(60))  # the achievement it transfers, e.g. ACH-3
    transformed_in_city: Mapped[bool] = mapped_column(Boolean, default=True)
    registration_no: Mapped[str | None] = mapped_column(String(40), unique=True)  # 认定登记编号
    registered_on: Mapped[date | None] = mapped_column(Date)
    signed_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    order: Mapped[Order | None] = relationship(back_populates="contract")
    seller: Mapped[Organization] = relationship(foreign_keys=[seller_org_id])
    buyer: Mapped[Organization] = relationship(foreign_keys=[buyer_org_id])
    broker: Mapped[Organization | None] = relationship(foreign_keys=[broker_org_id])

    @property
    def ref(self) -> str:
        return contract_ref(self.id)

    @property
    def transfer_kind(self) -> str | None:
        """A transfer contract's kind for the value-added rule (CLAUSES.md A1): "licence" (许可)
        when the achievement was sold as an exclusive or non-exclusive licence, else "assignment"
        (转让: the right itself changes hands). None for the other contract types."""
        if self.contract_type != "transfer":
            return None
        mode = self.order.transfer_mode if self.order is not None else None
        return "licence" if mode in ("exclusive_licence", "non_exclusive_licence") else "assignment"


class Booking(db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="period"),
        # a customer's and an instrument's bookings, newest first (marketplace.core.paging)
        Index("ix_bookings_customer_start", "customer_org_id", "start_at", "id"),
        Index("ix_bookings_instrument_start", "instrument_id", "start_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    customer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    samples: Mapped[int | None] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    self_use: Mapped[bool] = mapped_column(Boolean, default=False)  # the owner's own use
    status: Mapped[str] = mapped_column(String(12), default=BookingStatus.BOOKED)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    instrument: Mapped[Listing] = relationship()
    customer: Mapped[Organization] = relationship()
    order: Mapped[Order | None] = relationship(back_populates="booking")

    # The parties, named as on an order, for the permission rules (BUY, SELL): the customer
    # buys the instrument's time from its owner (who is both on the owner's own use).
    @property
    def buyer_org_id(self) -> int:
        return self.customer_org_id

    @property
    def seller_org_id(self) -> int:
        return self.instrument.organization_id

    @property
    def ref(self) -> str:
        return booking_ref(self.id)


class BookingSlot(db.Model):
    """One hour of one instrument held by a booking. The unique key is what makes double
    booking impossible on every database, whatever the concurrency: the second insert of
    the same hour fails inside the database."""

    __tablename__ = "booking_slots"
    __table_args__ = (UniqueConstraint("instrument_id", "slot_start", name="uq_booking_slots_instrument_hour"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("listings.id"))
    slot_start: Mapped[datetime] = mapped_column(DateTime)


class LeasePayment(db.Model):
    """A lease fee paid for a financially leased instrument (A5)."""

    __tablename__ = "lease_payments"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    lessee_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    instrument: Mapped[Listing] = relationship()

    @property
    def ref(self) -> str:
        return f"LSE-{self.id}"
