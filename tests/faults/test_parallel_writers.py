"""Many people writing at the same moment, each their own thing (gunicorn, two processes of
four threads, on the session's database).

Unlike the races in ``test_races.py`` nobody competes here: twelve buyers order, then pay
their own orders, all at once. Every request must succeed. On SQLite a unit of work that
read, and then wanted to write after another request had committed, used to be refused at
once with "database is locked" (a 500) — 26 of 40 checkouts at eight at a time in the
benchmark; it now takes the write lock when it opens and waits its turn."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.services import verify
from marketplace.orders.models import Order
from marketplace.payments.models import Payment
from tests.factories import published

BUYERS = 12


def _all_at_once(calls):
    barrier = threading.Barrier(len(calls))

    def fire(call):
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(fire, calls))


def test_twelve_buyers_order_and_pay_at_once_and_all_succeed(factory, live_app_server):
    provider = factory.user("provider", kind="agency", service_agency=True)
    service_id = published(provider, "service").id
    buyers = [factory.user("enterprise", size="small") for _ in range(BUYERS)]
    clients = [live_app_server.session(b) for b in buyers]
    payments_before = db.session.scalar(select(func.count()).select_from(LedgerEntry)
                                        .where(LedgerEntry.kind == "payment"))
    live_app_server.drop_idle_connections(clients)

    ordered = _all_at_once([
        lambda c=c: c.post(f"{live_app_server.base}/listings/{service_id}/order", allow_redirects=False, timeout=120)
        for c in clients])

    assert [r.status_code for r in ordered] == [302] * BUYERS, [r.status_code for r in ordered]
    order_paths = [r.headers["Location"] for r in ordered]
    assert all("/orders/" in p for p in order_paths), order_paths
    live_app_server.drop_idle_connections(clients)

    paid = _all_at_once([
        lambda c=c, p=p: c.post(live_app_server.base + urlsplit(p).path + "/pay",
                                allow_redirects=False, timeout=120)
        for c, p in zip(clients, order_paths)])

    assert [r.status_code for r in paid] == [302] * BUYERS, [r.status_code for r in paid]
    db.session.expire_all()
    orders = db.session.scalars(select(Order).where(Order.listing_id == service_id)).all()
    assert len(orders) == BUYERS and {o.status for o in orders} == {"paid"}
    assert db.session.scalar(select(func.count()).select_from(Payment)
                             .where(Payment.order_id.in_([o.id for o in orders]), Payment.status == "succeeded")) == BUYERS
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)
                             .where(LedgerEntry.kind == "payment")) == payments_before + BUYERS
    assert verify(db.session).ok
