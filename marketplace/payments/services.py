"""Checkout, gateway webhooks and refunds.

The gateway's signed webhook is the proof of payment: ``checkout`` only starts a payment;
``handle_webhook`` marks the order paid and writes the ledger, once per event id.
"""
from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.util import identity_key

from marketplace import permissions as perm
from marketplace.core.errors import Conflict, ServiceError
from marketplace.core.money import fen_to_str, format_yuan
from marketplace.core.timeutil import business_date, utcnow
from marketplace.core.uow import as_written, refusable_unit_of_work, transactional
from marketplace.extensions import db
from marketplace.ledger.services import append as ledger_append
from marketplace.notifications.models import notify
from marketplace.notifications.services import Chosen, Everyone, read_ahead, tell
from marketplace.orders.models import BOOKING, ORDER, BookingStatus, Order, OrderStatus
from marketplace.orders.services import business_ref, business_ref_of, get_order
from marketplace.payments import gateway as gw
from marketplace.payments.models import (
    LIVE,
    PAYMENT,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    VoucherReceivable,
    WebhookEvent,
)

# How each method is named in the ledger's payment entries.
LEDGER_METHOD = {PaymentMethod.CARD: "card", PaymentMethod.BANK: "bank_transfer", "card": "card",
                 "bank": "bank_transfer"}

_memory_gateway: gw.InMemoryGateway | None = None


def gateway_for(method: str) -> gw.PaymentGateway:
    """The gateway of a payment method: bank transfers are references the platform issues
    itself; cards go to the gateway the configuration names."""
    if method == PaymentMethod.BANK:
        return gw.BankTransferGateway(secret=current_app.config["SECRET_KEY"])
    return gateway()


def gateway() -> gw.PaymentGateway:
    """The card gateway the configuration names."""
    config = current_app.config
    if config["PAYMENT_GATEWAY"] == "memory":
        global _memory_gateway
        if _memory_gateway is None or _memory_gateway.webhook_secret != config["STRIPE_WEBHOOK_SECRET"]:
            _memory_gateway = gw.InMemoryGateway(webhook_secret=config["STRIPE_WEBHOOK_SECRET"])
        return _memory_gateway
    # One client per app and settings, so that its HTTP connections to the gateway are kept
    # alive and reused (stripe's RequestsClient keeps one session per thread).
    key = (config["STRIPE_SECRET_KEY"], config["STRIPE_API_BASE"], config["STRIPE_WEBHOOK_SECRET"],
           config["STRIPE_TIMEOUT_S"])
    cache = current_app.extensions.setdefault("stripe_gateways", {})
    existing = cache.get(key)
    if existing is None:
        existing = cache[key] = gw.StripeGateway(api_key=key[0], api_base=key[1], webhook_secret=key[2],
                                                 timeout_s=key[3])
    return existing


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Part:
    """One instalment of what the buyer pays: ``number`` of ``of``, ``amount_fen`` of it."""

    number: int
    of: int
    amount_fen: int


def instalments_agreed(order: Order) -> int:
    """How many parts the accepted quote of the order's negotiation agreed (1 without one)."""
    if order.enquiry_id is None:
        return 1
    from marketplace.conversations.models import QuoteVersion

    agreed = db.session.scalar(select(QuoteVersion.instalments).where(
        QuoteVersion.enquiry_id == order.enquiry_id, QuoteVersion.status == "accepted")
        .order_by(QuoteVersion.version.desc()).limit(1))
    return agreed or 1


def plan(order: Order) -> list[Part]:
    """The parts the buyer pays: its share split evenly in fen, the last part taking the rest."""
    from marketplace.vouchers.services import payable_fen

    total, n = payable_fen(order), instalments_agreed(order)
    if total < n:  # fewer fen than parts: one part
        n = 1
    each = total // n
    return [Part(k, n, each if k < n else total - each * (n - 1)) for k in range(1, n + 1)]


