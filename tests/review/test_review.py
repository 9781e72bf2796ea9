"""The city's review: decisions with reasons, the A5 judgement, public notice and objections,
budgets and their waiting queue, payouts only after the notice — through the web routes."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.audit.models import AuditEvent
from marketplace.claims import budgets as claims_budgets
from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.errors import ServiceError
from marketplace.core.timeutil import frozen_at, utcnow
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.review import services as review
from tests.claims.helpers import as_user

YEAR = utcnow().year - 1


@pytest.fixture()
def city(factory):
    return {"reviewer": factory.user("reviewer"), "finance": factory.user("finance"), "admin": factory.user("admin")}


def _b1(applicant, amount_yuan: int, project="市县联合项目") -> m.Claim:
    """A B1 claim of a chosen amount (up to 5,000,000), filed by a member of its organisation."""
    return claims.file_claim(applicant, applicant.organization.id, "B1",
                             {"project": project, "city_county_joint": True, "requested_amount": str(amount_yuan)}, YEAR)


def _get(claim_id) -> m.Claim:
    db.session.expire_all()
    return db.session.get(m.Claim, claim_id)


def test_reviewer_approves_rejects_with_a_reason_and_asks_for_evidence(client, factory, city):
    applicant = factory.user("enterprise")
    claims_budgets.set_budget(city["finance"], YEAR, "B1", 100_000_000)
    one, two, three = _b1(applicant, 100_000, "甲"), _b1(applicant, 200_000, "乙"), _b1(applicant, 300_000, "丙")
    as_user(client, city["reviewer"])
    client.post("/lang/en")
    page = client.get("/review").get_data(as_text=True)
    assert all(f"/review/claims/{c.id}" in page for c in (one, two, three))
    assert client.get(f"/review/claims/{one.id}").status_code == 200

    assert client.post(f"/review/claims/{one.id}/approve", data={"note": "材料齐全"}).status_code == 302
    assert _get(one.id).status == m.ON_NOTICE

    response = client.post(f"/review/claims/{two.id}/reject", data={"reason": "  "})
    assert response.status_code == 400 and "Give the reason for the rejection." in response.get_data(as_text=True)
    assert _get(two.id).status == m.SUBMITTED
    assert client.post(f"/review/claims/{two.id}/reject", data={"reason": "非市县联合项目"}).status_code == 302
    assert (_get(two.id).status, _get(two.id).decisions[-1].reason) == (m.REJECTED, "非市县联合项目")

    assert client.post(f"/review/claims/{three.id}/request-evidence", data={"message": ""}).status_code == 400
    assert client.post(f"/review/claims/{three.id}/request-evidence", data={"message": "请补充立项文件"}).status_code == 302
    assert _get(three.id).status == m.EVIDENCE_REQUESTED
    assert client.post(f"/review/claims/{three.id}/approve", data={}).status_code == 409  # it waits for the applicant

    # Every decision: an append-only row, an audit event and a notification to the members.
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert {"claim.approve", "claim.reject", "claim.request_evidence"} <= set(actions)
    notes = [n.message for n in db.session.scalars(select(Notification).where(Notification.user_id == applicant.id))]
    assert {"notice.claim_approved", "notice.claim_on_notice", "notice.claim_rejected",
            "notice.claim_evidence_requested"} <= set(notes)
    as_user(client, applicant)
    client.post("/lang/en")
    assert "A subsidy claim of your organisation was rejected." in client.get("/home").get_data(as_text=True)
    decision = db.session.scalars(select(m.ClaimDecision).where(m.ClaimDecision.action == "rejected")).one()
    decision.reason = "rewritten"
    with pytest.raises(m.ClaimHistoryImmutableError):
        db.session.commit()
    db.session.rollback()


def test_an_a5_approval_needs_the_good_service_results_judgement(client, factory, city):
    lab = factory.user("provider", kind="agency")
    claim = m.Claim(year=YEAR, clause="A5", source=m.ENGINE, organization_id=lab.organization.id,
                    draft_key=f"{YEAR}|A5|{lab.organization.id}", status=m.SUBMITTED, amount_fen=192_000,
                    engine_amount_fen=192_000, transactions=["LSE-1"], trace=[], flags=[])
    db.session.add(claim)
    db.session.commit()
    claims_budgets.set_budget(city["finance"], YEAR, "A5", 1_000_000)
    as_user(client, city["reviewer"])
    client.post("/lang/en")
    assert "good (服务成效良好)" in client.get(f"/review/claims/{claim.id}").get_data(as_text=True)
    response = client.post(f"/review/claims/{claim.id}/approve", data={})
    assert response.status_code == 400 and "服务成效良好" in response.get_data(as_text=True)
    assert _get(claim.id).status == m.SUBMITTED and len(_get(claim.id).decisions) == 0
    assert client.post(f"/review/claims/{claim.id}/approve", data={"good_service_results": "y"}).status_code == 302
    decision = _get(claim.id).decisions[-2]  # approved, then put on notice
    assert (decision.action, decision.good_service_results) == ("approved", True)
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "claim.approve")).one()
    assert audit.after["good_service_results"] is True


@pytest.mark.parametrize("role", [r for r in perm.ROLES if r not in (perm.REVIEWER, perm.ADMIN)])
def test_non_reviewers_get_403_on_every_review_action(client, factory, city, role):
    applicant = factory.user("enterprise")
    claim = _b1(applicant, 100_000)
    as_user(client, factory.user(role))
    assert client.get("/review").status_code == 403
    for action, data in (("approve", {"good_service_results": "y"}), ("reject", {"reason": "x"}),
                         ("request-evidence", {"message": "x"})):
        assert client.post(f"/review/claims/{claim.id}/{action}", data=data).status_code == 403, action
    assert _get(claim.id).status == m.SUBMITTED and len(_get(claim.id).decisions) == 1
    client.post("/logout")
    assert client.post(f"/review/claims/{claim.id}/approve", data={}).status_code == 302  # to the login page


def test_public_notice_shows_only_organisation_clause_and_amount_and_objections_return_the_claim(client, factory, city):
    applicant = factory.user("enterprise", name="聊城公示测试有限公司")
    claim = _b1(applicant, 123_456, "保密项目名称")
    claims_budgets.set_budget(city["finance"], YEAR, "B1", 100_000_000)
    review.approve(city["reviewer"], claim.id, note="内部审核意见")
    client.post("/lang/en")
    page = client.get("/notice").get_data(as_text=True)  # anonymous
    assert "聊城公示测试有限公司" in page and "B1" in page and "¥123,456.00" in page
    for private in (applicant.organization.credit_code, applicant.email, "保密项目名称", "内部审核意见",
                    applicant.name, "requested_amount", f"/claims/{claim.id}"):
        assert private not in page, private

    bad = client.post(f"/notice/{claim.id}/object", data={"name": "王五", "contact": "nope", "reason": "金额有误，项目未实施"})
    assert bad.status_code == 400 and "e-mail address" in bad.get_data(as_text=True)
    assert client.post(f"/notice/{claim.id}/object", data={"name": "", "contact": "wang@example.com",
                                                           "reason": "金额有误"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(m.ClaimObjection)) == 0
    assert _get(claim.id).status == m.ON_NOTICE

    as_user(client, factory.user("enterprise"))  # a verified contact; a reviewer decides (tests/review/test_objections.py)
    ok = client.post(f"/notice/{claim.id}/object", data={"reason": "该项目并未实施，金额有误"})
    assert ok.status_code == 302
    [objection] = _get(claim.id).open_objections
    review.decide_objection(city["reviewer"], claim.id, objection.id, "suspend", "需核实项目实施情况")
    claim = _get(claim.id)
    assert claim.status == m.SUBMITTED and claim.notice_from is None and [o.status for o in claim.objections] == ["upheld"]
    assert claim.decisions[-1].action == "objection"
    assert "聊城公示测试有限公司" not in client.get("/notice").get_data(as_text=True)
    with frozen_at(utcnow() + timedelta(days=30)):  # not payable while it is back in review
        with pytest.raises(ServiceError):
            review.pay(city["finance"], claim.id)
    as_user(client, city["reviewer"])
    assert "该项目并未实施" in client.get(f"/review/claims/{claim.id}").get_data(as_text=True)
    review.approve(city["reviewer"], claim.id)  # the reviewer decides again: the objection is resolved
    claim = _get(claim.id)
    assert claim.status == m.ON_NOTICE and claim.open_objections == []


def test_finance_pays_only_after_the_notice_period(client, factory, city, app):
    applicant = factory.user("enterprise")
    claim = _b1(applicant, 100_000)
    claims_budgets.set_budget(city["finance"], YEAR, "B1", 100_000_000)
    review.approve(city["reviewer"], claim.id)
    claim = _get(claim.id)
    days = app.config["PUBLIC_NOTICE_DAYS"]
    assert claim.notice_until - claim.notice_from == timedelta(days=days)
    as_user(client, city["finance"])
    client.post("/lang/en")
    assert f"Payable from {claim.notice_until.isoformat()}" in client.get("/review/payouts").get_data(as_text=True)
    with frozen_at(utcnow() + timedelta(days=days - 1)):
        assert client.post(f"/review/claims/{claim.id}/pay", data={}).status_code == 409
    assert _get(claim.id).status == m.ON_NOTICE and db.session.scalar(select(func.count()).select_from(m.Payout)) == 0
    as_user(client, city["reviewer"])
    with frozen_at(utcnow() + timedelta(days=days)):
        assert client.post(f"/review/claims/{claim.id}/pay", data={}).status_code == 403  # finance only
        as_user(client, city["finance"])
        refused = client.post(f"/review/claims/{claim.id}/pay", data={"paid_on": "2000-01-01"})
        assert refused.status_code == 400
        # back on the payouts page, the date typed in that claim's row with the reason beside it
        html = refused.get_data(as_text=True)
        row = html[html.index(f'action="/review/claims/{claim.id}/pay"'):]
        row = row[:row.index("</form>")]
        assert 'value="2000-01-01"' in row and 'class="error"' in row, row
        assert client.post(f"/review/claims/{claim.id}/pay", data={}).status_code == 302
        today = review.today()  # the business date (Beijing)
    claim = _get(claim.id)
    assert claim.status == m.PAID
    assert [(p.amount_fen, p.paid_on) for p in claim.payouts] == [(10_000_000, today)]
    assert "notice.claim_paid" in {n.message for n in db.session.scalars(select(Notification))}
    assert client.post(f"/review/claims/{claim.id}/pay", data={}).status_code == 409  # once


def test_claims_beyond_the_budget_wait_in_approval_order(client, factory, city):
    applicant = factory.user("enterprise")
    a, b, c = _b1(applicant, 80, "甲"), _b1(applicant, 50, "乙"), _b1(applicant, 10, "丙")
    claims_budgets.set_budget(city["finance"], YEAR, "B1", 100 * 100)
    for claim in (a, b, c):
        review.approve(city["reviewer"], claim.id)
    assert [_get(x.id).status for x in (a, b, c)] == [m.ON_NOTICE, m.WAITING_BUDGET, m.WAITING_BUDGET]  # no overtaking
    status = {r["clause"]: r for r in claims.budget_status(YEAR)}["B1"]
    assert {k: status[k] for k in ("budget_fen", "committed_fen", "paid_fen", "remaining_fen", "waiting")} == \
        {"budget_fen": 10_000, "committed_fen": 8_000, "paid_fen": 0, "remaining_fen": 2_000, "waiting": 2}

    as_user(client, city["finance"])  # the city raises the budget: the first in line goes on notice
    assert client.post("/review/budgets", data={"year": str(YEAR), "clause": "B1", "amount": "130"}).status_code == 302
    assert [_get(x.id).status for x in (a, b, c)] == [m.ON_NOTICE, m.ON_NOTICE, m.WAITING_BUDGET]
    assert client.post("/review/budgets", data={"year": str(YEAR), "clause": "B1", "amount": "100"}).status_code == 400
    client.post(f"/notice/{a.id}/object", data={"reason": "重复申报同一项目"})
    [objection] = _get(a.id).open_objections
    assert [_get(x.id).status for x in (a, b, c)] == [m.ON_NOTICE, m.ON_NOTICE, m.WAITING_BUDGET]  # not by itself
    review.decide_objection(city["reviewer"], a.id, objection.id, "suspend", "重复申报，重新审核")
    assert [_get(x.id).status for x in (a, b, c)] == [m.SUBMITTED, m.ON_NOTICE, m.ON_NOTICE]  # budget freed


def test_budgets_are_entered_by_finance_and_admin_only(client, factory, city):
    for role, status in (("reviewer", 403), ("enterprise", 403), ("finance", 302), ("admin", 302)):
        as_user(client, city.get(role) or factory.user(role))
        response = client.post("/review/budgets", data={"year": str(YEAR), "clause": "A3", "amount": "1000"})
        assert response.status_code == status, role
    assert client.post("/review/budgets", data={"year": str(YEAR), "clause": "Z9", "amount": "1"}).status_code == 400
    assert client.post("/review/budgets", data={"year": str(YEAR), "clause": "A3", "amount": "-5"}).status_code == 400
    assert [b.amount_fen for b in db.session.scalars(select(m.ClaimBudget))] == [100_000]


def test_reviewers_see_the_ledger_entries_behind_a_claim(client, factory, city):
    from marketplace.ledger.services import append

    append("lease_fee", "LSE-7", utcnow().date(), 1_500_000, {"lessee": "X", "instrument": "I-1",
                                                              "amount": "15000.00", "financing_lease": True,
                                                              "on_sharing_platform": True})
    db.session.commit()
    as_user(client, city["reviewer"])
    page = client.get("/review/ledger/LSE-7").get_data(as_text=True)
    assert "¥15,000.00" in page and "I-1" in page
    as_user(client, factory.user("enterprise"))
    assert client.get("/review/ledger/LSE-7").status_code == 403


def test_home_links_for_each_city_role(client, city):
    for role, text in (("reviewer", "Review queue"), ("admin", "Review queue"), ("finance", "Payouts and budgets")):
        as_user(client, city[role])
        client.post("/lang/en")
        assert text in client.get("/home").get_data(as_text=True), role
    assert client.get("/review/payouts").status_code == 200


def test_functions_for_the_dashboards(factory, city):
    applicant = factory.user("enterprise")
    a, b = _b1(applicant, 1000, "甲"), _b1(applicant, 500, "乙")
    claims_budgets.set_budget(city["finance"], YEAR, "B1", 1000 * 100)
    review.approve(city["reviewer"], a.id)
    review.reject(city["reviewer"], b.id, "不符合条件")
    assert [c.id for c in claims.claims_for_export(YEAR)] == [a.id, b.id]
    assert claims.awards_by_clause(YEAR) == {"B1": {"drafted_fen": 100_000, "approved_fen": 100_000, "paid_fen": 0,
                                                    "clawed_back_fen": 0, "count": 1}}
    assert claims.budget_status(YEAR)[0]["remaining_fen"] == 0
