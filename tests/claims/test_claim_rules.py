"""Claim rules a mutation run showed unguarded (issue 16): filing refusals name their field
and write nothing, a claim is filed once per evidence, the applicant answers only a request,
the funnel per clause, the organisation's list and the code lookup. Public services only."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.errors import Conflict, NotFound, PermissionDenied, ServiceError
from marketplace.core.timeutil import frozen_at, utcnow
from marketplace.extensions import db
from marketplace.review import services as review

YEAR = utcnow().year - 1
B6 = {"selected_on": f"{YEAR}-09-01"}


@pytest.fixture(autouse=True)
def english(app_ctx):
    from flask_babel import force_locale

    with app_ctx.test_request_context(), force_locale("en"):
        yield


def _b1(applicant, amount_yuan, project="市县联合项目", year=YEAR):
    return claims.file_claim(applicant, applicant.organization.id, "B1",
                             {"project": project, "city_county_joint": True, "requested_amount": str(amount_yuan)}, year)


def _count():
    return db.session.scalar(select(func.count()).select_from(m.Claim))


def _refused(kind, fn, *args, message=None, field=None, **kwargs):
    with pytest.raises(kind) as refused:
        fn(*args, **kwargs)
    if message is not None:
        assert refused.value.message == message
    if field is not None:
        assert refused.value.field == field
    return refused.value


def test_filing_refusals_name_the_field_and_write_nothing(factory):
    applicant = factory.user("enterprise")
    org = applicant.organization.id
    _refused(NotFound, claims.file_claim, applicant, 999_999, "B6.excellent", B6, YEAR,
             message="This organisation does not exist.")
    _refused(NotFound, claims.file_claim, applicant, str(org), "B6.excellent", B6, YEAR)
    _refused(ServiceError, claims.file_claim, applicant, org, "B9", B6, YEAR, message="Choose the kind of claim.",
             field="kind")
    for year in (2018, utcnow().year + 1, True, "2024"):
        _refused(ServiceError, claims.file_claim, applicant, org, "B6.excellent", B6, year, field="year")
    _refused(ServiceError, claims.file_claim, applicant, org, "B6.excellent", ["not", "a", "dict"], YEAR,
             message="The evidence could not be understood.", field="evidence")
    _refused(ServiceError, claims.file_claim, applicant, org, "B6.excellent", {"selected_on": ""}, YEAR,
             message="This field is required.", field="selected_on")
    _refused(ServiceError, claims.file_claim, applicant, org, "B6.excellent", {"selected_on": "soon"}, YEAR,
             field="selected_on")
    government = factory.user("reviewer")
    _refused(ServiceError, claims.file_claim, government, government.organization.id, "B6.excellent", B6, YEAR,
             message="Only a verified organisation can claim a subsidy.", field="organization")
    assert _count() == 0
    claim = claims.file_claim(applicant, org, "B6.excellent", {**B6, "note": None}, YEAR)
    assert (claim.year, claim.status, claim.source, claim.evidence["applicant"]) == \
        (YEAR, m.SUBMITTED, m.FILED, applicant.organization.credit_code)
    assert "note" not in claim.evidence


def test_a_claim_is_filed_once_per_evidence_and_again_after_a_rejection(factory):
    applicant = factory.user("enterprise")
    first = _b1(applicant, 100, "甲")
    refusal = _refused(Conflict, _b1, applicant, 100, "甲")
    assert str(first.id) in refusal.message
    other_project = _b1(applicant, 100, "乙")  # other evidence: another claim
    assert other_project.id != first.id
    review.reject(factory.user("reviewer"), first.id, "材料不全")
    again = _b1(applicant, 100, "甲")
    assert again.id not in (first.id, other_project.id)
    assert [d.action for d in again.decisions] == ["filed"]
    assert (again.decisions[0].actor_id, again.decisions[0].to_status, again.decisions[0].amount_after_fen) == \
        (applicant.id, m.SUBMITTED, 10_000)


def test_the_applicant_answers_only_a_request_with_words_or_a_file(factory):
    applicant, reviewer = factory.user("enterprise"), factory.user("reviewer")
    claim = claims.file_claim(applicant, applicant.organization.id, "B6.excellent", B6, YEAR)
    _refused(Conflict, claims.respond, applicant, claim.id, "见附件",
             message="The reviewer has not asked for evidence on this claim.")
    review.request_evidence(reviewer, claim.id, "请补充评选文件")
    _refused(PermissionDenied, claims.respond, factory.user("enterprise"), claim.id, "见附件")
    _refused(ServiceError, claims.respond, applicant, claim.id, "  ", message="Write an answer or attach a file.",
             field="message")
    _refused(ServiceError, claims.respond, applicant, claim.id, "长" * 3001, field="message")
    assert db.session.get(m.Claim, claim.id).status == m.EVIDENCE_REQUESTED
    answered = claims.respond(applicant, claim.id, " 已补充 ")
    assert answered.status == m.SUBMITTED
    last = answered.decisions[-1]
    assert (last.action, last.actor_id, last.reason) == ("evidence_provided", applicant.id, "已补充")


def test_the_funnel_per_clause_counts_live_claims_and_what_was_approved_and_paid(factory):
    reviewer, finance = factory.user("reviewer"), factory.user("finance")
    applicant = factory.user("enterprise")
    paid, waiting, rejected = _b1(applicant, 100, "甲"), _b1(applicant, 200, "乙"), _b1(applicant, 400, "丙")
    submitted = claims.file_claim(applicant, applicant.organization.id, "B6.excellent", B6, YEAR)
    _b1(applicant, 800, "丁", year=YEAR - 1)
    claims.set_budget(finance, YEAR, "B1", 10_000)
    review.approve(reviewer, paid.id)
    review.approve(reviewer, waiting.id)
    review.reject(reviewer, rejected.id, "重复")
    with frozen_at(utcnow() + timedelta(days=30)):
        review.pay(finance, paid.id)
    funnel = claims.awards_by_clause(YEAR)
    assert list(funnel) == ["B1", "B6.excellent"]
    assert funnel["B1"] == {"drafted_fen": 30_000, "approved_fen": 30_000, "paid_fen": 10_000,
                            "clawed_back_fen": 0, "count": 2}
    assert funnel["B6.excellent"] == {"drafted_fen": submitted.amount_fen, "approved_fen": 0, "paid_fen": 0,
                                      "clawed_back_fen": 0, "count": 1}
    assert claims.awards_list(YEAR) == [
        {"clause": "B1", "beneficiary": applicant.organization.credit_code, "amount": "100.00"},
        {"clause": "B1", "beneficiary": applicant.organization.credit_code, "amount": "200.00"},
        {"clause": "B6.excellent", "beneficiary": applicant.organization.credit_code,
         "amount": f"{submitted.amount_fen // 100}.00"}]


def test_an_organisation_sees_its_own_claims_newest_year_first(factory):
    applicant = factory.user("enterprise")
    older = _b1(applicant, 100, "甲", year=YEAR - 1)
    b6 = claims.file_claim(applicant, applicant.organization.id, "B6.excellent", B6, YEAR)
    b1 = _b1(applicant, 100, "乙")
    _b1(factory.user("enterprise"), 100, "丙")
    assert [c.id for c in claims.claims_of(applicant)] == [b1.id, b6.id, older.id]
    assert [c.id for c in claims.claims_of(applicant, YEAR - 1)] == [older.id]
    assert claims.get_claim(applicant, b1.id).id == b1.id
    _refused(PermissionDenied, claims.get_claim, factory.user("enterprise"), b1.id)
    _refused(NotFound, claims.get_claim, applicant, "1", message="This claim does not exist.")


def test_the_city_finds_an_organisation_by_its_credit_code(factory):
    org = factory.organization(kind="enterprise")
    assert claims.organization_id_by_code(f"  {org.credit_code.lower()} ") == org.id
    for code in ("", "   ", "91371502MA0000000X"):
        _refused(ServiceError, claims.organization_id_by_code, code,
                 message="No organisation has this credit code.", field="organization")


def test_a_claim_of_a_running_year_is_computed_with_todays_rules(app_ctx):
    today = utcnow().date()
    assert claims.claim_date(today.year) == today
    assert claims.claim_date(today.year - 1).isoformat() == f"{today.year - 1}-12-31"
