"""The permission table, written out: for every action, which actor may act on which target.

Actors are plain objects shaped like a logged-in user (role, membership, organisation), so
this is the rule table itself, read like the policy, without a database. Each row is literal:
nothing here is computed with ``permissions``' own helpers.
"""
from types import SimpleNamespace as NS

import pytest

from marketplace import permissions as perm
from marketplace.core.errors import PermissionDenied

E, U, P, AG, R, F, A = (perm.ENTERPRISE, perm.UNIVERSITY, perm.PROVIDER, perm.AGENCY, perm.REVIEWER, perm.FINANCE,
                        perm.ADMIN)
ORG_KIND = {E: "enterprise", U: "university", P: "agency", AG: "agency", R: "government", F: "government",
            A: "government"}
OWN, OTHER = 1, 2  # the actor's organisation, and somebody else's


def actor(role, verified=True, owner=True, org_id=OWN, user_id=7):
    org = NS(id=org_id, kind=ORG_KIND[role], verified=verified)
    return NS(id=user_id, is_authenticated=True, role=role, organization=org,
              membership=NS(organization_id=org_id, is_owner=owner, organization=org))


ANONYMOUS = NS(id=None, is_authenticated=False, role=None, organization=None, membership=None)


def test_the_roles_and_their_groups():
    assert perm.ROLES == (E, U, P, AG, R, F, A)
    assert perm.MARKET_ROLES == (E, U, P, AG) and perm.CITY_ROLES == (R, F, A)
    assert perm.ROLE_ORG_KINDS == {
        E: ("enterprise", "maker_team", "incubator", "park"), U: ("university", "institute"),
        P: ("enterprise", "agency", "university", "institute", "incubator", "park"), AG: ("agency",),
        R: ("government",), F: ("government",), A: ("government",)}


# Actions decided by the role alone (target: none). Roles whose organisation is verified.
BY_ROLE = {
    perm.VERIFY_ORGANIZATION: {A},
    perm.VIEW_ORGANIZATIONS: {R, F, A},
    perm.TRADE: {E, U, P, AG},
    perm.LIST_OFFER: {E, U, P, AG},
    perm.POST_DEMAND: {E},
    perm.MODERATE_LISTING: {A},
    perm.REVIEW_CLAIMS: {R, A},
    perm.PAY_CLAIMS: {F},
    perm.BUDGET_EDIT: {F, A},
    perm.VIEW_LEDGER: {R, F, A},
    perm.VIEW_AUDIT: {A},
    perm.GRANT_CITY_ROLE: {A},
    perm.RUN_OPS: {A},
    perm.VOUCHER_REVIEW: {R, A},
    perm.VOUCHER_SETTINGS: {R, A},
    perm.VOUCHER_OVERSEE: {R, F, A},
    perm.VOUCHER_PAY: {F, A},
    perm.DRAFT_REFORM: {R, F, A},
    perm.PUBLISH_PARAMETERS: {A},
    perm.VIEW_MAIL: {A},
    perm.VIEW_DASHBOARD: {R, F, A},
    perm.EDIT_COUNTY_RD: {R, A},
    perm.MANAGE_PROGRAMMES: {R, A},
    perm.VIEW_PROGRAMMES: {R, F, A},
    perm.SEARCH_IP: {E, U, P, AG, R, F, A},
    perm.RESPOND_DEMAND: {U, P, AG},  # the responders to a demand: never an enterprise, never the city
    perm.OBJECT_TO_PRICE: {E, U, P, AG, R, F, A},
    perm.KEEP_FAVOURITES: {E, U, P, AG, R, F, A},  # anyone logged in stars listings, verified or not
}
# ... and with an unverified organisation the market actions are refused, the rest unchanged.
NEEDS_VERIFIED = {perm.TRADE, perm.LIST_OFFER, perm.POST_DEMAND, perm.RESPOND_DEMAND}


