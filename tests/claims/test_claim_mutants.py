"""Claims rules a sampled mutation run (issue 16, session 4) found unguarded: a clause's budget
counts only its own committed claims, the claim form refuses an over-long text beside the field
and tells the city it files on the organisation's behalf, and the export lists claims in the
policy's clause order. Through the claims and review services and the /claims routes."""

import pytest
from sqlalchemy import func, select

from marketplace.claims import budgets
from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.review import services as review
from tests.claims.helpers import as_user

YEAR = utcnow().year - 1


@pytest.fixture()
def city(factory):
    return {"reviewer": factory.user("reviewer"), "finance": factory.user("finance")}


def _b1(applicant, amount_yuan, project="市县联合项目"):
    return claims.file_claim(applicant, applicant.organization.id, "B1",
                             {"project": project, "city_county_joint": True, "requested_amount": str(amount_yuan)}, YEAR)


def _b6(applicant, kind="B6.excellent"):
    return claims.file_claim(applicant, applicant.organization.id, kind, {"selected_on": f"{YEAR}-09-01"}, YEAR)


def test_a_clause_budget_is_not_used_up_by_another_clauses_claims(city, factory):
    """An approved claim goes on notice when its own clause's budget has room, whatever other
    clauses have committed: B6 claims on notice (20,000 yuan) do not eat into B1's 1,500."""
    budgets.set_budget(city["finance"], YEAR, "B6.excellent", 100_000_000)
    budgets.set_budget(city["finance"], YEAR, "B1", 150_000)
    b6 = _b6(factory.user("enterprise"))
    review.approve(city["reviewer"], b6.id)
    b1 = _b1(factory.user("enterprise"), 1_000)
    review.approve(city["reviewer"], b1.id)
    db.session.expire_all()
    assert db.session.get(m.Claim, b6.id).status == m.ON_NOTICE
    assert db.session.get(m.Claim, b1.id).status == m.ON_NOTICE
    # and a waiting B1 claim is promoted when B1's budget is raised, B6's commitment aside
    late = _b1(factory.user("enterprise"), 1_000, "乙")
    review.approve(city["reviewer"], late.id)
    db.session.expire_all()
    assert db.session.get(m.Claim, late.id).status == m.WAITING_BUDGET
    budgets.set_budget(city["finance"], YEAR, "B1", 200_000)
    db.session.expire_all()
    assert db.session.get(m.Claim, late.id).status == m.ON_NOTICE


def test_an_over_long_text_is_refused_beside_its_field_and_files_nothing(client, factory):
    as_user(client, factory.user("enterprise"))
    client.post("/lang/en")
    project = "项" * 201
    response = client.post("/claims/new?kind=B1", data={"year": str(YEAR), "project": project,
                                                          "city_county_joint": "y", "requested_amount": "1000"})
    page = response.get_data(as_text=True)
    assert response.status_code in (200, 400), page[:300]
    assert "200" in page and project in page  # the limit is said; the form keeps what was typed
    assert db.session.scalar(select(func.count()).select_from(m.Claim)) == 0
    ok = client.post("/claims/new?kind=B1", data={"year": str(YEAR), "project": "项" * 200,
                                                    "city_county_joint": "y", "requested_amount": "1000"})
    assert ok.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(m.Claim)) == 1


def test_the_citys_claim_form_says_it_files_on_the_organisations_behalf(client, factory):
    """In Chinese, the default: the city user is told whose claim this is."""
    as_user(client, factory.user("reviewer"))
    client.post("/lang/zh")
    page = client.get("/claims/new?kind=B6.excellent").get_data(as_text=True)
    assert "由市里代该单位提交申报。" in page
    as_user(client, factory.user("enterprise"))
    client.post("/lang/zh")
    assert "由市里代该单位提交申报。" not in client.get("/claims/new?kind=B6.excellent").get_data(as_text=True)


