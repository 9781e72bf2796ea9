"""Objections to claims on public notice (公示异议, issue 13): only a verified contact counts
(a logged-in user, or an e-mail address confirmed by a signed link), one contact has limits,
an objection no longer takes a claim off notice by itself — a reviewer suspends the notice
or dismisses the objection with a reason, audited — and the notice's end closes objections."""
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.audit.models import AuditEvent
from marketplace.claims import budgets as claims_budgets
from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.errors import ServiceError
from marketplace.core.timeutil import frozen_at, utcnow
from marketplace.extensions import db
from marketplace.notifications.models import Notification, OutgoingMail
from marketplace.review import services as review
from tests.claims.helpers import as_user

YEAR = utcnow().year - 1
REASON = "该项目并未实施，金额有误"


@pytest.fixture()
def city(factory):
    return {"reviewer": factory.user("reviewer"), "finance": factory.user("finance")}


def _on_notice(factory, city, amount_yuan=100_000, project="市县联合项目") -> m.Claim:
    applicant = factory.user("enterprise")
    claim = claims.file_claim(applicant, applicant.organization.id, "B1",
                              {"project": project, "city_county_joint": True,
                               "requested_amount": str(amount_yuan)}, YEAR)
    if db.session.scalar(select(m.ClaimBudget).where(m.ClaimBudget.year == YEAR)) is None:
        claims_budgets.set_budget(city["finance"], YEAR, "B1", 100_000_000)
    review.approve(city["reviewer"], claim.id)
    return _get(claim.id)


def _get(claim_id) -> m.Claim:
    db.session.expire_all()
    return db.session.get(m.Claim, claim_id)


def _objections(claim_id):
    db.session.expire_all()
    return list(db.session.scalars(select(m.ClaimObjection).where(m.ClaimObjection.claim_id == claim_id)))


def _confirm_link(email) -> str:
    mail = db.session.scalars(select(OutgoingMail).where(OutgoingMail.recipient == email)
                              .order_by(OutgoingMail.id.desc())).first()
    assert mail is not None, "no confirmation mail"
    match = re.search(r"https?://[^/\s]+(/notice/objections/confirm/\S+)", mail.body)
    assert match, mail.body
    return match.group(1)


def _audit(action):
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_anonymous_objection_counts_only_once_confirmed_by_the_mailed_link(client, factory, city):
    claim = _on_notice(factory, city)
    client.post("/lang/en")
    phone = client.post(f"/notice/{claim.id}/object", data={"name": "王五", "contact": "13800000000", "reason": REASON})
    assert phone.status_code == 400 and "e-mail address" in phone.get_data(as_text=True)
    assert _objections(claim.id) == []

    response = client.post(f"/notice/{claim.id}/object",
                           data={"name": "王五", "contact": "Wang@Example.com", "reason": REASON})
    assert response.status_code == 302
    [objection] = _objections(claim.id)
    assert objection.status == "unconfirmed" and objection.contact_key == "wang@example.com"
    claim = _get(claim.id)
    assert claim.status == m.ON_NOTICE and claim.open_objections == []  # nothing counts yet
    assert REASON not in as_user(client, city["reviewer"]).get(f"/review/claims/{claim.id}").get_data(as_text=True)
    client.post("/logout")

    link = _confirm_link("Wang@Example.com")
    assert client.post(link[:-3] + "xyz").status_code == 400  # a forged token
    page = client.get(link)  # a mail scanner opening the link confirms nothing
    assert page.status_code == 200 and _objections(claim.id)[0].status == "unconfirmed"
    assert client.post(link).status_code == 302
    [objection] = _objections(claim.id)
    assert objection.status == "open" and objection.confirmed_at is not None
    claim = _get(claim.id)
    assert claim.status == m.ON_NOTICE and claim.notice_from is not None  # still on notice
    assert [o.id for o in claim.open_objections] == [objection.id]
    reviewers = {n.user_id for n in db.session.scalars(select(Notification).where(
        Notification.message == "notice.objection_to_review"))}
    assert city["reviewer"].id in reviewers
    assert client.post(link).status_code == 302 and len(_objections(claim.id)) == 1  # a second click is harmless
    assert REASON in as_user(client, city["reviewer"]).get(f"/review/claims/{claim.id}").get_data(as_text=True)


