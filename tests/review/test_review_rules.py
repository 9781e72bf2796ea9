"""Review rules a mutation run showed unguarded (issue 16): the queue's filters, the budget
table per clause, who counts as a service agency, and that each refusal says why, names its
field and writes nothing. Through the public review services."""
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


pytestmark = pytest.mark.usefixtures("english")  # tests/review/conftest.py


@pytest.fixture()
def city(factory):
    return {"reviewer": factory.user("reviewer"), "finance": factory.user("finance"), "admin": factory.user("admin")}


def _b1(applicant, amount_yuan, project="市县联合项目", year=YEAR):
    return claims.file_claim(applicant, applicant.organization.id, "B1",
                             {"project": project, "city_county_joint": True, "requested_amount": str(amount_yuan)}, year)


def _b6(applicant, year=YEAR):
    return claims.file_claim(applicant, applicant.organization.id, "B6.excellent", {"selected_on": f"{year}-09-01"}, year)


def _get(claim_id):
    db.session.expire_all()
    return db.session.get(m.Claim, claim_id)


def _refused(kind, fn, *args, message=None, field=None, **kwargs):
    with pytest.raises(kind) as refused:
        fn(*args, **kwargs)
    if message is not None:
        assert refused.value.message == message
    if field is not None:
        assert refused.value.field == field
    return refused.value


def test_the_queue_filters_by_year_clause_status_county_and_flag_oldest_first(city, factory):
    east = factory.user("enterprise", county="东昌府区")
    west = factory.user("enterprise", county="临清市")
    a = _b1(east, 100, "甲")
    b = _b6(west)
    c = _b1(west, 200, "乙", year=YEAR - 1)
    review.reject(city["reviewer"], a.id, "材料不全")
    flagged = _get(c.id)
    flagged.flagged = True
    db.session.commit()
    reviewer = city["reviewer"]

    def ids(**filters):
        return [x.id for x in review.queue(reviewer, **filters).items]

    assert ids() == [a.id, b.id, c.id]
    assert ids(year=YEAR) == [a.id, b.id]
    assert ids(clause="B1") == [a.id, c.id]
    assert ids(status=m.SUBMITTED) == [b.id, c.id]
    assert ids(county="临清市") == [b.id, c.id]
    assert ids(flagged=True) == [c.id]
    assert ids(flagged=False) == [a.id, b.id]
    assert ids(per_page=1) == [a.id] and ids(per_page=1, page=2) == [b.id]
    _refused(PermissionDenied, review.queue, factory.user("enterprise"))


def test_the_budget_table_keeps_each_clause_apart(city, factory):
    applicant = factory.user("enterprise")
    b1, b6 = _b1(applicant, 1_000), _b6(applicant)
    waiting = _b1(applicant, 2_000, "乙")
    claims.set_budget(city["finance"], YEAR, "B1", 150_000)
    claims.set_budget(city["finance"], YEAR, "B6.excellent", 100_000_000)
    claims.set_budget(city["finance"], YEAR, "A3", 5_000)
    on_notice_too = _b6(factory.user("enterprise"))  # the same status in two clauses
    for claim in (b1, b6, waiting, on_notice_too):
        review.approve(city["reviewer"], claim.id)
    b6_fen = _get(b6.id).amount_fen
    with frozen_at(utcnow() + timedelta(days=30)):
        review.pay(city["finance"], b6.id)
    rows = {r["clause"]: r for r in claims.budget_status(YEAR)}
    assert list(rows) == ["A3", "B1", "B6.excellent"]  # the policy's order
    assert rows["A3"] == {"clause": "A3", "budget_fen": 5_000, "committed_fen": 0, "paid_fen": 0, "remaining_fen": 5_000,
                          "waiting": 0, "waiting_fen": 0, "has_budget": True}
    assert rows["B1"] == {"clause": "B1", "budget_fen": 150_000, "committed_fen": 100_000, "paid_fen": 0,
                          "remaining_fen": 50_000, "waiting": 1, "waiting_fen": 200_000, "has_budget": True}
    assert rows["B6.excellent"] == {"clause": "B6.excellent", "budget_fen": 100_000_000, "committed_fen": 2 * b6_fen,
                                    "paid_fen": b6_fen, "remaining_fen": 100_000_000 - 2 * b6_fen, "waiting": 0,
                                    "waiting_fen": 0, "has_budget": True}
    assert claims.budget_status(YEAR - 1) == []


