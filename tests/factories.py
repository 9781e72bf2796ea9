"""Factories that build the platform's domain objects for tests."""
from __future__ import annotations

import itertools

from marketplace.accounts import credit_code
from marketplace.accounts.models import Membership, Organization, User
from marketplace.accounts.services import hash_password
from marketplace.extensions import db
from marketplace.core.timeutil import utcnow

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)
_password_hash = None

DEFAULT_KIND = {"enterprise": "enterprise", "university": "university", "provider": "agency",
                "agency": "agency", "reviewer": "government", "finance": "government", "admin": "government"}


class Factory:
    def organization(self, kind="enterprise", verified=True, **fields) -> Organization:
        n = next(_counter)
        defaults = {"name": f"测试单位{n}", "county": "东昌府区", "in_city": True,
                    "size": "small" if kind == "enterprise" else None}
        defaults.update(fields)
        org = Organization(kind=kind, credit_code=credit_code.make(f"91371502MA{n:07d}"), **defaults)
        if verified:
            org.verified_at = utcnow()
        db.session.add(org)
        db.session.commit()
        return org

    def user(self, role="enterprise", organization: Organization | None = None, owner=True, **org_fields) -> User:
        global _password_hash
        _password_hash = _password_hash or hash_password(PASSWORD)
        if organization is None:
            organization = self.organization(kind=org_fields.pop("kind", DEFAULT_KIND[role]), **org_fields)
        n = next(_counter)
        user = User(email=f"user{n}@example.com", name=f"用户{n}", password_hash=_password_hash)
        db.session.add(user)
        db.session.flush()
        db.session.add(Membership(user_id=user.id, organization_id=organization.id, role=role, is_owner=owner))
        db.session.commit()
        return user


def login(client, user, password=PASSWORD):
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.data[:500]
    return response