def next_part(order: Order, payments: list[Payment] | None = None) -> Part | None:
    """The first part not paid yet (parts are paid in order), or None when all are.
    ``payments``: every payment of the order, when the caller has read them already."""
    if payments is None:
        paid = set(db.session.scalars(select(Payment.instalment).where(
            Payment.order_id == order.id, Payment.status.in_((PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)))))
    else:
        paid = {p.instalment for p in payments if p.status in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED)}
    return next((part for part in plan(order) if part.number not in paid), None)


def methods_for(order: Order) -> tuple[str, ...]:
    """Card always; bank transfer unless the order holds booked hours (they are freed after
    ``BOOKING_PAYMENT_MINUTES``, sooner than a transfer arrives)."""
    if order.booking is not None:
        return (PaymentMethod.CARD,)
    return (PaymentMethod.CARD, PaymentMethod.BANK)


@dataclass(frozen=True)
class Payee:
    name: str
    account_no: str
    bank: str


def payee() -> Payee:
    """The account a bank transfer goes to: the platform's escrow account (config)."""
    config = current_app.config
    return Payee(config["BANK_ESCROW_ACCOUNT_NAME"], config["BANK_ESCROW_ACCOUNT_NO"], config["BANK_ESCROW_BANK"])


@dataclass
class Summary:
    """What the confirmation step shows before anything is paid."""

    order: Order
    part: Part
    parts: list[Part]
    methods: tuple[str, ...]
    live: Payment | None  # a payment of this part already under way


def checkout_summary(actor, order_id: int) -> Summary:
    order = get_order(actor, order_id)
    perm.require(actor, perm.BUY, order)
    ORDER.require(order.status, OrderStatus.PAID, _("This order is not waiting for payment."))
    part = next_part(order)
    if part is None:
        raise Conflict(_("This order is not waiting for payment."))
    live = db.session.scalar(select(Payment).where(Payment.order_id == order.id, Payment.instalment == part.number,
                                                   Payment.status == PaymentStatus.PROCESSING))
    return Summary(order=order, part=part, parts=plan(order), methods=methods_for(order), live=live)


def checkout(actor, order_id: int, method: str = PaymentMethod.CARD, expected_fen: int | None = None) -> Payment:
    """Start paying the next part of the buyer's share of an order, by card or bank transfer.

    One live attempt per part (a partial unique index on ``payments``): of requests racing
    to start the first attempt one inserts it, the others are told 409. A click while the
    attempt is under way reuses it (the same intent, the same idempotency key).
    ``expected_fen`` is the amount the confirmation page showed: if the part's amount is
    another by now, nothing is paid."""
    from marketplace.orders.services import booking_expired

    order = get_order(actor, order_id, with_parts=True)  # (the booking and contract: methods, ledger ref)
    perm.require(actor, perm.BUY, order)
    ORDER.require(order.status, OrderStatus.PAID, _("This order is not waiting for payment."))
    if method not in methods_for(order):
        raise ServiceError(_("Choose how to pay."), "method")
    # The order's payments, read once: the parts paid, this part's attempt under way, the count.
    earlier = payments_of(order)
    part = next_part(order, earlier)
    if part is None:
        raise Conflict(_("This order is not waiting for payment."))
    if expected_fen is not None and expected_fen != part.amount_fen:
        raise Conflict(_("The amount to pay changed since the confirmation page was shown; look at it again."))
    existing = next((p for p in earlier if p.instalment == part.number and p.status in LIVE), None)
    if existing is not None and existing.status == PaymentStatus.SUCCEEDED:
        raise Conflict(_("This order is not waiting for payment."))
    if existing is not None and existing.method != method:
        raise Conflict(_("This part is already being paid another way. Reload the page."))
    if existing is None and order.booking is not None and booking_expired(order.booking):
        # (an attempt under way when the time ran out keeps its booking: the sweep spares it)
        raise Conflict(_("The time to pay for this booking has run out and its hours were freed. Book again."))
    if existing is not None:
        payment = existing
    else:
        # One idempotency key per attempt: a retry after a failed payment is a new payment,
        # while a repeated click within one attempt reuses the first one.
        attempt = len(earlier) + 1
        try:
            intent = gateway_for(method).create_payment(
                amount_fen=part.amount_fen, currency="cny", reference=order.ref,
                idempotency_key=f"order-{order.id}-pay-{attempt}",
                metadata={"order": order.ref, "ref": business_ref(order), "instalment": f"{part.number}/{part.of}"})
        except gw.PaymentGatewayError as exc:
            raise ServiceError(_("The payment service did not answer. Nothing was charged; try again.")) from exc
        values = {"order_id": order.id, "gateway_id": intent.id, "amount_fen": part.amount_fen, "method": method,
                  "instalment": part.number, "instalments": part.of}
        try:
            with refusable_unit_of_work():  # committed before the gateway confirms
                # (one INSERT returning the id, not an object for the commit to flush)
                payment_id = db.session.execute(_new_payment_statement(), values).scalar_one()
        except IntegrityError:  # a concurrent request started this part's payment first
            raise Conflict(_("This order is already being paid. Reload the page in a moment.")) from None
        # The row as committed, in the session: the columns given are known, the others (the
        # status, the defaults) are read from the database when first asked for.
        payment = as_written(Payment, payment_id, values)
    if method == PaymentMethod.BANK:  # the buyer transfers; the payee's side confirms receipt
        return payment
    # (what the attempt holds, without reading the row its commit expired)
    gateway_id, amount_fen = (existing.gateway_id, existing.amount_fen) if existing is not None \
        else (intent.id, part.amount_fen)
    try:
        confirmed = gateway().confirm_payment(gateway_id)
    except gw.PaymentGatewayError as exc:
        raise ServiceError(_("The payment service did not answer. Nothing was charged; try again.")) from exc
    if current_app.config["STRIPE_RELAY_WEBHOOKS"]:
        # Development and tests: stripe-mock sends no webhooks, so deliver the signed event
        # that Stripe would send, through the same verification as a real one.
        relay_event("payment_intent.succeeded",
                    gw.PaymentIntent(id=gateway_id, amount_fen=amount_fen, currency="cny",
                                     status="succeeded", client_secret=confirmed.client_secret))
    return payment


