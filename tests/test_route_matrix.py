"""Every route, every method, every role, anonymous included: nobody succeeds where they may
not, and whoever may, really succeeds.

``ACCESS`` says, per endpoint, which requests to make (one per method the route accepts) and
who may make them. The walkers are anonymous, a fresh verified member of each role, and the
parties of the world's objects: ``seller`` (the service agency that lists the services and
the instrument), ``buyer`` (the enterprise that enquired, ordered and booked) and ``author``
(the university whose achievement was bought, the seller of the technology contract). The
API is walked too, with each walker's bearer token. ``ELSEWHERE`` names the few endpoints
whose access is not a matter of who is logged in (a token in a link, a signature, the
loopback address) and the test that covers them. An endpoint, or a method of one, in
neither fails ``test_every_route_and_method_is_in_the_matrix``: a new route cannot be added
without deciding who may use it. Adding one is one line, e.g.

    "orders.refund": POST((perm.ADMIN, SELLER), ok="/orders/{paid_order}", data={"reason": "r"}, order_id="paid_order"),

Allowed means a real success: for a page 200, for a form or an action a redirect to the page
``ok`` names (with the world's ids filled in), for the API the status it names. ``other``
gives the few walkers for whom the answer is neither (a seller buying from itself is told
400; an instrument's owner books it for its own use). Denied means 403 or 404 for a
logged-in walker, a redirect to the login page (401 for the API) for anonymous, and in both
cases nothing written: the row count of every table is the same after the request.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.core.timeutil import beijing_today
from marketplace.extensions import db
from tests.factories import login

PUBLIC = "public"  # anybody, logged in or not
ANY = "any"  # any logged-in walker
NOBODY = ()  # nobody: every request is refused
SELLER, BUYER, AUTHOR = "seller", "buyer", "author"  # the parties of the world's objects
PARTIES = (SELLER, BUYER, AUTHOR)
PARTY_ROLE = {SELLER: perm.PROVIDER, BUYER: perm.ENTERPRISE, AUTHOR: perm.UNIVERSITY}
WALKERS = (None,) + perm.ROLES + PARTIES
CITY = perm.CITY_ROLES
MARKET = perm.MARKET_ROLES
MANAGERS = (perm.REVIEWER, perm.ADMIN)
A = perm.ADMIN


@dataclass(frozen=True)
class Case:
    method: str
    who: object  # PUBLIC, ANY or a tuple of roles and parties
    ok: str | None = None  # where an allowed form or action redirects to (a prefix, world ids in braces)
    status: int | None = None  # the status of an allowed request that does not redirect (None: 200)
    data: Any = None  # form fields (a callable: made fresh for each request, e.g. files)
    args: dict = field(default_factory=dict)  # route argument -> WORLD key
    api: bool = False  # sent with the walker's bearer token, JSON body
    other: dict = field(default_factory=dict)  # walker -> the status, or redirect prefix, it gets instead
    query: str = ""


def GET(who, status=None, query="", other=None, **args):
    return Case("GET", who, status=status, args=args, query=query, other=other or {})


def POST(who, ok=None, data=None, status=None, other=None, query="", **args):
    return Case("POST", who, ok=ok, data=data, status=status, args=args, other=other or {}, query=query)


def API(method, who, status=200, json=None, other=None, **args):
    return Case(method, who, status=status, data=json, args=args, api=True, other=other or {})


def pdf():
    return {"files": (io.BytesIO(b"%PDF-1.4 matrix"), "report.pdf")}


def in_days(n: int) -> str:
    from marketplace.core.timeutil import beijing_today

    return (beijing_today() + timedelta(days=n)).isoformat()


LAST_YEAR = "{last_year}"
BUYING = MARKET + (BUYER, AUTHOR)  # may buy the seller's services (the seller itself: 400, its own)
OFFERING = MARKET + PARTIES  # may list offers (perm.LIST_OFFER)
OWN = {SELLER: 400}  # a seller buying from itself is refused as input, not as a permission

ACCESS: dict[str, tuple[Case, ...] | Case] = {
    "home.index": GET(PUBLIC),
    "home.dashboard": GET(ANY),
    "home.favicon": GET(PUBLIC),
    "accounts.login": (GET(PUBLIC), POST(PUBLIC, status=400, data={"email": "nobody@example.com", "password": "x"})),
    "accounts.logout": POST(PUBLIC),  # (walked apart: it ends the session)
    "accounts.register": (GET(PUBLIC), POST(PUBLIC, status=400, data={"email": "not-an-address"})),
    "accounts.forgot_password": (GET(PUBLIC), POST(PUBLIC, ok="/login", data={"email": "nobody@example.com"})),
    "accounts.set_language": POST(PUBLIC, code="en"),  # (walked apart)
    # an owner invites a colleague into its own role; only an administrator gives a city role
    "accounts.members": (GET(ANY), POST(OFFERING + (A,), ok="/members", data={"email": "colleague@example.com"})),
    "accounts.registration_sent": GET(PUBLIC),
    # a wrong current password: the form says so (a right one would log the walker out of the walk)
    "accounts.change_password": (GET(ANY), POST(ANY, status=400, data={"current_password": "wrong", "password": "x"})),
    "accounts.switch_organization": POST((BUYER,), ok="/home", organization_id="buyer_org"),  # one's own only
    "health.healthz": GET(PUBLIC),
    "ops.index": GET((A,)),
    "ops.verify_ledger": POST((A,), ok="/admin/ops"),
    "ops.retry_parked": POST((A,), ok="/admin/ops"),
    "admin.organizations": GET(CITY),
    "admin.verify": POST((A,), ok="/admin/organizations", organization_id="unverified_org"),
    "admin.audit": GET((A,)),
    "admin.mail": GET((A,)),
    # --- conversations (talk) ---
    "talk.offer": POST((SELLER, BUYER), ok="/enquiries/{offer_enquiry}", data={"amount": "1000"},
                       enquiry_id="offer_enquiry"),
    # the seller's own offer: accepting or declining it is refused as input (400), not as a right
    "talk.accept": POST((BUYER,), ok="/orders/", version_id="open_version", other={SELLER: 400}),
    "talk.decline": POST((BUYER,), ok="/enquiries/{decline_enquiry}", data={"reason": "太贵"},
                         version_id="decline_version", other={SELLER: 400}),
    "talk.propose": (GET(ANY, listing_id="demand"),
                     POST((perm.UNIVERSITY, perm.PROVIDER, perm.AGENCY, SELLER, AUTHOR), ok="/enquiries/",
                          data={"message": "我方可以承接", "amount": "200000"}, listing_id="demand")),
    "talk.proposals": GET((A, BUYER), listing_id="demand"),
    "talk.close_demand": POST((A, BUYER), ok="/demands/{demand_to_close}/proposals", listing_id="demand_to_close"),
    "talk.thread": (GET((perm.REVIEWER, A, BUYER), kind="claim", subject_id="claim"),
                    POST((perm.REVIEWER, A, BUYER), ok="/threads/claim/{claim}", data={"body": "请见附件"},
                         kind="claim", subject_id="claim")),
    "talk.thread_file": GET((perm.REVIEWER, A, BUYER), attachment_id="thread_file"),
    # the seller objected in the world already: once per objector (409)
    "talk.object_to_price": POST(ANY, ok="/notice", data={"reason": "价格明显偏低"}, notice_id="price_notice",
                                 other={SELLER: 409}),
    "talk.decide_price_objection": POST((AUTHOR,), ok="/enquiries/", data={"decision": "dismiss", "reason": "已说明"},
                                        objection_id="price_objection"),
    "talk.sign": POST(NOBODY, notice_id="price_notice", other={BUYER: 400}),  # the notice has not ended yet
    "talk.notifications": GET(ANY),
    "talk.open_notification": GET(NOBODY, notification_id="notification", other={BUYER: "/"}),  # one's own: to its record
    "talk.mark_read": POST(ANY, ok="/notifications"),
    "talk.preferences": (GET(ANY), POST(ANY, ok="/notifications/preferences", data={})),
    "talk.confidential_file": POST((A, SELLER), ok="/listings/{service}", attachment_id="attachment"),
    "talk.grant_files": POST((SELLER,), ok="/enquiries/{enquiry}", enquiry_id="enquiry"),
    # --- listings ---
    "listings.browse": GET(PUBLIC),
    "listings.detail": GET(PUBLIC, listing_id="service"),
    "listings.create": (GET(ANY), POST(OFFERING, ok="/listings/", data={"title": "矩阵检测服务", "price": "100"})),
    "listings.edit": (GET((A, SELLER), listing_id="to_edit"),
                      POST((A, SELLER), ok="/listings/{to_edit}", data={"title": "改过的检测", "price": "120"},
                           listing_id="to_edit")),
    "listings.publish": POST((A, SELLER), ok="/listings/{draft}", listing_id="draft"),
    "listings.withdraw": POST((A, SELLER), ok="/my/listings", listing_id="to_withdraw"),
    "listings.mine": GET(ANY),
    "listings.record_lease": POST((A, SELLER), ok="/listings/{instrument}", data={"amount": "1000", "paid_on": "2024-01-10"},
                                  listing_id="instrument"),
    "listings.moderation": GET((A,)),
    "listings.moderate": POST((A,), ok="/admin/listings", data={"decision": "reject", "note": "虚假宣传"},
                              listing_id="to_moderate"),
    "listings.attach": POST((A, SELLER), ok="/listings/{service}", data=pdf, listing_id="service"),
    "listings.attachment": GET(PUBLIC, attachment_id="attachment"),  # whoever sees the listing
    "listings.delete_attachment": POST((A, SELLER), ok="/listings/{service}", attachment_id="attachment_to_delete"),
    # favourites are anyone's who is logged in; the comparison lives in the session, for everybody
    "favourites.favourites": GET(ANY),
    "favourites.star": POST(ANY, ok="/listings/{service}", listing_id="service"),
    "favourites.unstar": POST(ANY, ok="/favourites", listing_id="service"),
    "favourites.comparison": GET(PUBLIC),
    "favourites.compare_add": POST(PUBLIC, ok="/compare", listing_id="service"),
    "favourites.compare_remove": POST(PUBLIC, ok="/compare", listing_id="service"),
    "favourites.compare_clear": POST(PUBLIC, ok="/compare"),
    # --- orders ---
    "orders.enquire": POST(BUYING, ok="/enquiries/", data={"message": "价格可以商量吗？"}, other=OWN, listing_id="service"),
    "orders.enquiries": GET(ANY),
    "orders.enquiry": GET((SELLER, BUYER), enquiry_id="enquiry"),
    "orders.quote": POST((SELLER,), ok="/enquiries/{enquiry}", data={"amount": "100"}, enquiry_id="enquiry"),
    "orders.accept": POST((BUYER,), ok="/orders/", enquiry_id="quoted_enquiry"),
    "orders.order_service": POST(BUYING, ok="/orders/", other=OWN, listing_id="service"),
    "orders.buy": POST(MARKET + (SELLER, BUYER), ok="/orders/", data={"transfer_mode": "assignment"},
                       other={AUTHOR: 400}, listing_id="achievement"),
    "orders.book": POST(BUYING, ok="/orders/", data={"day": in_days(5), "hour": 9, "hours": 1},
                        other={SELLER: "/bookings"}, listing_id="instrument"),  # the owner: its own use, no order
    "orders.orders": GET(ANY),
    "orders.order": GET(CITY + (SELLER, BUYER), order_id="paid_order"),
    "orders.pay": POST((BUYER,), ok="/orders/{pending_order}", order_id="pending_order"),
    "orders.confirm": POST((BUYER,), ok="/orders/{order_to_confirm}", order_id="order_to_confirm"),
    "orders.refund": POST((A, SELLER), ok="/orders/{paid_order}", data={"reason": "服务未能完成"}, order_id="paid_order"),
    "orders.register_contract": POST((AUTHOR,), ok="/orders/", data={
        "registration_no": "2024370015000123", "contract_type": "transfer", "registered_on": in_days(0)},
        contract_id="contract"),
    "orders.bookings": GET(ANY),
    "orders.complete_booking": POST(NOBODY, booking_id="paid_booking", other={SELLER: 400}),  # not before it ends (issue 17)
    "orders.cancel_booking": POST((SELLER, BUYER), ok="/bookings", booking_id="booking"),
    "search.search": GET(PUBLIC),
    # --- api: bearer tokens, never the session (anonymous: 401) ---
    "accounts.tokens": (GET(ANY), POST(ANY, status=201, data={"name": "矩阵脚本"})),  # the secret, shown once
    "accounts.revoke_token": POST((BUYER,), ok="/account/tokens", token_id="buyer_token"),  # one's own only
    # --- shared instruments (marketplace/instruments): the seller owns the facility, the buyer booked ---
    "instruments.page": GET(PUBLIC, instrument_id="facility"),
    "documents.decision": GET(CITY + (BUYER,), claim_id="claim_on_notice"),  # the claimant and the city
    "instruments.book": POST(MARKET + PARTIES, ok="/instruments/", instrument_id="facility",
                             data={"day": in_days(5), "hour": 9, "hours": 1}),
    "instruments.send_samples": POST(MARKET + (BUYER, AUTHOR), ok="/instruments/samples/", instrument_id="facility",
                                     data={"samples": 2, "description": "两个钢样"}, other=OWN),
    "instruments.join_waitlist": POST(MARKET + PARTIES, ok="/instruments/bookings", instrument_id="facility",
                                      data={"day": in_days(5), "hours": 1}),
    "instruments.mine": GET(ANY),
    "instruments.reset_feed": POST(ANY, ok="/instruments/bookings"),
    "instruments.cancel": POST((BUYER, SELLER), ok="/instruments/bookings", booking_id="facility_booking"),
    "instruments.leave_waitlist": POST((BUYER,), ok="/instruments/bookings", entry_id="waitlist_entry"),
    "instruments.sample": GET(CITY + (BUYER, SELLER), sample_id="sample_order"),
    "instruments.advance_samples": POST((SELLER,), ok="/instruments/samples/{sample_order}", data={"to": "received"},
                                        sample_id="sample_order"),
    "instruments.manage": GET((SELLER,), instrument_id="facility"),
    "instruments.save_settings": POST((SELLER,), ok="/instruments/{facility}/manage",
                                      data={"self_mode": "y", "approval": "instant", "late_rule": "none",
                                            "billing": "booked", "sample_days": 5, "training_hours": 2,
                                            "qualification_months": 12, "hold_hours": 24, "max_hours": 8},
                                      instrument_id="facility"),
    # nobody has that address: the owner is told so beside the field (400); others are refused
    "instruments.qualify": POST(NOBODY, data={"email": "someone@example.com"}, instrument_id="facility",
                                other={SELLER: 400}),
    "instruments.block": POST((SELLER,), ok="/instruments/{facility}/manage",
                              data={"kind": "maintenance", "start": "2030-01-01 08:00", "end": "2030-01-01 18:00",
                                    "reason": "保养"}, instrument_id="facility"),
    "instruments.decide": POST((SELLER,), ok="/instruments/{facility}/manage", data={"decision": "approve"},
                               booking_id="facility_booking"),
    # the booking lies ahead: use cannot be recorded nor a no-show marked yet (400 for the owner)
    "instruments.record_use": POST(NOBODY, data={"used_start": "2020-01-01 08:00", "used_end": "2020-01-01 09:00"},
                                   booking_id="facility_booking", other={SELLER: 400}),
    "instruments.no_show": POST(NOBODY, booking_id="facility_booking", other={SELLER: 400}),
    "instruments.reset_instrument_feed": POST((SELLER,), ok="/instruments/{facility}/manage", instrument_id="facility"),
    "instruments.utilisation": GET(CITY + (SELLER,), instrument_id="facility"),
    "api.openapi": GET(PUBLIC),
    "api.me": API("GET", ANY),
    "api.listing_index": API("GET", ANY),
    "api.listing_detail": API("GET", ANY, listing_id="service"),
    "api.listing_create": API("POST", OFFERING, 201, {"kind": "service", "title": "接口检测", "price": "100"}),
    "api.listing_update": API("PATCH", (A, SELLER), 200, {"title": "接口改过"}, listing_id="to_edit"),
    "api.listing_publish": API("POST", (A, SELLER), 200, listing_id="api_draft"),
    "api.listing_withdraw": API("POST", (A, SELLER), 200, listing_id="api_to_withdraw"),
    "api.order_index": API("GET", ANY),
    "api.order_detail": API("GET", CITY + (SELLER, BUYER), order_id="paid_order"),
    "api.order_create": API("POST", BUYING, 201, {"listing_id": "{service}"}, other=OWN),
    "api.order_pay": API("POST", (BUYER,), 200, order_id="api_pending_order"),
    "api.order_confirm": API("POST", (BUYER,), 200, order_id="api_order_to_confirm"),
    "api.order_refund": API("POST", (A, SELLER), 200, {"reason": "接口退款"}, order_id="api_paid_order"),
    "api.booking_index": API("GET", ANY),
    "api.booking_create": API("POST", BUYING, 201, {"instrument_id": "{instrument}", "start_at": in_days(6) + "T10:00:00",
                                                    "hours": 1}, other={SELLER: 201}),  # the owner: its own use
    "api.instrument_calendar": API("GET", ANY, instrument_id="instrument"),
    "api.contract_register": API("POST", (AUTHOR,), 200, {"registration_no": "2024370015000999",
                                                          "registered_on": in_days(0)}, contract_id="api_contract"),
    "api.facility_booking_index": API("GET", ANY),
    "api.facility_booking_create": API("POST", MARKET + PARTIES, 201,
                                       {"start_at": in_days(7) + "T10:00:00", "hours": 1}, instrument_id="facility"),
    "api.sample_order_index": API("GET", ANY),
    "api.sample_order_create": API("POST", MARKET + (BUYER, AUTHOR), 201, {"samples": 1, "description": "接口样品"},
                                   instrument_id="facility", other=OWN),
    "api.qualification_index": API("GET", ANY),
    "api.calendar_feed": API("GET", ANY),
    "api.programme_pool": API("GET", CITY),
    "api.programme_ip": API("GET", ANY),
    "api.programme_commissioners": API("GET", CITY),
    "api.programme_projects": API("GET", ANY),  # the city sees every project, a member its own
    # --- claims and review ---
    "claims.mine": GET(ANY),
    # members file for their own organisation, the city on anybody's behalf (the organisation's credit code)
    "claims.new": (GET(ANY), POST(CITY + OFFERING, ok="/claims/", query="?kind=B1", data={
        "year": LAST_YEAR, "organization": "{buyer_credit_code}", "project": "矩阵项目", "city_county_joint": "y",
        "requested_amount": "10000"})),
    "claims.detail": GET(CITY + (BUYER,), claim_id="claim"),
    "claims.submit": POST((BUYER,), status=409, claim_id="claim"),  # filed, not drafted: submitted already
    "claims.respond": POST((BUYER,), ok="/claims/{claim_in_evidence}", data={"message": "合同原件已上传"},
                           claim_id="claim_in_evidence"),
    "claims.download": GET(CITY + (BUYER,), file_id="claim_file"),
    "review.queue": GET(MANAGERS),
    "review.detail": GET(CITY, claim_id="claim"),
    "review.approve": POST(MANAGERS, ok="/review/claims/{claim_to_approve}", claim_id="claim_to_approve"),
    "review.reject": POST(MANAGERS, ok="/review/claims/{claim_to_reject}", data={"reason": "材料不全"},
                          claim_id="claim_to_reject"),
    "review.request_evidence": POST(MANAGERS, ok="/review/claims/{claim_for_evidence}",
                                    data={"message": "请补充合同原件"}, claim_id="claim_for_evidence"),
    "review.decide_objection": POST(MANAGERS, ok="/review/claims/{claim_on_notice}",
                                    data={"decision": "dismiss", "reason": "异议不成立"},
                                    claim_id="claim_on_notice", objection_id="objection"),
    "review.ledger": GET(CITY, ref="ORD-1"),
    "review.payouts": GET((perm.FINANCE, A)),
    "review.pay": POST((perm.FINANCE,), status=409, claim_id="claim_on_notice"),  # its notice has not ended
    "review.set_budget": POST((perm.FINANCE, A), ok="/review/payouts",
                              data={"year": "2024", "clause": "B1", "amount": "1000000"}),
    "review.set_provincial_reward": POST((perm.FINANCE, A), ok="/review/payouts", data={
        "organization": "{seller_org}", "year": LAST_YEAR, "amount": "5000"}),
    "review.notice": GET(PUBLIC),
    "review.object_to": POST(PUBLIC, ok="/notice", data={"name": "张三", "contact": "zhang@example.com",
                                                         "reason": "该项目并未完成"}, claim_id="claim_on_notice"),
    # --- dashboards and exports ---
    "dashboards.overview": GET(CITY),
    "dashboards.indicator": GET(CITY),
    "dashboards.edit_county_rd": (GET(MANAGERS), POST(MANAGERS, ok="/dashboards/indicator", data={
        "year": "2024", "county": "东昌府区", "rd_spending": "1000000", "gdp": "500000000"})),
    "dashboards.exports": GET(CITY),
    "dashboards.export_ledger": GET(CITY),
    "dashboards.export_awards": GET(CITY),
    "dashboards.claim_notice": GET(CITY, claim_id="claim_on_notice"),
    # --- programmes ---
    "programmes.index": GET(ANY),
    "programmes.hte_figures": (GET((perm.ENTERPRISE, BUYER)),
                               POST((perm.ENTERPRISE, BUYER), status=400, data={"revenue_3y": "1.234"})),
    "programmes.pool": GET(CITY),
    "programmes.pool_entry": (GET(CITY + (BUYER,), organization_id="buyer_org"),
                              POST(MANAGERS, status=400, data={"decision": ""}, organization_id="buyer_org")),
    "programmes.ip_search": GET(ANY),
    "programmes.ip_new": (GET(MARKET + PARTIES + MANAGERS), POST(MARKET + PARTIES + MANAGERS, status=400,
                                                                  data={"number": ""})),
    "programmes.ip_link": POST((AUTHOR,) + MANAGERS, ok="/programmes/ip", data={"listing_id": "{achievement}"},
                               ip_id="ip_right"),
    "programmes.zero_patent": GET(CITY),
    "programmes.profile": POST(MANAGERS, ok="/programmes/ip/zero-patent", data={"above_scale_industrial": "y",
                                                                               "industry": ""},
                               organization_id="buyer_org"),
    "programmes.commissioners": GET(CITY),
    "programmes.commissioner_new": (GET(MANAGERS), POST(MANAGERS, status=400, data={"name": ""})),
    "programmes.base_new": (GET(MANAGERS), POST(MANAGERS, status=400, data={"name": ""})),
    "programmes.commissioner_project_new": (GET(MANAGERS), POST(MANAGERS, status=400, data={"name": ""})),
    "programmes.selection_new": (GET(MANAGERS), POST(MANAGERS, status=400, data={"year": ""})),
    "programmes.selection_claim": POST(MANAGERS, ok="/programmes/commissioners", selection_id="selection"),
    "programmes.project_list": GET(ANY),
    "programmes.project_new": (GET((perm.ENTERPRISE, perm.UNIVERSITY, BUYER, AUTHOR)),
                               POST((perm.ENTERPRISE, perm.UNIVERSITY, BUYER, AUTHOR), status=400, data={"title": ""})),
    "programmes.project": GET(CITY + (BUYER,), project_id="project"),
    "programmes.project_step": POST(MANAGERS, ok="/programmes/projects/{project_to_review}",
                                    data={"decision": "reserve", "note": "入库"}, project_id="project_to_review",
                                    step="review"),
    "programmes.targets_page": GET(CITY),
    "accounts.my_data": GET(ANY),
    # --- vouchers (add below this line) ---
    # --- innovation vouchers (marketplace/vouchers) ---
    "vouchers.mine": (GET(ANY), POST((perm.ENTERPRISE, BUYER), ok="/vouchers",
                                     data={"year": str(beijing_today().year), "planned": "50000", "purpose": "检测费用",
                                           "mode": "exchange"})),
    "vouchers.resubmit": POST(NOBODY, data={"purpose": "补充材料"}, application_id="voucher_application",
                              other={BUYER: 409}),  # nobody asked for material yet
    "vouchers.review": GET(MANAGERS),
    "vouchers.decide": POST(MANAGERS, ok="/vouchers/review", data={"decision": "approve", "amount": "40000"},
                            application_id="voucher_application"),
    "vouchers.decide_admission": POST(MANAGERS, ok="/vouchers/review", data={"decision": "admit", "note": "符合条件"},
                                      admission_id="admission"),
    "vouchers.settings": POST(MANAGERS, ok="/vouchers/review",
                              data={"key": "use_months", "value": "12", "effective_from": "2030-01-01"}),
    "vouchers.provider": (GET(ANY), POST((perm.PROVIDER, perm.AGENCY, SELLER), ok="/vouchers/provider",
                                         data={"scope": "检测服务", "qualifications": "CMA"})),
    "vouchers.batches": GET(CITY),
    "vouchers.pay_batch": POST((perm.FINANCE, A), ok="/vouchers/batches", batch_id="batch"),
    "vouchers.province_owed_csv": GET(CITY),
    # the world's paid order is an ordinary (voucher-free) service: the buyer confirms it, nothing to
    # deliver or accept here (409 for its parties); voucher orders: tests/vouchers
    "vouchers.deliver": POST(NOBODY, data={"note": "报告见附件"}, order_id="paid_order", other={SELLER: 409}),
    "vouchers.accept": POST(NOBODY, order_id="paid_order", other={BUYER: 409}),
    "vouchers.dispute": POST(NOBODY, data={"reason": "报告缺页"}, order_id="paid_order", other={BUYER: 409}),
    "vouchers.rate": POST(NOBODY, data={"rating": "5"}, order_id="paid_order", other={BUYER: 409}),
    "vouchers.report": GET(NOBODY, order_id="paid_order"),  # no report before delivery (404 for all)
    "api.voucher_index": API("GET", ANY),
    "api.voucher_application_index": API("GET", ANY),
    "api.voucher_application_create": API("POST", (perm.ENTERPRISE, BUYER), 201,
                                          {"year": beijing_today().year, "planned": "50000", "purpose": "检测费用"}),
    "api.order_redemption": API("GET", CITY + (SELLER, BUYER), order_id="paid_order"),
    "api.order_deliver": API("POST", NOBODY, json={"note": "报告见附件"}, order_id="api_paid_order", other={SELLER: 409}),
    "api.order_accept": API("POST", NOBODY, order_id="api_paid_order", other={BUYER: 409}),
    "api.order_dispute": API("POST", NOBODY, json={"reason": "报告缺页"}, order_id="api_paid_order", other={BUYER: 409}),
    # --- documents (add below this line) ---
    "documents.receipt": GET(CITY + (SELLER, BUYER), order_id="paid_order"),  # the order's parties and the city
    "documents.contract": GET(CITY + (AUTHOR, BUYER), contract_id="contract"),  # the contract's parties and the city
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

# endpoint -> why its access is not a matter of who is logged in, and the test that covers it
ELSEWHERE = {
    "static": "assets",
    "accounts.reset_password": "a token in a link, not a role: tests/accounts",
    "accounts.accept_invitation": "a token in a link, not a role: tests/accounts",
    "accounts.confirm_registration": "a token in a link: tests/security/test_login_throttle.py, tests/accounts",
    "review.confirm_objection": "a signed link, not a role: tests/review/test_objections.py",
    "health.readyz": "public; 200 or 503 by the components, not the role: tests/ops/test_health.py",
    "health.metrics": "loopback or METRICS_TOKEN, not a role: tests/ops/test_metrics.py",
    "payments.webhook": "a signature, not a session: tests/payments/test_app_flows.py",
    "accounts.close_account": "password-confirmed; it ends the walker's account: tests/accounts/test_mydata.py",
    "instruments.ical_feed": "a secret address, not a role: tests/instruments/test_instruments.py",
    "instruments.book_training": "an instrument that needs training: tests/instruments/test_instruments.py",
}


def cases(endpoint: str) -> tuple[Case, ...]:
    entry = ACCESS[endpoint]
    return entry if isinstance(entry, tuple) else (entry,)


def _methods(app) -> dict[str, set[str]]:
    methods: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        methods.setdefault(rule.endpoint, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return methods


def test_every_route_and_method_is_in_the_matrix(app):
    methods = _methods(app)
    missing = set(methods) - set(ACCESS) - set(ELSEWHERE)
    assert not missing, f"add these endpoints to ACCESS (or, with the test that covers them, ELSEWHERE): {sorted(missing)}"
    assert not set(ACCESS) & set(ELSEWHERE)
    assert not (set(ACCESS) | set(ELSEWHERE)) - set(methods), "endpoints that no longer exist"
    for endpoint in ACCESS:
        walked = [c.method for c in cases(endpoint)]
        assert sorted(walked) == sorted(methods[endpoint]), f"{endpoint}: walk each of {sorted(methods[endpoint])} once"


def test_every_allowed_post_says_where_it_lands():
    for endpoint in ACCESS:
        for case in cases(endpoint):
            if case.method != "GET" and not case.api and case.who != NOBODY and endpoint not in WALKED_APART:
                assert case.ok or case.status, f"{endpoint}: say where an allowed {case.method} lands (ok=) or its status"


def test_the_matrix_walks_nearly_every_route():
    # walked: someone succeeds, or someone is answered otherwise than refused (``other``)
    walked = [e for e in ACCESS if any(c.who != NOBODY or c.other for c in cases(e))]
    assert len(walked) >= len(ACCESS) - 2 and len(ELSEWHERE) <= 11  # tokens, signatures, loopback, one training
    posts = [c for e in ACCESS for c in cases(e) if c.method != "GET"]
    assert len(posts) >= 60


WALKED_APART = ("accounts.logout", "accounts.set_language")


# --- the world the walk acts on: objects of organisations no walking user belongs to ------------

@pytest.fixture()
def world(app, factory, fresh_gateway):
    """The objects the walk acts on, one for each action that consumes one, and the parties'
    users (under ``users``)."""
    from marketplace.accounts import services as api_tokens
    from marketplace.claims import budgets as claims_budgets
    from marketplace.core.timeutil import utcnow
    from marketplace.listings import services as listings
    from marketplace.listings.models import ListingAttachment
    from marketplace.orders import services as orders
    from marketplace.orders.models import TechContract
    from marketplace.programmes import common, ipdb, projects
    from marketplace.review import services as review

    seller = factory.provider(name="第三方检测中心")
    author = factory.university()
    buyer = factory.enterprise()
    objector = factory.enterprise()
    reviewer, finance = factory.user("reviewer"), factory.user("finance")
    last_year = utcnow().year - 1

    def listing(user, kind="service", **fields):
        return factory.listing(user, kind, **fields).id

    w = {"unverified_org": factory.organization(verified=False).id, "buyer_org": buyer.organization.id,
         "seller_org": seller.organization.id, "buyer_credit_code": buyer.organization.credit_code,
         "last_year": last_year}
    w["service"] = listing(seller, price_fen=100_000)
    w["instrument"] = listing(seller, "instrument", financing_lease=True, on_sharing_platform=True)
    w["achievement"] = listing(author, "achievement", transfer_modes=["assignment"], price_fen=100_000)
    for key in ("to_withdraw", "api_to_withdraw", "to_moderate", "to_edit"):
        w[key] = listing(seller, title=key)
    for key in ("draft", "api_draft"):
        w[key] = factory.listing(seller, publish=False, title=key).id
    w["enquiry"] = orders.enquire(buyer, w["service"], "能否加急？").id
    w["quoted_enquiry"] = orders.quote(seller, orders.enquire(buyer, w["service"], "报价？").id, 90_000).id
    for key in ("pending_order", "api_pending_order"):
        w[key] = factory.order(buyer, listings.get_listing(buyer, w["service"])).id
    for key in ("paid_order", "api_paid_order", "order_to_confirm", "api_order_to_confirm"):
        w[key] = factory.paid(buyer, factory.order(buyer, listings.get_listing(buyer, w["service"]))).id
    instrument = listings.get_listing(buyer, w["instrument"])
    w["booking"] = factory.booking(buyer, instrument, days_ahead=3, hour=10).id
    paid_booking = factory.booking(buyer, instrument, days_ahead=3, hour=11)
    factory.paid(buyer, paid_booking.order)
    w["paid_booking"] = paid_booking.id
    for key in ("contract", "api_contract"):
        order = factory.order(buyer, listings.get_listing(buyer, w["achievement"]), transfer_mode="assignment")
        w[key] = db.session.scalar(select(TechContract.id).where(TechContract.order_id == order.id))
    for key in ("attachment", "attachment_to_delete"):
        listings.attach_files(seller, w["service"], [(f"{key}.pdf", b"%PDF-1.4 matrix")])
        w[key] = db.session.scalar(select(func.max(ListingAttachment.id)))
    w["buyer_token"] = api_tokens.create_token(buyer, "买方脚本")[0].id

    def claim(project, files=()):
        return factory.claim(buyer, project=project, year=last_year, files=files)

    w["claim"] = claim("甲", [("合同.pdf", b"%PDF-1.4 claim")]).id
    from marketplace.claims.models import ClaimFile

    w["claim_file"] = db.session.scalar(select(ClaimFile.id).where(ClaimFile.claim_id == w["claim"]))
    w["claim_to_approve"], w["claim_to_reject"], w["claim_for_evidence"] = (claim(p).id for p in "乙丙丁")
    w["claim_in_evidence"] = claim("己").id
    review.request_evidence(reviewer, w["claim_in_evidence"], "请补充")
    claims_budgets.set_budget(finance, last_year, "B1", 100_000_000)
    w["claim_on_notice"] = claim("庚").id
    review.approve(reviewer, w["claim_on_notice"])
    w["objection"] = review.object_to(objector, w["claim_on_notice"], "李四", "li@example.com", "该项目并未按期完成").id
    industry = next(iter(common.industries()))
    w["ip_right"] = ipdb.register_ip(author, author.organization.id, {
        "kind": "invention_patent", "number": "ZL202410000001.X", "title": "矩阵专利", "industry": industry}).id
    project_data = {"title": "矩阵项目", "industry": industry, "bottleneck": "卡脖子", "requested_city": "100000"}
    w["project"] = projects.propose(buyer, buyer.organization.id, dict(project_data)).id
    w["project_to_review"] = projects.propose(buyer, buyer.organization.id, dict(project_data, title="待审")).id
    from marketplace.programmes import commissioners as comm

    institute = factory.organization(kind="institute", name="农科院")
    commissioner = comm.add_commissioner(reviewer, {"name": "王建农", "kind": "rural", "organization_id": institute.id})
    w["selection"] = comm.select_for_award(reviewer, last_year, "advanced", commissioner.id, f"{last_year}-11-28").id
    from marketplace.instruments import services as instruments

    facility = factory.listing(seller, "instrument", title="共享电镜")
    instruments.save_settings(seller, facility.id, self_mode=True, sample_mode=True, sample_price_fen=30_000,
                              approval="manager")
    w["facility"] = facility.id
    start = utcnow().replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=3)
    [held] = instruments.book(buyer, facility.id, start.replace(hour=14), 1)
    w["facility_booking"] = held.id
    w["sample_order"] = instruments.send_samples(buyer, facility.id, 1, "一个样品").id
    w["waitlist_entry"] = instruments.join_waitlist(buyer, facility.id, start.date(), 1).id
    from marketplace.conversations import negotiation, pricenotice, threads
    from marketplace.conversations.models import ThreadAttachment
    from marketplace.notifications.models import Notification

    def quoted(question):
        return orders.quote(seller, orders.enquire(buyer, w["service"], question).id, 90_000)

    w["offer_enquiry"] = quoted("可以再谈吗？").id
    w["open_version"] = negotiation.open_version(quoted("报个价？")).id
    declined = quoted("贵不贵？")
    w["decline_enquiry"], w["decline_version"] = declined.id, negotiation.open_version(declined).id
    w["demand"] = listing(buyer, "demand", title="矩阵需求")
    w["demand_to_close"] = listing(buyer, "demand", title="待关闭需求")
    proposal = negotiation.respond_to_demand(author, w["demand"], "方案", 200_000)
    w["price_notice"] = negotiation.accept(buyer, negotiation.open_version(proposal).id).id
    w["price_objection"] = pricenotice.object_to(seller, w["price_notice"], "价格偏低，请说明").id
    threads.post(buyer, "claim", w["claim"], "补充材料见附件", [("材料.pdf", b"%PDF-1.4 thread")])
    w["thread_file"] = db.session.scalars(select(ThreadAttachment)).one().id
    w["notification"] = db.session.scalars(select(Notification).where(Notification.user_id == buyer.id)).first().id
    from marketplace.vouchers import models as vm
    from marketplace.vouchers import services as vouchers

    w["voucher_application"] = vouchers.apply(buyer, utcnow().year, 5_000_000, "检测费用").id
    admission = vm.ProviderAdmission(organization_id=author.organization.id, applicant_id=author.id,
                                     scope="检测", status="pending")
    batch = vm.RedemptionBatch(provider_org_id=seller.organization.id, month="2020-01")
    db.session.add_all([admission, batch])
    db.session.flush()
    w["admission"], w["batch"] = admission.id, batch.id
    from marketplace.reforms import services as reforms

    draft = reforms.create_draft(finance, "矩阵测算")
    reforms.edit_value(finance, draft, "a3.city_share", "20%", "测算")
    w["reform_draft"], w["ledger_year"] = draft.id, beijing_today().year
    db.session.commit()
    w["users"] = {SELLER: seller, BUYER: buyer, AUTHOR: author}
    return w


def _fill(value, world):
    if isinstance(value, str) and "{" in value:
        return value.format(**world)
    return value


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

        return url_for(endpoint, **args) + case.query


def _rows() -> dict:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _allowed(case: Case, walker) -> bool:
    if case.who == PUBLIC:
        return True
    if walker is None:
        return False
    return case.who == ANY or walker in case.who


def _request(client, path, case, world, token):
    data = case.data() if callable(case.data) else case.data
    if case.api:
        body = {k: _fill(v, world) for k, v in (data or {}).items()}
        for key in ("listing_id", "instrument_id"):
            if isinstance(body.get(key), str):
                body[key] = int(body[key])
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return client.open(path, method=case.method, json=body if case.method != "GET" else None, headers=headers)
    form = {k: _fill(v, world) for k, v in (data or {}).items()}
    return client.open(path, method=case.method, data=form)


@pytest.mark.parametrize("walker", WALKERS, ids=[w or "anonymous" for w in WALKERS])
def test_route_matrix(app, client, factory, world, walker):
    from marketplace.accounts import services as api_tokens

    if walker in PARTIES:
        user = world["users"][walker]
    else:
        user = factory.user(walker) if walker is not None else None
    token = api_tokens.create_token(user, "walk")[1] if user is not None else None
    if user is not None:
        login(client, user)
    wrong = []
    for endpoint in ACCESS:
        for case in cases(endpoint):
            path = _path(app, endpoint, case, world)
            db.session.expire_all()
            before = _rows()
            response = _request(client, path, case, world, token)
            location = response.headers.get("Location")
            where = (walker, endpoint, case.method, response.status_code, location)
            if endpoint in WALKED_APART:
                client.post("/lang/zh")
                if user is not None:
                    login(client, user)  # stay logged in for the rest of the walk
                continue
            if walker in case.other:
                expected = case.other[walker]
                if isinstance(expected, int):
                    ok = response.status_code == expected
                else:
                    ok = response.status_code == 302 and (location or "").startswith(_fill(expected, world))
            elif _allowed(case, walker):
                if case.ok is not None:
                    ok = response.status_code == 302 and (location or "").startswith(_fill(case.ok, world))
                else:
                    ok = response.status_code == (case.status or 200)
            else:
                if walker is None:
                    ok = (response.status_code == 401 if case.api else
                          response.status_code == 302 and "/login" in (location or ""))
                else:
                    ok = response.status_code in (403, 404)
                db.session.expire_all()
                if _rows() != before:
                    ok, where = False, where + ("wrote on a refusal",)
            if not ok:
                wrong.append(where)
    assert not wrong, "\n".join(map(str, wrong))