def test_a_clause_without_a_budget_shows_its_waiting_claims(city, factory):
    claim = _b1(factory.user("enterprise"), 300)
    review.approve(city["reviewer"], claim.id)
    [row] = claims.budget_status(YEAR)
    assert row == {"clause": "B1", "budget_fen": 0, "committed_fen": 0, "paid_fen": 0, "remaining_fen": 0,
                   "waiting": 1, "waiting_fen": 30_000, "has_budget": False}


def test_only_in_city_registered_service_agencies_take_provincial_rewards(city, factory):
    agency = factory.organization(kind="agency", service_agency=True, name="B 检测中心")
    first = factory.organization(kind="agency", service_agency=True, name="A 检测中心")
    outside = factory.organization(kind="agency", service_agency=True, in_city=False, name="丙中心")
    plain = factory.organization(kind="agency", service_agency=False, name="丁中心")
    assert [o.id for o in review.service_agencies()] == [first.id, agency.id]
    for org in (outside, plain):
        _refused(ServiceError, review.record_provincial_reward, city["finance"], org.id, YEAR, 100,
                 message="Choose a registered service agency of the city.", field="organization")
    _refused(ServiceError, review.record_provincial_reward, city["finance"], agency.id, YEAR + 2, 100, field="year")
    _refused(ServiceError, review.record_provincial_reward, city["finance"], agency.id, YEAR, -1, field="amount")
    assert review.provincial_rewards(YEAR) == []
    reward = review.record_provincial_reward(city["finance"], agency.id, YEAR, 100)
    assert [(r.organization_id, r.amount_fen) for r in review.provincial_rewards(YEAR)] == [(agency.id, 100)]
    review.record_provincial_reward(city["admin"], agency.id, YEAR, 250)  # a correction replaces it
    assert [(r.id, r.amount_fen) for r in review.provincial_rewards(YEAR)] == [(reward.id, 250)]


def test_decisions_are_refused_with_a_reason_and_write_nothing(city, factory):
    reviewer = city["reviewer"]
    claim = _b1(factory.user("enterprise"), 100)
    long_text = "长" * 2001
    _refused(ServiceError, review.approve, reviewer, claim.id, note=long_text, field="note")
    _refused(ServiceError, review.reject, reviewer, claim.id, "  ", message="Give the reason for the rejection.",
             field="reason")
    _refused(ServiceError, review.reject, reviewer, claim.id, long_text, field="reason")
    _refused(ServiceError, review.request_evidence, reviewer, claim.id, " ", field="message")
    _refused(ServiceError, review.request_evidence, reviewer, claim.id, long_text, field="message")
    assert _get(claim.id).status == m.SUBMITTED and not _get(claim.id).decisions[1:]
    review.request_evidence(reviewer, claim.id, "请补充联合立项文件")
    _refused(Conflict, review.approve, reviewer, claim.id, message="Only a submitted claim can be approved.")
    _refused(Conflict, review.request_evidence, reviewer, claim.id, "再补充",
             message="Evidence can be asked for only on a submitted claim.")
    review.reject(reviewer, claim.id, "未补充材料")  # a claim waiting for evidence may be rejected
    assert _get(claim.id).status == m.REJECTED
    _refused(Conflict, review.reject, reviewer, claim.id, "再拒一次", message="Only a claim under review can be rejected.")