def test_a_logged_in_objector_counts_at_once_within_per_contact_limits(client, factory, city, app):
    first, second, third = (_on_notice(factory, city, 1000 + i, f"项目{i}") for i in range(3))
    objector = factory.user("enterprise")
    as_user(client, objector)
    client.post("/lang/en")
    assert client.post(f"/notice/{first.id}/object", data={"reason": REASON}).status_code == 302
    [objection] = _objections(first.id)
    assert (objection.status, objection.user_id, objection.contact) == ("open", objector.id, objector.email)

    again = client.post(f"/notice/{first.id}/object", data={"reason": "再次提出异议：金额有误"})
    assert again.status_code == 400 and "already objected to this claim" in again.get_data(as_text=True)
    assert len(_objections(first.id)) == 1
    client.post("/logout")  # the same address, anonymously: the same contact
    anonymous = client.post(f"/notice/{first.id}/object", data={"name": "x", "contact": objector.email.upper(),
                                                                "reason": REASON})
    assert anonymous.status_code == 400 and len(_objections(first.id)) == 1

    app.config["OBJECTIONS_PER_DAY"] = 2
    try:
        as_user(client, objector)
        client.post("/lang/en")
        assert client.post(f"/notice/{second.id}/object", data={"reason": REASON}).status_code == 302
        third_try = client.post(f"/notice/{third.id}/object", data={"reason": REASON})
        assert third_try.status_code == 400 and "objections a day" in third_try.get_data(as_text=True)
        assert _objections(third.id) == []
        with frozen_at(utcnow() + timedelta(days=1, minutes=1)):
            assert client.post(f"/notice/{third.id}/object", data={"reason": REASON}).status_code == 302
    finally:
        app.config["OBJECTIONS_PER_DAY"] = 5


def test_a_reviewer_dismisses_or_suspends_and_the_decision_is_audited(client, factory, city, app):
    claim = _on_notice(factory, city)
    for who in (factory.user("enterprise"), factory.user("university")):
        as_user(client, who)
        assert client.post(f"/notice/{claim.id}/object", data={"reason": REASON}).status_code == 302
    first, second = _objections(claim.id)
    assert _get(claim.id).status == m.ON_NOTICE

    with frozen_at(utcnow() + timedelta(days=app.config["PUBLIC_NOTICE_DAYS"])):  # notice over, objection open
        with pytest.raises(ServiceError):
            review.pay(city["finance"], claim.id)

    decide = f"/review/claims/{claim.id}/objections/{first.id}/decide"
    as_user(client, city["finance"])
    assert client.post(decide, data={"decision": "dismiss", "reason": "x"}).status_code == 403
    as_user(client, city["reviewer"])
    assert client.post(decide, data={"decision": "dismiss", "reason": " "}).status_code == 400
    assert client.post(decide, data={"decision": "dismiss", "reason": "经核实项目已实施，异议不成立"}).status_code == 302
    assert client.post(decide, data={"decision": "suspend", "reason": "again"}).status_code == 409  # decided once
    first = _objections(claim.id)[0]
    assert (first.status, first.decision_reason, first.resolved_by_id) == ("dismissed", "经核实项目已实施，异议不成立",
                                                                           city["reviewer"].id)
    assert _get(claim.id).status == m.ON_NOTICE  # the notice goes on
    [dismissed] = _audit("claim.objection_dismiss")
    assert dismissed.actor_id == city["reviewer"].id and "经核实项目已实施" in str(dismissed.after)
    assert any("经核实项目已实施" in mail.body for mail in db.session.scalars(select(OutgoingMail)))

    response = client.post(f"/review/claims/{claim.id}/objections/{second.id}/decide",
                           data={"decision": "suspend", "reason": "异议有据，需补充核查"})
    assert response.status_code == 302
    claim = _get(claim.id)
    assert claim.status == m.SUBMITTED and claim.notice_from is None and claim.approved_at is None
    assert claim.decisions[-1].action == "objection" and claim.decisions[-1].reason == REASON
    assert claim.decisions[-1].actor_id == city["reviewer"].id
    [suspended] = _audit("claim.objection_suspend")
    assert suspended.actor_id == city["reviewer"].id
    assert {r["clause"]: r for r in claims_budgets.budget_status(YEAR)}["B1"]["committed_fen"] == 0  # budget freed


def test_objections_after_the_notice_period_are_refused(client, factory, city, app):
    claim = _on_notice(factory, city)
    last_day = claim.notice_until - timedelta(days=1)
    client.post("/lang/en")
    # Noon in Beijing (04:00 UTC) of the notice's last day, and of the day it has ended.
    with frozen_at(datetime(last_day.year, last_day.month, last_day.day, 4)):
        assert client.post(f"/notice/{claim.id}/object",
                           data={"name": "王五", "contact": "late@example.com", "reason": REASON}).status_code == 302
    link = _confirm_link("late@example.com")
    with frozen_at(datetime(claim.notice_until.year, claim.notice_until.month, claim.notice_until.day, 4)):
        late = client.post(link)
        assert late.status_code == 409 and "has ended" in late.get_data(as_text=True)
        late = client.post(f"/notice/{claim.id}/object", data={"name": "王五", "contact": "other@example.com",
                                                               "reason": REASON})
        assert late.status_code == 409 and "has ended" in late.get_data(as_text=True)
        as_user(client, factory.user("enterprise"))
        assert client.post(f"/notice/{claim.id}/object", data={"reason": REASON}).status_code == 409
    assert [o.status for o in _objections(claim.id)] == ["unconfirmed"]
    assert _get(claim.id).status == m.ON_NOTICE and _get(claim.id).open_objections == []
