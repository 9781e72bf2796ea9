"""The audit log of privileged actions: who, when, what, before and after.

Append-only, guarded as the ledger is (``marketplace.core.append_only``): the ORM refuses to
update or delete an event, and so do the database's triggers (migration 0014)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.append_only import guard
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


APPEND_ONLY_MESSAGE = "the audit log is append-only"


class AuditImmutableError(RuntimeError):
    """Raised when code tries to update or delete an audit event."""


guard(AuditEvent, APPEND_ONLY_MESSAGE, AuditImmutableError)


def record(actor, action: str, target_type: str, target_id, before=None, after=None) -> AuditEvent:
    """Add an audit event to the caller's unit of work (committed with it)."""
    event = AuditEvent(actor_id=getattr(actor, "id", None), action=action, target_type=target_type,
                       target_id=str(target_id), before=before, after=after)
    db.session.add(event)
    return event
