"""The public notice lasts exactly its period: a claim stands on /notice from ``notice_from``
up to, not including, ``notice_until``; only then may anyone object. After the period it leaves
the page, and an objection is refused and writes nothing."""
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.audit.models import AuditEvent
from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.extensions import db
from marketplace.review import services as review
from marketplace.core.timeutil import frozen_at, utcnow

YEAR = utcnow().year - 1
OBJECTION = {"name": "王五", "contact": "wangwu@example.org", "reason": "该项目并未实施，金额有误"}


@pytest.fixture()
def claim_on_notice(factory):
    applicant = factory.user("enterprise", name="聊城公示期测试有限公司")
    finance, reviewer = factory.user("finance"), factory.user("reviewer")
    claim = claims.file_claim(applicant, applicant.organization.id, "B1",
                              {"project": "市县联合项目", "city_county_joint": True, "requested_amount": "80000"}, YEAR)
    review.set_budget(finance, YEAR, "B1", 100_000_000)
    review.approve(reviewer, claim.id)
    db.session.expire_all()
    claim = db.session.get(m.Claim, claim.id)
    assert claim.status == m.ON_NOTICE
    return claim


def _noon(day):
    return datetime.combine(day, time(12))


def _shown(client) -> bool:
    return "聊城公示期测试有限公司" in client.get("/notice").get_data(as_text=True)


def test_a_claim_leaves_the_public_notice_page_when_its_period_ends(client, claim_on_notice):
    first, end = claim_on_notice.notice_from, claim_on_notice.notice_until
    with frozen_at(_noon(first)):
        assert _shown(client) and review.on_notice().items == [claim_on_notice]
    with frozen_at(_noon(end - timedelta(days=1))):  # the last day of the notice
        assert _shown(client) and review.on_notice().items == [claim_on_notice]
    with frozen_at(_noon(end)):  # the period is over: off the page, though still payable later
        assert not _shown(client) and review.on_notice().items == []
    with frozen_at(_noon(end + timedelta(days=40))):
        assert not _shown(client)
    with frozen_at(_noon(first - timedelta(days=1))):  # not before it starts either
        assert not _shown(client) and review.on_notice().items == []


def _objections() -> int:
    return db.session.scalar(select(func.count()).select_from(m.ClaimObjection))


def test_an_objection_after_the_notice_period_is_refused_and_writes_nothing(client, claim_on_notice):
    end = claim_on_notice.notice_until
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for day in (end, end + timedelta(days=10)):
        with frozen_at(_noon(day)):
            response = client.post(f"/notice/{claim_on_notice.id}/object", data=OBJECTION)
            assert response.status_code == 409, day  # the notice has ended
    db.session.expire_all()
    claim = db.session.get(m.Claim, claim_on_notice.id)
    assert _objections() == 0 and claim.status == m.ON_NOTICE and claim.notice_until == end
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


def test_an_objection_on_the_last_day_of_the_notice_is_accepted(client, claim_on_notice):
    with frozen_at(_noon(claim_on_notice.notice_until - timedelta(days=1))):
        assert client.post(f"/notice/{claim_on_notice.id}/object", data=OBJECTION).status_code == 302
    db.session.expire_all()
    # Recorded (it counts once its e-mail is confirmed); a reviewer decides whether it suspends.
    assert _objections() == 1 and db.session.get(m.Claim, claim_on_notice.id).status == m.ON_NOTICE


def test_an_objection_before_the_notice_starts_is_refused(client, claim_on_notice):
    with frozen_at(_noon(claim_on_notice.notice_from - timedelta(days=1))):
        assert client.post(f"/notice/{claim_on_notice.id}/object", data=OBJECTION).status_code == 404
    assert _objections() == 0
