"""Races, with real parallel HTTP requests against gunicorn (two worker processes, four
threads each) on the session's database — SQLite in the default pass, PostgreSQL when
``TEST_DATABASE_URL`` is set. Each transition that moves money or rights happens once:
twenty requests at once make one change, and the others are told 409, never 500."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from marketplace.claims import budgets as claims_budgets
from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.conversations.models import PriceNotice
from marketplace.core.timeutil import beijing_today, frozen_at, utcnow
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.services import verify
from marketplace.orders import services as orders
from marketplace.orders.models import Enquiry, Order, TechContract
from marketplace.payments.models import Payment, Refund, VoucherReceivable
from marketplace.review import services as review
from tests.factories import published
from tests.voucher_helpers import give_voucher


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _entries(ref: str) -> Counter:
    db.session.expire_all()
    return Counter(db.session.scalars(select(LedgerEntry.kind).where(LedgerEntry.ref == ref)))


def _only_winners_and_conflicts(codes, success=(302,)):
    assert not [c for c in codes if c >= 500], codes
    assert set(codes) <= {*success, 409}, codes
    assert any(c in success for c in codes), codes


def _voucher_order(factory):
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published(provider, "service")
    give_voucher(buyer.organization)
    order = orders.order_service(buyer, service.id, with_voucher=True)
    return provider, buyer, order.id


def test_twenty_parallel_payments_of_one_order_charge_once(factory, live_app_server):
    provider, buyer, order_id = _voucher_order(factory)
    client = live_app_server.session(buyer)

    codes = live_app_server.stampede(client, f"/orders/{order_id}/pay", n=20)

    _only_winners_and_conflicts(codes)
    order = db.session.get(Order, order_id)
    assert order.status == "paid"
    assert _count(Payment, Payment.order_id == order_id) == 1  # one intent confirmed: one charge
    ref = orders.business_ref(order)
    assert _entries(ref) == {"payment": 1}  # paid once (the A3 base waits for acceptance)
    assert _count(VoucherReceivable, VoucherReceivable.order_id == order_id) == 0  # owed only once accepted
    assert verify(db.session).ok


def test_twenty_parallel_refunds_refund_once(factory, live_app_server):
    provider, buyer, order_id = _voucher_order(factory)
    assert live_app_server.stampede(live_app_server.session(buyer), f"/orders/{order_id}/pay", n=1) == [302]
    assert db.session.get(Order, order_id).status == "paid"
    seller = live_app_server.session(provider)

    codes = live_app_server.stampede(seller, f"/orders/{order_id}/refund", n=20, data={"reason": "客户撤回"})

    _only_winners_and_conflicts(codes)
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "refunded"
    assert _count(Refund) == 1
    assert _entries(orders.business_ref(db.session.get(Order, order_id)))["refund"] == 1
    assert verify(db.session).ok


def test_twenty_parallel_acceptances_of_one_quote_make_one_order_and_one_contract(factory, live_app_server):
    seller = factory.user("university", kind="university")
    buyer = factory.user("enterprise", size="small")
    achievement = published(seller, "achievement", negotiable=True, transfer_modes=["assignment"],
                             ip_kind="invention_patent", maturity="pilot")
    enquiry = orders.enquire(buyer, achievement.id, "请报价", "assignment")
    orders.quote(seller, enquiry.id, 80_000_000, "一次性支付")
    enquiry_id = enquiry.id

    session = live_app_server.session(buyer)
    codes = live_app_server.stampede(session, f"/enquiries/{enquiry_id}/accept", n=20)

    _only_winners_and_conflicts(codes)
    # A university sells at a negotiated price: the price goes on public notice once, and
    # nothing is signed while it runs (协议定价公示).
    assert _count(PriceNotice, PriceNotice.enquiry_id == enquiry_id) == 1
    assert _count(Order, Order.enquiry_id == enquiry_id) == 0
    assert db.session.get(Enquiry, enquiry_id).status == "on_notice"
    # The notice ends (its dates moved back); twenty parallel signatures make one order and contract.
    notice = db.session.scalars(select(PriceNotice).where(PriceNotice.enquiry_id == enquiry_id)).one()
    notice.notice_from, notice.notice_until = beijing_today() - timedelta(days=15), beijing_today()
    db.session.commit()
    codes = live_app_server.stampede(session, f"/price-notices/{notice.id}/sign", n=20)
    assert not [c for c in codes if c >= 500] and 302 in codes, codes
    assert _count(Order, Order.enquiry_id == enquiry_id) == 1
    assert _count(TechContract, TechContract.buyer_org_id == buyer.organization.id) == 1
    assert db.session.get(Enquiry, enquiry_id).status == "ordered"


def test_ten_parallel_payouts_of_one_claim_pay_once_and_the_others_get_409(factory, live_app_server):
    applicant = factory.user("enterprise")
    reviewer, finance, admin = factory.user("reviewer"), factory.user("finance"), factory.user("admin")
    year = utcnow().year - 1
    with frozen_at(utcnow() - timedelta(days=20)):
        claim = claims.file_claim(applicant, applicant.organization.id, "B1",
                                  {"project": "市县联合项目", "city_county_joint": True,
                                   "requested_amount": "100000"}, year)
        claims_budgets.set_budget(admin, year, "B1", 10_000_000_00)
        review.approve(reviewer, claim.id)
    claim_id = claim.id
    assert db.session.get(m.Claim, claim_id).status == m.ON_NOTICE

    codes = live_app_server.stampede(live_app_server.session(finance), f"/review/claims/{claim_id}/pay", n=10)

    _only_winners_and_conflicts(codes)
    assert codes.count(302) == 1, codes  # the losers are told, not redirected as if they had paid
    assert _count(m.Payout, m.Payout.claim_id == claim_id) == 1
    assert db.session.get(m.Claim, claim_id).status == m.PAID
    assert _count(m.ClaimDecision, m.ClaimDecision.claim_id == claim_id, m.ClaimDecision.action == "paid") == 1


def test_ten_parallel_deliveries_of_different_events_for_one_payment_book_it_once(app, factory, live_app_server):
    """Stripe may send the success of one intent more than once under different event ids (a
    retry after a timeout, a second endpoint): ten at once through gunicorn, each recorded,
    one books the payment (book()'s conditional update), the other nine change nothing."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from marketplace.notifications.models import Notification
    from marketplace.payments import gateway as gw
    from marketplace.payments import services as payments
    from marketplace.payments.models import WebhookEvent

    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published(provider, "service")
    order = orders.order_service(buyer, service.id, False)
    app.config["STRIPE_RELAY_WEBHOOKS"] = False  # the events come only from the deliveries below
    try:
        payment = payments.checkout(buyer, order.id)
    finally:
        app.config["STRIPE_RELAY_WEBHOOKS"] = True
    order_id, gateway_id = order.id, payment.gateway_id
    intent = gw.PaymentIntent(id=gateway_id, amount_fen=payment.amount_fen, currency="cny", status="succeeded",
                              client_secret=None)
    secret = app.config["STRIPE_WEBHOOK_SECRET"]
    events = [gw.build_event(f"evt_parallel_{gateway_id}_{k}", "payment_intent.succeeded", intent) for k in range(10)]
    db.session.rollback()
    barrier = threading.Barrier(len(events))

    def deliver(body):
        barrier.wait(timeout=60)
        return requests.post(live_app_server.base + "/payments/webhook", data=body, timeout=120, headers={
            "Stripe-Signature": gw.sign_webhook_payload(secret, body, int(time.time())),
            "Content-Type": "application/json"}).status_code

    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        codes = list(pool.map(deliver, events))

    assert codes == [200] * len(events), codes
    assert db.session.get(Order, order_id).status == "paid"
    assert _count(Payment, Payment.order_id == order_id, Payment.status == "succeeded") == 1
    assert _entries(orders.business_ref(db.session.get(Order, order_id))) == {"payment": 1}
    outcomes = Counter(db.session.scalars(select(WebhookEvent.outcome).where(WebhookEvent.object_id == gateway_id)))
    assert outcomes == {"paid": 1, "already_succeeded": len(events) - 1}, outcomes
    told = Counter(db.session.scalars(select(Notification.message).where(Notification.link == f"/orders/{order_id}")))
    assert told["notice.paid"] == 1 and told["talk.paid"] == 1, told  # the buyer's and the seller's, once
    assert verify(db.session).ok
