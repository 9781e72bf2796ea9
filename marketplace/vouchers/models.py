"""Voucher applications, vouchers and their reservations, provider admissions, deliveries
(with acceptance and rating), redemption batches and the city's dated voucher settings."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organization
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.orders.models import Order

APPLICATION_STATUSES = ("pending", "material_requested", "approved", "rejected")
VOUCHER_STATUSES = ("active", "lapsed")
RESERVATION_STATUSES = ("reserved", "redeemed", "released")
ADMISSION_STATUSES = ("pending", "admitted", "suspended", "removed", "rejected")
DELIVERY_STATUSES = ("delivered", "accepted", "auto_accepted", "disputed")
BATCH_STATUSES = ("open", "paid")
MODES = ("exchange", "general")  # 通兑: the provider is paid the public shares; 通用: the enterprise is reimbursed
SETTING_KEYS = ("yearly_cap_fen", "use_months", "redeem_months")


def _in(column, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class VoucherApplication(db.Model):
    """An organisation applies (申领) for a voucher for a year; the city decides."""

    __tablename__ = "voucher_applications"
    __table_args__ = (CheckConstraint(_in("status", APPLICATION_STATUSES), name="status"),
                      CheckConstraint("planned_fen > 0", name="planned"))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    year: Mapped[int] = mapped_column(Integer)
    planned_fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(10), default="exchange")
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    approved_fen: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)  # the reviewer's reason or request
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()

    @property
    def ref(self) -> str:
        return f"VAP-{self.id}"


class Voucher(db.Model):
    """An issued voucher. Its balance is amount − used − reserved − lapsed; every change is a
    conditional UPDATE, and the check constraint is the backstop: never below zero."""

    __tablename__ = "vouchers"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount"),
                      CheckConstraint("used_fen >= 0 AND reserved_fen >= 0 AND lapsed_fen >= 0", name="parts"),
                      CheckConstraint("used_fen + reserved_fen + lapsed_fen <= amount_fen", name="balance"),
                      CheckConstraint(_in("status", VOUCHER_STATUSES), name="status"),
                      CheckConstraint(_in("mode", MODES), name="mode"))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("voucher_applications.id"), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(10), default="exchange")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    used_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    lapsed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    issued_on: Mapped[date] = mapped_column(Date)
    use_by: Mapped[date] = mapped_column(Date)
    redeem_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="active", index=True)
    lapsed_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    application: Mapped[VoucherApplication] = relationship()

    @property
    def balance_fen(self) -> int:
        return self.amount_fen - self.used_fen - self.reserved_fen - self.lapsed_fen


class VoucherReservation(db.Model):
    """The public shares of one order held on one voucher: reserved at order time, redeemed
    at acceptance, released by a cancellation or refund before it. One per order."""

    __tablename__ = "voucher_reservations"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount"),
                      CheckConstraint(_in("status", RESERVATION_STATUSES), name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(ForeignKey("vouchers.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="reserved", index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("redemption_batches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime)

    voucher: Mapped[Voucher] = relationship()
    order: Mapped[Order] = relationship()


class ProviderAdmission(db.Model):
    """A service agency's admission (入库) to accept vouchers. The city's decision sets the
    organisation's ``service_agency`` mark, which the subsidy scenario and the engine read."""

    __tablename__ = "provider_admissions"
    __table_args__ = (CheckConstraint(_in("status", ADMISSION_STATUSES), name="status"),
                      # one live application or admission per organisation
                      Index("uq_provider_admissions_live", "organization_id", unique=True,
                            sqlite_where=text("status IN ('pending', 'admitted', 'suspended')"),
                            postgresql_where=text("status IN ('pending', 'admitted', 'suspended')")))

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: marked before admission existed
    scope: Mapped[str] = mapped_column(Text)
    qualifications: Mapped[str] = mapped_column(String(200), default="")  # e.g. "CMA,CNAS"
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    note: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()


class Delivery(db.Model):
    """A service order's (or customer booking's) delivery, the buyer's acceptance (验收) or
    dispute, and the buyer's rating afterwards. One per order."""

    __tablename__ = "order_deliveries"
    __table_args__ = (CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
                      CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"))

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    delivered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    delivered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    report_name: Mapped[str | None] = mapped_column(String(200))
    report_stored: Mapped[str | None] = mapped_column(String(64))
    report_type: Mapped[str | None] = mapped_column(String(40))
    on_time: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(14), default="delivered", index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    dispute_reason: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime)

    order: Mapped[Order] = relationship()


class RedemptionBatch(db.Model):
    """A provider's accepted voucher services of one month (兑付批次), sent to the city."""

    __tablename__ = "redemption_batches"
    __table_args__ = (UniqueConstraint("provider_org_id", "month", name="uq_redemption_batches_provider_month"),
                      CheckConstraint(_in("status", BATCH_STATUSES), name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, Beijing time of acceptance
    status: Mapped[str] = mapped_column(String(6), default="open")
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    provider: Mapped[Organization] = relationship()
    reservations: Mapped[list[VoucherReservation]] = relationship(order_by=VoucherReservation.id)

    @property
    def ref(self) -> str:
        return f"RB-{self.provider_org_id}-{self.month}"


class VoucherSetting(db.Model):
    """A dated voucher parameter the city edits: the per-organisation yearly cap (none unless
    set), the months a voucher can be used and the months it can be redeemed."""

    __tablename__ = "voucher_settings"
    __table_args__ = (UniqueConstraint("key", "effective_from", name="uq_voucher_settings_key_from"),
                      CheckConstraint(_in("key", SETTING_KEYS), name="key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(20))
    effective_from: Mapped[date] = mapped_column(Date)
    value: Mapped[int | None] = mapped_column(BigInteger)  # None: no cap
    set_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
