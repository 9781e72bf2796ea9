"""A user's favourite listings (收藏): one row per user and listing, newest first."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.listings.models import Listing


class Favourite(db.Model):
    __tablename__ = "favourites"
    __table_args__ = (
        # starring twice is one star, whatever the race (the service relies on it)
        UniqueConstraint("user_id", "listing_id"),
        # the page of one's favourites: newest first, a stable order (marketplace.core.paging)
        Index("ix_favourites_user_created", "user_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    listing_id: Mapped[int] = mapped_column(ForeignKey("listings.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    listing: Mapped[Listing] = relationship()
