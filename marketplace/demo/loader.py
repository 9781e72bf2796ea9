"""Load the demo city-year, idempotently: running it twice changes nothing the second time."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import yaml
from sqlalchemy import select

from marketplace.accounts import credit_code
from marketplace.accounts.models import Membership, Organization, User
from marketplace.accounts.services import hash_password
from marketplace.extensions import db
from marketplace.core.timeutil import utcnow

CITY_FILE = Path(__file__).with_name("city.yaml")

# Later steps (listings, trade, claims) register here; each receives the context dict.
STEPS: list[Callable[[dict], None]] = []

ORG_FIELDS = ("name", "name_en", "kind", "size", "county", "transfer_agency_level", "host_level")


def read_city() -> dict:
    return yaml.safe_load(CITY_FILE.read_text(encoding="utf-8"))


def load_organizations(city: dict) -> dict:
    orgs: dict[str, Organization] = {}
    users: dict[str, User] = {}
    password_hash = None
    for spec in city["organizations"]:
        code = credit_code.make(spec["code"])
        org = db.session.scalar(select(Organization).where(Organization.credit_code == code))
        if org is None:
            org = Organization(credit_code=code)
            db.session.add(org)
        for name in ORG_FIELDS:
            setattr(org, name, spec.get(name))
        org.in_city = spec.get("in_city", True)
        org.service_agency = spec.get("service_agency", False)
        if spec.get("verified", True) and org.verified_at is None:
            org.verified_at = utcnow()
        db.session.flush()
        orgs[spec["key"]] = org
        for u in spec.get("users", []):
            user = db.session.scalar(select(User).where(User.email == u["email"]))
            if user is None:
                password_hash = password_hash or hash_password(city["password"])
                user = User(email=u["email"], name=u["name"], password_hash=password_hash)
                db.session.add(user)
                db.session.flush()
                db.session.add(Membership(user_id=user.id, organization_id=org.id, role=u["role"], is_owner=True))
            users[u["email"]] = user
    return {"organizations": orgs, "users": users, "password": city["password"]}


def _register_steps() -> None:
    import marketplace.demo.year  # noqa: F401 - registers the city-year step
    import marketplace.claims.demo  # noqa: F401 - registers the claims step (after the year)
    import marketplace.dashboards.demo  # noqa: F401 - registers the county R&D figures step
    import marketplace.programmes.demo  # noqa: F401 - registers the programmes step (pool, IP, commissioners, projects)
    import marketplace.instruments.demo  # noqa: F401 - registers the shared-instruments step (after the year)


def load_all(echo: Callable[[str], None] = lambda s: None) -> dict:
    _register_steps()
    city = read_city()
    context = load_organizations(city)
    context["city"] = city
    db.session.commit()
    echo(f"organisations: {len(context['organizations'])}, accounts: {len(context['users'])}")
    for step in STEPS:
        step(context)
        db.session.commit()
    return context