@pytest.mark.parametrize("action", sorted(BY_ROLE))
def test_actions_decided_by_role(action):
    for role in perm.ROLES:
        assert perm.can(actor(role), action) is (role in BY_ROLE[action]), (action, role)
        unverified = role in BY_ROLE[action] and action not in NEEDS_VERIFIED
        assert perm.can(actor(role, verified=False), action) is unverified, (action, role, "unverified")
    assert perm.can(ANONYMOUS, action) is False
    assert perm.can(None, action) is False


def org(org_id, kind="enterprise"):
    return NS(id=org_id, kind=kind)


def owned(org_id):  # a listing, claim or project of an organisation
    return NS(organization_id=org_id)


def order(seller, buyer):
    return NS(seller_org_id=seller, buyer_org_id=buyer)


def subject(*org_ids, reviewers=False):  # what a conversation is about: its parties
    return NS(org_ids=org_ids, reviewers=reviewers)


def contract(seller, buyer, broker=None):
    return NS(seller_org_id=seller, buyer_org_id=buyer, broker_org_id=broker)


# (action, target, roles allowed when verified, roles allowed when their organisation is unverified)
ALL, NONE = {E, U, P, AG, R, F, A}, set()
CITY, MARKET = {R, F, A}, {E, U, P, AG}
BY_TARGET = [
    (perm.INVITE_MEMBER, org(OWN), ALL, ALL),  # the owner of the organisation (everyone here owns their own)
    (perm.INVITE_MEMBER, org(OTHER), {A}, {A}),
    (perm.CLAIM_VIEW, owned(OWN), ALL, ALL),
    (perm.CLAIM_VIEW, owned(OTHER), CITY, CITY),
    (perm.CLAIM_SUBMIT, owned(OWN), MARKET, NONE),
    (perm.CLAIM_SUBMIT, owned(OTHER), NONE, NONE),
    (perm.CLAIM_FILE, org(OWN), ALL, CITY),
    (perm.CLAIM_FILE, org(OTHER), CITY, CITY),
    (perm.CLAIM_FILE, None, CITY, CITY),
    (perm.EDIT_LISTING, owned(OWN), MARKET | {A}, {A}),
    (perm.EDIT_LISTING, owned(OTHER), {A}, {A}),
    (perm.MANAGE_INSTRUMENT, owned(OWN), MARKET, NONE),  # the instrument's own organisation, verified
    (perm.MANAGE_INSTRUMENT, owned(OTHER), NONE, NONE),  # not even the city runs a facility's calendar
    (perm.VIEW_UTILISATION, owned(OWN), ALL, ALL),
    (perm.VIEW_UTILISATION, owned(OTHER), CITY, CITY),  # the reviewers' evidence for A5
    (perm.SELL, order(OWN, OTHER), MARKET, NONE),
    (perm.SELL, order(OTHER, OWN), NONE, NONE),
    (perm.BUY, order(OTHER, OWN), MARKET, NONE),
    (perm.BUY, order(OWN, OTHER), NONE, NONE),
    (perm.VIEW_ORDER, order(OWN, OTHER), ALL, ALL),
    (perm.VIEW_ORDER, order(OTHER, OWN), ALL, ALL),
    (perm.VIEW_ORDER, order(OTHER, OTHER), CITY, CITY),
    (perm.CANCEL_BOOKING, order(OWN, OTHER), MARKET, NONE),  # the instrument's owner
    (perm.CANCEL_BOOKING, order(OTHER, OWN), MARKET, NONE),  # the customer
    (perm.CANCEL_BOOKING, order(OTHER, OTHER), NONE, NONE),  # nobody else, not even the city
    (perm.REGISTER_CONTRACT, contract(OWN, OTHER), MARKET, NONE),  # the seller
    (perm.REGISTER_CONTRACT, contract(OTHER, OTHER, broker=OWN), MARKET, NONE),  # its broker
    (perm.REGISTER_CONTRACT, contract(OTHER, OWN), NONE, NONE),  # never the buyer
    (perm.REGISTER_CONTRACT, contract(OTHER, OTHER), NONE, NONE),
    (perm.REFUND, order(OWN, OTHER), MARKET | {A}, {A}),  # the seller
    (perm.REFUND, order(OTHER, OWN), {A}, {A}),  # never the buyer
    (perm.REFUND, order(OTHER, OTHER), {A}, {A}),  # never reviewer or finance
    (perm.ENTER_HTE_FIGURES, org(OWN, "enterprise"), {E}, {E}),
    (perm.ENTER_HTE_FIGURES, org(OWN, "maker_team"), NONE, NONE),
    (perm.ENTER_HTE_FIGURES, org(OTHER, "enterprise"), NONE, NONE),
    (perm.ENTER_HTE_FIGURES, None, NONE, NONE),
    (perm.VIEW_HTE, org(OWN), ALL, ALL),
    (perm.VIEW_HTE, org(OTHER), CITY, CITY),
    (perm.VIEW_HTE, None, CITY, CITY),
    (perm.REGISTER_IP, org(OWN), MARKET | {R, A}, {R, A}),
    (perm.REGISTER_IP, org(OTHER), {R, A}, {R, A}),
    (perm.REGISTER_IP, None, {R, A}, {R, A}),
    (perm.PROPOSE_PROJECT, org(OWN), {E, U}, NONE),
    (perm.PROPOSE_PROJECT, org(OTHER), NONE, NONE),
    (perm.PROPOSE_PROJECT, None, NONE, NONE),
    (perm.VIEW_PROJECT, owned(OWN), ALL, ALL),
    (perm.VIEW_PROJECT, owned(OTHER), CITY, CITY),
    (perm.EXPORT_OWN_DATA, org(OWN), ALL, ALL),
    (perm.EXPORT_OWN_DATA, org(OTHER), NONE, NONE),
    (perm.EXPORT_OWN_DATA, None, NONE, NONE),
    (perm.VOUCHER_APPLY, org(OWN), {E}, NONE),
    (perm.VOUCHER_APPLY, org(OTHER), NONE, NONE),
    (perm.VOUCHER_APPLY, None, NONE, NONE),
    (perm.ADMISSION_APPLY, org(OWN), {P, AG}, NONE),
    (perm.ADMISSION_APPLY, org(OTHER), NONE, NONE),
    (perm.ADMISSION_APPLY, None, NONE, NONE),
    (perm.TAKE_PART, subject(OWN, OTHER), ALL, ALL),
    (perm.TAKE_PART, subject(OTHER, 3), NONE, NONE),
    (perm.TAKE_PART, subject(OTHER, reviewers=True), {R, A}, {R, A}),  # a claim: the reviewers take part
    (perm.TAKE_PART, subject(OWN, reviewers=True), ALL, ALL),
]