def test_budgets_are_refused_outside_the_years_clauses_and_what_is_committed(city, factory):
    finance = city["finance"]
    this_year = review.today().year
    _refused(ServiceError, claims.set_budget, finance, 2018, "B1", 100, field="year")
    _refused(ServiceError, claims.set_budget, finance, this_year + 2, "B1", 100, field="year")
    _refused(ServiceError, claims.set_budget, finance, True, "B1", 100, field="year")
    _refused(ServiceError, claims.set_budget, finance, YEAR, "Z9", 100, message="Choose a clause.", field="clause")
    _refused(ServiceError, claims.set_budget, finance, YEAR, "B1", -1, field="amount")
    _refused(ServiceError, claims.set_budget, finance, YEAR, "B1", 1.5, field="amount")
    assert db.session.scalar(select(func.count()).select_from(m.ClaimBudget)) == 0
    claims.set_budget(finance, 2019, "B1", 0)
    claims.set_budget(finance, this_year + 1, "B1", 0)
    claim = _b1(factory.user("enterprise"), 100)
    claims.set_budget(finance, YEAR, "B1", 10_000)
    review.approve(city["reviewer"], claim.id)
    refusal = _refused(ServiceError, claims.set_budget, finance, YEAR, "B1", 9_999, field="amount")
    assert "100.00" in refusal.message
    assert claims.set_budget(finance, YEAR, "B1", 10_000).amount_fen == 10_000


def test_objection_decisions_are_refused_unless_well_formed(city, factory, client):
    reviewer = city["reviewer"]
    claim = _b1(factory.user("enterprise"), 100)
    claims.set_budget(city["finance"], YEAR, "B1", 100_000)
    review.approve(reviewer, claim.id)
    objector = factory.user("enterprise")
    objection = review.object_to(objector, claim.id, "", "", "该项目并未实施")
    assert objection.status == "open"
    _refused(ServiceError, review.decide_objection, reviewer, claim.id, objection.id, "ignore", "理由",
             message="Choose whether to suspend the notice or dismiss the objection.", field="decision")
    _refused(ServiceError, review.decide_objection, reviewer, claim.id, objection.id, "dismiss", " ",
             message="Give the reason for your decision.", field="reason")
    _refused(ServiceError, review.decide_objection, reviewer, claim.id, objection.id, "dismiss", "长" * 2001,
             field="reason")
    other = _b1(factory.user("enterprise"), 100, "乙")
    _refused(NotFound, review.decide_objection, reviewer, other.id, objection.id, "dismiss", "理由")
    _refused(NotFound, review.decide_objection, reviewer, claim.id, "1", "dismiss", "理由")
    assert db.session.get(m.ClaimObjection, objection.id).status == "open"
    decided = review.decide_objection(reviewer, claim.id, objection.id, "dismiss", "项目已实施，有验收报告")
    assert (decided.status, decided.decision_reason) == ("dismissed", "项目已实施，有验收报告")
    assert _get(claim.id).status == m.ON_NOTICE  # the notice goes on
    _refused(Conflict, review.decide_objection, reviewer, claim.id, objection.id, "suspend", "改判",
             message="This objection was already decided.")


def test_a_payout_date_must_be_a_date_between_the_end_of_the_notice_and_today(city, factory):
    claim = _b1(factory.user("enterprise"), 100)
    claims.set_budget(city["finance"], YEAR, "B1", 100_000)
    review.approve(city["reviewer"], claim.id)
    end = _get(claim.id).notice_until
    with frozen_at(utcnow() + timedelta(days=30)):
        today = review.today()
        _refused(ServiceError, review.pay, city["finance"], claim.id, "2024-02-30",
                 message="Enter a date like 2024-03-01.", field="paid_on")
        _refused(ServiceError, review.pay, city["finance"], claim.id, end - timedelta(days=1), field="paid_on")
        _refused(ServiceError, review.pay, city["finance"], claim.id, today + timedelta(days=1), field="paid_on")
        assert db.session.scalar(select(func.count()).select_from(m.Payout)) == 0
        payout = review.pay(city["finance"], claim.id, f" {end.isoformat()} ")
        assert (payout.paid_on, payout.amount_fen, payout.recorded_by_id) == (end, 10_000, city["finance"].id)
        assert [p.id for p in review.recent_payouts(city["finance"])] == [payout.id]
        _refused(PermissionDenied, review.recent_payouts, city["reviewer"])


def test_the_payable_list_shows_claims_on_notice_by_the_end_of_their_notice(city, factory):
    applicant = factory.user("enterprise")
    first, second = _b1(applicant, 100, "甲"), _b1(applicant, 200, "乙")
    claims.set_budget(city["finance"], YEAR, "B1", 100_000)
    review.approve(city["reviewer"], first.id)
    with frozen_at(utcnow() + timedelta(days=1)):
        review.approve(city["reviewer"], second.id)
    rejected = _b1(applicant, 300, "丙")
    review.reject(city["reviewer"], rejected.id, "重复")
    assert [c.id for c in review.payable(city["finance"])] == [first.id, second.id]
    _refused(PermissionDenied, review.payable, city["reviewer"])


