"""A bank transfer is confirmed once, with real parallel requests against gunicorn (the race
tests' server, ``tests/live.py``): twenty confirmations of the same receipt, or twenty imports
of the same statement at once, write one transfer and one ledger entry; the others are told
409 (or find the rows already imported), never 500."""
from __future__ import annotations

import csv
import io
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from marketplace.core.timeutil import beijing_today
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.services import verify, verify_business
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.payments import services as payments
from marketplace.payments.models import BankStatement, BankTransfer, Payment
from tests.factories import published
from tests.live import live_app_server  # noqa: F401 - the gunicorn server


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _awaited_transfer(factory, app):
    seller, buyer = factory.provider(), factory.enterprise()
    service = published(seller, "service", title="并发对公转账", price_fen=50_000_000)
    order = orders.order_service(buyer, service.id)
    with app.test_request_context():
        payment = payments.checkout(buyer, order.id, "bank")
    db.session.commit()
    return order.id, payment


def _payments_entries() -> int:
    return _count(LedgerEntry, LedgerEntry.kind == "payment")


def test_twenty_parallel_confirmations_of_one_transfer_count_it_once(factory, app, live_app_server):
    order_id, payment = _awaited_transfer(factory, app)
    people = [live_app_server.session(factory.user("finance")) for _ in range(4)]
    clients = [people[i % 4] for i in range(20)]

    codes = live_app_server.stampede(clients, f"/payments/{payment.id}/receipt", n=20,
                                     data={"amount": "500000", "seen_fen": "0"})

    assert not [c for c in codes if c >= 500], codes
    assert codes.count(302) == 1 and set(codes) <= {302, 409}, codes
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "paid"
    assert _count(BankTransfer) == 1
    assert _payments_entries() == 1
    assert db.session.get(Payment, payment.id).received_fen == 50_000_000
    assert verify(db.session).ok and verify_business(db.session).ok


def test_twenty_parallel_imports_of_one_statement_count_it_once(factory, app, live_app_server):
    before = _payments_entries()
    order_id, payment = _awaited_transfer(factory, app)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["交易日期", "对方户名", "金额", "附言"])
    writer.writerow([beijing_today().isoformat(), "并发测试公司", "500,000.00", f"货款{payment.gateway_id}"])
    body = out.getvalue().encode("utf-8")
    finance = [live_app_server.session(factory.user("finance")) for _ in range(4)]
    live_app_server.drop_idle_connections(finance)
    barrier = threading.Barrier(20)

    def fire(i):
        barrier.wait(timeout=60)
        return finance[i % 4].post(live_app_server.base + "/payments/transfers/import",
                                   files={"statement": ("statement.csv", body, "text/csv")},
                                   allow_redirects=False, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(fire, range(20)))

    assert not [c for c in codes if c >= 500], codes
    assert set(codes) <= {200, 409} and 200 in codes, codes
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "paid"
    assert _count(BankTransfer, BankTransfer.payment_id == payment.id) == 1
    assert _payments_entries() == before + 1
    assert _count(BankStatement) >= 1
    assert verify(db.session).ok and verify_business(db.session).ok