@pytest.mark.parametrize("action, target, verified, unverified", BY_TARGET,
                         ids=[f"{row[0]}-{i}" for i, row in enumerate(BY_TARGET)])
def test_actions_on_a_target(action, target, verified, unverified):
    for role in perm.ROLES:
        assert perm.can(actor(role), action, target) is (role in verified), (action, role)
        assert perm.can(actor(role, verified=False), action, target) is (role in unverified), (action, role, "unverified")
    assert perm.can(ANONYMOUS, action, target) is False


def test_only_the_owner_of_an_organisation_invites_members():
    for role in perm.ROLES:
        assert perm.can(actor(role, owner=False), perm.INVITE_MEMBER, org(OWN)) is (role == A), role


def test_a_user_closes_only_their_own_account():
    me, someone = NS(id=7), NS(id=8)
    for role in perm.ROLES:
        assert perm.can(actor(role, user_id=7), perm.CLOSE_ACCOUNT, me) is True
        assert perm.can(actor(role, user_id=7), perm.CLOSE_ACCOUNT, someone) is False
        assert perm.can(actor(role, user_id=7), perm.CLOSE_ACCOUNT, None) is False
    assert perm.can(ANONYMOUS, perm.CLOSE_ACCOUNT, NS(id=None)) is False


def test_a_logged_in_user_keeps_their_own_api_tokens():
    for role in perm.ROLES:
        assert perm.can(actor(role), perm.KEEP_API_TOKENS) is True
        assert perm.can(actor(role, verified=False), perm.KEEP_API_TOKENS) is True
    assert perm.can(ANONYMOUS, perm.KEEP_API_TOKENS) is False and perm.can(None, perm.KEEP_API_TOKENS) is False


