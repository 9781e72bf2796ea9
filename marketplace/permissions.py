"""Roles, actions and the one question every service asks: ``can(actor, action, target)``.

Services call ``require`` with the acting user first; views never decide permissions.
"""
from __future__ import annotations

from typing import Any, Callable

from marketplace.core.errors import PermissionDenied

# Roles a member acts in.
ENTERPRISE = "enterprise"  # 企业成员
UNIVERSITY = "university"  # 高校、科研院所成员
PROVIDER = "provider"  # 服务机构（检测机构、共享仪器的企业等）
AGENCY = "agency"  # 技术转移服务机构（中介）
REVIEWER = "reviewer"  # 市科技局审核员
FINANCE = "finance"  # 市财政局
ADMIN = "admin"  # 平台管理员

ROLES = (ENTERPRISE, UNIVERSITY, PROVIDER, AGENCY, REVIEWER, FINANCE, ADMIN)
MARKET_ROLES = (ENTERPRISE, UNIVERSITY, PROVIDER, AGENCY)
CITY_ROLES = (REVIEWER, FINANCE, ADMIN)

# Which kinds of organisation a role may belong to.
ROLE_ORG_KINDS = {
    ENTERPRISE: ("enterprise", "maker_team", "incubator", "park"),
    UNIVERSITY: ("university", "institute"),
    PROVIDER: ("enterprise", "agency", "university", "institute", "incubator", "park"),
    AGENCY: ("agency",),
    REVIEWER: ("government",),
    FINANCE: ("government",),
    ADMIN: ("government",),
}

# Actions.
VERIFY_ORGANIZATION = "organization.verify"
VIEW_ORGANIZATIONS = "organization.list"
INVITE_MEMBER = "member.invite"
GRANT_CITY_ROLE = "role.grant_city"  # invite into reviewer, finance or admin: administrators only
TRADE = "market.trade"  # enquire, order, pay, book
LIST_OFFER = "listing.offer"  # publish achievements, instruments, services
POST_DEMAND = "listing.demand"
MODERATE_LISTING = "listing.moderate"
REVIEW_CLAIMS = "claims.review"
PAY_CLAIMS = "claims.pay"
CLAIM_VIEW = "claims.view"  # target: a claim: members of its beneficiary and the city
CLAIM_SUBMIT = "claims.submit"  # target: a claim: verified members of its beneficiary
CLAIM_FILE = "claims.file"  # target: an organisation: its verified members, or the city on its behalf (any)
BUDGET_EDIT = "claims.budget"  # the yearly budget per clause: admin and finance
VIEW_LEDGER = "ledger.view"  # ledger entries by ref: the city
VIEW_AUDIT = "audit.view"
VIEW_MAIL = "mail.view"
VIEW_DASHBOARD = "dashboard.view"
EDIT_COUNTY_RD = "indicator.edit"  # enter a county's R&D spending and GDP (C indicator)
EDIT_LISTING = "listing.edit"  # target: the listing
SELL = "order.sell"  # target: an order or enquiry: act as its seller (quote, deliver, register)
BUY = "order.buy"  # target: an order: act as its buyer (pay, confirm delivery)
VIEW_ORDER = "order.view"  # target: an order: its parties and the city
REFUND = "order.refund"  # target: an order: its seller, or an administrator
# Programmes beyond the market (marketplace.programmes)
MANAGE_PROGRAMMES = "programmes.manage"  # keep the registries: pool, IP, commissioners, projects
VIEW_PROGRAMMES = "programmes.view"  # the registries, the zero-patent view, the targets page
ENTER_HTE_FIGURES = "hte.figures"  # target: an organisation: its own enterprise members
VIEW_HTE = "hte.view"  # target: an organisation: its members and the city
REGISTER_IP = "ip.register"  # target: an organisation: its verified members, or the city
SEARCH_IP = "ip.search"
PROPOSE_PROJECT = "project.propose"  # target: the lead organisation
VIEW_PROJECT = "project.view"  # target: a project: its lead organisation and the city
EXPORT_OWN_DATA = "mydata.export"  # target: an organisation: its members
CLOSE_ACCOUNT = "account.close"  # target: a user: that user
RUN_OPS = "ops.run"  # the operations page: component status, outbox, ledger verification
DRAFT_REFORM = "reforms.draft"  # draft parameter reforms, replay and forecast them: the city
PUBLISH_PARAMETERS = "reforms.publish"  # publish a draft as dated parameter values: administrators
# Conversations (marketplace.conversations)
TAKE_PART = "thread.take_part"  # target: a thread's subject: members of its parties (reviewers on claims)
RESPOND_DEMAND = "demand.respond"  # propose on a demand: universities, institutes, providers, agencies
OBJECT_TO_PRICE = "price.object"  # object to an agreed price on public notice: anyone logged in with a role


def _role(actor) -> str | None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    return actor.role


def _verified_member(actor, roles) -> bool:
    org = actor.organization if _role(actor) else None
    return _role(actor) in roles and org is not None and org.verified


def _member_of(actor, org_id) -> bool:
    m = actor.membership if _role(actor) else None
    return m is not None and org_id is not None and m.organization_id == org_id


def _owner_of(actor, org) -> bool:
    m = actor.membership if _role(actor) else None
    return m is not None and org is not None and m.organization_id == org.id and m.is_owner


