"""Faults: what the platform does when things go wrong at the worst moment — a stampede on one
instrument hour, a gateway that replays, reorders and is impersonated, a search drain that dies
between commit and index, and somebody with database access editing the ledger."""
from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry, install_guards, remove_guards
from marketplace.ledger.services import verify
from marketplace.listings import services as listings
from marketplace.orders.models import Booking, BookingSlot, Order
from marketplace.outbox import OutboxEntry
from marketplace.payments import gateway as gw
from marketplace.payments.models import Payment, VoucherReceivable, WebhookEvent
from tests.factories import login, published
from tests.voucher_helpers import deliver_and_accept, give_voucher


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- 50 enterprises, one hour ------------------------------------------------------------------

def test_fifty_concurrent_bookings_of_one_slot_give_exactly_one(app, factory, database_url, tmp_path):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises every writer behind one file lock, so 50 bookings cannot race there; "
                    "this runs in the PostgreSQL pass of scripts/test (TEST_DATABASE_URL)")
    from marketplace import create_app
    from marketplace.accounts.models import User
    from marketplace.orders import services as orders

    provider = factory.user("provider", kind="agency", service_agency=True)
    instrument_id = published(provider, "instrument").id  # a plain int: threads share no ORM object
    customers = [factory.user("enterprise", size="small").id for _ in range(50)]
    start = datetime.combine(date.today() + timedelta(days=5), datetime.min.time()).replace(hour=10)
    # A pool as wide as the crowd, so all fifty really are in the database at once.
    crowd_app = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": database_url,
                            "SEARCH_SQLITE_PATH": str(tmp_path / "s.sqlite"),
                            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 55, "max_overflow": 0, "pool_timeout": 60}})
    results, barrier = [], threading.Barrier(len(customers))

    def attempt(user_id):
        with crowd_app.app_context():
            try:
                user = db.session.get(User, user_id)
                _ = user.organization  # loaded before the start line
                barrier.wait(timeout=60)
                orders.book_instrument(user, instrument_id, start, 2)
                results.append("ok")
            except Exception as exc:  # noqa: BLE001 - the losers' error is what we count
                results.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in customers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    with crowd_app.app_context():
        db.engine.dispose()
    assert len(results) == 50
    assert results.count("ok") == 1, results
    assert set(results) == {"ok", "Conflict"}, set(results)  # every loser was told, none crashed
    db.session.expire_all()
    assert _count(Booking, Booking.instrument_id == instrument_id) == 1
    assert _count(BookingSlot, BookingSlot.instrument_id == instrument_id) == 2
    assert _count(Order, Order.listing_id == instrument_id) == 1  # no orphan order of a loser


# --- the gateway replays, reorders and is impersonated -------------------------------------------

@pytest.fixture()
def no_relay(app):
    app.config["STRIPE_RELAY_WEBHOOKS"] = False
    yield app
    app.config["STRIPE_RELAY_WEBHOOKS"] = True


def _deliver(client, app, event: bytes, secret=None):
    signature = gw.sign_webhook_payload(secret or app.config["STRIPE_WEBHOOK_SECRET"], event, int(time.time()))
    return client.post("/payments/webhook", data=event, headers={"Stripe-Signature": signature,
                                                                 "Content-Type": "application/json"})


def test_webhooks_replayed_reordered_and_forged_give_one_payment_and_one_ledger_entry(client, factory, no_relay):
    app = no_relay
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published(provider, "service")
    give_voucher(buyer.organization)
    login(client, buyer)
    order_id = int(client.post(f"/listings/{service.id}/order", data={"with_voucher": "y"})
                   .headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    payment = db.session.scalars(select(Payment).where(Payment.order_id == order_id)).one()
    succeeded = gw.PaymentIntent(id=payment.gateway_id, amount_fen=payment.amount_fen, currency="cny",
                                 status="succeeded", client_secret=None)
    failed = gw.PaymentIntent(id=payment.gateway_id, amount_fen=payment.amount_fen, currency="cny",
                              status="requires_payment_method", client_secret=None)
    paid_event = gw.build_event("evt_fault_paid", "payment_intent.succeeded", succeeded)

    # Forged: signed with another secret, unsigned, signed long ago, or a body edited after signing.
    assert _deliver(client, app, paid_event, secret="whsec_attacker").status_code == 400
    assert client.post("/payments/webhook", data=paid_event).status_code == 400
    stale = gw.sign_webhook_payload(app.config["STRIPE_WEBHOOK_SECRET"], paid_event, int(time.time()) - 3600)
    assert client.post("/payments/webhook", data=paid_event, headers={"Stripe-Signature": stale}).status_code == 400
    cheaper = paid_event.replace(str(payment.amount_fen).encode(), b"1")
    good_sig = gw.sign_webhook_payload(app.config["STRIPE_WEBHOOK_SECRET"], paid_event, int(time.time()))
    assert client.post("/payments/webhook", data=cheaper, headers={"Stripe-Signature": good_sig}).status_code == 400
    assert db.session.get(Order, order_id).status == "pending_payment"
    assert _count(LedgerEntry) == 0 and _count(WebhookEvent) == 0

    # The real event, delivered ten times.
    outcomes = [_deliver(client, app, paid_event).get_json()["outcome"] for _ in range(10)]
    assert outcomes == ["paid"] + ["duplicate"] * 9

    # Out of order: a failure for the same intent arrives after the success, twice, then a
    # second success under a new event id (Stripe retries can carry new ids).
    late_failure = gw.build_event("evt_fault_failed", "payment_intent.payment_failed", failed)
    assert _deliver(client, app, late_failure).get_json()["outcome"] == "ignored"
    assert _deliver(client, app, late_failure).get_json()["outcome"] == "duplicate"
    again = gw.build_event("evt_fault_paid_again", "payment_intent.succeeded", succeeded)
    assert _deliver(client, app, again).get_json()["outcome"] == "already_succeeded"

    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "paid"
    assert [(p.status, p.amount_fen) for p in db.session.scalars(select(Payment))] == [("succeeded", 500_000)]
    assert [e.kind for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))] == \
        ["payment"]  # one payment entry, never two (the voucher's redemption waits for acceptance)
    assert _count(VoucherReceivable) == 0
    assert verify(db.session).ok


