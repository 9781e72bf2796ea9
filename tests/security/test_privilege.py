"""Privilege: only an administrator grants a city role (reviewer, finance, admin), and the
grant is audited. Before, the owner of any bureau could invite an admin, and finance could
invite a reviewer into 财政局 (one person approving and paying)."""
import re

import pytest
from sqlalchemy import func, select

from marketplace.accounts import services
from marketplace.accounts.models import Membership, User
from marketplace.audit.models import AuditEvent
from marketplace.core.errors import PermissionDenied
from marketplace.extensions import db
from marketplace.notifications.models import OutgoingMail
from tests.factories import login


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def _link(recipient):
    body = db.session.scalars(select(OutgoingMail.body).where(OutgoingMail.recipient == recipient)
                              .order_by(OutgoingMail.id.desc())).first()
    return re.search(r"https?://\S+", body).group(0).split("marketplace.test", 1)[1]


@pytest.fixture()
def bureaus(factory):
    kjj = factory.organization(kind="government", name="聊城市科学技术局")
    czj = factory.organization(kind="government", name="聊城市财政局")
    return {"admin": factory.user("admin", organization=kjj), "reviewer": factory.user("reviewer", organization=kjj),
            "finance": factory.user("finance", organization=czj), "kjj": kjj, "czj": czj}


@pytest.mark.parametrize("inviter, role", [("reviewer", "admin"), ("reviewer", "reviewer"), ("reviewer", "finance"),
                                           ("finance", "reviewer"), ("finance", "finance"), ("finance", "admin")])
def test_an_owner_of_a_bureau_who_is_not_admin_cannot_give_a_city_role(client, bureaus, inviter, role):
    actor = bureaus[inviter]
    assert actor.membership.is_owner  # the owner: allowed to invite before, but not to give a city role
    before = (_count(OutgoingMail), _count(AuditEvent))
    login(client, actor)
    response = client.post("/members", data={"email": "accomplice@example.com", "role": role})
    assert response.status_code == 403
    assert (_count(OutgoingMail), _count(AuditEvent)) == before  # nothing sent, nothing written


def test_an_admin_grants_a_city_role_and_the_grant_is_audited(client, bureaus):
    admin = bureaus["admin"]
    login(client, admin)
    response = client.post("/members", data={"email": "new.finance@example.com", "role": "finance",
                                             "organization": str(bureaus["czj"].id)})
    assert response.status_code == 302
    client.post("/logout")
    link = _link("new.finance@example.com")
    response = client.post(link, data={"name": "新财务", "password": "ledger-and-ink-42", "confirm": "ledger-and-ink-42"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new.finance@example.com"))
    assert (user.organization.id, user.role) == (bureaus["czj"].id, "finance")
    grant = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "role.grant")).one()
    assert (grant.actor_id, grant.target_id) == (admin.id, str(user.id))
    assert grant.after == {"organization_id": bureaus["czj"].id, "role": "finance", "email": "new.finance@example.com"}


def test_an_invitation_signed_for_a_sender_who_may_not_grant_it_is_refused_on_acceptance(client, bureaus):
    # An invitation the old code let a reviewer send (or one forged with a leaked key) no
    # longer makes an admin: the sender's right is asked again when it is accepted.
    token = services._serializer("invitation").dumps(
        {"o": bureaus["kjj"].id, "e": "mole@example.com", "r": "admin", "by": bureaus["reviewer"].id})
    before = (_count(User), _count(Membership))
    response = client.post(f"/invitations/{token}", data={"name": "内鬼", "password": "quiet-river-stones",
                                                          "confirm": "quiet-river-stones"})
    assert response.status_code == 403
    assert (_count(User), _count(Membership)) == before


def test_the_service_refuses_too(app_ctx, bureaus):
    with pytest.raises(PermissionDenied):
        services.invite_member(bureaus["reviewer"], "x@example.com", "admin")
    with pytest.raises(PermissionDenied):
        services.invite_member(bureaus["finance"], "y@example.com", "reviewer")
    with pytest.raises(PermissionDenied):  # only an admin invites into another organisation
        services.invite_member(bureaus["finance"], "z@example.com", "finance", bureaus["kjj"].id)


def test_a_market_owner_still_invites_colleagues(client, factory):
    owner = factory.user("enterprise")
    login(client, owner)
    assert client.post("/members", data={"email": "colleague@example.com", "role": "enterprise"}).status_code == 302
    # ... but never into a city role (a government-only role does not fit the organisation anyway).
    assert client.post("/members", data={"email": "c2@example.com", "role": "reviewer"}).status_code == 403
