"""Draft parameter sets, their edits, and the values an administrator published."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db

DRAFT = "draft"
PUBLISHED = "published"
STATUSES = (DRAFT, PUBLISHED)


class ParameterDraft(db.Model):
    """A named set of changes to the parameters in force (草案). Never read by the claims."""

    __tablename__ = "parameter_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12), default=DRAFT, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set once, when an administrator publishes the draft.
    effective_from: Mapped[date | None] = mapped_column(Date)
    document_no: Mapped[str | None] = mapped_column(String(80))  # 文号 of the decision
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(DateTime)

    edits: Mapped[list["ParameterDraftEdit"]] = relationship(
        back_populates="draft", order_by="ParameterDraftEdit.id")
    created_by = relationship("User", foreign_keys=[created_by_id])
    published_by = relationship("User", foreign_keys=[published_by_id])

    def changes(self) -> dict[str, "ParameterDraftEdit"]:
        """The draft's value of each parameter it changes: the latest edit of each."""
        latest: dict[str, ParameterDraftEdit] = {}
        for edit in self.edits:
            latest[edit.parameter] = edit
        return {name: e for name, e in latest.items() if not e.reverted}


class ParameterDraftEdit(db.Model):
    """One edit of a draft, with its reason; edits are kept, the latest per parameter counts."""

    __tablename__ = "parameter_draft_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("parameter_drafts.id"), index=True)
    parameter: Mapped[str] = mapped_column(String(80))
    value: Mapped[str] = mapped_column(String(80))  # the exact decimal (or role) text
    reverted: Mapped[bool] = mapped_column(default=False)  # back to the value in force
    reason: Mapped[str] = mapped_column(Text)
    edited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    edited_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    draft: Mapped[ParameterDraft] = relationship(back_populates="edits")
    edited_by = relationship("User")


class PublishedParameterValue(db.Model):
    """A dated value published from a draft: in force for claims from ``effective_from`` on."""

    __tablename__ = "published_parameter_values"
    __table_args__ = (UniqueConstraint("draft_id", "parameter", name="uq_published_draft_parameter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parameter: Mapped[str] = mapped_column(String(80), index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    value: Mapped[str] = mapped_column(String(80))
    document_no: Mapped[str] = mapped_column(String(80))
    draft_id: Mapped[int] = mapped_column(ForeignKey("parameter_drafts.id"))
    published_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