def test_the_export_lists_claims_in_the_policys_clause_order(factory):
    """B6 "excellent" comes before B6 "advanced" in the measures (not in the alphabet)."""
    advanced = _b6(factory.user("enterprise"), "B6.advanced")
    excellent = _b6(factory.user("enterprise"), "B6.excellent")
    b1 = _b1(factory.user("enterprise"), 100)
    assert [c.id for c in claims.claims_for_export(YEAR)] == [b1.id, excellent.id, advanced.id]
    assert claims.claims_for_export(YEAR - 1) == []  # another year has none


def test_a_submitted_claim_the_engine_lowers_goes_back_to_review_and_is_counted_as_returned(client, factory):
    """A refund lowers a submitted A3 claim: it returns to review with the new amount, and the
    recompute's outcome (the /metrics counter by outcome) says "returned"."""
    from prometheus_client import REGISTRY

    from tests.claims.helpers import buy_with_voucher, claim_of, published_service

    def returned():
        return REGISTRY.get_sample_value("marketplace_claims_recomputed_total", {"outcome": "returned"}) or 0.0

    provider = factory.user("provider", kind="agency", service_agency=True)
    enterprise = factory.user("enterprise", size="small")
    first = buy_with_voucher(client, enterprise, published_service(provider, price_fen=1_000_000, title="检测一"))
    buy_with_voucher(client, enterprise, published_service(provider, price_fen=1_000_000, title="检测二"))
    claim = claim_of(enterprise.organization, "A3")
    both_fen = claim.amount_fen
    claims.submit(enterprise, claim.id)
    before = returned()
    assert as_user(client, provider).post(f"/orders/{first}/refund", data={"reason": "服务未完成"}).status_code == 302
    claim = claim_of(enterprise.organization, "A3")
    assert claim.status == m.SUBMITTED and 0 < claim.amount_fen < both_fen
    assert claim.decisions[-1].action == "recomputed"
    assert returned() == before + 1


def test_a_malformed_claims_outbox_key_is_skipped_with_a_warning_that_says_why(app_ctx, caplog):
    """The outbox handler meets a key that is neither a year nor a group: it recomputes nothing
    and the log says what was wrong with which key (an operator reads it)."""
    import logging

    from marketplace.claims import drafting

    with caplog.at_level(logging.WARNING, logger=drafting.log.name):
        drafting.apply(["not-a-year"])
    [record] = [r for r in caplog.records if "not-a-year" in r.getMessage()]
    assert "neither a year nor a group" in record.getMessage()
    assert db.session.scalar(select(func.count()).select_from(m.Claim)) == 0


def test_an_order_flagged_related_when_placed_stays_flagged_after_the_shared_member_leaves(client, app, factory):
    """Related parties at the time of the order: leaving the other side afterwards does not
    clear the claim's flag when claims are drafted again."""
    from marketplace.accounts.models import Membership
    from marketplace.orders.models import Order
    from tests.claims.helpers import buy_with_voucher, claim_of, published_service

    provider = factory.user("provider", kind="agency", service_agency=True, name="聊城检测中心")
    enterprise = factory.user("enterprise", size="small")
    db.session.add(Membership(user_id=enterprise.id, organization_id=provider.organization.id, role="provider"))
    db.session.commit()
    order_id = buy_with_voucher(client, enterprise, published_service(provider))
    assert db.session.get(Order, order_id).related_party is True
    db.session.execute(Membership.__table__.delete().where(Membership.user_id == enterprise.id,
                                                           Membership.organization_id == provider.organization.id))
    db.session.commit()
    out = app.test_cli_runner().invoke(args=["claims", "draft", "--year", str(utcnow().year)])
    assert out.exit_code == 0, out.output
    a3 = claim_of(enterprise.organization, "A3")
    [flag] = [f for f in a3.flags if f["kind"] == "related_party"]
    assert a3.flagged and flag["transactions"] == [f"VCH-{order_id}"]
    assert not flag.get("members")  # nobody is shared any more; the order's own flag keeps it
