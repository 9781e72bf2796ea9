"""Helpers for claim and review tests: trade through the real web routes, then claims."""
from __future__ import annotations

from sqlalchemy import select

from marketplace.claims import models as m
from marketplace.extensions import db
from marketplace.core.timeutil import utcnow
from tests.factories import login, published


def published_service(provider, price_fen=5_000_000, title="高端液相色谱仪检测服务"):
    return published(provider, "service", title=title, price_fen=price_fen)


def buy_with_voucher(client, buyer, service) -> int:
    """The buyer orders the service with an innovation voucher and pays, through the routes."""
    login(client, buyer)
    response = client.post(f"/listings/{service.id}/order", data={"with_voucher": "y"})
    assert response.status_code == 302, response.data[:300]
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    client.post("/logout")
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
