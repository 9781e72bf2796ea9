"""Roles, actions and the one question every service asks: ``can(actor, action, target)``.

Services call ``require`` with the acting user first; views never decide permissions, and
templates ask ``can(ACTION, target)`` (the current user's answer). Each rule carries its own
reason, which ``require`` gives the user when it refuses: a member of an organisation the
city has not verified yet is told so when verification is all that is missing.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

from flask_babel import lazy_gettext as _l

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
APPROVE_CLAIM = "claims.approve"  # target: a claim: a reviewer who neither belongs to its beneficiary nor put it forward
PAY_OUT = "claims.pay_out"  # target: a claim: finance, neither of its beneficiary, nor its filer, nor its approver
CANCEL_BOOKING = "booking.cancel"  # target: a booking: its customer or the instrument's owner
REGISTER_CONTRACT = "contract.register"  # target: a technology contract: its seller or its broker
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
KEEP_API_TOKENS = "api.tokens"  # make and revoke one's own API tokens: any logged-in user
RUN_OPS = "ops.run"  # the operations page: component status, outbox, ledger verification
# Innovation vouchers (marketplace.vouchers)
VOUCHER_APPLY = "voucher.apply"  # target: an organisation: its verified enterprise members apply (申领)
VOUCHER_REVIEW = "voucher.review"  # decide voucher applications and provider admissions (入库)
VOUCHER_SETTINGS = "voucher.settings"  # the dated yearly cap and validity periods
VOUCHER_OVERSEE = "voucher.oversee"  # redemption batches, the province's share owed, the voucher dashboard
VOUCHER_PAY = "voucher.pay"  # pay a provider's monthly redemption batch (the city's 30 %)
ADMISSION_APPLY = "admission.apply"  # target: an organisation: its verified provider or agency members
DRAFT_REFORM = "reforms.draft"  # draft parameter reforms, replay and forecast them: the city
PUBLISH_PARAMETERS = "reforms.publish"  # publish a draft as dated parameter values: administrators
# Conversations (marketplace.conversations)
TAKE_PART = "thread.take_part"  # target: a thread's subject: members of its parties (reviewers on claims)
RESPOND_DEMAND = "demand.respond"  # propose on a demand: universities, institutes, providers, agencies
OBJECT_TO_PRICE = "price.object"  # object to an agreed price on public notice: anyone logged in with a role
# Shared instruments (marketplace.instruments)
MANAGE_INSTRUMENT = "instrument.manage"  # target: the instrument listing: its organisation's verified members
KEEP_FAVOURITES = "listing.favourite"  # star listings and see one's favourites: any logged-in user
VIEW_UTILISATION = "instrument.utilisation"  # target: the instrument listing: its organisation's members and the city


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


def _in_any_membership(actor, org_id) -> bool:
    """A member of ``org_id`` in any of the actor's organisations, not only the one acted for."""
    return any(m.organization_id == org_id for m in getattr(actor, "memberships", None) or ())


class Rule(NamedTuple):
    allows: Callable[[Any, Any], bool]
    reason: Any  # why not, in the user's words (a lazy string)
    why_not: Callable[[Any, Any], Any] | None = None  # a sharper reason for some refusals, or None


def _claim_conflict(actor, claim, *, paying: bool):
    """Separation of duties: who belongs to the beneficiary, filed or submitted a claim (or,
    for the payout, approved it) does not decide the next step of it."""
    if _in_any_membership(actor, claim.organization_id) or _member_of(actor, claim.organization_id):
        return (_l("You are a member of the organisation that claims: another person must pay.") if paying
                else _l("You are a member of the organisation that claims: another reviewer must decide."))
    if actor.id in claim.put_forward_by:
        return (_l("You filed this claim yourself: another person must pay.") if paying
                else _l("You filed this claim yourself: another reviewer must decide."))
    if paying and actor.id == claim.approved_by_id:
        return _l("You approved this claim: the payout is recorded by someone else.")
    return None