# The statements of the pay path, built once with their parameters bound at each call: building
# a statement and computing its cache key cost SQLAlchemy more CPU (0.2-0.4 ms) than SQLite
# takes to run it, and a checkout runs a dozen. (Built on first use, when the mappers are.)


@dataclass(frozen=True)
class Paying:
    """What booking a payment reads and writes, in one row: the payment's own columns; its
    order's, its parties' names and credit codes (the ledger's payer and payee), its listing's
    title (the seller's notice) and the reference the ledger names it by (``business_ref``).
    Plain values, not mapped rows: setting up the loading of seven related rows cost more CPU
    than any other read of a checkout. Of all this only the statuses can change before the
    booking, and book() decides on them in the database."""

    payment_id: int
    status: str
    amount_fen: int
    gateway_id: str
    instalment: int
    instalments: int
    order_id: int
    created_by_id: int
    seller_org_id: int
    buyer_name: str
    buyer_code: str
    seller_code: str
    title: str
    ref: str


@functools.cache
def _paying_statement(by: str):
    """The ``Paying`` of a payment by its ``gateway_id`` or its ``payment_id``, built once."""
    from marketplace.accounts.models import Organization
    from marketplace.listings.models import Listing
    from marketplace.orders.models import Booking, TechContract

    pay, order, listing = Payment.__table__, Order.__table__, Listing.__table__
    buyer, seller = Organization.__table__.alias("buyer"), Organization.__table__.alias("seller")
    contract, booking = TechContract.__table__, Booking.__table__
    key = pay.c.gateway_id if by == "gateway_id" else pay.c.id
    return (select(pay.c.id, pay.c.status, pay.c.amount_fen, pay.c.gateway_id, pay.c.instalment, pay.c.instalments,
                   order.c.id, order.c.created_by_id, order.c.seller_org_id, order.c.with_voucher,
                   buyer.c.name, buyer.c.credit_code, seller.c.credit_code, listing.c.title,
                   contract.c.id, booking.c.id)
            .select_from(pay.join(order, order.c.id == pay.c.order_id)
                         .join(buyer, buyer.c.id == order.c.buyer_org_id)
                         .join(seller, seller.c.id == order.c.seller_org_id)
                         .join(listing, listing.c.id == order.c.listing_id)
                         .outerjoin(contract, contract.c.order_id == order.c.id)
                         .outerjoin(booking, booking.c.order_id == order.c.id))
            .where(key == bindparam("key")))


