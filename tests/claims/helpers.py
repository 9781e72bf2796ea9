"""Helpers for claim and review tests: trade through the real web routes, then claims."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.claims import models as m
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from tests.factories import login, published
from tests.voucher_helpers import deliver_and_accept, ensure_voucher


def published_service(provider, price_fen=5_000_000, title="高端液相色谱仪检测服务"):
    return published(provider, "service", title=title, price_fen=price_fen)


def buy_with_voucher(client, buyer, service, accept: bool = True) -> int:
    """The buyer (given a voucher if it has none) orders the service with its innovation
    voucher and pays, through the routes; the provider delivers and the buyer accepts, which
    redeems the voucher (``accept=False``: paid only, nothing redeemed)."""
    ensure_voucher(buyer.organization)
    login(client, buyer)
    response = client.post(f"/listings/{service.id}/order", data={"with_voucher": "y"})
    assert response.status_code == 302, response.data[:300]
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    client.post("/logout")
    if accept:
        deliver_and_accept(order_id)
    return order_id


def claim_of(org, clause, year=None) -> m.Claim | None:
    year = year or utcnow().year
    db.session.expire_all()
    return db.session.scalar(select(m.Claim).where(m.Claim.organization_id == org.id, m.Claim.clause == clause,
                                                   m.Claim.year == year))


def as_user(client, user):
    client.post("/logout")
    login(client, user)
    return client
