"""One clock for the application (UTC, stored naive so SQLite and PostgreSQL agree), and
the one place that turns it into Beijing time.

Business dates (the day a payment or refund belongs to, "today" for a deadline) and "in the
past" for a booking are judged in Asia/Shanghai: a payment at 00:30 Beijing time on
1 January belongs to the new year although it is still 31 December in UTC.

``frozen_at`` sets the clock for a block: the demo loader replays a past city-year
through the real services, each event at its own date.
"""
from contextlib import contextmanager
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

_frozen: datetime | None = None


def utcnow() -> datetime:
    if _frozen is not None:
        return _frozen
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_beijing(moment: datetime) -> datetime:
    """A naive UTC time as naive Beijing wall-clock time."""
    return moment.replace(tzinfo=timezone.utc).astimezone(BEIJING).replace(tzinfo=None)


def format_beijing(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time as people in Liaocheng read it: ``2026-11-25 09:30``
    (the templates' ``|beijing`` filter)."""
    if moment is None:
        return "—"
    return to_beijing(moment).strftime(fmt)


def format_wallclock(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time already written in Beijing wall-clock (a booking's or an outage's hours, a
    document's print time) as it stands: the templates' ``|wallclock`` filter. Stored UTC
    timestamps go through ``format_beijing`` (``|beijing``) instead."""
    if moment is None:
        return "—"
    return moment.strftime(fmt)


def beijing_now() -> datetime:
    """Now, as naive Beijing wall-clock time (how bookings' hours are written)."""
    return to_beijing(utcnow())


def beijing_today() -> date:
    """The business date: today in Beijing."""
    return beijing_now().date()


def business_date(moment: datetime) -> date:
    """The business date (Beijing) of a naive UTC moment, e.g. the day a payment belongs to."""
    return to_beijing(moment).date()


@contextmanager
def frozen_at(moment: datetime):
    global _frozen
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous
