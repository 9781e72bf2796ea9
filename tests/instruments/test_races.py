"""Shared instruments under real parallel requests (gunicorn, two workers): an approval, a
no-show and an hour are each taken once; the others are told 409, never 500."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from marketplace.core.timeutil import beijing_today
from marketplace.extensions import db
from marketplace.instruments import services as instruments
from marketplace.instruments.models import BookingTerms
from marketplace.listings import services as listings
from marketplace.orders.models import Booking, BookingSlot, Order
from tests.live import live_app_server  # noqa: F401 - the gunicorn server of the race tests


def _facility(provider, **settings):
    listing = listings.create_listing(provider, "instrument", {
        "title": "竞态电镜", "description": "", "price_fen": 60_000, "negotiable": False, "price_unit": "hour",
        "open_from_hour": 8, "open_to_hour": 18})
    listing = listings.publish(provider, listing.id)
    instruments.save_settings(provider, listing.id, self_mode=True, **settings)
    return listing


def _only_one_won(codes):
    assert not [c for c in codes if c >= 500], codes
    assert set(codes) <= {302, 409} and codes.count(302) == 1, codes


def _start(days=5, hour=10):
    return datetime.combine(beijing_today() + timedelta(days=days), datetime.min.time()).replace(hour=hour)


def test_twenty_parallel_approvals_make_one_order(factory, live_app_server):
    provider = factory.user("provider", kind="agency", service_agency=True)
    engineer = factory.user("enterprise", size="small")
    listing = _facility(provider, approval="manager")
    [booking] = instruments.book(engineer, listing.id, _start(), 2)

    codes = live_app_server.stampede(live_app_server.session(provider), f"/instruments/bookings/{booking.id}/decide",
                                     n=20, data={"decision": "approve"})

    _only_one_won(codes)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Order.id)).where(Order.buyer_org_id == engineer.organization.id)) == 1
    assert db.session.get(BookingTerms, booking.id).approval == "approved"


def test_twenty_parallel_bookings_of_one_hour_hold_it_once(factory, live_app_server):
    provider = factory.user("provider", kind="agency", service_agency=True)
    users = [factory.user("enterprise", size="small") for _ in range(4)]
    listing = _facility(provider, approval="instant")
    data = {"day": _start().date().isoformat(), "hour": 10, "hours": 1}

    codes = live_app_server.stampede([live_app_server.session(u) for u in users] * 5,
                                     f"/instruments/{listing.id}/book", n=20, data=data)

    assert not [c for c in codes if c >= 500], codes
    assert set(codes) <= {302, 409} and 1 <= codes.count(302), codes
    db.session.expire_all()
    assert db.session.scalar(select(func.count(BookingSlot.id)).where(BookingSlot.instrument_id == listing.id)) == 1
    live = db.session.scalar(select(func.count(Booking.id)).where(Booking.instrument_id == listing.id,
                                                                  Booking.status == "booked"))
    assert live == 1
