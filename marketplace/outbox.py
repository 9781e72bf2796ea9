"""The transactional outbox: work to do after commit (index a listing, ...).

Services add rows inside their unit of work; a drain after commit does the work and
removes the rows it finished. A crash between commit and drain leaves the rows behind,
and the next drain catches up, so what was committed is never forgotten and nothing
that was rolled back is ever announced.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.timeutil import utcnow


class OutboxEntry(db.Model):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(20), index=True)
    key: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The X-Request-ID of the request that queued the work, so its job's log lines join up.
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


def enqueue(topic: str, key: str) -> None:
    from marketplace.ops.requestlog import current_request_id

    db.session.add(OutboxEntry(topic=topic, key=key, request_id=current_request_id()))
    if topic == "search":
        from marketplace.search_index import mark_dirty

        mark_dirty()
