"""Trade end to end through the web routes: vouchers, licences and contracts, bookings,
webhooks and refunds, with every money event on the ledger."""
import io
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from marketplace.core.timeutil import beijing_today, frozen_at
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.services import verify
from marketplace.listings import services as listings
from marketplace.orders.models import Booking, BookingSlot, Order, TechContract
from marketplace.payments import gateway as gw
from marketplace.payments.models import Payment, VoucherReceivable, WebhookEvent
from tests.factories import login, published
from tests.voucher_helpers import give_voucher

ROOT = Path(__file__).resolve().parents[2]


def _kinds():
    return [e.kind for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]


def test_enterprise_pays_a_service_with_a_voucher(client, provider, enterprise):
    service = published(provider, "service", title="高端液相色谱仪检测服务", price_fen=5_000_000)
    voucher = give_voucher(enterprise.organization, 10_000_000)
    login(client, enterprise)
    page = client.get(f"/listings/{service.id}").get_data(as_text=True)
    assert "¥30,000.00" in page and "¥15,000.00" in page and "¥5,000.00" in page  # the what-if
    response = client.post(f"/listings/{service.id}/order", data={"with_voucher": "y"})
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    order = db.session.get(Order, order_id)
    assert (order.status, order.province_fen, order.city_fen, order.enterprise_fen) == ("paid", 3_000_000, 1_500_000, 500_000)
    payment = db.session.scalars(select(Payment)).one()
    assert payment.amount_fen == 500_000 and payment.status == "succeeded"  # the enterprise pays its share only
    db.session.refresh(voucher)
    assert (voucher.reserved_fen, voucher.used_fen, voucher.balance_fen) == (4_500_000, 0, 5_500_000)
    # Paid is not redeemed: nothing owed, no redemption in the ledger until the buyer accepts.
    assert db.session.scalar(select(func.count()).select_from(VoucherReceivable)) == 0
    assert _kinds() == ["payment"]
    client.post("/logout")
    login(client, provider)
    assert client.post(f"/orders/{order_id}/deliver", data={"note": "见报告"}).status_code == 400  # no report
    delivered = client.post(f"/orders/{order_id}/deliver", data={
        "note": "见报告", "files": (io.BytesIO(b"%PDF-1.4 report"), "检测报告.pdf")}, content_type="multipart/form-data")
    assert delivered.status_code == 302
    assert _kinds() == ["payment"]
    assert client.post(f"/orders/{order_id}/accept").status_code == 403  # the seller does not accept
    client.post("/logout")
    login(client, enterprise)
    assert client.get(f"/orders/{order_id}/report").data == b"%PDF-1.4 report"
    assert client.post(f"/orders/{order_id}/accept").status_code == 302
    assert client.post(f"/orders/{order_id}/accept").status_code == 409  # once
    owed = {r.payer: r.amount_fen for r in db.session.scalars(select(VoucherReceivable))}
    assert owed == {"province": 3_000_000, "city": 1_500_000}
    assert _kinds() == ["payment", "voucher_redemption"]
    db.session.refresh(voucher)
    assert (voucher.reserved_fen, voucher.used_fen, voucher.balance_fen) == (0, 4_500_000, 5_500_000)
    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert "¥5,000.00" in page and "¥30,000.00" in page and "¥15,000.00" in page
    assert verify(db.session).ok


