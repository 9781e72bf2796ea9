"""Accounts: registration, login, password reset, invitations, verification.

Every function that acts for somebody takes the acting user first, checks permission,
does its work and commits once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace import permissions as perm
from marketplace.accounts import credit_code
from marketplace.accounts.models import ORG_KINDS, Membership, Organization, User
from marketplace.audit.models import record
from marketplace.errors import NotFound, ServiceError
from marketplace.extensions import db
from marketplace.notifications.models import queue_mail
from marketplace.timeutil import utcnow

MIN_PASSWORD = 10


@dataclass
class Registration:
    org_name: str
    kind: str
    role: str
    credit_code: str
    county: str | None
    email: str
    name: str
    password: str
    size: str | None = None
    in_city: bool = True
    host_level: str | None = None
    transfer_agency_level: str | None = None
    service_agency: bool = False
    name_en: str | None = None


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ServiceError(_("The password needs at least %(n)d characters.", n=MIN_PASSWORD), "password")


def _normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def email_has_account(email: str) -> bool:
    return _email_taken(_normalise_email(email))


def _email_taken(email: str) -> bool:
    return db.session.scalar(select(func.count()).select_from(User).where(User.email == email)) > 0


def _check_role_for_kind(role: str, kind: str) -> None:
    if role not in perm.MARKET_ROLES:
        raise ServiceError(_("Choose how your organisation takes part."), "role")
    if kind not in perm.ROLE_ORG_KINDS[role]:
        raise ServiceError(_("This kind of organisation cannot take part in that role."), "role")


def register(reg: Registration) -> User:
    """Register an organisation (unverified) with its first member, who owns it."""
    if reg.kind not in ORG_KINDS or reg.kind == "government":
        raise ServiceError(_("Choose a kind of organisation."), "kind")
    _check_role_for_kind(reg.role, reg.kind)
    try:
        code = credit_code.normalise(reg.credit_code)
    except credit_code.CreditCodeError as exc:
        raise ServiceError(_("The unified social credit code is not valid: %(why)s", why=str(exc)), "credit_code")
    if db.session.scalar(select(Organization.id).where(Organization.credit_code == code)):
        raise ServiceError(_("An organisation with this credit code is already registered."), "credit_code")
    if reg.kind == "enterprise" and not reg.size:
        raise ServiceError(_("Enterprises state their size."), "size")
    if reg.kind == "maker_team" and not reg.host_level:
        raise ServiceError(_("Maker teams state the level of their host incubator."), "host_level")
    email = _normalise_email(reg.email)
    if _email_taken(email):
        raise ServiceError(_("This e-mail address already has an account."), "email")
    _check_password_strength(reg.password)

    org = Organization(
        name=reg.org_name.strip(), name_en=(reg.name_en or None), kind=reg.kind,
        size=reg.size if reg.kind == "enterprise" else None, county=reg.county or None,
        in_city=reg.in_city, credit_code=code,
        transfer_agency_level=reg.transfer_agency_level if reg.kind == "agency" else None,
        service_agency=reg.service_agency, host_level=reg.host_level if reg.kind == "maker_team" else None,
    )
    user = User(email=email, name=reg.name.strip(), password_hash=hash_password(reg.password))
    db.session.add_all([org, user])
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organization_id=org.id, role=reg.role, is_owner=True))
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User:
    """Return the user for these credentials, counting failures to slow down guessing."""
    email = _normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    now = utcnow()
    if user is not None and user.locked_until and user.locked_until > now:
        raise ServiceError(_("Too many failed attempts. Try again in a few minutes."))
    if user is None or not user.active or not check_password_hash(user.password_hash, password or ""):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
                user.locked_until = now + timedelta(seconds=current_app.config["LOGIN_LOCK_SECONDS"])
                user.failed_logins = 0
            db.session.commit()
        raise ServiceError(_("E-mail or password is wrong."))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.commit()
    return user


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_fingerprint(user: User) -> str:
    # Changing the password changes the fingerprint, so a reset link works once.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def request_password_reset(email: str) -> None:
    """Mail a signed reset link if the address has an account; say nothing either way."""
    user = db.session.scalar(select(User).where(User.email == _normalise_email(email)))
    if user is None or not user.active:
        return
    token = _serializer("password-reset").dumps({"u": user.id, "f": _password_fingerprint(user)})
    link = url_for("accounts.reset_password", token=token, _external=True)
    queue_mail(user.email, _("Reset your password"),
               _("Open this link within an hour to choose a new password: %(link)s", link=link))
    db.session.commit()


def reset_password(token: str, new_password: str) -> User:
    try:
        data = _serializer("password-reset").loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except SignatureExpired:
        raise ServiceError(_("This link has expired. Ask for a new one."))
    except BadSignature:
        raise ServiceError(_("This link is not valid."))
    user = db.session.get(User, data.get("u"))
    if user is None or data.get("f") != _password_fingerprint(user):
        raise ServiceError(_("This link is not valid."))
    _check_password_strength(new_password)
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    db.session.commit()
    return user


def invite_member(actor: User, email: str, role: str | None = None) -> str:
    """Invite a colleague into the actor's organisation; returns the invitation link."""
    org = actor.organization
    perm.require(actor, perm.INVITE_MEMBER, org)
    role = role or actor.role
    if role not in perm.ROLES or org.kind not in perm.ROLE_ORG_KINDS[role]:
        raise ServiceError(_("This kind of organisation cannot take part in that role."), "role")
    email = _normalise_email(email)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None and any(m.organization_id == org.id for m in existing.memberships):
        raise ServiceError(_("This person is already a member of your organisation."), "email")
    token = _serializer("invitation").dumps({"o": org.id, "e": email, "r": role, "by": actor.id})
    link = url_for("accounts.accept_invitation", token=token, _external=True)
    queue_mail(email, _("Invitation to join %(org)s", org=org.name),
               _("%(name)s invites you to join %(org)s on the Liaocheng innovation marketplace: %(link)s",
                 name=actor.name, org=org.name, link=link))
    record(actor, "member.invite", "organization", org.id, after={"email": email, "role": role})
    db.session.commit()
    return link