def test_a_failure_first_then_success_still_pays_once(client, factory, no_relay):
    """Reordered the other way: the gateway says failed, the buyer retries, success arrives."""
    app = no_relay
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published(provider, "service")
    login(client, buyer)
    order_id = int(client.post(f"/listings/{service.id}/order", data={}).headers["Location"].rsplit("/", 1)[1])
    client.post(f"/orders/{order_id}/pay")
    first = db.session.scalars(select(Payment)).one()
    intent = gw.PaymentIntent(id=first.gateway_id, amount_fen=first.amount_fen, currency="cny",
                              status="requires_payment_method", client_secret=None)
    _deliver(client, app, gw.build_event("evt_f1", "payment_intent.payment_failed", intent))
    assert db.session.get(Payment, first.id).status == "failed"
    # The old intent's success, arriving late, is not money for this order any more.
    late = gw.build_event("evt_f2", "payment_intent.succeeded", gw.PaymentIntent(
        id=first.gateway_id, amount_fen=first.amount_fen, currency="cny", status="succeeded", client_secret=None))
    assert _deliver(client, app, late).get_json()["outcome"] == "already_failed"
    assert db.session.get(Order, order_id).status == "pending_payment" and _count(LedgerEntry) == 0
    assert db.session.get(Payment, first.id).status == "failed"


def test_the_buyer_can_retry_after_a_failed_payment_and_pays_once(client, factory, no_relay):
    app = no_relay
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published(provider, "service")
    login(client, buyer)
    order_id = int(client.post(f"/listings/{service.id}/order", data={}).headers["Location"].rsplit("/", 1)[1])
    client.post(f"/orders/{order_id}/pay")
    first = db.session.scalars(select(Payment)).one()
    intent = gw.PaymentIntent(id=first.gateway_id, amount_fen=first.amount_fen, currency="cny",
                              status="requires_payment_method", client_secret=None)
    _deliver(client, app, gw.build_event("evt_r1", "payment_intent.payment_failed", intent))
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    retry = db.session.scalars(select(Payment).where(Payment.status == "processing")).one()
    assert retry.gateway_id != first.gateway_id
    paid = gw.build_event("evt_r2", "payment_intent.succeeded", gw.PaymentIntent(
        id=retry.gateway_id, amount_fen=retry.amount_fen, currency="cny", status="succeeded", client_secret=None))
    for _ in range(3):
        _deliver(client, app, paid)
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "paid"
    assert _count(Payment, Payment.status == "succeeded") == 1 and _count(LedgerEntry) == 1


def test_concurrent_replays_of_one_event_apply_once(app, factory, database_url, no_relay):
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers need PostgreSQL; SQLite serialises them (PostgreSQL pass of scripts/test)")
    from marketplace.orders import services as orders
    from marketplace.payments import services as payments

    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published(provider, "service")
    order = orders.order_service(buyer, service.id, False)
    payment = payments.checkout(buyer, order.id)
    event = gw.build_event("evt_concurrent", "payment_intent.succeeded", gw.PaymentIntent(
        id=payment.gateway_id, amount_fen=payment.amount_fen, currency="cny", status="succeeded", client_secret=None))
    signature = gw.sign_webhook_payload(app.config["STRIPE_WEBHOOK_SECRET"], event, int(time.time()))
    db.session.rollback()
    results, barrier = [], threading.Barrier(10)

    def deliver():
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                results.append(payments.handle_webhook(event, signature)["outcome"])
            except Exception as exc:  # noqa: BLE001
                results.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results.count("paid") == 1, results
    assert set(results) <= {"paid", "duplicate", "already_succeeded"}, results
    db.session.expire_all()
    assert _count(LedgerEntry) == 1 and _count(WebhookEvent) == 1