def test_a_large_enterprise_cannot_use_a_voucher_and_nothing_is_written(client, factory, provider):
    service = published(provider, "service")
    large = factory.user("enterprise", size="large")
    login(client, large)
    response = client.post(f"/listings/{service.id}/order", data={"with_voucher": "y"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_unverified_organisations_cannot_trade(client, factory, provider):
    service = published(provider, "service")
    newcomer = factory.user("enterprise", verified=False)
    login(client, newcomer)
    assert client.post(f"/listings/{service.id}/order", data={}).status_code == 403
    assert client.post(f"/listings/{service.id}/enquire", data={"message": "价格？"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_university_sells_a_licence_and_registers_the_contract(client, factory, enterprise, tmp_path):
    university = factory.user("university", kind="university", name="聊城大学")
    patent = published(university, "achievement", title="一种轴承钢热处理方法", price_fen=120_000_000)
    login(client, enterprise)
    response = client.post(f"/listings/{patent.id}/buy", data={"transfer_mode": "non_exclusive_licence"})
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/orders/{order_id}/pay")
    client.post("/logout")
    contract = db.session.scalars(select(TechContract)).one()
    assert (contract.contract_type, contract.project) == ("transfer", patent.ref)
    login(client, university)
    today = beijing_today().isoformat()  # the business date the contract was signed on
    bad = client.post(f"/contracts/{contract.id}/register", data={"registration_no": "2024370015000123",
                                                                  "registered_on": "2024-13-01", "contract_type": "transfer"})
    assert bad.status_code == 400 and db.session.get(TechContract, contract.id).registration_no is None
    ok = client.post(f"/contracts/{contract.id}/register", data={"registration_no": "2024370015000123",
                                                                 "registered_on": today, "contract_type": "transfer"})
    assert ok.status_code == 302
    assert _kinds() == ["payment", "contract_registered"]
    assert verify(db.session).ok
    # The ledger's scenario evaluates with the engine: 1.5 % of 1,200,000 for the seller.
    from marketplace.ledger.scenario import build_scenario
    from marketplace.subsidies import evaluate

    scenario = build_scenario(db.session, date.today().year)
    awards = evaluate(scenario).to_dict()["awards"]
    assert [(a["clause"], a["beneficiary"], a["amount"]) for a in awards] == [
        ("A1.DT", university.organization.credit_code, "18000.00")]


def test_only_the_seller_registers_a_contract(client, factory, enterprise):
    university = factory.user("university", kind="university")
    patent = published(university, "achievement", price_fen=1_000_000)
    login(client, enterprise)
    client.post(f"/listings/{patent.id}/buy", data={"transfer_mode": "assignment"})
    contract = db.session.scalars(select(TechContract)).one()
    response = client.post(f"/contracts/{contract.id}/register", data={
        "registration_no": "X1", "registered_on": date.today().isoformat(), "contract_type": "transfer"})
    assert response.status_code == 403
    assert _kinds() == []


def _book(client, instrument, day, hour, hours=1):
    return client.post(f"/listings/{instrument.id}/book",
                       data={"day": day.isoformat(), "hour": hour, "hours": hours})


def test_instrument_bookings_never_overlap(client, factory, provider, enterprise):
    instrument = published(provider, "instrument", title="扫描电镜")
    other = factory.user("enterprise", size="medium")
    day = date.today() + timedelta(days=2)
    login(client, enterprise)
    assert _book(client, instrument, day, 9, hours=3).status_code == 302  # 9:00-12:00
    client.post("/logout")
    login(client, other)
    assert _book(client, instrument, day, 11, hours=2).status_code == 409  # overlaps 11:00
    assert _book(client, instrument, day, 8, hours=1).status_code == 302  # 8:00-9:00 is free
    assert _book(client, instrument, day, 17, hours=2).status_code == 400  # closes at 18:00
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 2
    assert db.session.scalar(select(func.count()).select_from(BookingSlot)) == 4


def test_cancelled_booking_frees_its_hours(client, factory, provider, enterprise):
    instrument = published(provider, "instrument")
    day = date.today() + timedelta(days=3)
    login(client, enterprise)
    _book(client, instrument, day, 10)
    booking = db.session.scalars(select(Booking)).one()
    assert client.post(f"/bookings/{booking.id}/cancel").status_code == 302
    assert _book(client, instrument, day, 10).status_code == 302


def test_concurrent_bookings_of_one_slot_give_exactly_one(app, factory, provider):
    from marketplace.accounts.models import User
    from marketplace.orders import services as orders

    instrument = published(provider, "instrument")
    customers = [factory.user("enterprise", size="small").id for _ in range(8)]
    start = datetime.combine(date.today() + timedelta(days=4), datetime.min.time()).replace(hour=10)
    results, barrier = [], threading.Barrier(len(customers))

    def attempt(user_id):
        with app.app_context():
            user = db.session.get(User, user_id)
            barrier.wait()
            try:
                orders.book_instrument(user, instrument.id, start, 1)
                results.append("ok")
            except Exception as exc:  # noqa: BLE001 - the losers' error is what we count
                results.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 1, results
    assert db.session.scalar(select(func.count()).select_from(BookingSlot)) == 1


def test_completed_external_booking_reaches_the_ledger_and_self_use_is_marked(client, factory, provider, enterprise):
    instrument = published(provider, "instrument")
    day = date.today() + timedelta(days=1)
    login(client, enterprise)
    response = _book(client, instrument, day, 9, hours=2)
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/orders/{order_id}/pay")
    client.post("/logout")
    login(client, provider)
    booking = db.session.scalars(select(Booking)).one()
    assert booking.amount_fen == 100_000  # two hours at the external price
    assert client.post(f"/bookings/{booking.id}/complete").status_code == 400  # not before it ends
    assert _kinds() == ["payment"] and db.session.get(Booking, booking.id).status == "booked"
    with frozen_at(datetime.combine(day, datetime.min.time()).replace(hour=3)):  # 11:00 Beijing: it has ended
        assert client.post(f"/bookings/{booking.id}/complete").status_code == 302
    assert _kinds() == ["payment"]  # completed, not yet accepted by the customer
    client.post("/logout")
    login(client, enterprise)
    assert client.post(f"/orders/{order_id}/accept").status_code == 302
    assert _kinds() == ["payment", "booking_completed"]
    client.post("/logout")
    login(client, provider)
    _book(client, instrument, day, 14)
    own = db.session.scalars(select(Booking).where(Booking.self_use.is_(True))).one()
    assert own.amount_fen == 20_000 and own.order_id is None  # internal price, no order


def test_lease_fee_is_recorded_for_financially_leased_instruments_only(client, provider):
    leased = published(provider, "instrument", financing_lease=True, on_sharing_platform=True)
    plain = published(provider, "instrument")
    login(client, provider)
    assert client.post(f"/listings/{leased.id}/lease", data={"amount": "300000", "paid_on": "2024-01-10"}).status_code == 302
    assert client.post(f"/listings/{plain.id}/lease", data={"amount": "1000", "paid_on": "2024-01-10"}).status_code == 400
    refused = client.post(f"/listings/{leased.id}/lease", data={"amount": "-5", "paid_on": "2024-01-10"})
    assert refused.status_code == 400 and 'value="-5"' in refused.get_data(as_text=True)  # kept, beside its error
    entries = db.session.scalars(select(LedgerEntry)).all()
    assert [(e.kind, e.amount_fen) for e in entries] == [("lease_fee", 30_000_000)]


def _signed(app, payload):
    return gw.sign_webhook_payload(app.config["STRIPE_WEBHOOK_SECRET"], payload, int(time.time()))


def test_webhook_is_verified_and_idempotent(app, client, provider, enterprise):
    service = published(provider, "service")
    app.config["STRIPE_RELAY_WEBHOOKS"] = False
    try:
        login(client, enterprise)
        response = client.post(f"/listings/{service.id}/order", data={})
        order_id = int(response.headers["Location"].rsplit("/", 1)[1])
        client.post(f"/orders/{order_id}/pay")
        payment = db.session.scalars(select(Payment)).one()
        assert db.session.get(Order, order_id).status == "pending_payment"  # no proof yet
        intent = gw.PaymentIntent(id=payment.gateway_id, amount_fen=payment.amount_fen, currency="cny",
                                  status="succeeded", client_secret=None)
        payload = gw.build_event("evt_1", "payment_intent.succeeded", intent)
        forged = client.post("/payments/webhook", data=payload,
                             headers={"Stripe-Signature": gw.sign_webhook_payload("whsec_wrong", payload, int(time.time()))})
        assert forged.status_code == 400 and db.session.get(Order, order_id).status == "pending_payment"
        tampered = payload.replace(b'"amount":5000000', b'"amount":1')
        assert client.post("/payments/webhook", data=tampered, headers={"Stripe-Signature": _signed(app, payload)}).status_code == 400
        for _ in range(10):
            assert client.post("/payments/webhook", data=payload, headers={"Stripe-Signature": _signed(app, payload)}).status_code == 200
        other = gw.build_event("evt_2", "payment_intent.succeeded", intent)
        client.post("/payments/webhook", data=other, headers={"Stripe-Signature": _signed(app, other)})
        assert db.session.get(Order, order_id).status == "paid"
        assert _kinds() == ["payment"]  # exactly one payment, whatever was replayed
        assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 2
    finally:
        app.config["STRIPE_RELAY_WEBHOOKS"] = True


def test_refund_corrects_the_ledger_and_releases_the_voucher(client, provider, enterprise):
    service = published(provider, "service")
    voucher = give_voucher(enterprise.organization, 10_000_000)
    login(client, enterprise)
    response = client.post(f"/listings/{service.id}/order", data={"with_voucher": "y"})
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/orders/{order_id}/pay")
    assert client.post(f"/orders/{order_id}/refund", data={"reason": "x"}).status_code == 403  # buyer may not
    client.post("/logout")
    login(client, provider)
    assert client.post(f"/orders/{order_id}/refund", data={"reason": ""}).status_code == 400
    assert client.post(f"/orders/{order_id}/refund", data={"reason": "服务未能完成"}).status_code == 302
    assert db.session.get(Order, order_id).status == "refunded"
    db.session.refresh(voucher)
    assert (voucher.reserved_fen, voucher.used_fen, voucher.balance_fen) == (0, 0, 10_000_000)  # released
    assert db.session.scalar(select(func.count()).select_from(VoucherReceivable)) == 0  # never owed
    entries = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
    assert [e.kind for e in entries] == ["payment", "refund"]
    assert entries[1].corrects_seq == entries[0].seq
    assert verify(db.session).ok


def test_real_stripe_gateway_against_stripe_mock(app, client, stripe_api_base, provider, enterprise):
    service = published(provider, "service")
    app.config.update(PAYMENT_GATEWAY="stripe", STRIPE_API_BASE=stripe_api_base)
    give_voucher(enterprise.organization)
    try:
        login(client, enterprise)
        response = client.post(f"/listings/{service.id}/order", data={"with_voucher": "y"})
        order_id = int(response.headers["Location"].rsplit("/", 1)[1])
        assert client.post(f"/orders/{order_id}/pay").status_code == 302
        payment = db.session.scalars(select(Payment)).one()
        assert payment.gateway_id.startswith("pi_") and payment.amount_fen == 500_000
        assert db.session.get(Order, order_id).status == "paid"
        client.post("/logout")
        login(client, provider)
        assert client.post(f"/orders/{order_id}/refund", data={"reason": "测试"}).status_code == 302
        assert db.session.get(Order, order_id).status == "refunded"
    finally:
        app.config.update(PAYMENT_GATEWAY="memory")


def test_drafts_and_withdrawn_listings_are_not_shown(client, factory, provider):
    draft = listings.create_listing(provider, "service", {"title": "草稿服务", "price_fen": 100})
    withdrawn = published(provider, "service", title="已撤回服务")
    listings.withdraw(provider, withdrawn.id)
    assert client.get(f"/listings/{draft.id}").status_code == 404
    assert client.get(f"/listings/{withdrawn.id}").status_code == 404
    assert "已撤回服务" not in client.get("/listings").get_data(as_text=True)


def test_bad_listing_form_shows_error_and_writes_nothing(client, provider):
    from marketplace.listings.models import Listing

    login(client, provider)
    response = client.post("/listings/new/service", data={"title": "", "price": "12.345"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 0


def test_a_purchase_between_organisations_sharing_a_member_is_flagged(client, factory, provider, enterprise):
    from marketplace.accounts.models import Membership

    service = published(provider, "service")
    # The enterprise's owner also sits in the provider's organisation.
    db.session.add(Membership(user_id=enterprise.id, organization_id=provider.organization.id, role="provider"))
    db.session.commit()
    login(client, enterprise)
    response = client.post(f"/listings/{service.id}/order", data={})
    order = db.session.get(Order, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert order.related_party is True
    client.post("/lang/en")
    assert "flagged for the city" in client.get(f"/orders/{order.id}").get_data(as_text=True)


def test_related_parties_are_flagged_however_the_order_is_made(app_ctx, factory):
    """A licence bought at its price (the listing and the flag read together) and a booking
    (the flag read on its own) are flagged when one person sits in both organisations, and
    not otherwise."""
    from marketplace.accounts.models import Membership

    seller, buyer, stranger = factory.provider(), factory.enterprise(), factory.enterprise()
    db.session.add(Membership(user_id=buyer.id, organization_id=seller.organization.id, role="provider"))
    db.session.commit()
    achievement, instrument = factory.listing(seller, "achievement"), factory.listing(seller, "instrument")
    assert factory.order(buyer, achievement).related_party is True
    assert factory.booking(buyer, instrument).order.related_party is True
    assert factory.order(stranger, achievement).related_party is False
    assert factory.booking(stranger, instrument, hour=11).order.related_party is False


def test_an_unrelated_purchase_is_not_flagged(client, provider, enterprise):
    service = published(provider, "service")
    login(client, enterprise)
    response = client.post(f"/listings/{service.id}/order", data={})
    assert db.session.get(Order, int(response.headers["Location"].rsplit("/", 1)[1])).related_party is False