RULES: dict[str, Rule] = {
    VERIFY_ORGANIZATION: Rule(lambda a, t: _role(a) == ADMIN, _l("Only an administrator verifies organisations.")),
    VIEW_ORGANIZATIONS: Rule(lambda a, t: _role(a) in CITY_ROLES, _l("Only the city sees the list of organisations.")),
    INVITE_MEMBER: Rule(lambda a, t: _owner_of(a, t) or _role(a) == ADMIN,
                        _l("Only the owner of the organisation invites members.")),
    GRANT_CITY_ROLE: Rule(lambda a, t: _role(a) == ADMIN,
                          _l("Only an administrator can give a city role (reviewer, finance, administrator).")),
    TRADE: Rule(lambda a, t: _verified_member(a, MARKET_ROLES),
                _l("Only members of enterprises, universities, service providers and agencies trade.")),
    LIST_OFFER: Rule(lambda a, t: _verified_member(a, (UNIVERSITY, PROVIDER, AGENCY, ENTERPRISE)),
                     _l("Only members of enterprises, universities, service providers and agencies list offers.")),
    POST_DEMAND: Rule(lambda a, t: _verified_member(a, (ENTERPRISE,)), _l("Only enterprises post demands.")),
    MODERATE_LISTING: Rule(lambda a, t: _role(a) == ADMIN, _l("Only an administrator moderates listings.")),
    REVIEW_CLAIMS: Rule(lambda a, t: _role(a) in (REVIEWER, ADMIN), _l("Only the city's reviewers review claims.")),
    PAY_CLAIMS: Rule(lambda a, t: _role(a) == FINANCE, _l("Only the city's finance bureau pays claims.")),
    APPROVE_CLAIM: Rule(lambda a, t: _role(a) in (REVIEWER, ADMIN) and _claim_conflict(a, t, paying=False) is None,
                        _l("Only the city's reviewers review claims."),
                        lambda a, t: _role(a) in (REVIEWER, ADMIN) and _claim_conflict(a, t, paying=False)),
    PAY_OUT: Rule(lambda a, t: _role(a) == FINANCE and _claim_conflict(a, t, paying=True) is None,
                  _l("Only the city's finance bureau pays claims."),
                  lambda a, t: _role(a) == FINANCE and _claim_conflict(a, t, paying=True)),
    CLAIM_VIEW: Rule(lambda a, t: _role(a) in CITY_ROLES or _member_of(a, t.organization_id),
                     _l("This claim belongs to another organisation.")),
    CLAIM_SUBMIT: Rule(lambda a, t: _member_of(a, t.organization_id) and _verified_member(a, MARKET_ROLES),
                       _l("Only members of the organisation that claims submit its claim.")),
    CLAIM_FILE: Rule(lambda a, t: _role(a) in CITY_ROLES or (t is not None and _member_of(a, t.id)
                                                             and _verified_member(a, MARKET_ROLES)),
                     _l("You file claims for your own organisation only.")),
    BUDGET_EDIT: Rule(lambda a, t: _role(a) in (FINANCE, ADMIN), _l("Only finance and administrators set budgets.")),
    VIEW_LEDGER: Rule(lambda a, t: _role(a) in CITY_ROLES, _l("Only the city reads the ledger.")),
    VIEW_AUDIT: Rule(lambda a, t: _role(a) == ADMIN, _l("Only an administrator reads the audit log.")),
    VIEW_MAIL: Rule(lambda a, t: _role(a) == ADMIN, _l("Only an administrator reads the outgoing mail.")),
    VIEW_DASHBOARD: Rule(lambda a, t: _role(a) in CITY_ROLES, _l("Only the city sees the dashboards.")),
    EDIT_COUNTY_RD: Rule(lambda a, t: _role(a) in (REVIEWER, ADMIN),
                         _l("Only reviewers and administrators enter a county's figures.")),
    EDIT_LISTING: Rule(lambda a, t: _role(a) == ADMIN or (_member_of(a, t.organization_id)
                                                          and _verified_member(a, MARKET_ROLES)),
                       _l("Only the organisation that lists it changes this listing.")),
    SELL: Rule(lambda a, t: _member_of(a, t.seller_org_id) and _verified_member(a, MARKET_ROLES),
               _l("Only the seller does this.")),
    BUY: Rule(lambda a, t: _member_of(a, t.buyer_org_id) and _verified_member(a, MARKET_ROLES),
              _l("Only the buyer does this.")),
    VIEW_ORDER: Rule(lambda a, t: _role(a) in CITY_ROLES or _member_of(a, t.buyer_org_id)
                     or _member_of(a, t.seller_org_id), _l("Only the buyer, the seller and the city see this order.")),
    CANCEL_BOOKING: Rule(lambda a, t: _verified_member(a, MARKET_ROLES)
                         and (_member_of(a, t.buyer_org_id) or _member_of(a, t.seller_org_id)),
                         _l("Only the customer or the instrument's owner cancels a booking.")),
    REGISTER_CONTRACT: Rule(lambda a, t: _verified_member(a, MARKET_ROLES)
                            and (_member_of(a, t.seller_org_id) or _member_of(a, t.broker_org_id)),
                            _l("Only the seller or its broker registers the contract.")),
    REFUND: Rule(lambda a, t: _role(a) == ADMIN or (_member_of(a, t.seller_org_id)
                                                    and _verified_member(a, MARKET_ROLES)),
                 _l("Only the seller or an administrator refunds an order.")),
    MANAGE_PROGRAMMES: Rule(lambda a, t: _role(a) in (REVIEWER, ADMIN),
                            _l("Only reviewers and administrators keep the programme registries.")),
    VIEW_PROGRAMMES: Rule(lambda a, t: _role(a) in CITY_ROLES, _l("Only the city sees the programme registries.")),
    ENTER_HTE_FIGURES: Rule(lambda a, t: _role(a) == ENTERPRISE and t is not None and t.kind == "enterprise"
                            and _member_of(a, t.id), _l("Only members of an enterprise enter its figures.")),
    VIEW_HTE: Rule(lambda a, t: _role(a) in CITY_ROLES or (t is not None and _member_of(a, t.id)),
                   _l("Only the organisation's members and the city see its figures.")),
    REGISTER_IP: Rule(lambda a, t: _role(a) in (REVIEWER, ADMIN)
                      or (t is not None and _member_of(a, t.id) and _verified_member(a, MARKET_ROLES)),
                      _l("You register intellectual property for your own organisation only.")),
    SEARCH_IP: Rule(lambda a, t: _role(a) is not None, _l("Log in to search the IP database.")),
    PROPOSE_PROJECT: Rule(lambda a, t: t is not None and _member_of(a, t.id)
                          and _verified_member(a, (ENTERPRISE, UNIVERSITY)),
                          _l("Only enterprises and universities propose projects, for their own organisation.")),
    VIEW_PROJECT: Rule(lambda a, t: _role(a) in CITY_ROLES or _member_of(a, t.organization_id),
                       _l("This project belongs to another organisation.")),
    EXPORT_OWN_DATA: Rule(lambda a, t: t is not None and _member_of(a, t.id),
                          _l("You export your own organisation's data only.")),
    CLOSE_ACCOUNT: Rule(lambda a, t: _role(a) is not None and t is not None and a.id == t.id,
                        _l("You close your own account only.")),
    KEEP_API_TOKENS: Rule(lambda a, t: a is not None and bool(getattr(a, "is_authenticated", False)),
                          _l("Log in to keep API tokens.")),
    RUN_OPS: Rule(lambda a, t: _role(a) == ADMIN, _l("Only an administrator runs the operations page.")),
    VOUCHER_APPLY: Rule(lambda a, t: t is not None and _member_of(a, t.id) and _verified_member(a, (ENTERPRISE,)),
                        _l("Only a verified enterprise (or maker team) applies for its own vouchers.")),
    VOUCHER_REVIEW: Rule(lambda a, t: _role(a) in (REVIEWER, ADMIN), _l("Only the city's reviewers decide on vouchers.")),
    VOUCHER_SETTINGS: Rule(lambda a, t: _role(a) in (REVIEWER, ADMIN),
                           _l("Only the city's reviewers set the voucher cap and validity.")),
    VOUCHER_OVERSEE: Rule(lambda a, t: _role(a) in CITY_ROLES, _l("Only the city oversees the vouchers.")),
    VOUCHER_PAY: Rule(lambda a, t: _role(a) in (FINANCE, ADMIN), _l("Only finance pays redemption batches.")),
    ADMISSION_APPLY: Rule(lambda a, t: t is not None and _member_of(a, t.id) and _verified_member(a, (PROVIDER, AGENCY)),
                          _l("Only a verified service agency applies for admission, for itself.")),
    DRAFT_REFORM: Rule(lambda a, t: _role(a) in CITY_ROLES, _l("Only the city drafts parameter reforms.")),
    PUBLISH_PARAMETERS: Rule(lambda a, t: _role(a) == ADMIN,
                             _l("Only an administrator publishes parameter values.")),
    TAKE_PART: Rule(lambda a, t: _role(a) is not None and t is not None and (
        (getattr(t, "reviewers", False) and _role(a) in (REVIEWER, ADMIN))
        or any(_member_of(a, org_id) for org_id in getattr(t, "org_ids", ()))),
        _l("Only the parties of this record (and the city's reviewers, for a claim) take part in its conversation.")),
    RESPOND_DEMAND: Rule(lambda a, t: _verified_member(a, (UNIVERSITY, PROVIDER, AGENCY)),
                         _l("Only universities, institutes, service providers and agencies propose on a demand.")),
    OBJECT_TO_PRICE: Rule(lambda a, t: _role(a) is not None, _l("Log in to object to an agreed price.")),
    MANAGE_INSTRUMENT: Rule(lambda a, t: t is not None and _member_of(a, t.organization_id)
                            and _verified_member(a, MARKET_ROLES),
                            _l("Only the organisation that owns the instrument manages it.")),
    KEEP_FAVOURITES: Rule(lambda a, t: _role(a) is not None, _l("Log in to keep favourites.")),
    VIEW_UTILISATION: Rule(lambda a, t: _role(a) in CITY_ROLES or (t is not None and _member_of(a, t.organization_id)),
                           _l("Only the instrument's owner and the city see its utilisation.")),
}


