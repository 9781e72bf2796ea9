"""Checkout, gateway webhooks and refunds.

The gateway's signed webhook is the proof of payment: ``checkout`` only starts a payment;
``handle_webhook`` marks the order paid and writes the ledger, once per event id.
"""
from __future__ import annotations

import uuid

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from marketplace import permissions as perm
from marketplace.core.errors import Conflict, ServiceError
from marketplace.core.money import fen_to_str, format_yuan
from marketplace.core.timeutil import business_date, utcnow
from marketplace.core.uow import transactional, unit_of_work
from marketplace.extensions import db
from marketplace.ledger.services import append as ledger_append
from marketplace.notifications.models import notify
from marketplace.orders.models import BOOKING, ORDER, BookingStatus, Order, OrderStatus
from marketplace.orders.services import business_ref, get_order
from marketplace.payments import gateway as gw
from marketplace.payments.models import LIVE, PAYMENT, Payment, PaymentStatus, Refund, VoucherReceivable, WebhookEvent

_memory_gateway: gw.InMemoryGateway | None = None


def gateway() -> gw.PaymentGateway:
    """The gateway the configuration names."""
    config = current_app.config
    if config["PAYMENT_GATEWAY"] == "memory":
        global _memory_gateway
        if _memory_gateway is None or _memory_gateway.webhook_secret != config["STRIPE_WEBHOOK_SECRET"]:
            _memory_gateway = gw.InMemoryGateway(webhook_secret=config["STRIPE_WEBHOOK_SECRET"])
        return _memory_gateway
    # One client per app and settings, so that its HTTP connections to the gateway are kept
    # alive and reused (stripe's RequestsClient keeps one session per thread).
    key = (config["STRIPE_SECRET_KEY"], config["STRIPE_API_BASE"], config["STRIPE_WEBHOOK_SECRET"])
    cache = current_app.extensions.setdefault("stripe_gateways", {})
    existing = cache.get(key)
    if existing is None:
        existing = cache[key] = gw.StripeGateway(api_key=key[0], api_base=key[1], webhook_secret=key[2])
    return existing


def checkout(actor, order_id: int) -> Payment:
    """Start paying the buyer's share of an order through the gateway.

    One live attempt per order (a partial unique index on ``payments``): of requests racing
    to start the first attempt one inserts it, the others are told 409. A click while the
    attempt is under way reuses it (the same intent, the same idempotency key)."""
    from marketplace.orders.services import booking_expired

    order = get_order(actor, order_id)
    perm.require(actor, perm.BUY, order)
    ORDER.require(order.status, OrderStatus.PAID, _("This order is not waiting for payment."))
    existing = db.session.scalar(select(Payment).where(Payment.order_id == order.id, Payment.status.in_(LIVE)))
    if existing is not None and existing.status == PaymentStatus.SUCCEEDED:
        raise Conflict(_("This order is not waiting for payment."))
    if existing is None and order.booking is not None and booking_expired(order.booking):
        # (an attempt under way when the time ran out keeps its booking: the sweep spares it)
        raise Conflict(_("The time to pay for this booking has run out and its hours were freed. Book again."))
    if existing is not None:
        payment = existing
    else:
        # One idempotency key per attempt: a retry after a failed payment is a new payment,
        # while a repeated click within one attempt reuses the first one.
        attempt = db.session.scalar(select(func.count()).select_from(Payment).where(Payment.order_id == order.id)) + 1
        try:
            from marketplace.vouchers.services import payable_fen

            amount_fen = payable_fen(order)  # the buyer's share (通兑) or the whole fee (通用)
            intent = gateway().create_payment(
                amount_fen=amount_fen, currency="cny", reference=order.ref,
                idempotency_key=f"order-{order.id}-pay-{attempt}",
                metadata={"order": order.ref, "ref": business_ref(order)})
        except gw.PaymentGatewayError as exc:
            raise ServiceError(_("The payment service did not answer. Nothing was charged; try again.")) from exc
        payment = Payment(order_id=order.id, gateway_id=intent.id, amount_fen=amount_fen)
        try:
            with unit_of_work(), db.session.begin_nested():  # committed before the gateway confirms
                db.session.add(payment)
        except IntegrityError:  # a concurrent request started this order's payment first
            raise Conflict(_("This order is already being paid. Reload the page in a moment.")) from None
    try:
        confirmed = gateway().confirm_payment(payment.gateway_id)
    except gw.PaymentGatewayError as exc:
        raise ServiceError(_("The payment service did not answer. Nothing was charged; try again.")) from exc
    if current_app.config["STRIPE_RELAY_WEBHOOKS"]:
        # Development and tests: stripe-mock sends no webhooks, so deliver the signed event
        # that Stripe would send, through the same verification as a real one.
        relay_event("payment_intent.succeeded",
                    gw.PaymentIntent(id=payment.gateway_id, amount_fen=payment.amount_fen, currency="cny",
                                     status="succeeded", client_secret=confirmed.client_secret))
    return payment