def read_paying(*, gateway_id: str | None = None, payment_id: int | None = None) -> Paying | None:
    """The ``Paying`` of the payment with this gateway id (a webhook) or this id, or None."""
    by, key = ("gateway_id", gateway_id) if gateway_id is not None else ("payment_id", payment_id)
    row = db.session.execute(_paying_statement(by), {"key": key}).first()
    if row is None:
        return None
    (payment_id, status, amount_fen, gateway_id, instalment, instalments, order_id, created_by_id, seller_org_id,
     with_voucher, buyer_name, buyer_code, seller_code, title, contract_id, booking_id) = row
    return Paying(payment_id, status, amount_fen, gateway_id, instalment, instalments, order_id, created_by_id,
                  seller_org_id, buyer_name, buyer_code, seller_code, title,
                  business_ref_of(order_id, with_voucher, contract_id, booking_id))


def _expire_loaded(model, pk: int, attributes: list[str] | None = None) -> None:
    """Expire the session's copy of a row a Core statement changed, if the session holds one."""
    obj = db.session.identity_map.get(identity_key(model, pk))
    if obj is not None:
        db.session.expire(obj, attributes)


@functools.cache
def _book_statements():
    """(move the payment to succeeded, move the order to paid, note the ledger entry, read the
    order's status): the first two conditional on the status each may move from. Core
    statements on the tables: nothing they decide depends on what the session holds unflushed,
    and the session's copies are expired by hand where they changed."""
    payments, orders = Payment.__table__.c, Order.__table__.c
    succeed = (update(Payment.__table__).where(payments.id == bindparam("payment_id"),
                                               payments.status.in_(PAYMENT.sources(PaymentStatus.SUCCEEDED)))
               .values(status=PaymentStatus.SUCCEEDED, succeeded_at=bindparam("now"),
                       confirmed_by_id=bindparam("confirmed_by_id")))
    paid = (update(Order.__table__).where(orders.id == bindparam("order_id"),
                                          orders.status.in_(ORDER.sources(OrderStatus.PAID)))
            .values(status=OrderStatus.PAID, paid_at=bindparam("now")))
    noted = update(Payment.__table__).where(payments.id == bindparam("payment_id")).values(ledger_seq=bindparam("ledger_seq"))
    status = select(orders.status).where(orders.id == bindparam("order_id"))
    return succeed, paid, noted, status


@functools.cache
def _payments_of_statement():
    return select(Payment).where(Payment.order_id == bindparam("order_id")).order_by(Payment.id)


@functools.cache
def _new_payment_statement():
    return insert(Payment.__table__).returning(Payment.__table__.c.id)


@functools.cache
def _event_statement():
    return insert(WebhookEvent.__table__)


@functools.cache
def _event_seen_statement():
    return select(WebhookEvent.id).where(WebhookEvent.event_id == bindparam("event_id"))


def relay_event(event_type: str, obj) -> dict:
    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    payload = gw.build_event(f"evt_relay_{uuid.uuid4().hex}", event_type, obj)
    return handle_webhook(payload, gw.sign_webhook_payload(secret, payload, int(time.time())), new_id=True)


def handle_webhook(payload: bytes, signature: str, *, new_id: bool = False) -> dict:
    """Verify, then apply once. A forged event raises; a replayed one changes nothing.
    ``new_id``: the caller made the event's id just now (the relay), so there is no earlier
    delivery to look for first; the unique key on ``webhook_events`` still decides."""
    try:
        event = gateway().parse_webhook(payload, signature or "")
    except gw.WebhookSignatureError as exc:
        raise ServiceError(_("The webhook signature is not valid.")) from exc
    except gw.WebhookError as exc:
        raise ServiceError(_("The webhook body is not valid.")) from exc
    # (SQLite: the unit of work waits its turn to write and then opens with BEGIN IMMEDIATE, so
    # no snapshot goes stale under it; a turn not had within the busy timeout raises, nothing
    # is written, and the delivery is told 503 to come again.)
    return _apply_event(event, look_first=not new_id)


