"""Payment flows through the app's own routes, on both gateways: the in-memory fake and the
real ``StripeGateway`` against stripe-mock (the ``stripe_api_base`` fixture: skipped on a
developer machine without it, a failure under CI=true).

The proof of payment is the gateway's signed webhook at /payments/webhook. A forged, unsigned
or tampered event, or a signed one for another amount, changes nothing; a declined card
leaves the order unpaid and a retry is a new payment; a repeated click reuses the payment in
progress; an order is refunded once, for what was paid, and an outage writes nothing."""
import time

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.services import verify
from marketplace.listings import services as listings
from marketplace.orders.models import Order
from marketplace.payments import gateway as gw
from marketplace.payments import services as payments
from marketplace.payments.models import Payment, Refund, WebhookEvent
from tests.factories import login


@pytest.fixture(params=["memory", "stripe"])
def gateway_kind(request, app):
    """Runs the test once per gateway; the stripe run talks to stripe-mock."""
    saved = {k: app.config[k] for k in ("PAYMENT_GATEWAY", "STRIPE_API_BASE", "STRIPE_RELAY_WEBHOOKS")}
    if request.param == "stripe":
        app.config.update(PAYMENT_GATEWAY="stripe", STRIPE_API_BASE=request.getfixturevalue("stripe_api_base"))
    yield request.param
    app.config.update(saved)


@pytest.fixture()
def seller(provider):
    return provider


@pytest.fixture()
def buyer(enterprise):
    return enterprise


def _order(client, seller, buyer, price_fen=5_000_000) -> int:
    listing = listings.create_listing(seller, "service", {"title": "检测服务", "description": "", "price_fen": price_fen,
                                                          "negotiable": False})
    listings.publish(seller, listing.id)
    login(client, buyer)
    response = client.post(f"/listings/{listing.id}/order", data={})
    assert response.status_code == 302, response.data[:300]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _status(order_id) -> str:
    db.session.expire_all()
    return db.session.get(Order, order_id).status


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _kinds() -> list[str]:
    return [e.kind for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]


def _event(event_id, event_type, payment, amount_fen=None, status="succeeded") -> bytes:
    intent = gw.PaymentIntent(id=payment.gateway_id, amount_fen=payment.amount_fen if amount_fen is None else amount_fen,
                              currency="cny", status=status, client_secret=None)
    return gw.build_event(event_id, event_type, intent)


def _post(client, app, payload, secret=None, signature=None):
    if signature is None:
        signature = gw.sign_webhook_payload(secret or app.config["STRIPE_WEBHOOK_SECRET"], payload, int(time.time()))
    return client.post("/payments/webhook", data=payload, headers={"Stripe-Signature": signature} if signature else {})


def test_checkout_pays_through_the_gateway_and_writes_one_payment_entry(client, gateway_kind, seller, buyer):
    order_id = _order(client, seller, buyer)
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    payment = db.session.scalars(select(Payment)).one()
    assert payment.status == "succeeded" and payment.amount_fen == 5_000_000 and payment.gateway_id.startswith("pi_")
    assert _status(order_id) == "paid" and _kinds() == ["payment"]
    assert client.post(f"/orders/{order_id}/pay").status_code == 409  # paid once
    assert _count(Payment) == 1 and verify(db.session).ok


def test_forged_unsigned_or_tampered_webhooks_change_nothing(app, client, gateway_kind, no_relay, seller, buyer):
    order_id = _order(client, seller, buyer)
    client.post(f"/orders/{order_id}/pay")
    payment = db.session.scalars(select(Payment)).one()
    assert payment.status == "processing" and _status(order_id) == "pending_payment"  # no proof yet
    payload = _event("evt_forged", "payment_intent.succeeded", payment)
    good_signature = gw.sign_webhook_payload(app.config["STRIPE_WEBHOOK_SECRET"], payload, int(time.time()))
    attempts = {
        "unsigned": _post(client, app, payload, signature=""),
        "wrong secret": _post(client, app, payload, secret="whsec_attacker"),
        "garbage header": _post(client, app, payload, signature="t=1,v1=deadbeef"),
        "stale": _post(client, app, payload, signature=gw.sign_webhook_payload(
            app.config["STRIPE_WEBHOOK_SECRET"], payload, int(time.time()) - 3600)),
        "tampered body": _post(client, app, payload.replace(b'"amount":5000000', b'"amount":1'),
                               signature=good_signature),
    }
    for what, response in attempts.items():
        assert response.status_code == 400, what
    assert _status(order_id) == "pending_payment" and _kinds() == [] and _count(WebhookEvent) == 0
    assert _post(client, app, payload).status_code == 200  # the genuine one
    assert _status(order_id) == "paid" and _kinds() == ["payment"]


@pytest.mark.parametrize("delta", [-1, +1, -4_999_999])
def test_a_signed_event_with_another_amount_does_not_mark_the_order_paid(app, client, gateway_kind, no_relay,
                                                                         seller, buyer, delta):
    order_id = _order(client, seller, buyer)
    client.post(f"/orders/{order_id}/pay")
    payment = db.session.scalars(select(Payment)).one()
    response = _post(client, app, _event("evt_other", "payment_intent.succeeded", payment,
                                         amount_fen=payment.amount_fen + delta))
    assert response.status_code == 200 and response.get_json()["outcome"] == "amount_mismatch"
    db.session.expire_all()
    assert _status(order_id) == "pending_payment" and _kinds() == []
    assert db.session.get(Payment, payment.id).status == "processing"
    assert _post(client, app, _event("evt_right", "payment_intent.succeeded", payment)).get_json()["outcome"] == "paid"
    assert _status(order_id) == "paid"


