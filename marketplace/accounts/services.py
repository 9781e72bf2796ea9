"""Accounts: registration, login, password reset, invitations, verification.

Every function that acts for somebody takes the acting user first, checks permission,
does its work and commits once.
"""
from __future__ import annotations

import dataclasses
import hashlib
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from marketplace import permissions as perm
from marketplace.accounts import credit_code, passwords
from marketplace.accounts.models import (
    COUNTIES,  # noqa: F401 - the counties, for other domains' forms and filters
    ORG_KINDS,
    ApiToken,
    LoginThrottle,
    Membership,
    Organization,
    User,
)
from marketplace.accounts.passwords import MIN_PASSWORD, hash_password  # noqa: F401 - used by the demo and tests
from marketplace.audit.models import record
from marketplace.core import paging
from marketplace.core.errors import Conflict, NotFound, PermissionDenied, ServiceError
from marketplace.core.external import external_url
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import refusable_unit_of_work, transactional, unit_of_work
from marketplace.extensions import db
from marketplace.notifications.models import queue_mail


class LoginThrottled(ServiceError):
    """Too many failed logins for this e-mail from this address (or from this address):
    the same answer whether or not the e-mail has an account."""

    status = 429


@dataclass
class Registration:
    org_name: str
    kind: str
    role: str
    credit_code: str
    county: str | None
    email: str
    name: str
    password: str | None = None  # chosen when the e-mail address is confirmed
    size: str | None = None
    in_city: bool = True
    host_level: str | None = None
    transfer_agency_level: str | None = None
    service_agency: bool = False
    name_en: str | None = None


def _check_password_strength(password: str, email: str | None = None) -> None:
    passwords.check_strength(password, email)


def _normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def email_has_account(email: str) -> bool:
    return _email_taken(_normalise_email(email))


def _email_taken(email: str) -> bool:
    return db.session.scalar(select(func.count()).select_from(User).where(User.email == email)) > 0


def _credit_code_taken(code: str) -> bool:
    return db.session.scalar(select(Organization.id).where(Organization.credit_code == code)) is not None


def _check_role_for_kind(role: str, kind: str) -> None:
    if role not in perm.MARKET_ROLES:
        raise ServiceError(_("Choose how your organisation takes part."), "role")
    if kind not in perm.ROLE_ORG_KINDS[role]:
        raise ServiceError(_("This kind of organisation cannot take part in that role."), "role")


def _check_registration(reg: Registration) -> str:
    """Refuse a registration whose organisation is not right; return its normalised credit code."""
    if reg.kind not in ORG_KINDS or reg.kind == "government":
        raise ServiceError(_("Choose a kind of organisation."), "kind")
    _check_role_for_kind(reg.role, reg.kind)
    try:
        code = credit_code.normalise(reg.credit_code)
    except credit_code.CreditCodeError as exc:
        raise ServiceError(_("The unified social credit code is not valid: %(why)s", why=str(exc)), "credit_code")
    if _credit_code_taken(code):
        raise ServiceError(_("An organisation with this credit code is already registered."), "credit_code")
    if reg.kind == "enterprise" and not reg.size:
        raise ServiceError(_("Enterprises state their size."), "size")
    if reg.kind == "maker_team" and not reg.host_level:
        raise ServiceError(_("Maker teams state the level of their host incubator."), "host_level")
    return code


@transactional
def start_registration(reg: Registration) -> None:
    """First step of registering: mail a confirmation link to the given address.

    The answer is the same whether or not the address already has an account, so the form
    tells nobody which addresses are registered: a new address gets the link that finishes
    the registration, an address with an account gets a notice instead. Nothing but the mail
    is written until the link is opened."""
    code = _check_registration(reg)
    email = _normalise_email(reg.email)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        queue_mail(email, _("Someone tried to register with your address"),
                   _("Somebody (perhaps you) tried to register a new organisation on the Liaocheng innovation "
                     "marketplace with this e-mail address, which already has an account. Nothing was changed. "
                     "If it was you, log in: %(login)s . If you forgot your password: %(reset)s . If it was not you, "
                     "you need not do anything.",
                     login=external_url("accounts.login"), reset=external_url("accounts.forgot_password")))
    else:
        data = dataclasses.asdict(reg)
        data.update(email=email, credit_code=code, password=None)
        token = _serializer("registration").dumps(data)
        queue_mail(email, _("Confirm your registration"),
                   _("Open this link within a day to confirm your e-mail address, choose your password and "
                     "finish registering %(org)s: %(link)s",
                     org=reg.org_name.strip(), link=external_url("accounts.confirm_registration", token=token)))


