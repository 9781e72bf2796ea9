"""What operations keeps in the database: the results of ledger verifications. (The workers'
heartbeats are ``marketplace.worker.WorkerHeartbeat``.)"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db


class LedgerVerification(db.Model):
    """One run of ``ledger verify`` (CLI or the admin button), kept to show the last result."""
    __tablename__ = "ledger_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    checked: Mapped[int] = mapped_column(Integer)
    first_broken_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    source: Mapped[str] = mapped_column(String(10))  # "cli" or "admin"
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


def last_verification() -> LedgerVerification | None:
    return db.session.scalar(select(LedgerVerification).order_by(LedgerVerification.id.desc()).limit(1))
