"""The city's A3 budget holds the city's 30 % only; the province's 60 % is owed by the province."""
from __future__ import annotations

from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.timeutil import utcnow
from marketplace.review import services as review
from marketplace.vouchers import services as vouchers
from tests.claims.helpers import as_user, buy_with_voucher, claim_of, published_service


def test_an_a3_claim_takes_the_city_share_from_the_city_budget(client, factory):
    provider = factory.user("provider", kind="agency", service_agency=True)
    enterprise = factory.user("enterprise", size="small")
    finance, reviewer = factory.user("finance"), factory.user("reviewer")
    buy_with_voucher(client, enterprise, published_service(provider))  # 50,000: province 30,000, city 15,000
    claim = claim_of(enterprise.organization, "A3")
    assert claim.amount_fen == 4_500_000
    year = utcnow().year
    claims.set_budget(finance, year, "A3", 1_500_000)  # exactly the city's share
    as_user(client, enterprise).post(f"/claims/{claim.id}/submit")
    review.approve(reviewer, claim.id)
    assert claim_of(enterprise.organization, "A3").status == m.ON_NOTICE  # it fits: 15,000, not 45,000
    a3 = next(b for b in claims.budget_status(year) if b["clause"] == "A3")
    assert (a3["committed_fen"], a3["remaining_fen"]) == (1_500_000, 0)
    assert [r["amount_fen"] for r in vouchers.province_owed(finance)] == [3_000_000]
    csv_text = as_user(client, finance).get("/vouchers/province-owed.csv").get_data(as_text=True)
    assert csv_text.splitlines()[1].endswith(",50000.00,30000.00"), csv_text
    assert as_user(client, enterprise).get("/vouchers/province-owed.csv").status_code == 403