def read_registration(token: str) -> Registration:
    try:
        data = _serializer("registration").loads(token, max_age=current_app.config["REGISTRATION_MAX_AGE"])
    except SignatureExpired:
        raise ServiceError(_("This link has expired. Ask for a new one."))
    except BadSignature:
        raise ServiceError(_("This link is not valid."))
    try:
        return Registration(**data)
    except TypeError:
        raise ServiceError(_("This link is not valid."))


def complete_registration(token: str, password: str) -> User:
    """Second step: the address is confirmed (the link reached it); create the organisation
    and its owner with the password chosen now."""
    reg = read_registration(token)
    reg.password = password
    return register(reg)


def register(reg: Registration) -> User:
    """Register an organisation (unverified) with its first member, who owns it."""
    code = _check_registration(reg)
    email = _normalise_email(reg.email)
    if _email_taken(email):
        raise ServiceError(_("This link has already been used. Log in instead."))
    _check_password_strength(reg.password, email)

    with _once(_("This link has already been used. Log in instead.")):
        org = Organization(
            name=reg.org_name.strip(), name_en=(reg.name_en or None), kind=reg.kind,
            size=reg.size if reg.kind == "enterprise" else None, county=reg.county or None,
            in_city=reg.in_city, credit_code=code,
            transfer_agency_level=reg.transfer_agency_level if reg.kind == "agency" else None,
            # A service agency is voucher-eligible once the city admits it (入库), not by saying so:
            # the declaration becomes an admission application (marketplace.vouchers).
            service_agency=False, host_level=reg.host_level if reg.kind == "maker_team" else None,
        )
        user = User(email=email, name=reg.name.strip(), password_hash=hash_password(reg.password))
        db.session.add_all([org, user])
        db.session.flush()
        db.session.add(Membership(user_id=user.id, organization_id=org.id, role=reg.role, is_owner=True))
        if reg.service_agency:
            from marketplace.vouchers.models import ProviderAdmission

            db.session.add(ProviderAdmission(organization_id=org.id, applicant_id=user.id,
                                             scope=_("Declared a science and technology service agency at "
                                                     "registration.")))
    return user


@contextmanager
def _once(message: str):
    """Write the block's rows in one unit of work; a parallel request that created the same
    e-mail, credit code or membership first makes this one a clean 409, not a 500."""
    try:
        with refusable_unit_of_work():
            yield
    except IntegrityError:
        raise Conflict(message) from None


def _throttle_keys(email: str, address: str | None) -> list[tuple[str, str]]:
    """(key, setting of its threshold): the e-mail from this address, and the address alone.
    Keys are hashed: the table holds no e-mail address."""
    address = address or "-"
    return [(hashlib.sha256(f"pair\0{email}\0{address}".encode()).hexdigest(), "LOGIN_MAX_FAILURES"),
            (hashlib.sha256(f"addr\0{address}".encode()).hexdigest(), "LOGIN_MAX_FAILURES_PER_ADDRESS")]


def _check_throttle(keys, now) -> None:
    rows = db.session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_([k for k, _ in keys])))
    waits = [row.blocked_until - now for row in rows if row.blocked_until and row.blocked_until > now]
    if waits:
        minutes = max(1, -(-int(max(waits).total_seconds()) // 60))
        raise LoginThrottled(_("Too many failed attempts. Try again in %(n)d minutes.", n=minutes))


def _count_failure(keys, now) -> None:
    config = current_app.config
    forget_before = now - timedelta(seconds=config["LOGIN_FAILURE_MEMORY_SECONDS"])
    for key, threshold_setting in keys:
        # Insert or count up in the database, so parallel failures all count.
        db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key,
                                                       LoginThrottle.last_failure_at < forget_before)
                           .values(failures=0, blocked_until=None))
        counted = db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                                     .values(failures=LoginThrottle.failures + 1, last_failure_at=now)).rowcount
        if not counted:
            try:
                with db.session.begin_nested():
                    db.session.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
            except IntegrityError:  # a parallel failure inserted it first
                db.session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                                   .values(failures=LoginThrottle.failures + 1, last_failure_at=now))
        row = db.session.get(LoginThrottle, key, populate_existing=True)
        over = row.failures - config[threshold_setting]
        if over >= 0:
            # Doubling with every failure past the threshold, never longer than the maximum.
            seconds = min(config["LOGIN_BACKOFF_SECONDS"] * 2 ** min(over, 30), config["LOGIN_BACKOFF_MAX_SECONDS"])
            row.blocked_until = now + timedelta(seconds=seconds)


