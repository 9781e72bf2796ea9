"""What each role's home page shows: the things this role can do, and what waits for it."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.core import paging
from marketplace.accounts.models import Organization, User
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


ROLE_ACTIONS = {
    perm.ENTERPRISE: [
        Action(_l("Market"), "listings.browse", _l("Achievements, instruments, services and demands.")),
        Action(_l("Orders"), "orders.orders", _l("What you bought and sold, and its payments.")),
        Action(_l("Enquiries"), "orders.enquiries", _l("Questions and quotes.")),
        Action(_l("Bookings"), "orders.bookings", _l("Instrument time booked.")),
        Action(_l("My listings"), "listings.mine", _l("Publish and manage what you offer.")),
        Action(_l("Invite colleagues"), "accounts.members", _l("Add members of your organisation.")),
    ],
    perm.UNIVERSITY: [
        Action(_l("Market"), "listings.browse", _l("Achievements, instruments, services and demands.")),
        Action(_l("Orders"), "orders.orders", _l("What you bought and sold, and its payments.")),
        Action(_l("Enquiries"), "orders.enquiries", _l("Questions and quotes.")),
        Action(_l("Bookings"), "orders.bookings", _l("Instrument time booked.")),
        Action(_l("My listings"), "listings.mine", _l("Publish and manage what you offer.")),
        Action(_l("Invite colleagues"), "accounts.members", _l("Add members of your organisation.")),
    ],
    perm.PROVIDER: [
        Action(_l("Market"), "listings.browse", _l("Achievements, instruments, services and demands.")),
        Action(_l("Orders"), "orders.orders", _l("What you bought and sold, and its payments.")),
        Action(_l("Enquiries"), "orders.enquiries", _l("Questions and quotes.")),
        Action(_l("Bookings"), "orders.bookings", _l("Instrument time booked.")),
        Action(_l("My listings"), "listings.mine", _l("Publish and manage what you offer.")),
        Action(_l("Invite colleagues"), "accounts.members", _l("Add members of your organisation.")),
    ],
    perm.AGENCY: [
        Action(_l("Market"), "listings.browse", _l("Achievements, instruments, services and demands.")),
        Action(_l("Orders"), "orders.orders", _l("What you bought and sold, and its payments.")),
        Action(_l("Enquiries"), "orders.enquiries", _l("Questions and quotes.")),
        Action(_l("Bookings"), "orders.bookings", _l("Instrument time booked.")),
        Action(_l("My listings"), "listings.mine", _l("Publish and manage what you offer.")),
        Action(_l("Invite colleagues"), "accounts.members", _l("Add members of your organisation.")),
    ],
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

# Other domains add their home actions here when they register (see marketplace.app).
EXTRA_ACTIONS: dict[str, list[Action]] = {}


def home_for(user: User) -> Home:
    role = user.role or perm.ENTERPRISE
    actions = list(EXTRA_ACTIONS.get(role, [])) + list(ROLE_ACTIONS.get(role, []))
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
