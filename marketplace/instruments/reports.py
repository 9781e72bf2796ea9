"""The monthly utilisation report of an instrument: the evidence a reviewer reads for A5's
“服务成效良好” and the sharing platform's yearly review.

Per Beijing calendar month: hours available (opening hours, or all day where overnight runs
are allowed, less outages), hours booked (held by confirmed or approved bookings, training
included), of them booked by other organisations (the external share), hours used (as
recorded), no-shows and late cancellations, sample orders received and samples reported.
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.core import spreadsheet
from marketplace.core.errors import NotFound, ServiceError
from marketplace.core.timeutil import beijing_today, to_beijing
from marketplace.extensions import db
from marketplace.instruments import services
from marketplace.instruments.models import (
    BookingTerms,
    InstrumentSettings,
    Outage,
    SampleOrder,
)
from marketplace.listings.models import Listing
from marketplace.orders.models import Booking, BookingSlot

MAX_MONTHS = 24
HUNDREDTH = Decimal("0.01")


def _hours(value: Decimal) -> Decimal:
    """Hours to the hundredth, written as short as they read: 1.5, 2.0, 0.25."""
    text = str(value.quantize(HUNDREDTH)).rstrip("0")
    return Decimal(text + "0" if text.endswith(".") else text)


@dataclass
class MonthRow:
    month: str  # YYYY-MM
    available: int = 0
    booked: int = 0
    external: int = 0
    used: Decimal = Decimal("0.0")  # hours, to the hundredth
    training: int = 0
    no_shows: int = 0
    late_cancellations: int = 0
    sample_orders: int = 0
    samples_done: int = 0

    @property
    def external_share(self) -> float | None:
        return round(100 * self.external / self.booked, 1) if self.booked else None

    @property
    def utilisation(self) -> float | None:
        return round(100 * self.booked / self.available, 1) if self.available else None


def _months(first: date, last: date) -> list[date]:
    months, m = [], first.replace(day=1)
    while m <= last and len(months) < MAX_MONTHS:
        months.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return months


def _month_key(moment) -> str:
    return moment.strftime("%Y-%m")


def default_range(instrument_id: int) -> tuple[date, date]:
    """From the first month with a booking or sample order (at most a year back) to the last
    month with a booking, at least the current month."""
    today = beijing_today()
    first = db.session.scalar(select(func.min(Booking.start_at)).where(Booking.instrument_id == instrument_id))
    last = db.session.scalar(select(func.max(Booking.start_at)).where(Booking.instrument_id == instrument_id))
    first_sample = db.session.scalar(select(func.min(SampleOrder.created_at))
                                     .where(SampleOrder.instrument_id == instrument_id))
    candidates = [d for d in (first and first.date(), first_sample and to_beijing(first_sample).date()) if d]
    start = max(min(candidates + [today]), today.replace(day=1) - timedelta(days=365))
    end = max(today, last.date() if last else today)
    return start.replace(day=1), end


def utilisation(listing: Listing, first: date, last: date) -> list[MonthRow]:
    months = _months(first, last)
    if not months:
        return []
    settings = db.session.get(InstrumentSettings, listing.id)
    start = datetime.combine(months[0], datetime.min.time())
    end = datetime.combine((months[-1] + timedelta(days=32)).replace(day=1), datetime.min.time())
    rows = {_month_key(m): MonthRow(_month_key(m)) for m in months}

    # Available: open hours of each day, less the hours an outage blocks.
    blocked = set()
    for outage in db.session.scalars(select(Outage).where(Outage.instrument_id == listing.id, Outage.start_at < end,
                                                          Outage.end_at > start)):
        moment = outage.start_at.replace(minute=0, second=0, microsecond=0)
        while moment < outage.end_at:
            blocked.add(moment)
            moment += timedelta(hours=1)
    overnight = settings is not None and settings.overnight
    day = start
    while day < end:
        open_hours = range(24) if overnight else range(listing.open_from_hour or 0, listing.open_to_hour or 0)
        rows[_month_key(day)].available += sum(1 for h in open_hours if day.replace(hour=h) not in blocked)
        day += timedelta(days=1)

    # Booked: the hours held by confirmed bookings (a pending request is not yet booked).
    held = (select(BookingSlot.slot_start, Booking.self_use, BookingTerms.purpose)
            .join(Booking, Booking.id == BookingSlot.booking_id)
            .outerjoin(BookingTerms, BookingTerms.booking_id == Booking.id)
            .where(BookingSlot.instrument_id == listing.id, BookingSlot.slot_start >= start,
                   BookingSlot.slot_start < end, Booking.status.in_(("booked", "completed")),
                   (BookingTerms.approval.is_(None)) | (BookingTerms.approval != "pending")))
    for slot_start, self_use, purpose in db.session.execute(held):
        row = rows[_month_key(slot_start)]
        row.booked += 1
        row.external += 0 if self_use else 1
        row.training += 1 if purpose == "training" else 0

    marks = (select(Booking.start_at, BookingTerms.attendance, BookingTerms.used_start, BookingTerms.used_end)
             .join(BookingTerms, BookingTerms.booking_id == Booking.id)
             .where(Booking.instrument_id == listing.id, Booking.start_at >= start, Booking.start_at < end))
    for start_at, attendance, used_start, used_end in db.session.execute(marks):
        row = rows[_month_key(start_at)]
        if attendance == "no_show":
            row.no_shows += 1
        elif attendance == "late_cancel":
            row.late_cancellations += 1
        if used_start is not None and used_end is not None:
            row.used = _hours(row.used + Decimal(int((used_end - used_start).total_seconds())) / 3600)

    for created_at, status, done, reported_at in db.session.execute(
            select(SampleOrder.created_at, SampleOrder.status, SampleOrder.samples_done, SampleOrder.reported_at)
            .where(SampleOrder.instrument_id == listing.id)):
        created = _month_key(to_beijing(created_at))
        if created in rows and status != "cancelled":
            rows[created].sample_orders += 1
        if reported_at is not None and done and _month_key(to_beijing(reported_at)) in rows:
            rows[_month_key(to_beijing(reported_at))].samples_done += done
    return list(rows.values())


def total(rows: list[MonthRow]) -> MonthRow:
    out = MonthRow(_("Total"))
    for r in rows:
        for name in ("available", "booked", "external", "training", "no_shows", "late_cancellations",
                     "sample_orders", "samples_done"):
            setattr(out, name, getattr(out, name) + getattr(r, name))
        out.used = _hours(out.used + r.used)
    return out


def report(actor, instrument_id: int, first: date | None = None, last: date | None = None) -> dict:
    listing = services.instrument(instrument_id)
    perm.require(actor, perm.VIEW_UTILISATION, listing)
    if first is None or last is None:
        first, last = default_range(listing.id)
    if last < first:
        raise ServiceError(_("The last month is before the first."), "to")
    rows = utilisation(listing, first, last)
    return {"instrument": listing, "rows": rows, "total": total(rows), "first": first, "last": last}


COLUMNS = ("month", "available", "booked", "external", "external_share", "used", "training", "no_shows",
           "late_cancellations", "sample_orders", "samples_done", "utilisation")


def headers() -> list[str]:
    return [_("Month"), _("Hours available"), _("Hours booked"), _("Booked by other organisations"),
            _("External share (%%)") % {}, _("Hours used"), _("Training hours"), _("No-shows"), _("Late cancellations"),
            _("Sample orders"), _("Samples done"), _("Utilisation (%%)") % {}]


def _values(row: MonthRow) -> list:
    data = asdict(row)
    data.update(external_share=row.external_share, utilisation=row.utilisation)
    return [data[c] for c in COLUMNS]


def export(data: dict, fmt: str) -> tuple[bytes, str]:
    """The report as xlsx or CSV (user text written as text, never a formula)."""
    title = data["instrument"].title
    rows = [_values(r) for r in data["rows"]] + [_values(data["total"])]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(spreadsheet.row([title]))
        writer.writerow(spreadsheet.row(headers()))
        for r in rows:
            writer.writerow(spreadsheet.row(r))
        return buffer.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8"
    if fmt != "xlsx":
        raise NotFound(_("This does not exist."))
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "utilisation"
    sheet.append(spreadsheet.row([title], sheet))
    sheet.append(spreadsheet.row(headers(), sheet))
    for r in rows:
        sheet.append(spreadsheet.row(r, sheet))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def evidence_for(organization_id: int, year: int) -> list[dict]:
    """The utilisation of an organisation's shared instruments in a year, for the A5 review."""
    instruments = db.session.scalars(select(Listing).where(
        Listing.organization_id == organization_id, Listing.kind == "instrument",
        Listing.status.in_(("published", "withdrawn"))).order_by(Listing.id))
    first, last = date(year, 1, 1), date(year, 12, 31)
    out = []
    for listing in instruments:
        if not listing.on_sharing_platform and db.session.get(InstrumentSettings, listing.id) is None:
            continue
        rows = utilisation(listing, first, last)
        recent_first, recent_last = default_range(listing.id)
        out.append({"instrument": listing, "year": total(rows),
                    "recent": total(utilisation(listing, recent_first, recent_last)),
                    "recent_first": recent_first, "recent_last": recent_last})
    return out
