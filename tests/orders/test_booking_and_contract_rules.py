"""Booking, contract-registration and lease-fee rules a mutation run showed unguarded (issue 16):
each refusal names its field and writes nothing; the price follows the unit; the calendar
shows what is taken. The clock is frozen at noon Beijing time (04:00 UTC)."""
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.core.errors import Conflict, ServiceError
from marketplace.core.timeutil import frozen_at
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.orders.models import (
    Booking,
    BookingSlot,
    LeasePayment,
    Order,
    TechContract,
)
from marketplace.payments import services as payments
from tests.orders.conftest import NOON_BEIJING, TODAY

pytestmark = pytest.mark.usefixtures("noon_in_english")


@pytest.fixture()
def provider(factory):
    return factory.user("provider", kind="agency", service_agency=True)


@pytest.fixture()
def customer(factory):
    return factory.user("enterprise", size="small")


def _instrument(provider, **data):
    fields = {"title": "扫描电镜", "description": "", "price_fen": 50_000, "negotiable": False, "price_unit": "hour",
              "internal_price_fen": 20_000, "open_from_hour": 8, "open_to_hour": 18}
    fields.update(data)
    listing = listings.create_listing(provider, "instrument", fields)
    return listings.publish(provider, listing.id)


def _at(days, hour, minute=0):
    return datetime.combine(TODAY + timedelta(days=days), datetime.min.time()).replace(hour=hour, minute=minute)


def _nothing_written():
    return (db.session.scalar(select(func.count()).select_from(Booking)),
            db.session.scalar(select(func.count()).select_from(Order))) == (0, 0)


@pytest.mark.parametrize("start, hours, field, words", [
    (_at(1, 9, 30), 1, "start_at", "on the hour"),
    (_at(1, 9), 0, "hours", "between 1 and 12"),
    (_at(1, 8), 13, "hours", "between 1 and 12"),
    (_at(0, 11), 1, "start_at", "has passed"),  # an hour ago, Beijing time
    (_at(181, 9), 1, "start_at", "180 days ahead"),
    (_at(1, 7), 1, "start_at", "open from 8:00 to 18:00"),
    (_at(1, 17), 2, "start_at", "open from 8:00 to 18:00"),
])
def test_a_booking_outside_the_rules_is_refused_and_writes_nothing(provider, customer, start, hours, field, words):
    instrument = _instrument(provider)
    with pytest.raises(ServiceError) as refused:
        orders.book_instrument(customer, instrument.id, start, hours)
    assert refused.value.field == field and words in refused.value.message
    assert _nothing_written()


def test_the_edges_of_the_rules_are_bookable(provider, customer):
    instrument = _instrument(provider)
    orders.book_instrument(customer, instrument.id, _at(0, 12), 1)  # this very hour
    orders.book_instrument(customer, instrument.id, _at(180, 8), 10)  # the last day, the whole day (8-18)
    orders.book_instrument(customer, instrument.id, _at(1, 8), 12 - 2)  # ten hours to closing
    assert db.session.scalar(select(func.count()).select_from(BookingSlot)) == 21


def test_a_booking_is_priced_by_the_hour_or_by_the_sample(provider, customer):
    by_hour = _instrument(provider)
    by_sample = _instrument(provider, title="液相色谱", price_unit="sample", price_fen=30_000, internal_price_fen=None)
    assert orders.book_instrument(customer, by_hour.id, _at(1, 9), 3).amount_fen == 150_000
    with pytest.raises(ServiceError) as no_samples:
        orders.book_instrument(customer, by_sample.id, _at(1, 9), 1)
    assert (no_samples.value.field, no_samples.value.message) == ("samples", "Give the number of samples.")
    booking = orders.book_instrument(customer, by_sample.id, _at(1, 10), 2, samples=4)
    assert booking.amount_fen == 120_000 and booking.order.amount_fen == 120_000
    own = orders.book_instrument(provider, by_sample.id, _at(1, 14), 1, samples=2)  # no internal price: the price
    assert own.amount_fen == 60_000 and own.self_use and own.order_id is None