def _apply_event(event, look_first: bool = True) -> dict:
    # A replay is told at once, before any work (the unique key below is the guard; this read
    # spares a replay the work it would roll back).
    if look_first and db.session.scalar(_event_seen_statement(), {"event_id": event.id}):
        return {"event": event.id, "outcome": "duplicate"}
    # The payment and what booking it reads are read before the unit of work takes SQLite's
    # write lock (a 7-table read: a third of the time the lock was held): of all that, only
    # the payment's and the order's statuses can change meanwhile, and book() decides on those
    # inside, with conditional UPDATEs.
    paying = read_paying(gateway_id=event.object_id) if event.type == "payment_intent.succeeded" else None
    # (and the seller's members its notice tells, read as well before the lock as inside it;
    # not for a payment that can no longer move, a replay's)
    sellers = (read_ahead(Everyone(paying.seller_org_id), "order")
               if paying is not None and PAYMENT.allows(paying.status, PaymentStatus.SUCCEEDED) else None)
    try:
        with refusable_unit_of_work():
            outcome = "ignored"
            if event.type == "payment_intent.succeeded":
                outcome = _payment_succeeded(event, paying, sellers)
            elif event.type == "payment_intent.payment_failed":
                outcome = _payment_failed(event)
            # (a row nothing reads back: inserted as it is, not as an object to flush)
            db.session.execute(_event_statement(), {"event_id": event.id, "type": event.type,
                                                    "object_id": event.object_id, "outcome": outcome})
    except IntegrityError:  # the same event handled concurrently: that one wins
        return {"event": event.id, "outcome": "duplicate"}
    return {"event": event.id, "outcome": outcome}


def _payment_succeeded(event, payment: Paying | None, sellers: Chosen | None) -> str:
    if payment is None:
        return "unknown_payment"
    if not PAYMENT.allows(payment.status, PaymentStatus.SUCCEEDED):
        return "already_" + payment.status
    if event.amount_fen is not None and event.amount_fen != payment.amount_fen:
        return "amount_mismatch"
    return book(payment, "card", sellers=sellers)