def authenticate(email: str, password: str, address: str | None = None) -> User:
    """Return the user for these credentials.

    Failures are counted per e-mail and client ``address`` and per address: past a threshold
    that pair (or address) waits out a back-off that doubles with each further failure, up to
    a maximum. The account is never locked, so its owner logs in from anywhere else, and an
    unknown e-mail is answered exactly like a known one (same message, same password hash)."""
    email = _normalise_email(email)
    now = utcnow()
    keys = _throttle_keys(email, address)
    _check_throttle(keys, now)
    user = db.session.scalar(select(User).where(User.email == email))
    ok = passwords.verify(user.password_hash if user is not None else None, password)
    if not ok or not user.active:
        with unit_of_work():  # the failure counts, though the login is refused
            _count_failure(keys, now)
        raise ServiceError(_("E-mail or password is wrong."))
    with unit_of_work():
        db.session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys[0][0]))
        user.last_login_at = now
    return user


@transactional
def end_sessions(user: User) -> None:
    """Make every session and remember cookie of ``user`` worthless (logout, new password):
    they carry the session version, which moves on."""
    db.session.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1))


@transactional
def change_password(actor: User, current: str, new_password: str) -> User:
    """A logged-in user chooses a new password; every other session of theirs ends."""
    if not passwords.verify(actor.password_hash, current):
        raise ServiceError(_("The password is not right."), "current")
    _check_password_strength(new_password, actor.email)
    actor.password_hash = hash_password(new_password)
    actor.session_version = (actor.session_version or 0) + 1
    record(actor, "account.password_change", "user", actor.id)
    return actor


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_fingerprint(user: User) -> str:
    # Changing the password changes the fingerprint, so a reset link works once.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@transactional
def request_password_reset(email: str) -> None:
    """Mail a signed reset link if the address has an account; say nothing either way."""
    user = db.session.scalar(select(User).where(User.email == _normalise_email(email)))
    if user is None or not user.active:
        return
    token = _serializer("password-reset").dumps({"u": user.id, "f": _password_fingerprint(user)})
    link = external_url("accounts.reset_password", token=token)
    queue_mail(user.email, _("Reset your password"),
               _("Open this link within an hour to choose a new password: %(link)s", link=link))


@transactional
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
    _check_password_strength(new_password, user.email)
    user.password_hash = hash_password(new_password)
    user.session_version = (user.session_version or 0) + 1  # a stolen session ends here too
    return user


def _may_grant(inviter: User | None, org: Organization, role: str) -> bool:
    """Whether ``inviter`` may give ``role`` in ``org``: a city role (reviewer, finance,
    admin) only an administrator grants; a market role the organisation's owner or an admin.
    Asked from the inviter's memberships, not from the organisation they act for."""
    if inviter is None or not inviter.active:
        return False
    is_admin = any(m.role == perm.ADMIN for m in inviter.memberships)
    if role in perm.CITY_ROLES:
        return is_admin
    return is_admin or any(m.organization_id == org.id and m.is_owner for m in inviter.memberships)


@transactional
def invite_member(actor: User, email: str, role: str | None = None, organization_id: int | None = None) -> str:
    """Invite a colleague into the actor's organisation (an admin: into any organisation);
    returns the invitation link. Only an admin invites into a city role."""
    org = actor.organization
    if organization_id is not None and (org is None or organization_id != org.id):
        perm.require(actor, perm.GRANT_CITY_ROLE)
        org = db.session.get(Organization, organization_id)
        if org is None:
            raise NotFound(_("No such organisation."))
    perm.require(actor, perm.INVITE_MEMBER, org)
    role = role or actor.role
    if role in perm.CITY_ROLES:
        perm.require(actor, perm.GRANT_CITY_ROLE)
    if role not in perm.ROLES or org.kind not in perm.ROLE_ORG_KINDS[role]:
        raise ServiceError(_("This kind of organisation cannot take part in that role."), "role")
    email = _normalise_email(email)
    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None and any(m.organization_id == org.id for m in existing.memberships):
        raise ServiceError(_("This person is already a member of your organisation."), "email")
    token = _serializer("invitation").dumps({"o": org.id, "e": email, "r": role, "by": actor.id})
    link = external_url("accounts.accept_invitation", token=token)
    queue_mail(email, _("Invitation to join %(org)s", org=org.name),
               _("%(name)s invites you to join %(org)s on the Liaocheng innovation marketplace: %(link)s",
                 name=actor.name, org=org.name, link=link))
    record(actor, "member.invite", "organization", org.id, after={"email": email, "role": role})
    return link


def _grant(invitation: dict, user: User) -> Membership:
    """Add the membership an invitation promised, if its sender may still grant it; a city
    role granted is written to the audit log in the inviter's name."""
    org, role = invitation["organization"], invitation["role"]
    inviter = db.session.get(User, invitation["invited_by"])
    if not _may_grant(inviter, org, role):
        raise PermissionDenied(_("This invitation is no longer valid: its sender may not give this role."))
    membership = Membership(user_id=user.id, organization_id=org.id, role=role, invited_by_id=inviter.id)
    db.session.add(membership)
    db.session.flush()
    if role in perm.CITY_ROLES:
        record(inviter, "role.grant", "user", user.id,
               after={"organization_id": org.id, "role": role, "email": user.email})
    return membership


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
    _check_password_strength(password, invitation["email"])
    with _once(_("This e-mail address already has an account.")):
        user = User(email=invitation["email"], name=name.strip(), password_hash=hash_password(password))
        db.session.add(user)
        db.session.flush()
        _grant(invitation, user)
    return user