def test_the_calendar_shows_the_booked_hours_of_its_week_only(provider, customer, factory):
    instrument = _instrument(provider)
    other = _instrument(provider, title="另一台")
    orders.book_instrument(customer, instrument.id, _at(1, 9), 2)
    orders.book_instrument(customer, instrument.id, _at(7, 9), 1)  # the next week
    orders.book_instrument(customer, other.id, _at(2, 9), 1)
    assert orders.calendar(instrument.id, TODAY) == {TODAY + timedelta(days=1): {9, 10}}
    latest_first = [b.id for b in sorted(db.session.scalars(select(Booking)), key=lambda b: b.start_at, reverse=True)]
    assert [b.id for b in orders.bookings_of(customer).items] == latest_first
    assert [b.id for b in orders.bookings_of(provider).items] == latest_first
    assert orders.bookings_of(factory.user("enterprise")).items == []
    assert orders.calendar(instrument.id, TODAY, days=8) == {TODAY + timedelta(days=1): {9, 10},
                                                              TODAY + timedelta(days=7): {9}}


def test_an_unpaid_booking_past_its_time_frees_its_hours_in_the_calendar(app, provider, customer):
    instrument = _instrument(provider)
    orders.book_instrument(customer, instrument.id, _at(1, 9), 2)
    minutes = app.config["BOOKING_PAYMENT_MINUTES"]
    with frozen_at(NOON_BEIJING + timedelta(minutes=minutes - 1)):
        assert orders.calendar(instrument.id, TODAY) == {TODAY + timedelta(days=1): {9, 10}}
    with frozen_at(NOON_BEIJING + timedelta(minutes=minutes + 1)):
        assert orders.calendar(instrument.id, TODAY) == {}
        assert orders.expire_unpaid_bookings() == 1
        assert db.session.scalars(select(Booking)).one().status == "expired"
        assert db.session.scalars(select(Order)).one().status == "cancelled"


def test_completing_a_booking_takes_the_provider_a_paid_open_booking(provider, customer, factory):
    instrument = _instrument(provider)
    booking = orders.book_instrument(customer, instrument.id, _at(1, 9), 2)
    with pytest.raises(ServiceError, match="not paid"):
        orders.complete_booking(provider, booking.id)
    payments.checkout(customer, booking.order_id)
    with pytest.raises(perm.PermissionDenied):
        orders.complete_booking(customer, booking.id)
    with pytest.raises(perm.PermissionDenied):
        orders.complete_booking(factory.user("provider"), booking.id)
    with pytest.raises(perm.PermissionDenied) as outsider:
        orders.cancel_booking(factory.user("enterprise"), booking.id)
    assert outsider.value.message == "Only the customer or the instrument's owner cancels a booking."
    with pytest.raises(ServiceError, match="only after it ends"):
        orders.complete_booking(provider, booking.id)  # issue 17: not before the booking ends
    with frozen_at(NOON_BEIJING + timedelta(days=2)):
        done = orders.complete_booking(provider, booking.id)
        assert done.status == "completed" and done.order.status == "delivered"
        # the ledger hears of it when the customer accepts, not before (issue 17)
        assert not db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "booking_completed")).all()
        from marketplace.vouchers import services as vouchers

        vouchers.accept(customer, booking.order_id)
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "booking_completed")).one()
    assert (entry.ref, entry.amount_fen, entry.occurred_on) == (booking.ref, 100_000, TODAY + timedelta(days=2))
    with pytest.raises(ServiceError, match="not open"):
        orders.complete_booking(provider, booking.id)
    with pytest.raises(ServiceError, match="not open"):
        orders.cancel_booking(customer, booking.id)