def relay_event(event_type: str, obj) -> dict:
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    payload = gw.build_event(f"evt_relay_{uuid.uuid4().hex}", event_type, obj)
    import time

    return handle_webhook(payload, gw.sign_webhook_payload(secret, payload, int(time.time())))


def handle_webhook(payload: bytes, signature: str) -> dict:
    """Verify, then apply once. A forged event raises; a replayed one changes nothing."""
    try:
        event = gateway().parse_webhook(payload, signature or "")
    except gw.WebhookSignatureError as exc:
        raise ServiceError(_("The webhook signature is not valid.")) from exc
    except gw.WebhookError as exc:
        raise ServiceError(_("The webhook body is not valid.")) from exc
    if db.session.scalar(select(WebhookEvent.id).where(WebhookEvent.event_id == event.id)):
        return {"event": event.id, "outcome": "duplicate"}
    try:
        with unit_of_work(), db.session.begin_nested():
            outcome = "ignored"
            if event.type == "payment_intent.succeeded":
                outcome = _payment_succeeded(event)
            elif event.type == "payment_intent.payment_failed":
                outcome = _payment_failed(event)
            db.session.add(WebhookEvent(event_id=event.id, type=event.type, object_id=event.object_id,
                                        outcome=outcome))
    except IntegrityError:  # the same event handled concurrently: that one wins
        return {"event": event.id, "outcome": "duplicate"}
    return {"event": event.id, "outcome": outcome}


