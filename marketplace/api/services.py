"""API tokens: create (the secret is returned once), list, revoke, and authenticate a bearer secret."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import permissions as perm
from marketplace.api.models import ApiToken
from marketplace.core.errors import NotFound, ServiceError
from marketplace.extensions import db
from marketplace.core.timeutil import utcnow

SECRET_PREFIX = "lcm_"  # 聊城 marketplace: makes a leaked token recognisable in logs and scanners
PREFIX_LENGTH = 12  # "lcm_" and 8 characters of the random part
MAX_ACTIVE_TOKENS = 20
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _require_user(actor) -> None:
    perm.require(actor, perm.KEEP_API_TOKENS)


def create_token(actor, name: str) -> tuple[ApiToken, str]:
    """A new token for the actor. Returns the row and the secret, which is never stored."""
    _require_user(actor)
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
                     name=name, prefix=secret[:PREFIX_LENGTH], secret_hash=hash_secret(secret))
    db.session.add(token)
    db.session.commit()
    return token, secret


def tokens_of(actor) -> list[ApiToken]:
    _require_user(actor)
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == actor.id)
                                   .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def revoke_token(actor, token_id: int) -> ApiToken:
    _require_user(actor)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != actor.id:  # another user's token does not exist for you
        raise NotFound(_("This token does not exist."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token


def authenticate(secret: str | None):
    """The active user a bearer secret belongs to, or None (unknown, revoked, user deactivated)."""
    if not secret or not secret.startswith(SECRET_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.secret_hash == hash_secret(secret)))
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
        token.last_used_at = now
        db.session.commit()
    return user
