"""iCal feeds (RFC 5545, through the ``icalendar`` library) of bookings: a user's own, or an
instrument's. Times are Beijing times, written with their time zone."""
from __future__ import annotations

from datetime import timezone

from flask_babel import gettext as _
from icalendar import Calendar, Event

from marketplace.core.timeutil import BEIJING, utcnow
from marketplace.instruments.models import BookingTerms, CalendarFeed
from marketplace.orders.models import Booking


def _status(terms: BookingTerms | None) -> str:
    if terms is not None and terms.approval == "pending":
        return "TENTATIVE"
    return "CONFIRMED"


def render(found: CalendarFeed, events: list[tuple[Booking, BookingTerms | None]], host: str) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Liaocheng innovation marketplace//instrument bookings//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("Instrument bookings"))
    cal.add("x-wr-timezone", "Asia/Shanghai")
    stamp = utcnow().replace(tzinfo=timezone.utc)
    for booking, terms in events:
        event = Event()
        event.add("uid", f"{booking.ref}@{host}")
        title = booking.instrument.title
        if terms is not None and terms.purpose == "training":
            title = _("Training: %(title)s", title=title)
        if found.instrument_id is not None:
            title = f"{title} · {booking.customer.name}"
        event.add("summary", title)
        event.add("dtstart", booking.start_at.replace(tzinfo=BEIJING))
        event.add("dtend", booking.end_at.replace(tzinfo=BEIJING))
        event.add("dtstamp", stamp)
        event.add("status", _status(terms))
        if booking.instrument.location:
            event.add("location", booking.instrument.location)
        event.add("description", f"{booking.ref} · {booking.instrument.organization.name}")
        cal.add_component(event)
    return cal.to_ical()