RULES: dict[str, Callable[[Any, Any], bool]] = {
    VERIFY_ORGANIZATION: lambda a, t: _role(a) == ADMIN,
    VIEW_ORGANIZATIONS: lambda a, t: _role(a) in CITY_ROLES,
    INVITE_MEMBER: lambda a, t: _owner_of(a, t) or _role(a) == ADMIN,
    GRANT_CITY_ROLE: lambda a, t: _role(a) == ADMIN,
    TRADE: lambda a, t: _verified_member(a, MARKET_ROLES),
    LIST_OFFER: lambda a, t: _verified_member(a, (UNIVERSITY, PROVIDER, AGENCY, ENTERPRISE)),
    POST_DEMAND: lambda a, t: _verified_member(a, (ENTERPRISE,)),
    MODERATE_LISTING: lambda a, t: _role(a) == ADMIN,
    REVIEW_CLAIMS: lambda a, t: _role(a) in (REVIEWER, ADMIN),
    PAY_CLAIMS: lambda a, t: _role(a) == FINANCE,
    CLAIM_VIEW: lambda a, t: _role(a) in CITY_ROLES or _member_of(a, t.organization_id),
    CLAIM_SUBMIT: lambda a, t: _member_of(a, t.organization_id) and _verified_member(a, MARKET_ROLES),
    CLAIM_FILE: lambda a, t: _role(a) in CITY_ROLES or (t is not None and _member_of(a, t.id)
                                                         and _verified_member(a, MARKET_ROLES)),
    BUDGET_EDIT: lambda a, t: _role(a) in (FINANCE, ADMIN),
    VIEW_LEDGER: lambda a, t: _role(a) in CITY_ROLES,
    VIEW_AUDIT: lambda a, t: _role(a) == ADMIN,
    VIEW_MAIL: lambda a, t: _role(a) == ADMIN,
    VIEW_DASHBOARD: lambda a, t: _role(a) in CITY_ROLES,
    EDIT_COUNTY_RD: lambda a, t: _role(a) in (REVIEWER, ADMIN),
    EDIT_LISTING: lambda a, t: _role(a) == ADMIN or (_member_of(a, t.organization_id) and _verified_member(a, MARKET_ROLES)),
    SELL: lambda a, t: _member_of(a, t.seller_org_id) and _verified_member(a, MARKET_ROLES),
    BUY: lambda a, t: _member_of(a, t.buyer_org_id) and _verified_member(a, MARKET_ROLES),
    VIEW_ORDER: lambda a, t: _role(a) in CITY_ROLES or _member_of(a, t.buyer_org_id) or _member_of(a, t.seller_org_id),
    REFUND: lambda a, t: _role(a) == ADMIN or (_member_of(a, t.seller_org_id) and _verified_member(a, MARKET_ROLES)),
    MANAGE_PROGRAMMES: lambda a, t: _role(a) in (REVIEWER, ADMIN),
    VIEW_PROGRAMMES: lambda a, t: _role(a) in CITY_ROLES,
    ENTER_HTE_FIGURES: lambda a, t: _role(a) == ENTERPRISE and t is not None and t.kind == "enterprise"
    and _member_of(a, t.id),
    VIEW_HTE: lambda a, t: _role(a) in CITY_ROLES or (t is not None and _member_of(a, t.id)),
    REGISTER_IP: lambda a, t: _role(a) in (REVIEWER, ADMIN)
    or (t is not None and _member_of(a, t.id) and _verified_member(a, MARKET_ROLES)),
    SEARCH_IP: lambda a, t: _role(a) is not None,
    PROPOSE_PROJECT: lambda a, t: t is not None and _member_of(a, t.id) and _verified_member(a, (ENTERPRISE, UNIVERSITY)),
    VIEW_PROJECT: lambda a, t: _role(a) in CITY_ROLES or _member_of(a, t.organization_id),
    EXPORT_OWN_DATA: lambda a, t: t is not None and _member_of(a, t.id),
    CLOSE_ACCOUNT: lambda a, t: _role(a) is not None and t is not None and a.id == t.id,
    RUN_OPS: lambda a, t: _role(a) == ADMIN,
    DRAFT_REFORM: lambda a, t: _role(a) in CITY_ROLES,
    PUBLISH_PARAMETERS: lambda a, t: _role(a) == ADMIN,
    TAKE_PART: lambda a, t: _role(a) is not None and t is not None and (
        (getattr(t, "reviewers", False) and _role(a) in (REVIEWER, ADMIN))
        or any(_member_of(a, org_id) for org_id in getattr(t, "org_ids", ()))),
    RESPOND_DEMAND: lambda a, t: _verified_member(a, (UNIVERSITY, PROVIDER, AGENCY)),
    OBJECT_TO_PRICE: lambda a, t: _role(a) is not None,
}


def can(actor, action: str, target: Any = None) -> bool:
    try:
        rule = RULES[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}")
    return bool(rule(actor, target))


def require(actor, action: str, target: Any = None) -> None:
    if not can(actor, action, target):
        from flask_babel import gettext as _

        if action == TRADE and _role(actor) in MARKET_ROLES:
            raise PermissionDenied(_("Your organisation must be verified by the city before it can trade."))
        raise PermissionDenied(_("You are not allowed to do this."))