def test_objections_and_payouts_refused_say_why(city, factory):
    claim = _b1(factory.user("enterprise"), 100)
    anonymous = type("Anonymous", (), {"is_authenticated": False})()
    _refused(NotFound, review.object_to, anonymous, claim.id, "王五", "wangwu@example.org", "该项目并未实施",
             message="This claim is not on public notice.")
    _refused(ServiceError, review.object_to, anonymous, claim.id, "王五", "not-an-address", "该项目并未实施",
             message="Give an e-mail address: the objection counts once you confirm it by the link we send there.",
             field="contact")
    _refused(Conflict, review.pay, city["finance"], claim.id,
             message="Only an approved claim whose public notice has ended can be paid.")
    assert db.session.scalar(select(func.count()).select_from(m.ClaimObjection)) == 0


def _audit(action):
    from marketplace.audit.models import AuditEvent

    return [(e.actor_id, e.target_type, e.target_id, e.before, e.after)
            for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def test_every_decision_is_audited_with_who_what_and_the_change(city, factory):
    reviewer, finance = city["reviewer"], city["finance"]
    applicant = factory.user("enterprise")
    approved, rejected, asked = _b1(applicant, 100, "甲"), _b1(applicant, 200, "乙"), _b1(applicant, 300, "丙")
    claims.set_budget(finance, YEAR, "B1", 50_000)
    claims.set_budget(city["admin"], YEAR, "B1", 60_000)
    assert _audit("claim.budget") == [
        (finance.id, "claim_budget", f"{YEAR}/B1", {"amount_fen": None}, {"amount_fen": 50_000}),
        (city["admin"].id, "claim_budget", f"{YEAR}/B1", {"amount_fen": 50_000}, {"amount_fen": 60_000})]
    review.approve(reviewer, approved.id, note="材料齐全")
    assert _audit("claim.approve") == [(reviewer.id, "claim", str(approved.id), {"status": m.SUBMITTED},
                                        {"status": m.WAITING_BUDGET, "amount_fen": 10_000,
                                         "good_service_results": None})]
    review.reject(reviewer, rejected.id, " 重复申报 ")
    assert _audit("claim.reject") == [(reviewer.id, "claim", str(rejected.id), {"status": m.SUBMITTED},
                                       {"status": m.REJECTED, "reason": "重复申报"})]
    review.request_evidence(reviewer, asked.id, " 请补充立项文件 ")
    assert _audit("claim.request_evidence") == [(reviewer.id, "claim", str(asked.id), {"status": m.SUBMITTED},
                                                 {"status": m.EVIDENCE_REQUESTED, "message": "请补充立项文件"})]
    with frozen_at(utcnow() + timedelta(days=30)):
        review.pay(finance, approved.id)
        today = review.today()
    assert _audit("claim.pay") == [(finance.id, "claim", str(approved.id), {"status": m.ON_NOTICE},
                                    {"status": m.PAID, "amount_fen": 10_000, "paid_on": today.isoformat()})]
    decisions = [(d.action, d.actor_id, d.from_status, d.to_status, d.reason) for d in _get(rejected.id).decisions]
    assert decisions[-1] == ("rejected", reviewer.id, m.SUBMITTED, m.REJECTED, "重复申报")


def test_an_a5_claim_without_the_judgement_is_refused_with_the_reason(city, factory):
    from marketplace.claims import models as cm

    org = factory.organization(kind="agency")
    claim = cm.Claim(year=YEAR, clause="A5", source=cm.ENGINE, organization_id=org.id, status=cm.SUBMITTED,
                     amount_fen=1_000, transactions=[], trace=[], flags=[], flagged=False, submitted_at=utcnow())
    db.session.add(claim)
    db.session.commit()
    _refused(ServiceError, review.approve, city["reviewer"], claim.id, field="good_service_results",
             message="An A5 claim is approved only with the judgement that the service results are good (服务成效良好).")
    assert _get(claim.id).status == cm.SUBMITTED
