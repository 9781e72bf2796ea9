"""Review behaviour a fresh mutation sample (issue 16, session 5, seed 16) found unguarded: the
audit of an objection that counts, the per-contact limits at their edges (an unconfirmed
objection counts while its link is valid, to the second), the field the daily limit names,
which claims show instrument evidence, the payouts list order, the queue's order among claims
submitted at the same moment, and finance's home action. Through the public services."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.audit.models import AuditEvent
from marketplace.claims import budgets as claims_budgets
from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.errors import ServiceError
from marketplace.core.timeutil import frozen_at, utcnow
from marketplace.extensions import db
from marketplace.review import services as review
from tests.claims.helpers import as_user

YEAR = utcnow().year - 1
REASON = "该项目并未实施，金额有误"


pytestmark = pytest.mark.usefixtures("english")  # tests/review/conftest.py


@pytest.fixture()
def city(factory):
    return {"reviewer": factory.user("reviewer"), "finance": factory.user("finance")}


def _b1(applicant, amount_yuan, project="市县联合项目"):
    return claims.file_claim(applicant, applicant.organization.id, "B1",
                             {"project": project, "city_county_joint": True, "requested_amount": str(amount_yuan)},
                             YEAR)


def _on_notice(factory, city, amount_yuan=1_000, project="市县联合项目") -> m.Claim:
    applicant = factory.user("enterprise")
    claim = _b1(applicant, amount_yuan, project)
    if db.session.scalar(select(m.ClaimBudget).where(m.ClaimBudget.year == YEAR)) is None:
        claims_budgets.set_budget(city["finance"], YEAR, "B1", 100_000_000)
    review.approve(city["reviewer"], claim.id)
    db.session.expire_all()
    return db.session.get(m.Claim, claim.id)


class _Anonymous:
    is_authenticated = False


def test_an_objection_that_counts_is_audited_with_its_objector(factory, city):
    claim = _on_notice(factory, city)
    objector = factory.user("enterprise")
    objection = review.object_to(objector, claim.id, "", "", REASON)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.target_type == "claim",
                                                          AuditEvent.target_id == str(claim.id),
                                                          AuditEvent.actor_id == objector.id))
    assert (event.action, event.after) == ("claim.objection", {"objection_id": objection.id, "status": "open"})


def test_an_unconfirmed_objection_counts_while_its_link_is_valid_to_the_second(app, factory, city):
    claim = _on_notice(factory, city)
    link_age = timedelta(seconds=int(app.config["OBJECTION_CONFIRM_MAX_AGE"]))
    assert app.config["OBJECTIONS_PER_CLAIM"] == 1
    start = utcnow().replace(microsecond=0)
    with frozen_at(start):
        review.object_to(_Anonymous(), claim.id, "王五", "wang@example.com", REASON)
    with frozen_at(start + link_age):  # the link still opens (itsdangerous: expired only when older)
        with pytest.raises(ServiceError) as refused:
            review.object_to(_Anonymous(), claim.id, "王五", "wang@example.com", REASON)
        assert refused.value.field == "reason" and "At most 1 per claim" in refused.value.message
    with frozen_at(start + link_age + timedelta(seconds=1)):  # its link is dead: it no longer counts
        second = review.object_to(_Anonymous(), claim.id, "王五", "wang@example.com", REASON)
    assert second.status == "unconfirmed"


def test_the_daily_limit_names_the_reason_field(app, factory, city):
    claims_on_notice = [_on_notice(factory, city, 1_000 + i, f"项目{i}") for i in range(3)]
    objector = factory.user("enterprise")
    app.config["OBJECTIONS_PER_DAY"] = 2
    try:
        for claim in claims_on_notice[:2]:
            review.object_to(objector, claim.id, "", "", REASON)
        with pytest.raises(ServiceError) as refused:
            review.object_to(objector, claims_on_notice[2].id, "", "", REASON)
    finally:
        app.config["OBJECTIONS_PER_DAY"] = 5
    assert refused.value.field == "reason" and "At most 2 objections a day" in refused.value.message


def test_only_an_a5_claim_shows_instrument_evidence(factory, city):
    applicant = factory.user("enterprise")
    b1 = _b1(applicant, 1_000)
    assert review.instrument_evidence(b1) is None
    lab = factory.user("provider", kind="agency")
    a5 = m.Claim(year=YEAR, clause="A5", source=m.ENGINE, organization_id=lab.organization.id,
                 draft_key=f"{YEAR}|A5|{lab.organization.id}", status=m.SUBMITTED, amount_fen=192_000,
                 engine_amount_fen=192_000, transactions=["LSE-1"], trace=[], flags=[])
    db.session.add(a5)
    db.session.commit()
    assert review.instrument_evidence(a5) == []  # asked of the reports: no shared instrument yet


def test_recent_payouts_come_newest_first_and_stop_at_the_limit(factory, city):
    paid = []
    for i in range(3):
        claim = _on_notice(factory, city, 1_000 + i, f"项目{i}")
        with frozen_at(utcnow() + timedelta(days=30)):
            paid.append(review.pay(city["finance"], claim.id).id)
    assert [p.id for p in review.recent_payouts(city["finance"])] == paid[::-1]
    assert [p.id for p in review.recent_payouts(city["finance"], limit=2)] == paid[:0:-1]


def test_claims_submitted_at_one_moment_queue_in_filing_order(factory, city):
    """The tiebreak: the same submission time (one batch), then the claim's id, on every page."""
    applicants = [factory.user("enterprise") for _ in range(4)]
    moment = utcnow().replace(microsecond=0)
    with frozen_at(moment):
        filed = [_b1(a, 1_000 + i, f"项目{i}").id for i, a in enumerate(reversed(applicants))]
    pages = [x.id for p in (1, 2) for x in review.queue(city["reviewer"], per_page=2, page=p).items]
    assert pages == filed


