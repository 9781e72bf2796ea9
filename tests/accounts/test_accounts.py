import re

from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.accounts import credit_code
from marketplace.accounts.models import Membership, Organization, User
from marketplace.extensions import db
from marketplace.notifications.models import OutgoingMail
from tests.factories import PASSWORD, login


def _counts():
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Organization, User, Membership))


def registration(**overrides):
    data = {
        "org_name": "聊城测试科技有限公司", "kind": "enterprise", "role": "enterprise",
        "credit_code": credit_code.make("91371502MA9999991"), "size": "small", "county": "东昌府区",
        "in_city": "y", "name": "测试者", "email": "tester@example.com",
        "password": "a-long-password", "confirm": "a-long-password",
    }
    data.update(overrides)
    return data


def test_registration_creates_an_unverified_organisation_with_its_owner(client):
    before = _counts()
    response = client.post("/register", data=registration())
    assert response.status_code == 302 and response.headers["Location"].endswith("/register/sent")
    assert _counts() == before  # nothing until the address is confirmed
    link = _last_link("tester@example.com")
    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": "a-long-password", "confirm": "a-long-password"})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "tester@example.com"))
    assert user.membership.is_owner and user.role == "enterprise"
    assert user.organization.verified is False
    assert not perm.can(user, perm.TRADE)
    assert client.get("/home").status_code == 200  # logged in straight away


def test_bad_credit_code_is_shown_beside_the_field_and_nothing_is_written(client):
    before = _counts()
    response = client.post("/register", data=registration(credit_code="91371502MA9999990X"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert re.search(r'credit_code.*?class="error"', html, re.S)
    assert _counts() == before


def test_duplicate_email_and_code_are_refused_without_writing(client, factory):
    existing = factory.user("enterprise")
    before = _counts()
    response = client.post("/register", data=registration(email=existing.email))
    # The same answer as for a new address (tests/security/test_accounts_security.py); the
    # existing owner gets a notice instead of a link.
    assert response.status_code == 302 and response.headers["Location"].endswith("/register/sent")
    response = client.post("/register", data=registration(credit_code=existing.organization.credit_code))
    assert response.status_code == 400
    assert _counts() == before


def test_role_must_fit_the_kind_of_organisation(client):
    before = _counts()
    response = client.post("/register", data=registration(kind="university", role="agency"))
    assert response.status_code == 400
    assert _counts() == before


def test_enterprise_without_size_is_refused(client):
    response = client.post("/register", data=registration(size=""))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 0


def test_login_logout_and_wrong_password(client, factory):
    user = factory.user("enterprise")
    assert client.post("/login", data={"email": user.email, "password": "wrong-password"}).status_code == 400
    login(client, user)
    assert client.get("/home").status_code == 200
    client.post("/logout")
    assert client.get("/home").status_code == 302


def test_login_is_throttled_after_repeated_failures(client, factory, app):
    user = factory.user("enterprise")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login", data={"email": user.email, "password": "wrong-password"})
    # Even the right password is refused from this address while the back-off lasts.
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429


def _last_link(recipient):
    mail = db.session.scalars(select(OutgoingMail).where(OutgoingMail.recipient == recipient)
                              .order_by(OutgoingMail.id.desc())).first()
    return re.search(r"https?://\S+", mail.body).group(0).split("marketplace.test", 1)[1]


def test_password_reset_by_signed_token_works_once(client, factory):
    user = factory.user("enterprise")
    assert client.post("/password/forgot", data={"email": user.email}).status_code == 302
    link = _last_link(user.email)
    response = client.post(link, data={"password": "brand-new-password", "confirm": "brand-new-password"})
    assert response.status_code == 302
    login(client, user, "brand-new-password")
    client.post("/logout")
    again = client.post(link, data={"password": "another-password1", "confirm": "another-password1"})
    assert again.status_code == 400  # the link was spent when the password changed


def test_tampered_reset_token_is_refused(client, factory):
    user = factory.user("enterprise")
    client.post("/password/forgot", data={"email": user.email})
    link = _last_link(user.email)
    response = client.post(link[:-3] + "abc", data={"password": "brand-new-password", "confirm": "brand-new-password"})
    assert response.status_code == 400


def test_forgot_password_for_unknown_address_reveals_nothing(client):
    response = client.post("/password/forgot", data={"email": "nobody@example.com"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail)) == 0


def test_owner_invites_a_member_who_joins_the_organisation(client, factory):
    owner = factory.user("university", kind="university")
    login(client, owner)
    assert client.post("/members", data={"email": "colleague@example.com", "role": "university"}).status_code == 302
    client.post("/logout")
    link = _last_link("colleague@example.com")
    response = client.post(link, data={"name": "同事", "password": "colleague-pass", "confirm": "colleague-pass"})
    assert response.status_code == 302
    colleague = db.session.scalar(select(User).where(User.email == "colleague@example.com"))
    assert colleague.organization.id == owner.organization.id
    assert colleague.membership.is_owner is False


def test_a_member_who_is_not_owner_cannot_invite(client, factory):
    owner = factory.user("enterprise")
    member = factory.user("enterprise", organization=owner.organization, owner=False)
    login(client, member)
    response = client.post("/members", data={"email": "x@example.com", "role": "enterprise"})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail)) == 0