# --- the search drain dies between commit and index --------------------------------------------

def test_a_drain_killed_after_commit_leaves_the_outbox_and_the_next_drain_catches_up(app, client, factory,
                                                                                    monkeypatch):
    from marketplace.search import indexing as search_index
    from search.documents import SearchQuery

    search_index.reindex()  # start from an index of this test's database only
    index = search_index.backend()
    provider = factory.user("provider", kind="agency", service_agency=True)
    login(client, provider)
    title = f"断电测试色谱服务{time.monotonic_ns()}"
    listing_id = int(client.post("/listings/new/service", data={"title": title, "price": "100"})
                     .headers["Location"].rsplit("/", 1)[1])
    real_index, calls = index.index, []

    def dies_once(documents):
        calls.append([d.id for d in documents])
        if len(calls) == 1:
            raise ConnectionError("search index went away mid-drain")
        return real_index(documents)

    monkeypatch.setattr(index, "index", dies_once)
    response = client.post(f"/listings/{listing_id}/publish")
    assert response.status_code == 302  # the publish committed; the failed drain did not undo it
    assert calls == [[f"service:{listing_id}"]]
    db.session.expire_all()
    assert listings.get_listing(provider, listing_id).status == "published"
    pending = db.session.scalars(select(OutboxEntry).where(OutboxEntry.topic == "search")).all()
    assert [row.key for row in pending] == [str(listing_id)]  # remembered for the next drain
    assert search_index.query(SearchQuery(text=title)).total == 0  # not searchable yet

    out = app.test_cli_runner().invoke(args=["search", "drain"])  # the next drain (cron, or a later request)
    assert out.exit_code == 0, out.output
    assert "applied 1 outbox rows" in out.output
    assert len(calls) == 2
    db.session.expire_all()
    assert _count(OutboxEntry, OutboxEntry.topic == "search") == 0
    hits = search_index.query(SearchQuery(text=title)).hits
    assert [h.id for h in hits] == [f"service:{listing_id}"]
    page = client.get("/search", query_string={"q": title}).get_data(as_text=True)
    assert f"/listings/{listing_id}" in page


def test_a_request_after_the_failure_drains_the_leftover_rows_too(app, client, factory, monkeypatch):
    from marketplace.search import indexing as search_index
    from search.documents import SearchQuery

    search_index.reindex()  # start from an index of this test's database only
    index = search_index.backend()
    provider = factory.user("provider", kind="agency", service_agency=True)
    login(client, provider)
    ids = []
    for n in range(2):
        ids.append(int(client.post("/listings/new/service", data={"title": f"补偿索引测试{n}号{time.monotonic_ns()}",
                                                                  "price": "100"}).headers["Location"].rsplit("/", 1)[1]))
    real_index, failures = index.index, []

    def dies_once(documents):
        if not failures:
            failures.append(1)
            raise TimeoutError("index timed out")
        return real_index(documents)

    monkeypatch.setattr(index, "index", dies_once)
    client.post(f"/listings/{ids[0]}/publish")  # its drain dies: the row stays
    assert _count(OutboxEntry, OutboxEntry.topic == "search") == 1
    client.post(f"/listings/{ids[1]}/publish")  # this request's drain takes both rows
    db.session.expire_all()
    assert _count(OutboxEntry, OutboxEntry.topic == "search") == 0
    titles = {listing_id: listings.get_listing(provider, listing_id).title for listing_id in ids}
    for listing_id, title in titles.items():
        assert [h.id for h in search_index.query(SearchQuery(text=title)).hits] == [f"service:{listing_id}"]


# --- somebody edits the ledger in the database ---------------------------------------------------

def test_an_edited_ledger_row_from_real_trade_is_named_by_flask_ledger_verify(app, client, factory):
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    give_voucher(buyer.organization)
    login(client, buyer)
    for n in range(4):
        service = published(provider, "service", title=f"账本服务{n}", price_fen=1_000_000 * (n + 1))
        order_id = int(client.post(f"/listings/{service.id}/order", data={"with_voucher": "y"})
                       .headers["Location"].rsplit("/", 1)[1])
        client.post(f"/orders/{order_id}/pay")
        deliver_and_accept(order_id)  # the payment, then the redemption at acceptance
    entries = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
    assert len(entries) == 8 and verify(db.session).ok
    ok = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert ok.exit_code == 0 and "ledger intact: 8 entries" in ok.output
    target_seq = entries[4].seq  # a payment in the middle of the chain (read now: the rollback expires it)
    # The attacker: end our own transaction (DROP TRIGGER waits for its locks), drop the guard,
    # shave the amount, put the guard back.
    db.session.rollback()
    with db.engine.begin() as conn:
        remove_guards(conn)
        conn.execute(text("UPDATE ledger_entries SET amount_fen = amount_fen - 100 WHERE seq = :seq"),
                     {"seq": target_seq})
        install_guards(conn)
    out = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert out.exit_code == 1
    assert f"ledger broken at entry {target_seq}:" in out.output
