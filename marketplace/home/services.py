"""What each role's home page shows: the things this role can do, and what waits for it."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from marketplace import permissions as perm
from marketplace.accounts.models import Organization, User
from marketplace.core import paging
from marketplace.core.timeutil import beijing_today
from marketplace.extensions import db
from marketplace.notifications.models import Notification


@dataclass
class Action:
    title: str
    endpoint: str
    description: str = ""


@dataclass
class Home:
    role: str
    organization: Organization | None
    actions: list[Action] = field(default_factory=list)
    notices: list[Notification] = field(default_factory=list)
    pending_verification: int = 0


# What every member of a market organisation (buyer, seller, both) can reach from home.
MEMBER_ACTIONS = [
    Action(_l("Market"), "listings.browse", _l("Achievements, instruments, services and demands.")),
    Action(_l("Orders"), "orders.orders", _l("What you bought and sold, and its payments.")),
    Action(_l("Enquiries"), "orders.enquiries", _l("Questions and quotes.")),
    Action(_l("Bookings"), "orders.bookings", _l("Instrument time booked.")),
    Action(_l("My listings"), "listings.mine", _l("Publish and manage what you offer.")),
    Action(_l("Invite colleagues"), "accounts.members", _l("Add members of your organisation.")),
]

ROLE_ACTIONS = {
    **{role: MEMBER_ACTIONS for role in (perm.ENTERPRISE, perm.UNIVERSITY, perm.PROVIDER, perm.AGENCY)},
    perm.REVIEWER: [
        Action(_l("Organisations"), "admin.organizations", _l("See registered organisations.")),
    ],
    perm.FINANCE: [
        Action(_l("Organisations"), "admin.organizations", _l("See registered organisations.")),
    ],
    perm.ADMIN: [
        Action(_l("Verify organisations"), "admin.organizations", _l("Check and verify new organisations.")),
        Action(_l("Moderate listings"), "listings.moderation", _l("Reject listings that break the rules.")),
        Action(_l("Audit log"), "admin.audit", _l("Every privileged action, who and when.")),
        Action(_l("Outgoing mail"), "admin.mail", _l("Messages the platform has sent.")),
    ],
}

def add_action(app: Flask, roles, action: Action) -> None:
    """A domain's entry on the home page of these roles (called from the domain's ``init_app``)."""
    extra: dict[str, list[Action]] = app.extensions.setdefault("home_actions", {})
    for role in roles:
        listed = extra.setdefault(role, [])
        if all(a.endpoint != action.endpoint for a in listed):
            listed.append(action)


def home_for(user: User) -> Home:
    role = user.role or perm.ENTERPRISE
    extra = current_app.extensions.get("home_actions", {})
    actions = list(extra.get(role, [])) + list(ROLE_ACTIONS.get(role, []))
    notices = notifications_of(user, per_page=10).items
    pending = 0
    if perm.can(user, perm.VIEW_ORGANIZATIONS):
        pending = db.session.scalar(select(func.count()).select_from(Organization).where(
            Organization.verified_at.is_(None), Organization.kind != "government"))
    return Home(role=role, organization=user.organization, actions=actions, notices=notices,
                pending_verification=pending)


def notifications_of(user: User, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[Notification]:
    """Every notification of ``user``, newest first, a page at a time (the home page shows ten)."""
    return paging.paginate(select(Notification).where(Notification.user_id == user.id),
                           order_by=(Notification.created_at.desc(),), tiebreak=Notification.id.desc(),
                           page=page, per_page=per_page)


def public_stats() -> dict:
    count = db.session.scalar(select(func.count()).select_from(Organization).where(
        Organization.verified_at.is_not(None), Organization.kind != "government"))
    return {"organizations": count}


# --- the portal: the front page everybody sees --------------------------------------------

FEATURED = 4  # per kind: achievements and instruments
NEWEST = 8
NOTICES = 5


@dataclass
class Portal:
    year: int
    counts: dict[str, int]  # published listings by kind (成果, 仪器, 服务, 需求)
    featured: dict[str, list]  # kind -> the listings most starred (ties: newest)
    newest: list
    claims_on_notice: list
    claims_on_notice_more: bool
    price_notices: list
    price_notices_more: bool
    figures: object  # marketplace.dashboards.services.Headline
    organizations: int


def portal() -> Portal:
    """What the front page shows, to everybody: the market's categories with their counts, the
    most starred achievements and instruments, the newest listings, what stands on public
    notice (公示: subsidy claims, agreed prices) and the year's headline figures. Each part
    is one query, counted and summed in SQL."""
    from marketplace.conversations import pricenotice
    from marketplace.dashboards.services import headline
    from marketplace.favourites.models import Favourite
    from marketplace.listings.models import KINDS, Listing, ListingStatus
    from marketplace.review import services as review

    published = Listing.status == ListingStatus.PUBLISHED
    counts = dict.fromkeys(KINDS, 0)
    counts.update(dict(db.session.execute(
        select(Listing.kind, func.count()).where(published).group_by(Listing.kind)).all()))
    featured = {}
    stars = (select(Favourite.listing_id, func.count().label("stars")).group_by(Favourite.listing_id).subquery())
    for kind in ("achievement", "instrument"):
        featured[kind] = list(db.session.scalars(
            select(Listing).options(joinedload(Listing.organization))
            .outerjoin(stars, stars.c.listing_id == Listing.id)
            .where(published, Listing.kind == kind)
            .order_by(func.coalesce(stars.c.stars, 0).desc(), Listing.published_at.desc(), Listing.id.desc())
            .limit(FEATURED)))
    newest = list(db.session.scalars(
        select(Listing).options(joinedload(Listing.organization)).where(published)
        .order_by(Listing.published_at.desc(), Listing.id.desc()).limit(NEWEST)))
    claims = review.on_notice(per_page=NOTICES)
    prices = pricenotice.on_notice()
    year = beijing_today().year
    return Portal(year=year, counts=counts, featured=featured, newest=newest,
                  claims_on_notice=claims.items, claims_on_notice_more=claims.has_next,
                  price_notices=prices[:NOTICES], price_notices_more=len(prices) > NOTICES,
                  figures=headline(year), organizations=public_stats()["organizations"])