def test_finance_s_home_offers_payouts_with_what_they_are(client, factory, city):
    as_user(client, city["finance"])
    client.post("/lang/en")
    page = client.get("/home").get_data(as_text=True)
    assert "Budgets per clause, and approved claims to pay after their public notice." in page
    assert 'href="/review/payouts"' in page


def test_the_daily_limit_counts_one_contact_for_24_hours_to_the_second(app, factory, city):
    first, second, third = (_on_notice(factory, city, 1_000 + i, f"项目{i}") for i in range(3))
    objector, others = factory.user("enterprise"), [factory.user("enterprise") for _ in range(2)]
    app.config["OBJECTIONS_PER_DAY"] = 1
    start = utcnow().replace(microsecond=0)
    try:
        with frozen_at(start):
            for other in others:  # other contacts' objections are theirs
                review.object_to(other, first.id, "", "", REASON)
            review.object_to(objector, first.id, "", "", REASON)
        with frozen_at(start + timedelta(days=1)):  # still within the 24 hours
            with pytest.raises(ServiceError, match="At most 1 objections a day"):
                review.object_to(objector, second.id, "", "", REASON)
        with frozen_at(start + timedelta(days=1, seconds=1)):
            assert review.object_to(objector, third.id, "", "", REASON).status == "open"
    finally:
        app.config["OBJECTIONS_PER_DAY"] = 5


def test_an_objection_that_counts_tells_the_claimant_s_members(factory, city):
    from marketplace.notifications.models import Notification

    claim = _on_notice(factory, city)
    member = factory.user("enterprise", organization=claim.organization)
    review.object_to(factory.user("enterprise"), claim.id, "", "", REASON)
    told = db.session.scalars(select(Notification.link).where(Notification.user_id == member.id))
    assert f"/claims/{claim.id}" in list(told)


def test_a_transaction_s_ledger_entries_come_a_page_at_a_time(factory, city):
    from marketplace.ledger import services as ledger

    for day in range(1, 4):
        ledger.append("lease_fee", "LSE-9", utcnow().date().replace(day=day), 100,
                      {"lessee": factory.organization().credit_code, "instrument": "INS-1", "amount": "1.00",
                       "financing_lease": True, "on_sharing_platform": True})
    db.session.commit()
    pages = [review.ledger_entries(city["reviewer"], "LSE-9", page=p, per_page=2) for p in (1, 2)]
    assert [[e.occurred_on.day for e in p.items] for p in pages] == [[1, 2], [3]]
    assert pages[0].has_next and not pages[1].has_next


def test_the_reviewer_s_home_offers_the_queue_with_what_it_is(client, city):
    as_user(client, city["reviewer"])
    client.post("/lang/en")
    page = client.get("/home").get_data(as_text=True)
    assert "<h2>Review queue</h2><p>Subsidy claims waiting for the city's decision.</p>" in page