def _contract(factory, customer):
    university = factory.user("university")
    listing = listings.create_listing(university, "achievement", {
        "title": "一种轴承钢热处理方法", "description": "", "price_fen": 1_000_000, "negotiable": False,
        "ip_kind": "invention_patent", "maturity": "pilot", "transfer_modes": ["assignment"]})
    listings.publish(university, listing.id)
    order = orders.buy_achievement(customer, listing.id, "assignment")
    return university, db.session.scalars(select(TechContract).where(TechContract.order_id == order.id)).one()


def test_a_contract_is_registered_once_with_a_plausible_number_and_date(factory, customer):
    university, contract = _contract(factory, customer)
    refusals = [
        ({"registration_no": "  "}, "registration_no"),
        ({"registration_no": "9" * 41}, "registration_no"),
        ({"registered_on": TODAY + timedelta(days=1)}, "registered_on"),
        ({"registered_on": TODAY - timedelta(days=1)}, "registered_on"),  # before it was signed
        ({"contract_type": "gift"}, "contract_type"),
    ]
    for change, field in refusals:
        args = {"registration_no": "2026370015000123", "registered_on": TODAY, **change}
        with pytest.raises(ServiceError) as refused:
            orders.register_contract(university, contract.id, **args)
        assert refused.value.field == field, change
        if change.get("registered_on") == TODAY - timedelta(days=1):
            assert refused.value.message == "A contract is registered after it is signed."
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    with pytest.raises(perm.PermissionDenied):
        orders.register_contract(customer, contract.id, "2026370015000123", TODAY)
    done = orders.register_contract(university, contract.id, " 2026370015000123 ", TODAY, "development")
    assert (done.registration_no, done.registered_on, done.contract_type) == ("2026370015000123", TODAY, "development")
    entry = db.session.scalars(select(LedgerEntry)).one()
    assert (entry.kind, entry.ref, entry.amount_fen, entry.occurred_on) == \
        ("contract_registered", contract.ref, 1_000_000, TODAY)
    with pytest.raises(Conflict):
        orders.register_contract(university, contract.id, "2026370015000999", TODAY)
    _other_university, second = _contract(factory, factory.user("enterprise"))
    with pytest.raises(Conflict) as taken:
        orders.register_contract(_other_university, second.id, "2026370015000123", TODAY)
    assert taken.value.field == "registration_no"


def test_a_lease_fee_is_positive_not_in_the_future_and_of_a_leased_instrument(provider, factory):
    leased = _instrument(provider, financing_lease=True, on_sharing_platform=True)
    with pytest.raises(ServiceError) as future:
        orders.record_lease_payment(provider, leased.id, 1000, TODAY + timedelta(days=1))
    assert future.value.field == "paid_on"
    for amount in (0, -1):
        with pytest.raises(ServiceError) as bad:
            orders.record_lease_payment(provider, leased.id, amount, TODAY)
        assert (bad.value.field, bad.value.message) == ("amount", "The amount must be more than zero.")
    plain = _instrument(provider, title="普通仪器")
    with pytest.raises(ServiceError) as not_leased:
        orders.record_lease_payment(provider, plain.id, 1000, TODAY)
    assert not_leased.value.message == "Only financially leased instruments have lease fees."
    with pytest.raises(perm.PermissionDenied):
        orders.record_lease_payment(factory.user("provider"), leased.id, 1000, TODAY)
    lease = orders.record_lease_payment(provider, leased.id, 300_000, TODAY)
    assert (lease.amount_fen, lease.paid_on, lease.lessee_org_id) == (300_000, TODAY, provider.organization.id)
    entry = db.session.scalars(select(LedgerEntry)).one()
    payload = json.loads(entry.payload)
    assert (entry.kind, entry.ref, entry.amount_fen, payload["financing_lease"], payload["on_sharing_platform"]) == \
        ("lease_fee", lease.ref, 300_000, True, True)
    assert db.session.scalar(select(func.count()).select_from(LeasePayment)) == 1