def test_admin_verifies_an_organisation_and_it_can_then_trade(client, factory):
    admin = factory.user("admin")
    member = factory.user("enterprise", verified=False)
    assert not perm.can(member, perm.TRADE)
    login(client, admin)
    org_id = member.organization.id
    assert client.post(f"/admin/organizations/{org_id}/verify").status_code == 302
    db.session.expire_all()
    assert perm.can(db.session.get(User, member.id), perm.TRADE)
    from marketplace.audit.models import AuditEvent
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.actor_id, event.after) == ("organization.verify", admin.id, {"verified": True})


def test_only_admin_may_verify(client, factory):
    reviewer = factory.user("reviewer")
    member = factory.user("enterprise", verified=False)
    login(client, reviewer)
    assert client.post(f"/admin/organizations/{member.organization.id}/verify").status_code == 403
    db.session.expire_all()
    assert db.session.get(Organization, member.organization.id).verified is False


def test_an_existing_user_joins_a_second_organisation_and_switches(client, factory):
    owner = factory.user("provider", kind="agency")
    professor = factory.user("university", kind="university")
    login(client, owner)
    client.post("/members", data={"email": professor.email, "role": "provider"})
    client.post("/logout")
    link = _last_link(professor.email)
    assert "/login" in client.get(link).headers["Location"]  # must log in as themselves first
    login(client, professor)
    assert client.post(link).status_code == 302
    db.session.expire_all()
    user = db.session.get(User, professor.id)
    assert {m.organization_id for m in user.memberships} == {professor.organization.id, owner.organization.id}
    assert client.post(f"/account/organization/{owner.organization.id}").status_code == 302
    assert owner.organization.name in client.get("/home").get_data(as_text=True)
    other = factory.organization()
    assert client.post(f"/account/organization/{other.id}").status_code == 404


def test_an_invitation_for_someone_else_is_refused(client, factory):
    owner = factory.user("enterprise")
    outsider = factory.user("enterprise")
    invited = factory.user("enterprise")
    login(client, owner)
    client.post("/members", data={"email": invited.email, "role": "enterprise"})
    client.post("/logout")
    link = _last_link(invited.email)
    login(client, outsider)
    assert client.post(link).status_code == 400
    db.session.expire_all()
    assert len(db.session.get(User, outsider.id).memberships) == 1


def test_a_confirmation_racing_another_gets_409_and_writes_nothing(client, monkeypatch):
    from marketplace.accounts import services

    client.post("/register", data=registration())
    link = _last_link("tester@example.com")
    assert client.post(link, data={"password": "a-long-password", "confirm": "a-long-password"}).status_code == 302
    client.post("/logout")
    before = _counts()
    # The second request passed the e-mail check before the first committed (as in parallel).
    monkeypatch.setattr(services, "_email_taken", lambda email: False)
    monkeypatch.setattr(services, "_credit_code_taken", lambda code: False)
    response = client.post(link, data={"password": "a-long-password", "confirm": "a-long-password"})
    assert response.status_code == 409
    assert _counts() == before
