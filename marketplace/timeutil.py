"""One clock for the application (UTC, stored naive so SQLite and PostgreSQL agree)."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
