"""A payout keeps its own copy of what was paid for: the claim's transactions and trace at the
time of payment (issue 16: a mutation run dropped the transactions unnoticed)."""
from datetime import timedelta

from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.timeutil import frozen_at, utcnow
from marketplace.review import services as review
from tests.claims.helpers import as_user, buy_with_voucher, claim_of, published_service


def test_a_payout_records_the_transactions_and_trace_it_paid(client, factory):
    provider = factory.user("provider", kind="agency", service_agency=True)
    enterprise = factory.user("enterprise", size="small")
    finance, reviewer = factory.user("finance"), factory.user("reviewer")
    order_id = buy_with_voucher(client, enterprise, published_service(provider))
    claim = claim_of(enterprise.organization, "A3")
    claims.set_budget(finance, utcnow().year, "A3", 100_000_000)
    as_user(client, enterprise).post(f"/claims/{claim.id}/submit")
    review.approve(reviewer, claim.id)
    with frozen_at(utcnow() + timedelta(days=8)):
        payout = review.pay(finance, claim.id)
    claim = claim_of(enterprise.organization, "A3")
    assert claim.status == m.PAID
    assert payout.transactions == claim.transactions == [f"VCH-{order_id}"]
    assert payout.trace == claim.trace and payout.amount_fen == claim.amount_fen == 4_500_000