def _rule(action: str) -> Rule:
    try:
        return RULES[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}") from None


def can(actor, action: str, target: Any = None) -> bool:
    return bool(_rule(action).allows(actor, target))


class _Verified:
    """An organisation as if the city had verified it (to tell "verify first" from "never")."""

    verified = True

    def __init__(self, org):
        self._org = org

    def __getattr__(self, name):
        return getattr(self._org, name)


class _AsIfVerified:
    def __init__(self, actor):
        self._actor = actor

    def __getattr__(self, name):
        value = getattr(self._actor, name)
        return _Verified(value) if name == "organization" and value is not None else value


def reason(actor, action: str, target: Any = None) -> str:
    """Why ``actor`` may not do ``action`` (on ``target``), in the user's language."""
    rule = _rule(action)
    sharper = rule.why_not(actor, target) if rule.why_not else None
    if sharper:
        return str(sharper)
    org = actor.organization if _role(actor) in MARKET_ROLES else None
    if org is not None and not org.verified and rule.allows(_AsIfVerified(actor), target):
        if action == TRADE:
            return str(_l("Your organisation must be verified by the city before it can trade."))
        return str(_l("Your organisation must be verified by the city before it can do this."))
    return str(rule.reason)


def require(actor, action: str, target: Any = None) -> None:
    """Refuse (``PermissionDenied``, 403) with the rule's own reason unless ``can``."""
    if not can(actor, action, target):
        raise PermissionDenied(reason(actor, action, target))


def template_can(action: str, target: Any = None) -> bool:
    """``can`` for templates: the current user's answer (``{% if can(perm.SELL, order) %}``)."""
    from flask_login import current_user

    return can(current_user, action, target)
