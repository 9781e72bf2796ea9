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

    # The two sides of most trade tests.
    def provider(self, **org_fields) -> User:
        """A member of a verified, in-city service agency (its services take vouchers)."""
        return self.user("provider", **{"kind": "agency", "service_agency": True, "name": "聊城检测中心", **org_fields})

    def enterprise(self, size="small", **org_fields) -> User:
        return self.user("enterprise", size=size, **org_fields)

    def university(self, **org_fields) -> User:
        return self.user("university", **org_fields)

    # Listings, orders, bookings: built through the services, as a user would make them.
    def listing(self, owner: User, kind="service", publish=True, **data):
        return listing(owner, kind, publish, **data)

    def order(self, buyer: User, listing=None, with_voucher=False, transfer_mode="non_exclusive_licence"):
        """An order waiting for payment: a service at its price, or an achievement's licence."""
        from marketplace.orders import services as orders

        listing = listing or self.listing(self.provider())
        if listing.kind == "achievement":
            return orders.buy_achievement(buyer, listing.id, transfer_mode)
        return orders.order_service(buyer, listing.id, with_voucher=with_voucher)

    def booking(self, customer: User, instrument=None, days_ahead=3, hour=9, hours=1, with_voucher=False):
        """A booking of whole hours some days ahead (Beijing time), its order waiting for payment."""
        from datetime import datetime, timedelta

        from marketplace.core.timeutil import beijing_today
        from marketplace.orders import services as orders

        instrument = instrument or self.listing(self.provider(), "instrument")
        start = datetime.combine(beijing_today() + timedelta(days=days_ahead), datetime.min.time()).replace(hour=hour)
        return orders.book_instrument(customer, instrument.id, start, hours, with_voucher=with_voucher)

    def claim(self, filer: User, kind="B1", year=None, files=(), organization=None, **evidence):
        """A claim filed with evidence through the claims service (it goes straight to review):
        by default a city-county joint project (B1) of the filer's organisation, last year."""
        from marketplace.claims import services as claims
        from marketplace.core.timeutil import utcnow

        if kind == "B1":
            evidence = {"project": "联合攻关项目", "city_county_joint": True, "requested_amount": "10000", **evidence}
        org = organization or filer.organization
        return claims.file_claim(filer, org.id, kind, evidence, year or utcnow().year - 1, list(files))

    def paid(self, buyer: User, order):
        """``buyer`` pays ``order`` through the test gateway (and its relayed webhook)."""
        from marketplace.payments import services as payments

        payments.checkout(buyer, order.id)
        db.session.refresh(order)
        return order


def listing(owner: User, kind="service", publish=True, **data):
    """A listing of ``owner``'s organisation with every field its kind needs (``data`` overrides),
    published unless ``publish`` is false."""
    from marketplace.listings import services as listings

    defaults = {"title": f"测试{kind}", "description": "", "price_fen": 5_000_000, "negotiable": False}
    if kind == "achievement":
        defaults.update(ip_kind="invention_patent", maturity="pilot",
                        transfer_modes=["non_exclusive_licence", "assignment"])
    if kind == "instrument":
        defaults.update(price_unit="hour", price_fen=50_000, internal_price_fen=20_000, open_from_hour=8,
                        open_to_hour=18)
    defaults.update(data)
    made = listings.create_listing(owner, kind, defaults)
    return listings.publish(owner, made.id) if publish else made


def published(owner: User, kind="service", **data):
    return listing(owner, kind, True, **data)


def login(client, user, password=PASSWORD):
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.data[:500]
    return response
