"""A payment's event is applied once whatever the checkout skips to be cheaper: the relayed event
is not looked for before it is applied (its id was made a moment before), and a unit of work the
webhook opens itself takes no SAVEPOINT. The unique key on ``webhook_events`` still decides, and
joining a caller's unit of work the refusal still leaves the caller's other work in place."""
import time

from sqlalchemy import func, select

from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.services import verify
from marketplace.notifications.models import Notification
from marketplace.orders.models import Order
from marketplace.payments import gateway as gw
from marketplace.payments import services
from marketplace.payments.models import Payment, WebhookEvent
from tests.factories import login, published


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _started_payment(client, factory):
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published(provider, "service")
    login(client, buyer)
    order_id = int(client.post(f"/listings/{service.id}/order").headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order_id)).one()
    intent = gw.PaymentIntent(id=payment.gateway_id, amount_fen=payment.amount_fen, currency="cny",
                              status="succeeded", client_secret=None)
    return order_id, buyer, gw.build_event("evt_once", "payment_intent.succeeded", intent)


def _signed(app, payload: bytes) -> str:
    return gw.sign_webhook_payload(app.config["STRIPE_WEBHOOK_SECRET"], payload, int(time.time()))


def test_an_event_not_looked_for_first_is_still_applied_once(app, client, factory, no_relay):
    order_id, _buyer, event = _started_payment(client, factory)
    first = services.handle_webhook(event, _signed(app, event), new_id=True)
    again = services.handle_webhook(event, _signed(app, event), new_id=True)
    assert (first["outcome"], again["outcome"]) == ("paid", "duplicate")
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "paid"
    assert _count(WebhookEvent) == 1 and _count(LedgerEntry) == 1
    assert verify(db.session).ok


def test_a_refused_event_inside_a_callers_unit_of_work_keeps_the_callers_work(app, client, factory, no_relay):
    _order_id, buyer, event = _started_payment(client, factory)
    assert services.handle_webhook(event, _signed(app, event))["outcome"] == "paid"
    before = _count(Notification, Notification.user_id == buyer.id)
    with unit_of_work():
        db.session.add(Notification(user_id=buyer.id, message="notice.paid", link="/caller"))
        outcome = services.handle_webhook(event, _signed(app, event), new_id=True)["outcome"]
    assert outcome == "duplicate"
    db.session.expire_all()
    assert _count(Notification, Notification.user_id == buyer.id) == before + 1  # the caller's row committed
    assert _count(WebhookEvent) == 1 and _count(LedgerEntry) == 1


def test_a_webhook_that_finds_the_database_busy_is_told_to_come_again_and_writes_nothing(
        app, client, factory, no_relay, monkeypatch):
    """SQLite's write lock held past the busy timeout: the delivery is answered 503 with a
    Retry-After (Stripe delivers again), having asked for the lock once (no retries inside the
    request, each as long as the timeout), and nothing of the event is written; delivered again
    once the lock is free, it books the payment."""
    import pytest

    from marketplace.core import writers
    from tests.writelock import write_lock_held

    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has row locks: no writers' turn")
    order_id, _buyer, event = _started_payment(client, factory)
    asked = []
    take = writers.take
    monkeypatch.setattr(writers, "take", lambda e: asked.append(1) or take(e))
    with write_lock_held(app, wait_ms=200):
        asked.clear()
        busy = client.post("/payments/webhook", data=event, headers={"Stripe-Signature": _signed(app, event)})
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0  # (the limiter may lengthen it)
    assert "error" in busy.get_json()
    assert len(asked) == 1  # one wait for the turn, not one per retry
    db.session.expire_all()
    assert _count(WebhookEvent) == 0 and _count(LedgerEntry) == 0
    assert db.session.get(Order, order_id).status == "pending_payment"
    again = client.post("/payments/webhook", data=event, headers={"Stripe-Signature": _signed(app, event)})
    assert again.status_code == 200 and again.get_json()["outcome"] == "paid"
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "paid" and _count(LedgerEntry) == 1