def read_invitation(token: str) -> dict:
    try:
        data = _serializer("invitation").loads(token, max_age=current_app.config["INVITATION_MAX_AGE"])
    except SignatureExpired:
        raise ServiceError(_("This link has expired. Ask for a new one."))
    except BadSignature:
        raise ServiceError(_("This link is not valid."))
    org = db.session.get(Organization, data["o"])
    if org is None:
        raise NotFound(_("This link is not valid."))
    return {"organization": org, "email": data["e"], "role": data["r"], "invited_by": data["by"]}


def accept_invitation(token: str, name: str, password: str) -> User:
    invitation = read_invitation(token)
    if _email_taken(invitation["email"]):
        raise ServiceError(_("This e-mail address already has an account."), "email")
    _check_password_strength(password)
    user = User(email=invitation["email"], name=name.strip(), password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organization_id=invitation["organization"].id,
                              role=invitation["role"], invited_by_id=invitation["invited_by"]))
    db.session.commit()
    return user


def list_organizations(actor: User, status: str = "pending") -> list[Organization]:
    perm.require(actor, perm.VIEW_ORGANIZATIONS)
    query = select(Organization).where(Organization.kind != "government").order_by(Organization.created_at)
    if status == "pending":
        query = query.where(Organization.verified_at.is_(None))
    elif status == "verified":
        query = query.where(Organization.verified_at.is_not(None))
    return list(db.session.scalars(query))


def verify_organization(actor: User, organization_id: int) -> Organization:
    perm.require(actor, perm.VERIFY_ORGANIZATION)
    org = db.session.get(Organization, organization_id)
    if org is None:
        raise NotFound(_("No such organisation."))
    if org.verified:
        raise ServiceError(_("This organisation is already verified."))
    org.verified_at = utcnow()
    org.verified_by_id = actor.id
    record(actor, "organization.verify", "organization", org.id,
           before={"verified": False}, after={"verified": True})
    for membership in org.memberships:
        from marketplace.notifications.models import notify

        notify(membership.user_id, "notice.organization_verified")
    db.session.commit()
    return org


def join_organization(actor: User, token: str) -> Membership:
    """An existing user accepts an invitation into a further organisation."""
    invitation = read_invitation(token)
    if actor.email != invitation["email"]:
        raise ServiceError(_("This invitation is for %(email)s. Log in with that address.", email=invitation["email"]))
    org = invitation["organization"]
    if any(m.organization_id == org.id for m in actor.memberships):
        raise ServiceError(_("This person is already a member of your organisation."))
    membership = Membership(user_id=actor.id, organization_id=org.id, role=invitation["role"],
                            invited_by_id=invitation["invited_by"])
    db.session.add(membership)
    db.session.commit()
    return membership


def switch_organization(actor: User, organization_id: int) -> Organization:
    """Choose which of the user's organisations they act for."""
    for m in actor.memberships:
        if m.organization_id == organization_id:
            return m.organization
    raise NotFound(_("No such organisation."))


def members_of(actor: User) -> list[Membership]:
    org = actor.organization
    if org is None:
        return []
    return list(db.session.scalars(select(Membership).where(Membership.organization_id == org.id)))
