"""A refused request writes nothing, and an unpaid booking does not hold its hours forever.

Before: a voucher booking refused with 400 left the booking and its hours behind (the
SAVEPOINT released on SQLite committed them), the day stayed blocked, and the provider could
"complete" that unpaid booking, which wrote ``booking_completed`` to the ledger."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.core.timeutil import beijing_today, frozen_at, utcnow
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.orders.models import Booking, BookingSlot, Order
from tests.factories import login


@pytest.fixture(autouse=True)
def fresh_memory_gateway():
    """The in-memory gateway lives as long as the process and remembers idempotency keys
    (``order-1-pay-1``), while order ids start again in each test: forget what this test paid."""
    yield
    from marketplace.payments import services as payment_services

    payment_services._memory_gateway = None


def row_counts() -> dict[str, int]:
    """Rows of every table: what a refused request must leave exactly as it was."""
    db.session.expire_all()
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _instrument(provider):
    data = {"title": "原子吸收光谱仪", "description": "", "price_unit": "hour", "price_fen": 50_000,
            "internal_price_fen": 20_000, "open_from_hour": 8, "open_to_hour": 18, "negotiable": False}
    return listings.publish(provider, listings.create_listing(provider, "instrument", data).id)


DAY = (beijing_today() + timedelta(days=5)).isoformat()  # fixed once: a frozen clock may cross midnight


def _day():
    return DAY


def _other_client(app):
    return app.test_client()


def _book(client, instrument_id, **extra):
    return client.post(f"/listings/{instrument_id}/book", data={"day": _day(), "hour": 10, "hours": 2, **extra})


def test_a_refused_voucher_booking_leaves_no_booking_and_the_hours_stay_free(client, factory, app):
    provider = factory.user("provider", kind="agency", service_agency=True)
    large = factory.user("enterprise", size="large")
    small = factory.user("enterprise", size="small")
    instrument = _instrument(provider)
    login(client, large)
    before = row_counts()

    refused = _book(client, instrument.id, with_voucher="y")

    assert refused.status_code == 400
    assert "大型企业" in refused.get_data(as_text=True)  # why: large enterprises cannot use vouchers
    assert row_counts() == before
    other = _other_client(app)
    login(other, small)
    assert _book(other, instrument.id).status_code == 302  # the same hours are still free
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_the_provider_cannot_complete_an_unpaid_booking(client, factory, app):
    provider = factory.user("provider", kind="agency", service_agency=True)
    customer = factory.user("enterprise", size="small")
    instrument = _instrument(provider)
    login(client, customer)
    assert _book(client, instrument.id).status_code == 302
    booking_id = db.session.scalar(select(Booking.id))
    # And a customer's booking without any order (what the refused voucher booking left behind).
    orphan = Booking(instrument_id=instrument.id, customer_org_id=customer.organization.id,
                     start_at=datetime.combine(beijing_today() + timedelta(days=6), datetime.min.time()).replace(hour=9),
                     end_at=datetime.combine(beijing_today() + timedelta(days=6), datetime.min.time()).replace(hour=10),
                     amount_fen=50_000, self_use=False)
    db.session.add(orphan)
    db.session.commit()
    seller = _other_client(app)
    login(seller, provider)
    before = row_counts()

    for target in (booking_id, orphan.id):
        answer = seller.post(f"/bookings/{target}/complete")
        assert answer.status_code == 400
        assert "尚未付款" in answer.get_data(as_text=True) or "not paid" in answer.get_data(as_text=True)

    assert row_counts() == before
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    assert {b.status for b in db.session.scalars(select(Booking))} == {"booked"}


def test_an_unpaid_booking_expires_and_its_hours_can_be_booked_again(client, factory, app):
    provider = factory.user("provider", kind="agency", service_agency=True)
    first, second = factory.user("enterprise", size="small"), factory.user("enterprise", size="small")
    instrument = _instrument(provider)
    login(client, first)
    assert _book(client, instrument.id).status_code == 302
    late_order = db.session.scalar(select(Order.id))
    other = _other_client(app)
    login(other, second)
    assert _book(other, instrument.id).status_code == 409  # held while it may still be paid

    minutes = app.config["BOOKING_PAYMENT_MINUTES"]
    day = date.fromisoformat(DAY)
    assert orders.calendar(instrument.id, day) == {day: {10, 11}}
    with frozen_at(utcnow() + timedelta(minutes=minutes + 1)):
        assert orders.calendar(instrument.id, day) == {}  # shown free before the sweep
        assert _book(other, instrument.id).status_code == 302  # expired in the same transaction
        paid_late = client.post(f"/orders/{late_order}/pay")

    assert paid_late.status_code == 409
    db.session.expire_all()
    statuses = dict(db.session.execute(select(Booking.customer_org_id, Booking.status)).all())
    assert statuses == {first.organization.id: "expired", second.organization.id: "booked"}
    assert db.session.get(Order, late_order).status == "cancelled"
    assert db.session.scalar(select(func.count()).select_from(BookingSlot)) == 2  # only the new booking's hours


def test_the_sweep_expires_unpaid_bookings_and_frees_their_hours(client, factory, app):
    provider = factory.user("provider", kind="agency", service_agency=True)
    customer = factory.user("enterprise", size="small")
    instrument = _instrument(provider)
    login(client, customer)
    assert _book(client, instrument.id).status_code == 302
    runner = app.test_cli_runner()
    assert "expired 0 unpaid booking(s)" in runner.invoke(args=["bookings", "expire"]).output  # not yet due

    with frozen_at(utcnow() + timedelta(minutes=app.config["BOOKING_PAYMENT_MINUTES"] + 1)):
        out = runner.invoke(args=["bookings", "expire"])

    assert out.exit_code == 0, out.output
    assert "expired 1 unpaid booking(s)" in out.output
    db.session.expire_all()
    assert db.session.scalar(select(Booking.status)) == "expired"
    assert db.session.scalar(select(Order.status)) == "cancelled"
    assert db.session.scalar(select(func.count()).select_from(BookingSlot)) == 0


def test_a_booking_being_paid_does_not_expire(client, factory, app, monkeypatch):
    provider = factory.user("provider", kind="agency", service_agency=True)
    customer = factory.user("enterprise", size="small")
    instrument = _instrument(provider)
    login(client, customer)
    assert _book(client, instrument.id).status_code == 302
    app.config["STRIPE_RELAY_WEBHOOKS"] = False  # the gateway's confirmation has not arrived yet
    try:
        assert client.post(f"/orders/{db.session.scalar(select(Order.id))}/pay").status_code == 302
    finally:
        app.config["STRIPE_RELAY_WEBHOOKS"] = True
    with frozen_at(utcnow() + timedelta(minutes=app.config["BOOKING_PAYMENT_MINUTES"] + 1)):
        assert orders.expire_unpaid_bookings() == 0
    assert db.session.scalar(select(Booking.status)) == "booked"