# Separation of duties on a claim: (who, claim) -> may approve, may pay out.
ME = 7


def claim(org_id=OTHER, put_forward_by=(), approved_by=None):
    return NS(organization_id=org_id, put_forward_by=set(put_forward_by), approved_by_id=approved_by)


def city_actor(role, *, also_member_of=None):
    a = actor(role, user_id=ME)
    a.memberships = [a.membership] + ([NS(organization_id=also_member_of)] if also_member_of else [])
    return a


CLAIM_DUTIES = [  # (role, claim, extra membership, may approve, may pay out)
    (R, claim(), None, True, False),
    (A, claim(), None, True, False),
    (F, claim(), None, False, True),
    (E, claim(org_id=OWN), None, False, False),  # a member of the beneficiary decides nothing
    (R, claim(), OTHER, False, False),  # a reviewer who is also a member of the beneficiary
    (F, claim(), OTHER, False, False),
    (R, claim(put_forward_by=[ME]), None, False, False),  # filed it
    (F, claim(put_forward_by=[ME]), None, False, False),
    (F, claim(approved_by=ME), None, False, False),  # approved it
    (R, claim(approved_by=ME), None, True, False),  # approving again is still a reviewer's
]


@pytest.mark.parametrize("role, target, member, approve, pay", CLAIM_DUTIES)
def test_separation_of_duties_on_a_claim(role, target, member, approve, pay):
    who = city_actor(role, also_member_of=member)
    assert perm.can(who, perm.APPROVE_CLAIM, target) is approve
    assert perm.can(who, perm.PAY_OUT, target) is pay
    assert perm.can(ANONYMOUS, perm.APPROVE_CLAIM, target) is False


def test_a_conflict_of_duties_is_refused_with_its_own_reason(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        cases = [(city_actor(R, also_member_of=OTHER), perm.APPROVE_CLAIM, claim(),
                  "You are a member of the organisation that claims: another reviewer must decide."),
                 (city_actor(R), perm.APPROVE_CLAIM, claim(put_forward_by=[ME]),
                  "You filed this claim yourself: another reviewer must decide."),
                 (city_actor(F), perm.PAY_OUT, claim(approved_by=ME),
                  "You approved this claim: the payout is recorded by someone else."),
                 (city_actor(F), perm.APPROVE_CLAIM, claim(), "Only the city's reviewers review claims.")]
        for who, action, target, words in cases:
            with pytest.raises(PermissionDenied) as denied:
                perm.require(who, action, target)
            assert str(denied.value) == words


def test_every_action_is_in_the_table():
    actions = {v for k, v in vars(perm).items() if k.isupper() and isinstance(v, str) and "." in v}
    tabled = (set(BY_ROLE) | {row[0] for row in BY_TARGET}
              | {perm.CLOSE_ACCOUNT, perm.KEEP_API_TOKENS, perm.APPROVE_CLAIM, perm.PAY_OUT})
    assert actions == set(perm.RULES) == tabled


def test_an_unknown_action_is_an_error_not_a_refusal():
    with pytest.raises(ValueError, match="unknown action 'orders.steal'"):
        perm.can(actor(A), "orders.steal")


def test_can_answers_a_plain_boolean():
    assert perm.can(actor(A), perm.VIEW_AUDIT) is True
    assert perm.can(actor(E), perm.VIEW_AUDIT) is False


def test_require_raises_with_the_reason(app_ctx):
    perm.require(actor(A), perm.VIEW_AUDIT)  # allowed: no error
    with pytest.raises(PermissionDenied) as denied:
        perm.require(actor(E, verified=False), perm.TRADE)
    must_verify = str(denied.value)
    assert "审核通过" in must_verify  # "must be verified by the city before it can trade"
    said = {}
    for who, action in ((actor(R), perm.TRADE), (ANONYMOUS, perm.TRADE), (actor(R, verified=False), perm.TRADE),
                        (actor(E), perm.VIEW_AUDIT)):
        with pytest.raises(PermissionDenied) as denied:
            perm.require(who, action)
        said.setdefault(action, set()).add(str(denied.value))
    # verification would not help these: each action's own reason, the same whoever asks
    assert len(said[perm.TRADE]) == 1 and must_verify not in said[perm.TRADE]
    assert said[perm.TRADE] != said[perm.VIEW_AUDIT]


def test_every_rule_gives_its_own_reason(app):
    """No refusal falls back to a blanket "not allowed": each rule says why, in both languages."""
    from flask_babel import force_locale

    with app.test_request_context():
        for locale in ("en", "zh"):
            with force_locale(locale):
                reasons = {action: str(rule.reason) for action, rule in perm.RULES.items()}
            assert all(reasons.values()) and "You are not allowed to do this." not in reasons.values()
            shared = {a for a in reasons if list(reasons.values()).count(reasons[a]) > 1}
            assert shared <= {perm.REVIEW_CLAIMS, perm.APPROVE_CLAIM, perm.PAY_CLAIMS, perm.PAY_OUT}, shared
            if locale == "zh":
                assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r) for r in reasons.values()), reasons


