"""The app asks the rules engine who may use a voucher: for every kind, size, host level and
place, the order page's answer and the engine's A3 on the exported scenario agree."""
from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from marketplace.accounts.models import HOST_LEVELS, ORG_KINDS, SIZES
from marketplace.orders.services import voucher_eligible
from marketplace.subsidies import Scenario, evaluate

PROVIDER = SimpleNamespace(id=1, credit_code="PROVIDER", kind="agency", in_city=True, name="检测中心", size=None,
                           service_agency=True, host_level=None)
BUYER_KINDS = [k for k in ORG_KINDS if k != "government"]


def _engine_awards(buyer, provider) -> bool:
    orgs = []
    for o in (buyer, provider):
        d = {"id": o.credit_code, "name": o.name, "kind": o.kind, "in_city": o.in_city}
        if o.size:
            d["size"] = o.size
        if o.host_level:
            d["host_level"] = o.host_level
        if o.service_agency:
            d["service_agency"] = True
        orgs.append(d)
    scenario = {"year": 2025, "organizations": orgs, "transactions": [
        {"id": "VCH-1", "type": "voucher_service", "buyer": buyer.credit_code, "provider": provider.credit_code,
         "amount": "10000.00", "date": "2025-05-06", "status": "paid"}]}
    return any(a["clause"] == "A3" for a in evaluate(Scenario.from_dict(scenario)).to_dict()["awards"])


CASES = [(kind, size, host, in_city) for kind, size, host, in_city in itertools.product(
    BUYER_KINDS, (None, *SIZES), (None, *HOST_LEVELS), (True, False))
    if (kind == "enterprise" or size is None) and (kind == "maker_team" or host is None)]


def test_every_kind_and_size_is_asked():
    assert len(CASES) == (len(BUYER_KINDS) - 2) * 2 + 5 * 2 + 4 * 2
    assert {c[0] for c in CASES} == set(BUYER_KINDS)


@pytest.mark.parametrize("kind, size, host, in_city", CASES)
def test_app_and_engine_agree(app_ctx, kind, size, host, in_city):
    buyer = SimpleNamespace(id=2, credit_code="BUYER", kind=kind, in_city=in_city, name="买方", size=size,
                            service_agency=False, host_level=host)
    for provider in (PROVIDER, SimpleNamespace(**{**vars(PROVIDER), "service_agency": False}),
                     SimpleNamespace(**{**vars(PROVIDER), "in_city": False})):
        listing = SimpleNamespace(kind="service", organization=provider)
        app_says, why = voucher_eligible(buyer, listing)
        assert app_says == _engine_awards(buyer, provider), (kind, size, host, in_city, provider, why)
        assert app_says or why  # a refusal says why


def test_the_engine_parameters_decide(app_ctx):
    """Small, medium and micro enterprises and provincial-or-higher maker teams of the city;
    the app reads them from the engine's dated parameters, not its own list."""
    yes = [c for c in CASES if voucher_eligible(SimpleNamespace(
        id=2, credit_code="B", kind=c[0], in_city=c[3], name="", size=c[1], service_agency=False, host_level=c[2]),
        SimpleNamespace(kind="service", organization=PROVIDER))[0]]
    assert sorted(yes) == sorted([("enterprise", s, None, True) for s in ("medium", "small", "micro")]
                                 + [("maker_team", None, h, True) for h in ("provincial", "national")])