def test_a_declined_card_leaves_the_order_unpaid_and_a_retry_is_a_new_payment(app, client, gateway_kind, no_relay,
                                                                              seller, buyer):
    order_id = _order(client, seller, buyer)
    client.post(f"/orders/{order_id}/pay")
    first = db.session.scalars(select(Payment)).one()
    declined = _event("evt_declined", "payment_intent.payment_failed", first, status="requires_payment_method")
    assert _post(client, app, declined).get_json()["outcome"] == "failed"
    db.session.expire_all()
    assert db.session.get(Payment, first.id).status == "failed"
    assert _status(order_id) == "pending_payment" and _kinds() == []
    app.config["STRIPE_RELAY_WEBHOOKS"] = True
    assert client.post(f"/orders/{order_id}/pay").status_code == 302  # the retry
    rows = db.session.scalars(select(Payment).order_by(Payment.id)).all()
    assert [p.status for p in rows] == ["failed", "succeeded"] and rows[0].gateway_id != rows[1].gateway_id
    assert _status(order_id) == "paid" and _kinds() == ["payment"]
    # a late success event for the declined attempt pays nothing twice
    assert _post(client, app, _event("evt_late", "payment_intent.succeeded", rows[0])).get_json()["outcome"] \
        == "already_failed"
    assert _kinds() == ["payment"]
    if gateway_kind == "memory":  # one idempotency key per attempt
        keys = [kw["idempotency_key"] for name, kw in payments.gateway().calls if name == "create_payment"]
        assert keys[-2:] == [f"order-{order_id}-pay-1", f"order-{order_id}-pay-2"]


def test_a_repeated_click_reuses_the_payment_in_progress(app, client, gateway_kind, no_relay, seller, buyer):
    order_id = _order(client, seller, buyer)
    for _ in range(3):
        assert client.post(f"/orders/{order_id}/pay").status_code == 302
    payment = db.session.scalars(select(Payment)).one()  # one attempt, one intent
    for _ in range(3):  # the gateway resends the same event: applied once
        assert _post(client, app, _event("evt_once", "payment_intent.succeeded", payment)).status_code == 200
    assert _status(order_id) == "paid" and _kinds() == ["payment"] and _count(WebhookEvent) == 1


def test_an_order_is_refunded_once_for_what_was_paid(client, gateway_kind, seller, buyer):
    order_id = _order(client, seller, buyer)
    client.post(f"/orders/{order_id}/pay")
    client.post("/logout")
    login(client, seller)
    assert client.post(f"/orders/{order_id}/refund", data={"reason": "服务未能完成"}).status_code == 302
    assert client.post(f"/orders/{order_id}/refund", data={"reason": "再退一次"}).status_code == 409
    payment = db.session.scalars(select(Payment)).one()
    refund = db.session.scalars(select(Refund)).one()
    assert refund.amount_fen == payment.amount_fen == 5_000_000 and payment.status == "refunded"
    entries = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
    assert [(e.kind, e.amount_fen) for e in entries] == [("payment", 5_000_000), ("refund", 5_000_000)]
    assert entries[1].corrects_seq == entries[0].seq and _status(order_id) == "refunded"


def test_refunding_an_unpaid_order_is_refused(client, gateway_kind, no_relay, seller, buyer):
    order_id = _order(client, seller, buyer)
    client.post(f"/orders/{order_id}/pay")  # processing, never confirmed
    client.post("/logout")
    login(client, seller)
    assert client.post(f"/orders/{order_id}/refund", data={"reason": "退款"}).status_code == 409
    assert _count(Refund) == 0 and _kinds() == []


class _Down:
    """A gateway that is unreachable."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise gw.PaymentGatewayError("connection refused")
        return fail


@pytest.fixture()
def outage(app, gateway_kind, monkeypatch):
    """stripe: an address where nothing listens; memory: a gateway that raises."""
    def start():
        if gateway_kind == "stripe":
            app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
        else:
            monkeypatch.setattr(payments, "gateway", lambda: _Down())
    return start


def test_a_gateway_outage_at_checkout_writes_nothing(client, gateway_kind, outage, seller, buyer):
    order_id = _order(client, seller, buyer)
    outage()
    client.post("/lang/en")
    response = client.post(f"/orders/{order_id}/pay")
    assert response.status_code == 400 and "did not answer" in response.get_data(as_text=True)
    assert _count(Payment) == 0 and _status(order_id) == "pending_payment" and _kinds() == []


def test_a_gateway_outage_at_refund_writes_nothing(app, client, gateway_kind, outage, seller, buyer):
    order_id = _order(client, seller, buyer)
    client.post(f"/orders/{order_id}/pay")
    client.post("/logout")
    login(client, seller)
    outage()
    assert client.post(f"/orders/{order_id}/refund", data={"reason": "服务未能完成"}).status_code == 400
    assert _count(Refund) == 0 and _status(order_id) == "paid" and _kinds() == ["payment"]
    assert db.session.scalars(select(Payment)).one().status == "succeeded"
