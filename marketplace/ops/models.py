"""What operations keeps in the database: heartbeats of background processes and the
results of ledger verifications."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.timeutil import utcnow


class Heartbeat(db.Model):
    """The last sign of life of a background process, one row per process name.

    The worker (``flask --app wsgi worker``, issue 18) calls ``beat("worker")`` at least once
    per WORKER_HEARTBEAT_MAX_AGE seconds; /readyz checks the age of that row."""
    __tablename__ = "ops_heartbeats"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)  # "worker", "scheduler", ...
    beat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    detail: Mapped[str] = mapped_column(String(200), default="")  # host:pid, version; no secrets


def beat(name: str, detail: str = "") -> None:
    """Record that ``name`` is alive now, and commit."""
    row = db.session.get(Heartbeat, name)
    if row is None:
        db.session.add(Heartbeat(name=name, beat_at=utcnow(), detail=detail[:200]))
    else:
        row.beat_at, row.detail = utcnow(), detail[:200]
    db.session.commit()


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
