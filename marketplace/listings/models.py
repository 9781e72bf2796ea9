"""Listings: achievements (成果), instruments (仪器), services (服务) and demands (需求).

One table with the columns every listing has and the few each kind adds; a listing moves
draft -> published -> withdrawn, or rejected by a moderator -> (edited) pending -> published
once a moderator approves.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organization
from marketplace.core.states import Transitions
from marketplace.extensions import db
from marketplace.core.timeutil import utcnow

KINDS = ("achievement", "instrument", "service", "demand")


class ListingStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"  # by its owner; published again by the owner
    REJECTED = "rejected"  # by a moderator, with a note; holds until edited or restored
    PENDING = "pending"  # edited after a rejection: waits for a moderator


# Who makes which move is the services' business (the owner publishes and withdraws, a
# moderator rejects, approves a pending listing or restores it to a draft); the table says
# which moves exist at all.
LISTING = Transitions("listing", {
    ListingStatus.DRAFT: {ListingStatus.PUBLISHED, ListingStatus.REJECTED},
    ListingStatus.PUBLISHED: {ListingStatus.WITHDRAWN, ListingStatus.REJECTED},
    ListingStatus.WITHDRAWN: {ListingStatus.PUBLISHED, ListingStatus.REJECTED},
    ListingStatus.REJECTED: {ListingStatus.PENDING, ListingStatus.DRAFT},
    ListingStatus.PENDING: {ListingStatus.PUBLISHED, ListingStatus.REJECTED, ListingStatus.DRAFT},
})
STATUSES = tuple(ListingStatus)
IP_KINDS = ("invention_patent", "utility_model", "software_copyright", "new_variety", "know_how")
TRANSFER_MODES = ("assignment", "exclusive_licence", "non_exclusive_licence", "co_development", "equity")
MATURITIES = ("lab", "pilot", "industrial")
PRICE_UNITS = ("hour", "sample")
# Technology fields used to classify listings (the city's industries first).
FIELDS = ("新材料", "高端装备", "生物医药", "新一代信息技术", "现代农业", "节能环保", "新能源", "检验检测", "精细化工", "轻工纺织")


class Listing(db.Model):
    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint("kind IN ('achievement', 'instrument', 'service', 'demand')", name="kind"),
        CheckConstraint("status IN ('draft', 'published', 'withdrawn', 'rejected', 'pending')", name="status"),
        CheckConstraint("price_fen IS NULL OR price_fen >= 0", name="price"),
        # the market's pages (marketplace.core.paging): newest first, by kind, by price
        Index("ix_listings_status_published", "status", "published_at", "id"),
        Index("ix_listings_status_kind_published", "status", "kind", "published_at", "id"),
        Index("ix_listings_status_price", "status", "price_fen", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    field: Mapped[str | None] = mapped_column(String(40))
    county: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default=ListingStatus.DRAFT, index=True)
    moderation_note: Mapped[str | None] = mapped_column(String(300))
    # Asking price (achievements, services), external price (instruments) or budget (demands).
    price_fen: Mapped[int | None] = mapped_column(BigInteger)
    negotiable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)

    # Achievements
    ip_kind: Mapped[str | None] = mapped_column(String(20))
    ip_number: Mapped[str | None] = mapped_column(String(40))  # patent or registration number
    maturity: Mapped[str | None] = mapped_column(String(12))
    transfer_modes: Mapped[str | None] = mapped_column(String(120))  # comma-separated TRANSFER_MODES

    # Instruments
    category: Mapped[str | None] = mapped_column(String(60))
    model: Mapped[str | None] = mapped_column(String(80))
    location: Mapped[str | None] = mapped_column(String(120))
    price_unit: Mapped[str | None] = mapped_column(String(8))
    internal_price_fen: Mapped[int | None] = mapped_column(BigInteger)  # for the owner's own use
    financing_lease: Mapped[bool] = mapped_column(Boolean, default=False)  # 融资租赁
    on_sharing_platform: Mapped[bool] = mapped_column(Boolean, default=False)  # 纳入大型科学仪器共享平台
    open_from_hour: Mapped[int | None] = mapped_column()  # bookable hours each day, e.g. 8..18
    open_to_hour: Mapped[int | None] = mapped_column()

    organization: Mapped[Organization] = relationship()
    attachments: Mapped[list["ListingAttachment"]] = relationship(back_populates="listing",
                                                                  order_by="ListingAttachment.id")

    @property
    def modes(self) -> list[str]:
        return [m for m in (self.transfer_modes or "").split(",") if m]

    @property
    def voucher_eligible(self) -> bool:
        """Services and instrument time bought from a registered in-city service agency (A3)."""
        org = self.organization
        return self.kind in ("service", "instrument") and org.service_agency and org.in_city

    @property
    def ref(self) -> str:
        return f"{self.kind[:3].upper()}-{self.id}"


class ListingAttachment(db.Model):
    """A file attached to a listing (a patent certificate, a test report template, ...)."""

    __tablename__ = "listing_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    # A confidential file is shown to an enquirer only after the seller granted it (AttachmentGrant).
    confidential: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    listing: Mapped[Listing] = relationship(back_populates="attachments")
