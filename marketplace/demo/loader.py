"""Load the demo city-year, idempotently: running it twice changes nothing the second time."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import yaml
from sqlalchemy import select

from marketplace.accounts import credit_code
from marketplace.accounts.models import Membership, Organization, User
from marketplace.accounts.services import hash_password
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db

CITY_FILE = Path(__file__).with_name("city.yaml")

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


def steps() -> list[Callable[[dict], None]]:
    """The steps after the organisations, in order; each receives the context dict."""
    from marketplace.demo import city, claims, dashboards, instruments, programmes, year

    return [city.load_city,  # the rest of the city: organisations and their listings
            year.load_year,  # the named organisations' listings and a year of trade
            claims.load_claims,  # claims drafted, budgets, a few walked through review
            dashboards.load_county_rd,  # the counties' R&D figures
            programmes.load_programmes,  # pool, IP, commissioners, projects
            instruments.load_instruments]  # the shared-instruments facility (after the year)


def load_all(echo: Callable[[str], None] = lambda s: None) -> dict:
    city = read_city()
    with unit_of_work():
        context = load_organizations(city)
        context["city"] = city
        context["people"] = {}  # the generated organisations' accounts (marketplace.demo.city)
    echo(f"organisations: {len(context['organizations'])}, accounts: {len(context['users'])}")
    for step in steps():
        with unit_of_work():  # each step is one transaction (a step's services join it)
            step(context)
    return context