def _payment_succeeded(event) -> str:
    payment = db.session.scalar(select(Payment).where(Payment.gateway_id == event.object_id))
    if payment is None:
        return "unknown_payment"
    if not PAYMENT.allows(payment.status, PaymentStatus.SUCCEEDED):
        return "already_" + payment.status
    if event.amount_fen is not None and event.amount_fen != payment.amount_fen:
        return "amount_mismatch"
    now = utcnow()
    # The transition happens once, decided inside the database: of concurrent deliveries of
    # (different events for) one intent, one moves the payment and the order, the others
    # find nothing left to move.
    moved = db.session.execute(update(Payment).where(Payment.id == payment.id,
                                                     Payment.status.in_(PAYMENT.sources(PaymentStatus.SUCCEEDED)))
                               .values(status=PaymentStatus.SUCCEEDED, succeeded_at=now)
                               .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.session.expire(payment)
        return "already_" + (payment.status or "handled")
    order = payment.order
    paid = db.session.execute(update(Order).where(Order.id == order.id, Order.status.in_(ORDER.sources(OrderStatus.PAID)))
                              .values(status=OrderStatus.PAID, paid_at=now)
                              .execution_options(synchronize_session=False)).rowcount
    if paid != 1:  # the order was cancelled meanwhile: the money is noted, nothing is booked
        return "order_not_pending"
    db.session.expire(payment)
    db.session.expire(order)
    today = business_date(now)
    ref = business_ref(order)
    entry = ledger_append("payment", ref, today, payment.amount_fen, {
        "payer": order.buyer.credit_code, "payee": order.seller.credit_code,
        "amount": fen_to_str(payment.amount_fen), "method": "card", "gateway_id": payment.gateway_id,
    })
    payment.ledger_seq = entry.seq
    # (a voucher's redemption and its receivables are written at acceptance, not here:
    # marketplace.vouchers.services._redeem)
    notify(order.created_by_id, "notice.paid", f"/orders/{order.id}")
    from marketplace.notifications.services import members, tell

    tell(members(order.seller_org_id), "order", "talk.paid", f"/orders/{order.id}", org=order.buyer.name,
         price=format_yuan(payment.amount_fen), title=order.listing.title)
    return "paid"


def _payment_failed(event) -> str:
    payment = db.session.scalar(select(Payment).where(Payment.gateway_id == event.object_id))
    if payment is None or not PAYMENT.allows(payment.status, PaymentStatus.FAILED):
        return "ignored"
    moved = db.session.execute(update(Payment).where(Payment.id == payment.id,
                                                     Payment.status.in_(PAYMENT.sources(PaymentStatus.FAILED)))
                               .values(status=PaymentStatus.FAILED).execution_options(synchronize_session=False)).rowcount
    return "failed" if moved == 1 else "ignored"


@transactional
def refund(actor, order_id: int, reason: str) -> Refund:
    """Refund a paid order in full; the ledger records a correction, nothing is rewritten.

    The order moves to ``refunded`` by a conditional update before the gateway is asked, so
    of concurrent refunds one goes through and the others are told 409; a gateway failure
    rolls the move back. ``refunds.payment_id`` is unique as the backstop."""
    order = get_order(actor, order_id)
    perm.require(actor, perm.REFUND, order)
    if not (reason or "").strip():
        raise ServiceError(_("Give the reason for the refund."), "reason")
    ORDER.require(order.status, OrderStatus.REFUNDED, _("Only a paid order can be refunded."))
    if order.booking is not None and not BOOKING.allows(order.booking.status, BookingStatus.CANCELLED):
        raise Conflict(_("A completed booking cannot be refunded here; ask the city."))
    from marketplace.vouchers.services import release

    payment = db.session.scalar(select(Payment).where(Payment.order_id == order.id,
                                                      Payment.status.in_(PAYMENT.sources(PaymentStatus.REFUNDED))))
    if payment is None:
        raise Conflict(_("Only a paid order can be refunded."))
    claimed = db.session.execute(update(Order).where(Order.id == order.id,
                                                     Order.status.in_(ORDER.sources(OrderStatus.REFUNDED)))
                                 .values(status=OrderStatus.REFUNDED)
                                 .execution_options(synchronize_session=False)).rowcount
    claimed_payment = db.session.execute(update(Payment).where(Payment.id == payment.id,
                                                               Payment.status.in_(PAYMENT.sources(PaymentStatus.REFUNDED)))
                                         .values(status=PaymentStatus.REFUNDED)
                                         .execution_options(synchronize_session=False)).rowcount
    if claimed != 1 or claimed_payment != 1:
        raise Conflict(_("This order was refunded already."))
    try:
        result = gateway().refund(intent_id=payment.gateway_id, amount_fen=payment.amount_fen,
                                  idempotency_key=f"order-{order.id}-refund", reason=None)
    except gw.PaymentGatewayError as exc:  # the unit of work rolls the move back
        raise ServiceError(_("The payment service did not answer. Nothing was refunded; try again.")) from exc
    db.session.expire(order)
    db.session.expire(payment)
    refund_row = Refund(payment_id=payment.id, gateway_id=result.id, amount_fen=payment.amount_fen,
                        reason=reason.strip())
    db.session.add(refund_row)
    ledger_append("refund", business_ref(order), business_date(utcnow()), payment.amount_fen,
                  {"reason": reason.strip(), "amount": fen_to_str(payment.amount_fen)},
                  corrects_seq=payment.ledger_seq)
    for receivable in db.session.scalars(select(VoucherReceivable).where(VoucherReceivable.order_id == order.id)):
        receivable.status = "void"
    release(order.id)  # the voucher's reservation (or what it redeemed) is given back
    if order.booking is not None:
        from marketplace.orders.models import BookingSlot

        order.booking.status = BookingStatus.CANCELLED
        for slot in db.session.scalars(select(BookingSlot).where(BookingSlot.booking_id == order.booking.id)):
            db.session.delete(slot)
    notify(order.created_by_id, "notice.refunded", f"/orders/{order.id}")
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # a concurrent refund of the same payment won
        raise Conflict(_("This order was refunded already.")) from None
    return refund_row


def payments_of(order: Order) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)))


def receivables_of(order: Order) -> list[VoucherReceivable]:
    return list(db.session.scalars(select(VoucherReceivable).where(VoucherReceivable.order_id == order.id)))
