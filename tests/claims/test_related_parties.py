"""Related parties (issue 13): buyer and seller sharing a member is checked again whenever
claims are drafted, so a membership added after the order still flags the claim, and the
reviewer sees who the shared member is."""
from sqlalchemy import select

from marketplace.accounts.models import Membership
from marketplace.claims import models as m
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from tests.claims.helpers import as_user, buy_with_voucher, claim_of, published_service


def _claims_naming(ref):
    db.session.expire_all()
    return [c for c in db.session.scalars(select(m.Claim).where(m.Claim.year == utcnow().year))
            if any(t.split("#", 1)[0] == ref for t in c.transactions or [])]


def test_a_membership_added_after_the_order_flags_the_claim_when_it_is_drafted(client, app, factory):
    provider = factory.user("provider", kind="agency", service_agency=True, name="聊城检测中心")
    enterprise = factory.user("enterprise", size="small")
    order_id = buy_with_voucher(client, enterprise, published_service(provider))
    ref = f"VCH-{order_id}"
    drafted = _claims_naming(ref)
    assert drafted and not any(c.flagged for c in drafted)  # no shared member when ordered

    # Later the enterprise's user becomes a member of the provider too.
    db.session.add(Membership(user_id=enterprise.id, organization_id=provider.organization.id, role="provider"))
    db.session.commit()
    out = app.test_cli_runner().invoke(args=["claims", "draft", "--year", str(utcnow().year)])
    assert out.exit_code == 0, out.output

    redrafted = _claims_naming(ref)
    assert {c.id for c in redrafted} == {c.id for c in drafted}
    for claim in redrafted:
        [flag] = [f for f in claim.flags if f["kind"] == "related_party"]
        assert claim.flagged and flag["transactions"] == [ref] and flag["members"] == [enterprise.name]
    a3 = claim_of(enterprise.organization, "A3")
    assert a3 in redrafted

    as_user(client, factory.user("reviewer"))
    client.post("/lang/en")
    page = client.get(f"/review/claims/{a3.id}").get_data(as_text=True)
    assert f"share a member: {enterprise.name}" in page and ref in page
    assert a3.id in [c.id for c in db.session.scalars(select(m.Claim).where(m.Claim.flagged.is_(True)))]