def book(payment: Paying | Payment, method: str, confirmed_by=None, sellers: Chosen | None = None) -> str:
    """The payment succeeded: move it, the order (with its last part) and write the ledger's
    payment entry, all in the caller's unit of work. ``payment``: what ``read_paying`` read
    (the webhook reads it before the unit of work), or the payment's row (read here).
    ``sellers``: the seller's members its notice tells, if the caller read them before.

    The transition happens once, decided inside the database: of concurrent confirmations
    (webhook deliveries, a person confirming receipt, a statement import) one moves the
    payment and the order, the others find nothing left to move. The statements are Core
    statements on the tables: the session's copies of the rows, where it holds any, are
    expired where they changed."""
    paying = read_paying(payment_id=payment.id) if isinstance(payment, Payment) else payment
    now = utcnow()
    succeed, paid_order, noted, order_status = _book_statements()
    moved = db.session.execute(succeed, {"payment_id": paying.payment_id, "now": now,
                                         "confirmed_by_id": getattr(confirmed_by, "id", None)}).rowcount
    if moved != 1:
        _expire_loaded(Payment, paying.payment_id)
        status = db.session.scalar(select(Payment.status).where(Payment.id == paying.payment_id))
        return "already_" + (status or "handled")
    _expire_loaded(Payment, paying.payment_id, ["status", "succeeded_at", "confirmed_by_id", "ledger_seq"])
    if paying.instalment == paying.instalments:  # the last part: the order is paid
        paid = db.session.execute(paid_order, {"order_id": paying.order_id, "now": now}).rowcount
        _expire_loaded(Order, paying.order_id, ["status", "paid_at"])
    else:  # (the status as it is now: the caller may have read the order before the lock)
        paid = int(db.session.scalar(order_status, {"order_id": paying.order_id}) == OrderStatus.PENDING_PAYMENT)
        _expire_loaded(Order, paying.order_id, ["status"])  # (as the database has it now, if read again)
    if paid != 1:  # the order was cancelled meanwhile: the money is noted, nothing is booked
        return "order_not_pending"
    today = business_date(now)
    payload = {
        "payer": paying.buyer_code, "payee": paying.seller_code,
        "amount": fen_to_str(paying.amount_fen), "method": LEDGER_METHOD[method], "gateway_id": paying.gateway_id,
    }
    if paying.instalments > 1:
        payload.update(instalment=paying.instalment, instalments=paying.instalments)

    # The ledger entry is left for the caller's commit to flush (the notices and the outbox rows
    # are single INSERTs run at once): nothing read from here on (the seller's members and their
    # choices) needs it, so no read flushes it first.
    with db.session.no_autoflush:
        entry = ledger_append("payment", paying.ref, today, paying.amount_fen, payload, flush=False)
        # (written by its own UPDATE, not as a change the next flush finds by comparing the row)
        db.session.execute(noted, {"payment_id": paying.payment_id, "ledger_seq": entry.seq})
        # (a voucher's redemption and its receivables are written at acceptance, not here:
        # marketplace.vouchers.services._redeem)
        link = f"/orders/{paying.order_id}"
        notify(paying.created_by_id, "notice.paid", link)
        tell(sellers or Everyone(paying.seller_org_id), "order", "talk.paid", link,
             org=paying.buyer_name, price=format_yuan(paying.amount_fen), title=paying.title)
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

    paid = list(db.session.scalars(select(Payment).where(
        Payment.order_id == order.id, Payment.status.in_(PAYMENT.sources(PaymentStatus.REFUNDED)))
        .order_by(Payment.instalment)))
    if not paid:
        raise Conflict(_("Only a paid order can be refunded."))
    claimed = db.session.execute(update(Order).where(Order.id == order.id,
                                                     Order.status.in_(ORDER.sources(OrderStatus.REFUNDED)))
                                 .values(status=OrderStatus.REFUNDED)
                                 .execution_options(synchronize_session=False)).rowcount
    claimed_payments = db.session.execute(update(Payment).where(
        Payment.id.in_([p.id for p in paid]), Payment.status.in_(PAYMENT.sources(PaymentStatus.REFUNDED)))
        .values(status=PaymentStatus.REFUNDED).execution_options(synchronize_session=False)).rowcount
    if claimed != 1 or claimed_payments != len(paid):
        raise Conflict(_("This order was refunded already."))
    refund_row = None
    for payment in paid:  # every part paid is refunded, by the way it came (a transfer: sent back)
        suffix = "" if payment.instalment == 1 else f"-{payment.instalment}"
        try:
            result = gateway_for(payment.method).refund(intent_id=payment.gateway_id, amount_fen=payment.amount_fen,
                                                    idempotency_key=f"order-{order.id}-refund{suffix}", reason=None)
        except gw.PaymentGatewayError as exc:  # the unit of work rolls the move back
            raise ServiceError(_("The payment service did not answer. Nothing was refunded; try again.")) from exc
        db.session.expire(payment)
        row = Refund(payment_id=payment.id, gateway_id=result.id, amount_fen=payment.amount_fen,
                     reason=reason.strip())
        db.session.add(row)
        refund_row = refund_row or row
        ledger_append("refund", business_ref(order), business_date(utcnow()), payment.amount_fen,
                      {"reason": reason.strip(), "amount": fen_to_str(payment.amount_fen)},
                      corrects_seq=payment.ledger_seq)
    db.session.expire(order)
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
    return list(db.session.scalars(_payments_of_statement(), {"order_id": order.id}))


def received_so_far(order: Order) -> int:
    """What the buyer has paid of its share (parts confirmed)."""
    return sum(p.amount_fen for p in payments_of(order) if p.status == PaymentStatus.SUCCEEDED)


def receivables_of(order: Order) -> list[VoucherReceivable]:
    return list(db.session.scalars(select(VoucherReceivable).where(VoucherReceivable.order_id == order.id)))
