"""Claim pages at volume: lists never load traces, an A3 claim with many vouchers shows a
summary and pages its parts, and a figure waiting for the worker says so."""
import re
from datetime import date

import pytest
from sqlalchemy import inspect, select

from marketplace.claims import drafting
from marketplace.claims import models as m
from marketplace.claims import services
from marketplace.core.money import fen_to_str
from marketplace.extensions import db
from marketplace.ledger import services as ledger
from tests.factories import login
from tests.ledger.helpers import purge_ledger


@pytest.fixture()
def trade(client, factory):
    provider = factory.organization(kind="agency", service_agency=True, name="检测中心")
    buyer = factory.user("enterprise", size="small")
    yield provider, buyer
    db.session.rollback()
    purge_ledger()


def _voucher(n, buyer, provider, on=date(2025, 5, 1)):
    fen = 100_00 + n
    province, city = (fen * 6 + 5) // 10, (fen * 3 + 5) // 10
    ledger.append("voucher_redemption", f"VCH-{n}", on, fen, {
        "buyer": buyer.organization.credit_code, "provider": provider.credit_code, "amount": fen_to_str(fen),
        "province": fen_to_str(province), "city": fen_to_str(city), "enterprise": fen_to_str(fen - province - city),
        "order_ref": f"ORD-{n}"})


def test_an_a3_claim_of_many_vouchers_pages_its_parts(client, trade):
    provider, buyer = trade
    for n in range(1, 121):
        _voucher(n, buyer, provider)
    db.session.commit()
    drafting.drain()
    claim = db.session.scalar(select(m.Claim).where(m.Claim.clause == "A3"))
    assert claim.part_count == 120 and set(claim.payers) == {"city", "province"}
    login(client, buyer)
    first = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert 'data-parts="120"' in first and first.count('<ol class="trace">') == 50  # a page of parts
    last = client.get(f"/claims/{claim.id}?parts=3").get_data(as_text=True)
    assert last.count('<ol class="trace">') == 20
    pages = [set(re.findall(r"VCH-\d+", client.get(f"/claims/{claim.id}?parts={p}").get_data(as_text=True)))
             for p in (1, 2, 3)]
    assert len(set.union(*pages)) == 120 and not pages[0] & pages[2]  # every voucher once, page by page
    beyond = client.get(f"/claims/{claim.id}?parts=99").get_data(as_text=True)
    assert beyond.count('<ol class="trace">') == 20  # the last page, not an empty one


def test_lists_never_load_traces(client, trade):
    provider, buyer = trade
    _voucher(1, buyer, provider)
    db.session.commit()
    drafting.drain()
    db.session.expire_all()
    claims = services.claims_of(buyer).items
    assert claims and all({"trace", "transactions"} <= inspect(c).unloaded for c in claims)
    login(client, buyer)
    page = client.get("/claims").get_data(as_text=True)
    assert "data-payer" not in page and claims[0].payers["city"] > 0


def test_a_figure_waiting_for_the_worker_says_so(client, trade):
    provider, buyer = trade
    _voucher(1, buyer, provider)
    db.session.commit()
    drafting.drain()
    claim = db.session.scalar(select(m.Claim).where(m.Claim.clause == "A3"))
    login(client, buyer)
    assert "data-updating" not in client.get(f"/claims/{claim.id}").get_data(as_text=True)
    _voucher(2, buyer, provider)  # committed; the worker has not run yet
    db.session.commit()
    assert 'data-updating="1"' in client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert 'data-updating="1"' in client.get("/claims").get_data(as_text=True)
    drafting.drain()
    assert "data-updating" not in client.get(f"/claims/{claim.id}").get_data(as_text=True)
