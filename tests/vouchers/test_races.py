"""Vouchers under real parallel requests (gunicorn, two processes): a voucher's balance is
never overdrawn and a service is redeemed once."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.payments import services as payments
from marketplace.payments.models import VoucherReceivable
from marketplace.vouchers import services as vouchers
from marketplace.vouchers.models import Voucher, VoucherReservation
from tests.voucher_helpers import REPORT, give_voucher


def _service(provider, title):
    return listings.publish(provider, listings.create_listing(provider, "service", {
        "title": title, "description": "", "price_fen": 5_000_000, "negotiable": False}).id)


def test_twenty_parallel_orders_never_overdraw_a_voucher(factory, live_app_server):
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    voucher = give_voucher(buyer.organization, 9_000_000)  # enough for two orders' public shares (45,000 each)
    service_ids = [_service(provider, f"并发检测{n}").id for n in range(20)]
    clients = [live_app_server.session(buyer) for _ in range(20)]
    live_app_server.drop_idle_connections(clients)
    barrier = threading.Barrier(20)

    def fire(i):
        barrier.wait(timeout=60)
        return clients[i].post(f"{live_app_server.base}/listings/{service_ids[i]}/order", data={"with_voucher": "y"},
                               allow_redirects=False, timeout=120).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(fire, range(20)))
    assert not [c for c in codes if c >= 500], codes
    assert Counter(codes) == Counter({302: 2, 400: 18}), codes
    db.session.expire_all()
    voucher = db.session.get(Voucher, voucher.id)
    assert (voucher.reserved_fen, voucher.balance_fen) == (9_000_000, 0)
    assert db.session.scalar(select(func.count()).select_from(VoucherReservation)) == 2
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2  # a refusal writes nothing


def test_twenty_parallel_acceptances_redeem_once(factory, live_app_server):
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    give_voucher(buyer.organization)
    order = orders.order_service(buyer, _service(provider, "并发验收").id, with_voucher=True)
    payments.checkout(buyer, order.id)
    vouchers.deliver(provider, order.id, "见报告", REPORT)

    codes = live_app_server.stampede(live_app_server.session(buyer), f"/orders/{order.id}/accept", n=20)

    assert not [c for c in codes if c >= 500], codes
    assert set(codes) <= {302, 409} and codes.count(302) == 1, codes
    db.session.expire_all()
    ref = orders.business_ref(db.session.get(Order, order.id))
    kinds = Counter(db.session.scalars(select(LedgerEntry.kind).where(LedgerEntry.ref == ref)))
    assert kinds == Counter({"payment": 1, "voucher_redemption": 1})
    assert db.session.scalar(select(func.count()).select_from(VoucherReceivable)) == 2