def list_organizations(actor: User, status: str = "pending", page: int = 1,
                       per_page: int = paging.PER_PAGE) -> paging.Page[Organization]:
    """Organisations (not the government's), oldest registration first, a page at a time."""
    perm.require(actor, perm.VIEW_ORGANIZATIONS)
    query = select(Organization).where(Organization.kind != "government")
    if status == "pending":
        query = query.where(Organization.verified_at.is_(None))
    elif status == "verified":
        query = query.where(Organization.verified_at.is_not(None))
    return paging.paginate(query, order_by=(Organization.created_at,), tiebreak=Organization.id, page=page,
                           per_page=per_page)


@transactional
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
    return org


def join_organization(actor: User, token: str) -> Membership:
    """An existing user accepts an invitation into a further organisation."""
    invitation = read_invitation(token)
    if actor.email != invitation["email"]:
        raise ServiceError(_("This invitation is for %(email)s. Log in with that address.", email=invitation["email"]))
    org = invitation["organization"]
    if any(m.organization_id == org.id for m in actor.memberships):
        raise ServiceError(_("This person is already a member of your organisation."))
    with _once(_("This person is already a member of your organisation.")):
        membership = _grant(invitation, actor)
    return membership


def switch_organization(actor: User, organization_id: int) -> Organization:
    """Choose which of the user's organisations they act for."""
    for m in actor.memberships:
        if m.organization_id == organization_id:
            return m.organization
    raise NotFound(_("No such organisation."))


def invitable_organizations(actor: User) -> list[Organization]:
    """The organisations an administrator may invite into beyond their own: the city's bureaus."""
    perm.require(actor, perm.GRANT_CITY_ROLE)
    return list(db.session.scalars(select(Organization).where(Organization.kind == "government")
                                   .order_by(Organization.id)))


def members_of(actor: User) -> list[Membership]:
    org = actor.organization
    if org is None:
        return []
    return list(db.session.scalars(select(Membership).where(Membership.organization_id == org.id)))


# --- API tokens: create (the secret is returned once), list, revoke, authenticate a bearer secret ---

SECRET_PREFIX = "lcm_"  # 聊城 marketplace: makes a leaked token recognisable in logs and scanners
PREFIX_LENGTH = 12  # "lcm_" and 8 characters of the random part
MAX_ACTIVE_TOKENS = 20
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute


def hash_token_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _require_token_keeper(actor) -> None:
    perm.require(actor, perm.KEEP_API_TOKENS)


@transactional
def create_token(actor, name: str) -> tuple[ApiToken, str]:
    """A new token for the actor. Returns the row and the secret, which is never stored."""
    _require_token_keeper(actor)
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("This field is required."), "name")
    if len(name) > 60:
        raise ServiceError(_("Use at most %(n)d characters.", n=60), "name")
    active = [t for t in tokens_of(actor) if t.active]
    if len(active) >= MAX_ACTIVE_TOKENS:
        raise ServiceError(_("You have %(n)d active tokens. Revoke one before creating another.",
                             n=MAX_ACTIVE_TOKENS), "name")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    membership = actor.membership
    token = ApiToken(user_id=actor.id, organization_id=membership.organization_id if membership else None,
                     name=name, prefix=secret[:PREFIX_LENGTH], secret_hash=hash_token_secret(secret))
    db.session.add(token)
    return token, secret


def tokens_of(actor) -> list[ApiToken]:
    _require_token_keeper(actor)
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == actor.id)
                                   .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def revoke_token(actor, token_id: int) -> ApiToken:
    _require_token_keeper(actor)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:  # another user's token does not exist for you
        raise NotFound(_("This token does not exist."))
    if token.revoked_at is None:
        with unit_of_work():
            token.revoked_at = utcnow()
    return token


def authenticate_token(secret: str | None):
    """The active user a bearer secret belongs to, or None (unknown, revoked, user deactivated)."""
    if not secret or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.secret_hash == hash_token_secret(secret)))
    if token is None or token.revoked_at is not None:
        return None
    user = token.user
    if user is None or not user.is_active:
        return None
    if token.organization_id is not None:
        memberships = getattr(user, "memberships", None)
        if memberships is None:
            memberships = [user.membership] if user.membership else []
        if not any(m.organization_id == token.organization_id for m in memberships):
            return None  # the user has left that organisation: the token no longer speaks for it
        user.active_organization_id = token.organization_id
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        with unit_of_work():
            token.last_used_at = now
    return user
