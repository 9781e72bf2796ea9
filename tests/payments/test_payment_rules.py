"""Payment rules a mutation run showed untested (issue 16): what a failure event may touch,
and which payments and receivables belong to an order. Through the public services and the
webhook route, on the in-memory gateway (the stripe-mock runs are in test_app_flows.py)."""
import time

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.payments import gateway as gw
from marketplace.payments import services as payments
from marketplace.payments.models import Payment


@pytest.fixture()
def seller(factory):
    return factory.user("provider", kind="agency", service_agency=True, name="聊城检测中心")


@pytest.fixture()
def buyer(factory):
    return factory.user("enterprise", size="small")


def _service(seller, price_fen=5_000_000):
    listing = listings.create_listing(seller, "service", {"title": "检测服务", "description": "",
                                                          "price_fen": price_fen, "negotiable": False})
    return listings.publish(seller, listing.id)


def _event(client, app, event_type, gateway_id, amount_fen, status="requires_payment_method", event_id=None):
    intent = gw.PaymentIntent(id=gateway_id, amount_fen=amount_fen, currency="cny", status=status, client_secret=None)
    payload = gw.build_event(event_id or f"evt_{gateway_id}_{event_type}", event_type, intent)
    signature = gw.sign_webhook_payload(app.config["STRIPE_WEBHOOK_SECRET"], payload, int(time.time()))
    response = client.post("/payments/webhook", data=payload, headers={"Stripe-Signature": signature})
    assert response.status_code == 200, response.data[:300]
    return response.get_json()["outcome"]


def _statuses():
    db.session.expire_all()
    return {p.id: p.status for p in db.session.scalars(select(Payment))}


def test_a_failure_event_for_an_unknown_intent_is_ignored(app, client, no_relay, seller, buyer):
    order = orders.order_service(buyer, _service(seller).id)
    payment = payments.checkout(buyer, order.id)
    assert _event(client, app, "payment_intent.payment_failed", "pi_nobody_knows", 100) == "ignored"
    assert _statuses() == {payment.id: "processing"}


def test_a_failure_event_after_success_does_not_unpay_the_order(app, client, no_relay, seller, buyer):
    order = orders.order_service(buyer, _service(seller).id)
    payment = payments.checkout(buyer, order.id)
    assert _event(client, app, "payment_intent.succeeded", payment.gateway_id, payment.amount_fen,
                  status="succeeded") == "paid"
    assert _event(client, app, "payment_intent.payment_failed", payment.gateway_id, payment.amount_fen) == "ignored"
    assert _statuses() == {payment.id: "succeeded"}
    assert db.session.get(Order, order.id).status == "paid"


def test_a_declined_card_fails_only_its_own_payment(app, client, no_relay, seller, buyer, factory):
    service = _service(seller)
    other_buyer = factory.user("enterprise", size="small")
    mine = payments.checkout(buyer, orders.order_service(buyer, service.id).id)
    theirs = payments.checkout(other_buyer, orders.order_service(other_buyer, service.id).id)
    assert _event(client, app, "payment_intent.payment_failed", mine.gateway_id, mine.amount_fen) == "failed"
    assert _statuses() == {mine.id: "failed", theirs.id: "processing"}
    # and the other one still goes through
    assert _event(client, app, "payment_intent.succeeded", theirs.gateway_id, theirs.amount_fen,
                  status="succeeded") == "paid"


def test_an_order_lists_its_own_payments_oldest_first(app, client, no_relay, seller, buyer, factory):
    service = _service(seller)
    other_buyer = factory.user("enterprise", size="small")
    order = orders.order_service(buyer, service.id)
    other = orders.order_service(other_buyer, service.id)
    declined = payments.checkout(buyer, order.id)
    payments.checkout(other_buyer, other.id)
    _event(client, app, "payment_intent.payment_failed", declined.gateway_id, declined.amount_fen)
    retry = payments.checkout(buyer, order.id)
    assert [p.id for p in payments.payments_of(db.session.get(Order, order.id))] == [declined.id, retry.id]


def test_an_order_lists_only_its_own_voucher_receivables(app, client, seller, buyer, factory):
    service = _service(seller)
    other_buyer = factory.user("enterprise", size="small")
    from tests.voucher_helpers import deliver_and_accept, give_voucher

    give_voucher(buyer.organization)
    give_voucher(other_buyer.organization)
    order = orders.order_service(buyer, service.id, with_voucher=True)
    other = orders.order_service(other_buyer, service.id, with_voucher=True)
    payments.checkout(buyer, order.id)  # the relayed webhook pays it
    payments.checkout(other_buyer, other.id)
    assert payments.receivables_of(db.session.get(Order, order.id)) == []  # owed only once accepted (issue 17)
    deliver_and_accept(order.id)
    deliver_and_accept(other.id)
    owed = payments.receivables_of(db.session.get(Order, order.id))
    assert sorted((r.order_id, r.payer, r.amount_fen) for r in owed) == [
        (order.id, "city", 1_500_000), (order.id, "province", 3_000_000)]


def test_a_refund_asks_the_gateway_once_for_the_paid_intent_under_the_orders_refund_key(app, client, seller, buyer):
    from marketplace.notifications.models import Notification

    order = orders.order_service(buyer, _service(seller).id)
    payment = payments.checkout(buyer, order.id)
    payments.refund(seller, order.id, "服务未能完成")
    asked = [kw for name, kw in payments.gateway().calls if name == "refund"]
    assert asked[-1] == {"intent_id": payment.gateway_id, "amount_fen": 5_000_000,
                         "idempotency_key": f"order-{order.id}-refund", "reason": None}
    created = [kw for name, kw in payments.gateway().calls if name == "create_payment"]
    assert created[-1]["currency"] == "cny" and created[-1]["amount_fen"] == 5_000_000
    # the buyer is told
    told = db.session.scalars(select(Notification).where(Notification.user_id == buyer.id)).all()
    assert [(n.message, n.link) for n in told if n.message == "notice.refunded"] == [
        ("notice.refunded", f"/orders/{order.id}")]


def test_refusals_say_why(app, client, no_relay, seller, buyer):
    from tests.factories import login

    order = orders.order_service(buyer, _service(seller).id)
    payments.checkout(buyer, order.id)  # processing: not paid yet
    login(client, seller)
    client.post("/lang/en")
    response = client.post(f"/orders/{order.id}/refund", data={"reason": "退款"})
    assert response.status_code == 409 and "Only a paid order can be refunded." in response.get_data(as_text=True)
    forged = client.post("/payments/webhook", data=b"{}", headers={"Stripe-Signature": "t=1,v1=00",
                                                                    "Accept": "application/json"})
    assert forged.status_code == 400
    assert forged.get_json()["error"] == "The webhook signature is not valid."


def test_the_attempt_checkout_returns_is_the_sessions_row_as_committed(no_relay, seller, buyer):
    # (the row is INSERTed as it is, not flushed as an object: the object handed back must
    # still be the session's, its defaults read from the database)
    order = orders.order_service(buyer, _service(seller, price_fen=240_000).id)
    payment = payments.checkout(buyer, order.id, method="bank")
    assert db.session.get(Payment, payment.id) is payment
    assert (payment.status, payment.currency, payment.received_fen, payment.amount_fen) == ("processing", "cny", 0,
                                                                                            240_000)
    assert payment.created_at is not None and payment.order.id == order.id
    db.session.commit()  # (nothing of it is pending: committing writes no second row)
    assert db.session.scalars(select(Payment.id).where(Payment.order_id == order.id)).all() == [payment.id]
