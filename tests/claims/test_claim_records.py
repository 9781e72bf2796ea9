"""What a claim records and shows (issue 16's claims run): submitting is audited, the amounts
by payer add up from the trace, and a related-party flag says what it means."""
import pytest
from sqlalchemy import select

from marketplace.audit.models import AuditEvent
from marketplace.claims import services as claims
from marketplace.claims.traces import payer_totals, render_flags
from marketplace.extensions import db
from tests.claims.helpers import buy_with_voucher, claim_of, published_service


def test_submitting_a_drafted_claim_is_audited(client, factory):
    provider = factory.user("provider", kind="agency", service_agency=True)
    enterprise = factory.user("enterprise", size="small")
    buy_with_voucher(client, enterprise, published_service(provider))
    claim = claims.submit(enterprise, claim_of(enterprise.organization, "A3").id)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "claim.submit")).all()
    assert [(e.actor_id, e.target_type, e.target_id, e.before, e.after) for e in events] == [
        (enterprise.id, "claim", str(claim.id), {"status": "drafted"},
         {"status": "submitted", "amount_fen": 4_500_000})]


def test_the_amounts_by_payer_are_shown_only_when_they_add_up_to_the_claim():
    from types import SimpleNamespace as Claim

    split = {"city": 1_650_000, "province": 3_300_000}
    assert payer_totals(Claim(payers=split, amount_fen=4_950_000)) == split
    assert payer_totals(Claim(payers=split, amount_fen=4_950_001)) is None  # the claim stands for another figure
    assert payer_totals(Claim(payers=None, amount_fen=1_800_000)) is None  # the city pays it all
    assert payer_totals(Claim(payers={}, amount_fen=0)) is None


@pytest.mark.parametrize("flag, words", [
    ({"kind": "related_party", "transactions": ["VCH-1", "VCH-2"]},
     "Buyer and seller of VCH-1, VCH-2 share a member (a related-party order)."),
    ({"kind": "related_party", "transactions": ["VCH-1"], "members": ["张三"]},
     "Buyer and seller of VCH-1 share a member: 张三 (a related-party order"),
])
def test_a_related_party_flag_says_what_it_means(app_ctx, flag, words):
    from flask_babel import force_locale

    with app_ctx.test_request_context(), force_locale("en"):
        [shown] = render_flags([flag], "en")
    assert any(isinstance(v, str) and v.startswith(words) for v in shown.values()), shown


def test_recomputing_one_year_leaves_the_other_years_claims_alone(client, factory):
    from marketplace.claims import models as m
    from marketplace.claims.drafting import recompute_year

    provider = factory.user("provider", kind="agency", service_agency=True)
    enterprise = factory.user("enterprise", size="small")
    buy_with_voucher(client, enterprise, published_service(provider))
    claim = claim_of(enterprise.organization, "A3")
    assert (claim.status, claim.amount_fen) == (m.DRAFTED, 4_500_000)
    counts = recompute_year(claim.year - 1)
    assert not counts.get("withdrawn")
    claim = claim_of(enterprise.organization, "A3")
    assert (claim.status, claim.amount_fen) == (m.DRAFTED, 4_500_000)


def test_a_refund_withdraws_its_own_drafted_claim_and_no_other(client, factory):
    from marketplace.claims import models as m

    provider = factory.user("provider", kind="agency", service_agency=True)
    service = published_service(provider)
    staying, leaving = factory.user("enterprise", size="small"), factory.user("enterprise", size="small")
    buy_with_voucher(client, staying, service)
    order_id = buy_with_voucher(client, leaving, service)
    from tests.claims.helpers import as_user

    assert as_user(client, provider).post(f"/orders/{order_id}/refund", data={"reason": "服务未完成"}).status_code == 302
    assert claim_of(staying.organization, "A3").status == m.DRAFTED
    assert claim_of(leaving.organization, "A3").status == m.WITHDRAWN


def test_filing_is_audited_and_a_refusal_says_why(app_ctx, factory):
    from flask_babel import force_locale

    from marketplace.core.errors import ServiceError
    from marketplace.core.timeutil import utcnow

    year = utcnow().year - 1
    applicant = factory.user("enterprise")
    claim = claims.file_claim(applicant, applicant.organization.id, "B6.excellent", {"selected_on": f"{year}-09-01"},
                              year)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "claim.file")).all()
    assert (event.actor_id, event.target_id, event.after) == (
        applicant.id, str(claim.id), {"clause": "B6.excellent", "organization_id": applicant.organization.id,
                                      "amount_fen": claim.amount_fen, "files": 0})
    with app_ctx.test_request_context(), force_locale("en"), pytest.raises(ServiceError) as refused:
        claims.file_claim(applicant, applicant.organization.id, "B1",
                          {"project": "市县联合项目", "city_county_joint": False, "requested_amount": "1000"}, year)
    why = refused.value.message.split("This evidence does not qualify for an award: ", 1)[1]
    assert why and why != "None"
