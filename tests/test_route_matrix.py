"""Every route, every role, anonymous included: nobody succeeds where they may not, and
whoever may, really succeeds.

``ACCESS`` says, per endpoint, which requests to make and who may make them; ``ELSEWHERE``
names the few endpoints whose rights depend on something a role cannot express (a token,
a signature, one's own membership) and the test file that covers them. An endpoint in
neither fails ``test_every_route_is_in_the_matrix``: a new route cannot be added without
deciding who may use it. Adding one is one line, e.g.

    "orders.refund": POST((perm.ADMIN,), ok="/orders/{order}", data={"reason": "r"}, order_id="paid_order"),

Allowed means a real success: 200, or a redirect to the page named by ``ok`` (with the
world's ids filled in). Denied means 403 or 404 for a logged-in role, a redirect to the
login page for anonymous, and in both cases nothing written: the row count of every table
is the same after the request. The objects the routes act on (``WORLD`` keys) belong to
organisations none of the walking users is a member of.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.core.timeutil import beijing_today
from marketplace.extensions import db
from tests.factories import login

PUBLIC = "public"  # anybody, logged in or not
ANY = "any"  # any logged-in user
NOBODY = ()  # no role: every request is refused
ALL_ROLES = perm.ROLES
MARKET = perm.MARKET_ROLES


@dataclass(frozen=True)
class Case:
    method: str
    who: object  # PUBLIC, ANY or a tuple of roles
    ok: str | None = None  # the redirect an allowed POST ends on; None: 200 (GET) or any non-login redirect
    data: dict = field(default_factory=dict)
    args: dict = field(default_factory=dict)  # route argument -> WORLD key


def GET(who, **args):
    return Case("GET", who, args=args)


def POST(who, ok=None, data=None, **args):
    return Case("POST", who, ok=ok, data=data or {}, args=args)


ACCESS = {
    "home.index": GET(PUBLIC),
    "home.dashboard": GET(ANY),
    "accounts.login": GET(PUBLIC),
    "accounts.logout": POST(PUBLIC),
    "accounts.register": GET(PUBLIC),
    "accounts.forgot_password": GET(PUBLIC),
    "accounts.set_language": POST(PUBLIC, code="en"),
    "accounts.members": GET(ANY),
    "accounts.registration_sent": GET(PUBLIC),
    "accounts.change_password": GET(ANY),
    "health.healthz": GET(PUBLIC),
    "ops.index": GET((perm.ADMIN,)),
    "ops.verify_ledger": POST((perm.ADMIN,), ok="/admin/ops"),
    "ops.retry_parked": POST((perm.ADMIN,), ok="/admin/ops"),
    "admin.organizations": GET(perm.CITY_ROLES),
    "admin.verify": POST((perm.ADMIN,), ok="/admin/organizations", organization_id="unverified_org"),
    "admin.audit": GET((perm.ADMIN,)),
    "admin.mail": GET((perm.ADMIN,)),
    "talk.offer": POST(NOBODY, data={"amount": "1000"}, enquiry_id="quoted_enquiry"),
    "talk.accept": POST(NOBODY, version_id="open_version"),
    "talk.decline": POST(NOBODY, data={"reason": "太贵"}, version_id="open_version"),
    "talk.propose": GET(ANY, listing_id="demand"),  # the form; proposing is the service's (tests/conversations)
    "talk.proposals": GET((perm.ADMIN,), listing_id="demand"),  # and the poster: tests/conversations
    "talk.close_demand": POST((perm.ADMIN,), ok="/demands/{demand_to_close}/proposals", listing_id="demand_to_close"),
    "talk.thread": GET((perm.REVIEWER, perm.ADMIN), kind="claim", subject_id="claim"),  # and the claimant
    "talk.thread_file": GET((perm.REVIEWER, perm.ADMIN), attachment_id="thread_file"),
    "talk.object_to_price": POST(ANY, ok="/notice", data={"reason": "价格明显偏低"}, notice_id="price_notice"),
    "talk.decide_price_objection": POST(NOBODY, data={"decision": "dismiss", "reason": "r"},
                                        objection_id="price_objection"),
    "talk.sign": POST(NOBODY, notice_id="price_notice"),
    "talk.notifications": GET(ANY),
    "talk.open_notification": GET(NOBODY, notification_id="notification"),  # one's own: tests/conversations
    "talk.mark_read": POST(ANY, ok="/notifications"),
    "talk.preferences": GET(ANY),
    "talk.confidential_file": POST((perm.ADMIN,), ok="/listings/{service}", attachment_id="attachment"),  # and the owner
    "talk.grant_files": POST(NOBODY, enquiry_id="enquiry"),  # the seller: tests/conversations
    "listings.browse": GET(PUBLIC),
    "listings.detail": GET(PUBLIC, listing_id="service"),
    "listings.create": GET(ANY),  # the form; saving is checked by the service (tests/trade)
    "listings.edit": GET((perm.ADMIN,), listing_id="service"),  # and the owner: tests/trade (others: 403, not the form)
    "listings.publish": POST((perm.ADMIN,), ok="/listings/{draft}", listing_id="draft"),  # and the owner: tests/trade
    "listings.withdraw": POST((perm.ADMIN,), ok="/my/listings", listing_id="to_withdraw"),
    "listings.mine": GET(ANY),
    "listings.record_lease": POST((perm.ADMIN,), ok="/listings/{instrument}", data={"amount": "1000", "paid_on": "2024-01-10"},
                                  listing_id="instrument"),  # and the owner: tests/trade
    "listings.moderation": GET((perm.ADMIN,)),
    "listings.moderate": POST((perm.ADMIN,), ok="/admin/listings", data={"decision": "reject", "note": "虚假宣传"},
                              listing_id="to_moderate"),
    "listings.delete_attachment": POST((perm.ADMIN,), ok="/listings/{service}", attachment_id="attachment"),  # and the owner
    "orders.enquire": POST(MARKET, ok="/enquiries/", data={"message": "价格可以商量吗？"}, listing_id="service"),
    "orders.enquiries": GET(ANY),
    "orders.enquiry": GET(NOBODY, enquiry_id="enquiry"),  # its parties only: tests/trade
    "orders.quote": POST(NOBODY, data={"amount": "100"}, enquiry_id="enquiry"),
    "orders.accept": POST(NOBODY, enquiry_id="quoted_enquiry"),
    "orders.order_service": POST(MARKET, ok="/orders/", listing_id="service"),
    "orders.buy": POST(MARKET, ok="/orders/", data={"transfer_mode": "assignment"}, listing_id="achievement"),
    "orders.book": POST(MARKET, ok="/orders/", data={"day": (date.today() + timedelta(days=5)).isoformat(),
                                                      "hour": 9, "hours": 1}, listing_id="instrument"),
    "orders.orders": GET(ANY),
    "orders.order": GET(perm.CITY_ROLES, order_id="paid_order"),
    "orders.pay": POST(NOBODY, order_id="pending_order"),
    "orders.confirm": POST(NOBODY, order_id="paid_order"),
    "orders.refund": POST((perm.ADMIN,), ok="/orders/{paid_order}", data={"reason": "服务未能完成"}, order_id="paid_order"),
    "orders.register_contract": POST(NOBODY, data={"registration_no": "2024370015000123", "contract_type": "transfer",
                                                   "registered_on": date.today().isoformat()}, contract_id="contract"),
    "orders.bookings": GET(ANY),
    "orders.complete_booking": POST(NOBODY, booking_id="booking"),
    "orders.cancel_booking": POST(NOBODY, booking_id="booking"),
    "search.search": GET(PUBLIC),
    # --- api (add API endpoints below this line) ---
    "api_tokens.tokens": GET(ANY),  # any user may hold tokens; they act with that user's permissions
    "api.openapi": GET(PUBLIC),
    # --- claims and review (add below this line) ---
    "claims.mine": GET(ANY),
    "claims.new": GET(ANY),  # the forms; filing is checked by the service (tests/claims/test_filing.py)
    "claims.detail": GET(perm.CITY_ROLES, claim_id="claim"),
    "claims.submit": POST(NOBODY, claim_id="claim"),
    "review.queue": GET((perm.REVIEWER, perm.ADMIN)),
    "review.detail": GET(perm.CITY_ROLES, claim_id="claim"),
    "review.approve": POST((perm.REVIEWER, perm.ADMIN), ok="/review", claim_id="claim_to_approve"),
    "review.reject": POST((perm.REVIEWER, perm.ADMIN), ok="/review", data={"reason": "材料不全"},
                          claim_id="claim_to_reject"),
    "review.request_evidence": POST((perm.REVIEWER, perm.ADMIN), ok="/review", data={"message": "请补充合同原件"},
                                    claim_id="claim_for_evidence"),
    "review.ledger": GET(perm.CITY_ROLES, ref="ORD-1"),
    "review.payouts": GET((perm.FINANCE, perm.ADMIN)),
    "review.set_budget": POST((perm.FINANCE, perm.ADMIN), ok="/review/payouts",
                              data={"year": "2024", "clause": "B1", "amount": "1000000"}),
    "review.notice": GET(PUBLIC),
    # --- dashboards and exports (add below this line) ---
    "dashboards.overview": GET(perm.CITY_ROLES),
    "dashboards.indicator": GET(perm.CITY_ROLES),
    "dashboards.edit_county_rd": GET((perm.REVIEWER, perm.ADMIN)),  # the POST: tests/dashboards
    "dashboards.exports": GET(perm.CITY_ROLES),
    "dashboards.export_ledger": GET(perm.CITY_ROLES),
    "dashboards.export_awards": GET(perm.CITY_ROLES),
    # --- programmes (add below this line) ---
    "programmes.index": GET(ANY),
    "programmes.hte_figures": GET((perm.ENTERPRISE,)),  # enterprises enter their own figures
    "programmes.pool": GET(perm.CITY_ROLES),
    "programmes.pool_entry": GET(perm.CITY_ROLES, organization_id="buyer_org"),  # its members too: tests/programmes
    "programmes.ip_search": GET(ANY),
    "programmes.ip_new": GET((perm.ENTERPRISE, perm.UNIVERSITY, perm.PROVIDER, perm.AGENCY, perm.REVIEWER,
                              perm.ADMIN)),
    "programmes.zero_patent": GET(perm.CITY_ROLES),
    "programmes.commissioners": GET(perm.CITY_ROLES),
    "programmes.commissioner_new": GET((perm.REVIEWER, perm.ADMIN)),
    "programmes.base_new": GET((perm.REVIEWER, perm.ADMIN)),
    "programmes.commissioner_project_new": GET((perm.REVIEWER, perm.ADMIN)),
    "programmes.selection_new": GET((perm.REVIEWER, perm.ADMIN)),
    "programmes.project_list": GET(ANY),  # the city sees all projects, a member its own
    "programmes.project_new": GET((perm.ENTERPRISE, perm.UNIVERSITY)),
    "programmes.targets_page": GET(perm.CITY_ROLES),
    "programmes.my_data": GET(ANY),
    # --- documents (add below this line) ---
    "documents.receipt": GET(perm.CITY_ROLES, order_id="paid_order"),  # and the parties: tests/documents
    "documents.contract": GET(perm.CITY_ROLES, contract_id="contract"),  # and the parties: tests/documents
    # --- reforms (add below this line) ---
    "reforms.index": GET(perm.CITY_ROLES),
    "reforms.create": POST(perm.CITY_ROLES, ok="/reforms/", data={"name": "矩阵草案"}),
    "reforms.draft": GET(perm.CITY_ROLES, draft_id="reform_draft"),
    "reforms.edit": POST(perm.CITY_ROLES, ok="/reforms/{reform_draft}", draft_id="reform_draft",
                         data={"parameter": "a4.rate", "value": "4%", "reason": "测算"}),
    "reforms.revert": POST(perm.CITY_ROLES, ok="/reforms/{reform_draft}", draft_id="reform_draft",
                           data={"parameter": "a3.city_share"}),
    "reforms.replay": GET(perm.CITY_ROLES, draft_id="reform_draft", year="ledger_year"),
    "reforms.replay_export": GET(perm.CITY_ROLES, draft_id="reform_draft", year="ledger_year"),
    "reforms.forecast": GET(perm.CITY_ROLES, draft_id="reform_draft"),
    "reforms.publish": POST((perm.ADMIN,), ok="/reforms/{reform_draft}", draft_id="reform_draft",
                            data={"effective_from": date(beijing_today().year + 1, 1, 1).isoformat(),
                                  "document_no": "聊政字〔2026〕9号"}),
}

# endpoint -> where its rights are tested (they are not a matter of role alone)
ELSEWHERE = {
    "static": "assets",
    "accounts.reset_password": "a token, not a role: tests/accounts",
    "accounts.accept_invitation": "a token, not a role: tests/accounts",
    "accounts.switch_organization": "one's own memberships only: tests/accounts",
    "accounts.confirm_registration": "a token, not a role: tests/security/test_login_throttle.py, tests/accounts",
    "review.confirm_objection": "a signed link, not a role: tests/review/test_objections.py",
    "review.decide_objection": "reviewer and admin, on an open objection: tests/review/test_objections.py",
    "health.readyz": "public; 200 or 503 by the components, not the role: tests/ops/test_health.py",
    "health.metrics": "loopback or METRICS_TOKEN, not a role: tests/ops/test_metrics.py",
    "listings.attach": "the owner only (multipart upload): tests/trade/test_attachments.py",
    "listings.attachment": "whoever sees the listing: tests/trade/test_attachments.py",
    "payments.webhook": "a signature, not a session: tests/payments/test_app_flows.py",
    "api_tokens.revoke": "own tokens only (others' are 404): tests/api/test_tokens.py",
    "api.me": "bearer auth, never the session (anonymous -> 401 for every /api/v1 route): tests/api",
    "api.listing_index": "bearer auth: tests/api",
    "api.listing_detail": "bearer auth: tests/api",
    "api.listing_create": "bearer auth: tests/api",
    "api.listing_update": "bearer auth: tests/api",
    "api.listing_publish": "bearer auth: tests/api",
    "api.listing_withdraw": "bearer auth: tests/api",
    "api.order_index": "bearer auth: tests/api",
    "api.order_detail": "bearer auth: tests/api",
    "api.order_create": "bearer auth: tests/api",
    "api.order_pay": "bearer auth: tests/api",
    "api.order_confirm": "bearer auth: tests/api",
    "api.order_refund": "bearer auth: tests/api",
    "api.booking_index": "bearer auth: tests/api",
    "api.booking_create": "bearer auth: tests/api",
    "api.instrument_calendar": "bearer auth: tests/api",
    "api.contract_register": "bearer auth: tests/api",
    "api.programme_pool": "bearer auth: tests/api/test_programmes_api.py",
    "api.programme_ip": "bearer auth: tests/api/test_programmes_api.py",
    "api.programme_commissioners": "bearer auth: tests/api/test_programmes_api.py",
    "api.programme_projects": "bearer auth: tests/api/test_programmes_api.py",
    "review.set_provincial_reward": "city finance and admin: tests/review/test_provincial_reward.py",
    "claims.respond": "the applicant, on an evidence request: tests/claims/test_filing.py",
    "claims.download": "applicant and city only: tests/claims/test_filing.py",
    "review.pay": "finance only, after the notice: tests/review/test_review.py, test_notice_period.py",
    "review.object_to": "public, on a claim on notice: tests/review/test_notice_period.py",
    "dashboards.claim_notice": "needs a claim: tests/dashboards (403/404/login there)",
    "programmes.ip_link": "holder's members or the city: tests/programmes/test_ipdb.py",
    "programmes.profile": "city managers: tests/programmes/test_ipdb.py",
    "programmes.selection_claim": "needs a selection: tests/programmes/test_commissioners.py",
    "programmes.project": "needs a project: tests/programmes/test_projects.py",
    "programmes.project_step": "needs a project: tests/programmes/test_projects.py",
    "programmes.close_account": "password-confirmed: tests/programmes/test_mydata.py",
    "documents.decision": "needs a decided claim (404 before): tests/documents/test_documents.py",
}


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - set(ACCESS) - set(ELSEWHERE)
    assert not missing, f"add these endpoints to ACCESS (or, with the test that covers them, ELSEWHERE): {sorted(missing)}"
    assert not set(ACCESS) & set(ELSEWHERE)
    assert not (set(ACCESS) | set(ELSEWHERE)) - endpoints, "endpoints that no longer exist"


def test_every_case_names_a_method_its_route_accepts(app):
    for endpoint, case in ACCESS.items():
        methods = set().union(*(r.methods for r in app.url_map.iter_rules() if r.endpoint == endpoint))
        assert case.method in methods, endpoint


def test_the_matrix_walks_post_routes():
    posts = [e for e, c in ACCESS.items() if c.method == "POST"]
    assert len(posts) >= 25
    assert sum(1 for e in posts if ACCESS[e].who not in (NOBODY, PUBLIC)) >= 10  # someone really succeeds


# --- the world the walk acts on: objects of organisations no walking user belongs to ------------

@pytest.fixture()
def world(app, factory):
    from marketplace.claims import services as claims
    from marketplace.listings import services as listings
    from marketplace.orders import services as orders
    from marketplace.orders.models import Enquiry, TechContract
    from marketplace.payments import services as payments
    from marketplace.core.timeutil import utcnow

    seller = factory.user("provider", kind="agency", name="第三方检测中心")
    university = factory.user("university", kind="university")
    buyer = factory.user("enterprise", size="small")

    def publish(user, kind, **fields):
        data = {"title": f"矩阵{kind}", "description": "", "price_fen": 100_000, "negotiable": False}
        if kind == "instrument":
            data.update(price_unit="hour", price_fen=50_000, internal_price_fen=20_000, open_from_hour=8,
                        open_to_hour=18)
        if kind == "achievement":
            data.update(ip_kind="invention_patent", maturity="pilot", transfer_modes=["assignment"])
        data.update(fields)
        return listings.publish(user, listings.create_listing(user, kind, data).id)

    w = {"unverified_org": factory.organization(verified=False).id, "buyer_org": buyer.organization.id}
    w["service"] = publish(seller, "service").id
    w["instrument"] = publish(seller, "instrument", financing_lease=True, on_sharing_platform=True).id
    w["achievement"] = publish(university, "achievement").id
    w["to_withdraw"] = publish(seller, "service", title="待撤回").id
    w["to_moderate"] = publish(seller, "service", title="待审核").id
    w["draft"] = listings.create_listing(seller, "service", {"title": "草稿", "price_fen": 100}).id
    w["enquiry"] = orders.enquire(buyer, w["service"], "能否加急？").id
    w["quoted_enquiry"] = orders.quote(seller, orders.enquire(buyer, w["service"], "报价？").id, 90_000).id
    w["pending_order"] = orders.order_service(buyer, w["service"]).id
    paid = orders.order_service(buyer, w["service"])
    payments.checkout(buyer, paid.id)
    w["paid_order"] = paid.id
    start = utcnow().replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=3)
    w["booking"] = orders.book_instrument(buyer, w["instrument"], start, 1).id
    orders.buy_achievement(buyer, w["achievement"], "assignment")
    w["contract"] = db.session.scalars(select(TechContract)).one().id
    listing_with_file = listings.get_listing(seller, w["service"])
    listings.attach_files(seller, listing_with_file.id, [("报告.pdf", b"%PDF-1.4 matrix")])
    from marketplace.listings.models import ListingAttachment

    w["attachment"] = db.session.scalars(select(ListingAttachment)).first().id

    def claim(project):
        return claims.file_claim(buyer, buyer.organization.id, "B1", {
            "project": project, "city_county_joint": True, "requested_amount": "10000"}, utcnow().year - 1).id

    w["claim"], w["claim_to_approve"] = claim("甲"), claim("乙")
    from marketplace.conversations import negotiation, pricenotice, threads
    from marketplace.conversations.models import ThreadAttachment
    from marketplace.notifications.models import Notification

    w["open_version"] = negotiation.open_version(db.session.get(Enquiry, w["quoted_enquiry"])).id
    w["demand"] = publish(buyer, "demand", title="矩阵需求").id
    w["demand_to_close"] = publish(buyer, "demand", title="待关闭需求").id
    proposal = negotiation.respond_to_demand(university, w["demand"], "方案", 200_000)
    w["price_notice"] = negotiation.accept(buyer, negotiation.open_version(proposal).id).id
    w["price_objection"] = pricenotice.object_to(seller, w["price_notice"], "价格偏低，请说明").id
    threads.post(buyer, "claim", w["claim"], "补充材料见附件", [("材料.pdf", b"%PDF-1.4 thread")])
    w["thread_file"] = db.session.scalars(select(ThreadAttachment)).one().id
    w["notification"] = db.session.scalars(select(Notification).where(Notification.user_id == buyer.id)).first().id
    w["claim_to_reject"], w["claim_for_evidence"] = claim("丙"), claim("丁")
    from marketplace.reforms import services as reforms

    finance = factory.user("finance")
    draft = reforms.create_draft(finance, "矩阵测算")
    reforms.edit_value(finance, draft, "a3.city_share", "20%", "测算")
    w["reform_draft"], w["ledger_year"] = draft.id, beijing_today().year
    db.session.commit()
    return w


def _path(app, endpoint, case, world):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    args = {}
    for name in rule.arguments:
        if name == "kind":
            args[name] = case.args.get(name, "service")
            continue
        value = case.args.get(name)
        assert value is not None, f"{endpoint}: say which WORLD object its <{name}> is"
        args[name] = world.get(value, value)
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **args)


def _rows() -> dict:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


@pytest.mark.parametrize("role", (None,) + ALL_ROLES)
def test_role_route_matrix(app, client, factory, world, role):
    user = factory.user(role) if role is not None else None
    if user is not None:
        login(client, user)
    for endpoint, case in ACCESS.items():
        path = _path(app, endpoint, case, world)
        db.session.expire_all()
        before = _rows()
        response = client.open(path, method=case.method, data=case.data)
        where = (role, endpoint, response.status_code, response.headers.get("Location"))
        allowed = case.who == PUBLIC or (role is not None and (case.who == ANY or role in case.who))
        if endpoint in ("accounts.logout", "accounts.set_language"):
            client.post("/lang/zh")
            if user is not None:
                login(client, user)  # stay logged in for the rest of the walk
            continue
        if allowed:
            assert response.status_code in (200, 302), where
            if response.status_code == 302:
                location = response.headers["Location"]
                assert "/login" not in location, where
                if case.ok is not None:
                    assert location.startswith(case.ok.format(**world)), where
            else:
                assert case.method == "GET" or case.ok is None, where  # a form shown again is no success
        else:
            if role is None:
                assert response.status_code in (302, 401), where
                assert "/login" in response.headers.get("Location", "/login"), where
            else:
                assert response.status_code in (403, 404), where
            db.session.expire_all()
            assert _rows() == before, where  # a refusal writes nothing
