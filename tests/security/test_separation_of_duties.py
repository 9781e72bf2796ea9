"""Separation of duties in claim review: who filed a claim, who approves it and who pays it
are three different people, and nobody decides on a claim of an organisation they belong
to. A refusal is a 403 that says why, and writes nothing.

Before: a reviewer who was also a member of the claiming enterprise approved its claim, a
reviewer approved a claim they had filed for an enterprise themselves, an administrator
approved and paid the same claim, and finance paid a claim it had filed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.accounts.models import Membership
from marketplace.claims import budgets as claims_budgets
from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.timeutil import frozen_at, utcnow
from marketplace.extensions import db
from marketplace.review import services as review
from tests.factories import login

YEAR = utcnow().year - 1
EVIDENCE = {"project": "市县联合项目", "city_county_joint": True, "requested_amount": "100000"}


def row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


@pytest.fixture()
def city(factory):
    people = {role: factory.user(role) for role in ("reviewer", "finance", "admin")}
    people["second_reviewer"] = factory.user("reviewer", organization=people["reviewer"].organization, owner=False)
    people["applicant"] = factory.user("enterprise")
    claims_budgets.set_budget(people["admin"], YEAR, "B1", 100_000_000)
    return people


def _file(by, applicant):
    return claims.file_claim(by, applicant.organization.id, "B1", EVIDENCE, YEAR)


def _refused(client, path, needle):
    before = row_counts()
    answer = client.post(path)
    assert answer.status_code == 403, answer.status_code
    text = answer.get_data(as_text=True)
    assert needle in text, text[-2000:]
    assert row_counts() == before  # a refusal writes nothing
    return answer


def test_a_reviewer_does_not_approve_a_claim_of_their_own_organisation(client, city):
    reviewer, applicant = city["reviewer"], city["applicant"]
    db.session.add(Membership(user_id=reviewer.id, organization_id=applicant.organization.id, role="enterprise"))
    db.session.commit()
    claim = _file(applicant, applicant)
    login(client, reviewer)
    _refused(client, f"/review/claims/{claim.id}/approve", "成员")
    assert db.session.get(m.Claim, claim.id).status == m.SUBMITTED
    review.approve(city["second_reviewer"], claim.id)  # another reviewer may
    assert db.session.get(m.Claim, claim.id).status == m.ON_NOTICE


def test_a_reviewer_does_not_approve_a_claim_they_filed_for_an_enterprise(client, city):
    claim = _file(city["reviewer"], city["applicant"])  # the city files on the enterprise's behalf
    login(client, city["reviewer"])
    _refused(client, f"/review/claims/{claim.id}/approve", "您本人")
    assert db.session.get(m.Claim, claim.id).status == m.SUBMITTED


def _approved_and_payable(approver, filer, applicant):
    with frozen_at(utcnow() - timedelta(days=20)):
        claim = _file(filer, applicant)
        review.approve(approver, claim.id)
    assert db.session.get(m.Claim, claim.id).status == m.ON_NOTICE
    return claim


def test_whoever_approved_a_claim_does_not_pay_it(client, city):
    """One person with a seat in 科技局 (reviewer) and one in 财政局 (finance): approves as the
    reviewer, switches to finance, and may not pay what they approved."""
    both = city["reviewer"]
    db.session.add(Membership(user_id=both.id, organization_id=city["finance"].organization.id, role="finance"))
    db.session.commit()
    claim = _approved_and_payable(both, city["applicant"], city["applicant"])
    login(client, both)
    assert client.post(f"/account/organization/{city['finance'].organization.id}").status_code == 302
    _refused(client, f"/review/claims/{claim.id}/pay", "批准")
    assert db.session.get(m.Claim, claim.id).status == m.ON_NOTICE
    review.pay(city["finance"], claim.id)  # finance, who neither filed nor approved, may
    assert db.session.get(m.Claim, claim.id).status == m.PAID


def test_whoever_filed_a_claim_does_not_pay_it(client, city):
    claim = _approved_and_payable(city["reviewer"], city["finance"], city["applicant"])
    login(client, city["finance"])
    _refused(client, f"/review/claims/{claim.id}/pay", "您本人")
    assert db.session.scalar(select(func.count()).select_from(m.Payout)) == 0