def test_an_unverified_member_is_told_to_get_verified_when_that_is_all_it_lacks(app):
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("en"):
        for action, target in ((perm.LIST_OFFER, None), (perm.SELL, order(OWN, OTHER)),
                               (perm.EDIT_LISTING, owned(OWN))):
            with pytest.raises(PermissionDenied) as denied:
                perm.require(actor(E, verified=False), action, target)
            assert str(denied.value) == "Your organisation must be verified by the city before it can do this."
        with pytest.raises(PermissionDenied) as denied:  # not its order: verification would not help
            perm.require(actor(E, verified=False), perm.SELL, order(OTHER, OWN))
        assert str(denied.value) == "Only the seller does this."


def test_an_anonymous_visitor_may_do_nothing_whatever_it_carries():
    from flask_login import AnonymousUserMixin

    logged_out = NS(is_authenticated=False, role=A, id=7, organization=NS(id=OWN, kind="government", verified=True),
                    membership=NS(organization_id=OWN, is_owner=True))  # a session that lost its login
    no_flag = NS(role=A, id=7, organization=logged_out.organization, membership=logged_out.membership)
    # targets of every shape at once, all of them "its own"
    targets = [NS(id=i, kind="enterprise", organization_id=OWN, seller_org_id=OWN, buyer_org_id=OWN)
                  for i in (OWN, 7)]
    for who in (AnonymousUserMixin(), logged_out, no_flag):
        for action in perm.RULES:
            for target in targets:
                assert perm.can(who, action, target) is False, (who, action, target)


def test_require_passes_the_target_on(app_ctx):
    perm.require(actor(E), perm.SELL, order(OWN, OTHER))  # the seller: no error
    with pytest.raises(PermissionDenied):
        perm.require(actor(E), perm.SELL, order(OTHER, OWN))


def test_the_refusal_says_so_in_the_users_language(app):
    from flask_babel import force_locale

    with app.test_request_context():
        for locale, words in (("en", "Only an administrator reads the audit log."),
                              ("en", "Your organisation must be verified by the city before it can trade.")):
            with force_locale(locale), pytest.raises(PermissionDenied) as denied:
                if "verified" in words:
                    perm.require(actor(E, verified=False), perm.TRADE)
                else:
                    perm.require(actor(E), perm.VIEW_AUDIT)
            assert str(denied.value) == words
