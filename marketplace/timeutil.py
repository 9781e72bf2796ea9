"""One clock for the application (UTC, stored naive so SQLite and PostgreSQL agree).

``frozen_at`` sets the clock for a block: the demo loader replays a past city-year
through the real services, each event at its own date.
"""
from contextlib import contextmanager
from datetime import datetime, timezone

_frozen: datetime | None = None


def utcnow() -> datetime:
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc).replace(tzinfo=None)


@contextmanager
def frozen_at(moment: datetime):
    global _frozen
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous
