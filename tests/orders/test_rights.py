"""Who may move money or rights on an order or a booking, through the web routes as each role:
a refund only by the seller or an administrator; a booking cancelled only by its customer or
its provider; a completed booking never refunded. Every refusal writes nothing."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.core.timeutil import frozen_at
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.orders.models import Booking, BookingSlot, Order
from marketplace.payments.models import Payment, Refund
from tests.factories import login, published


@pytest.fixture()
def customer(factory):
    return factory.user("enterprise", size="small")


def _as(client, user):
    client.post("/logout")
    if user is not None:
        login(client, user)


def _snapshot():
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(LedgerEntry)),
            db.session.scalar(select(func.count()).select_from(Refund)),
            [(o.id, o.status) for o in db.session.scalars(select(Order).order_by(Order.id))],
            [(p.id, p.status) for p in db.session.scalars(select(Payment).order_by(Payment.id))],
            [(b.id, b.status) for b in db.session.scalars(select(Booking).order_by(Booking.id))],
            db.session.scalar(select(func.count()).select_from(BookingSlot)))


@pytest.fixture()
def paid_order(client, provider, customer):
    service = published(provider, "service")
    login(client, customer)
    response = client.post(f"/listings/{service.id}/order", data={})
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    assert db.session.get(Order, order_id).status == "paid"
    client.post("/logout")
    return order_id


@pytest.mark.parametrize("role", ["reviewer", "finance", "buyer", "other enterprise", "other provider", "anonymous"])
def test_only_the_seller_or_an_administrator_may_refund_an_order(client, factory, customer, paid_order, role):
    actor = {"reviewer": lambda: factory.user("reviewer"), "finance": lambda: factory.user("finance"),
             "buyer": lambda: customer, "other enterprise": lambda: factory.user("enterprise"),
             "other provider": lambda: factory.user("provider", kind="agency"), "anonymous": lambda: None}[role]()
    before = _snapshot()
    _as(client, actor)
    response = client.post(f"/orders/{paid_order}/refund", data={"reason": "我想退款"})
    if actor is None:
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code in (403, 404), response.status_code
    assert _snapshot() == before
    assert db.session.get(Order, paid_order).status == "paid"


@pytest.mark.parametrize("role", ["seller", "admin"])
def test_the_seller_and_an_administrator_may_refund_an_order(client, factory, provider, paid_order, role):
    _as(client, provider if role == "seller" else factory.user("admin"))
    response = client.post(f"/orders/{paid_order}/refund", data={"reason": "服务未能完成"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orders/{paid_order}")
    db.session.expire_all()
    assert db.session.get(Order, paid_order).status == "refunded"
    assert [e.kind for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))] == ["payment", "refund"]


@pytest.fixture()
def booking(client, provider, customer):
    instrument = published(provider, "instrument", title="扫描电镜")
    login(client, customer)
    day = date.today() + timedelta(days=3)
    response = client.post(f"/listings/{instrument.id}/book", data={"day": day.isoformat(), "hour": 10, "hours": 2})
    assert response.status_code == 302
    client.post("/logout")
    return db.session.scalars(select(Booking)).one()


@pytest.mark.parametrize("role", ["other enterprise", "other provider", "reviewer", "finance", "admin", "anonymous"])
def test_only_the_customer_or_the_provider_may_cancel_a_booking(client, factory, booking, role):
    actor = {"reviewer": lambda: factory.user("reviewer"), "finance": lambda: factory.user("finance"),
             "admin": lambda: factory.user("admin"), "other enterprise": lambda: factory.user("enterprise"),
             "other provider": lambda: factory.user("provider", kind="agency"), "anonymous": lambda: None}[role]()
    before = _snapshot()
    _as(client, actor)
    response = client.post(f"/bookings/{booking.id}/cancel")
    if actor is None:
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code in (403, 404), response.status_code
    assert _snapshot() == before
    assert db.session.get(Booking, booking.id).status == "booked"


@pytest.mark.parametrize("who", ["customer", "provider"])
def test_the_customer_or_the_provider_may_cancel_an_unpaid_booking(client, provider, customer, booking, who):
    _as(client, customer if who == "customer" else provider)
    response = client.post(f"/bookings/{booking.id}/cancel")
    assert response.status_code == 302 and response.headers["Location"].endswith("/bookings")
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "cancelled"
    assert db.session.get(Order, booking.order_id).status == "cancelled"
    assert db.session.scalar(select(func.count()).select_from(BookingSlot)) == 0  # the hours are free again


def test_a_completed_booking_cannot_be_refunded(client, factory, provider, customer, booking):
    _as(client, customer)
    assert client.post(f"/orders/{booking.order_id}/pay").status_code == 302
    _as(client, provider)
    with frozen_at(datetime.combine(booking.end_at.date(), datetime.min.time()).replace(hour=5)):  # 13:00 Beijing
        assert client.post(f"/bookings/{booking.id}/complete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "completed"
    before = _snapshot()
    for actor in (provider, factory.user("admin")):
        _as(client, actor)
        assert client.post(f"/orders/{booking.order_id}/refund", data={"reason": "撤销"}).status_code == 409
    assert _snapshot() == before
    # (the ledger's booking entry waits for the customer's acceptance)
    assert [e.kind for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))] == ["payment"]


def test_a_paid_booking_is_refunded_and_its_hours_freed_before_completion(client, provider, customer, booking):
    _as(client, customer)
    client.post(f"/orders/{booking.order_id}/pay")
    assert client.post(f"/bookings/{booking.id}/cancel").status_code == 400  # a paid booking is cancelled by a refund
    _as(client, provider)
    assert client.post(f"/orders/{booking.order_id}/refund", data={"reason": "仪器故障"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == "cancelled"
    assert db.session.scalar(select(func.count()).select_from(BookingSlot)) == 0
