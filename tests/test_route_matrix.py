"""Every route, every role, anonymous included: nobody succeeds where they may not.

``ACCESS`` names who may use each endpoint. A route missing from it fails the test, so a
new route cannot be added without deciding who may use it.
"""
import pytest

from marketplace import permissions as perm
from tests.factories import login

PUBLIC = "public"  # anybody, logged in or not
ANY = "any"  # any logged-in user
ALL_ROLES = perm.ROLES

# endpoint -> (method, who may, path arguments builder)
ACCESS = {
    "static": None,  # assets
    "home.index": ("GET", PUBLIC),
    "home.dashboard": ("GET", ANY),
    "accounts.login": ("GET", PUBLIC),
    "accounts.logout": ("POST", PUBLIC),
    "accounts.register": ("GET", PUBLIC),
    "accounts.forgot_password": ("GET", PUBLIC),
    "accounts.reset_password": None,  # token routes: tested in tests/accounts
    "accounts.accept_invitation": None,
    "accounts.confirm_registration": None,  # token route: tests/accounts
    "accounts.registration_sent": ("GET", PUBLIC),
    "accounts.change_password": ("GET", ANY),
    "accounts.set_language": ("POST", PUBLIC),
    "accounts.members": ("GET", ANY),
    "accounts.switch_organization": None,  # own memberships only: tests/accounts
    "admin.organizations": ("GET", perm.CITY_ROLES),
    "admin.verify": ("POST", (perm.ADMIN,)),
    "admin.audit": ("GET", (perm.ADMIN,)),
    "admin.mail": ("GET", (perm.ADMIN,)),
    "listings.browse": ("GET", PUBLIC),
    "listings.detail": None,  # public for published listings only: tests/trade
    "listings.create": ("GET", ANY),  # the form; saving is checked by the service (tests/trade)
    "listings.edit": None,  # owner only: tests/trade
    "listings.publish": None,
    "listings.withdraw": None,
    "listings.mine": ("GET", ANY),
    "listings.record_lease": None,
    "listings.moderation": ("GET", (perm.ADMIN,)),
    "listings.moderate": None,
    "listings.attach": None,  # owner only: tests/trade/test_attachments.py
    "listings.attachment": None,  # whoever sees the listing: tests/trade/test_attachments.py
    "listings.delete_attachment": None,  # owner only: tests/trade/test_attachments.py
    "orders.enquire": None,  # parties only: tests/trade
    "orders.enquiries": ("GET", ANY),
    "orders.enquiry": None,
    "orders.quote": None,
    "orders.accept": None,
    "orders.order_service": None,
    "orders.buy": None,
    "orders.book": None,
    "orders.orders": ("GET", ANY),
    "orders.order": None,
    "orders.pay": None,
    "orders.confirm": None,
    "orders.refund": None,
    "orders.register_contract": None,
    "orders.bookings": ("GET", ANY),
    "orders.complete_booking": None,
    "orders.cancel_booking": None,
    "search.search": ("GET", PUBLIC),
    "payments.webhook": None,  # signature, not session: tests/trade
    # --- api (add API endpoints below this line) ---
    "api_tokens.tokens": ("GET", ANY),  # any user may hold tokens; they act with that user's permissions
    "api_tokens.revoke": None,  # own tokens only (others' are 404): tests/api/test_tokens.py
    "api.openapi": ("GET", PUBLIC),
    "api.me": None,  # bearer auth, never the session: tests/api (anonymous -> 401 for every /api/v1 route)
    "api.listing_index": None,  # bearer auth: tests/api
    "api.listing_detail": None,  # bearer auth: tests/api
    "api.listing_create": None,  # bearer auth: tests/api
    "api.listing_update": None,  # bearer auth: tests/api
    "api.listing_publish": None,  # bearer auth: tests/api
    "api.listing_withdraw": None,  # bearer auth: tests/api
    "api.order_index": None,  # bearer auth: tests/api
    "api.order_detail": None,  # bearer auth: tests/api
    "api.order_create": None,  # bearer auth: tests/api
    "api.order_pay": None,  # bearer auth: tests/api
    "api.order_confirm": None,  # bearer auth: tests/api
    "api.order_refund": None,  # bearer auth: tests/api
    "api.booking_index": None,  # bearer auth: tests/api
    "api.booking_create": None,  # bearer auth: tests/api
    "api.instrument_calendar": None,  # bearer auth: tests/api
    "api.contract_register": None,  # bearer auth: tests/api
    "api.programme_pool": None,  # bearer auth: tests/api/test_programmes_api.py
    "api.programme_ip": None,  # bearer auth: tests/api/test_programmes_api.py
    "api.programme_commissioners": None,  # bearer auth: tests/api/test_programmes_api.py
    "api.programme_projects": None,  # bearer auth: tests/api/test_programmes_api.py
    # --- claims and review (add below this line) ---
    "review.set_provincial_reward": None,  # city finance and admin: tests/review/test_provincial_reward.py
    "claims.mine": ("GET", ANY),
    "claims.new": ("GET", ANY),  # the forms; filing is checked by the service (tests/claims/test_filing.py)
    "claims.detail": None,  # the beneficiary's members and the city: tests/claims
    "claims.submit": None,  # the beneficiary's verified members: tests/claims/test_drafting.py
    "claims.respond": None,  # tests/claims/test_filing.py
    "claims.download": None,  # applicant and city only: tests/claims/test_filing.py
    "review.queue": ("GET", (perm.REVIEWER, perm.ADMIN)),
    "review.detail": None,  # the city: tests/review
    "review.approve": None,  # reviewer and admin only, every other role 403: tests/review
    "review.reject": None,
    "review.request_evidence": None,
    "review.ledger": ("GET", perm.CITY_ROLES),
    "review.payouts": ("GET", (perm.FINANCE, perm.ADMIN)),
    "review.pay": None,  # finance only, after the notice: tests/review
    "review.set_budget": None,  # finance and admin: tests/review
    "review.notice": ("GET", PUBLIC),
    "review.object_to": None,  # public, validated: tests/review
    "review.confirm_objection": None,  # token route: tests/review/test_objections.py
    "review.decide_objection": None,  # reviewer and admin only: tests/review/test_objections.py
    # --- dashboards and exports (add below this line) ---
    "dashboards.overview": ("GET", perm.CITY_ROLES),
    "dashboards.indicator": ("GET", perm.CITY_ROLES),
    "dashboards.edit_county_rd": ("GET", (perm.REVIEWER, perm.ADMIN)),  # the POST: tests/dashboards
    "dashboards.exports": ("GET", perm.CITY_ROLES),
    "dashboards.export_ledger": ("GET", perm.CITY_ROLES),
    "dashboards.export_awards": ("GET", perm.CITY_ROLES),
    "dashboards.claim_notice": None,  # needs a claim: tests/dashboards (403/404/login there)
    # --- programmes (add below this line) ---
    "programmes.index": ("GET", ANY),
    "programmes.hte_figures": ("GET", (perm.ENTERPRISE,)),  # enterprises enter their own figures
    "programmes.pool": ("GET", perm.CITY_ROLES),
    "programmes.pool_entry": ("GET", perm.CITY_ROLES),  # members of the organisation too; the POST: tests/programmes
    "programmes.ip_search": ("GET", ANY),
    "programmes.ip_new": ("GET", (perm.ENTERPRISE, perm.UNIVERSITY, perm.PROVIDER, perm.AGENCY, perm.REVIEWER,
                                  perm.ADMIN)),
    "programmes.ip_link": None,  # holder's members or the city: tests/programmes/test_ipdb.py
    "programmes.zero_patent": ("GET", perm.CITY_ROLES),
    "programmes.profile": None,  # city managers: tests/programmes/test_ipdb.py
    "programmes.commissioners": ("GET", perm.CITY_ROLES),
    "programmes.commissioner_new": ("GET", (perm.REVIEWER, perm.ADMIN)),
    "programmes.base_new": ("GET", (perm.REVIEWER, perm.ADMIN)),
    "programmes.commissioner_project_new": ("GET", (perm.REVIEWER, perm.ADMIN)),
    "programmes.selection_new": ("GET", (perm.REVIEWER, perm.ADMIN)),
    "programmes.selection_claim": None,  # needs a selection: tests/programmes/test_commissioners.py
    "programmes.project_list": ("GET", ANY),  # the city sees all projects, a member its own
    "programmes.project_new": ("GET", (perm.ENTERPRISE, perm.UNIVERSITY)),
    "programmes.project": None,  # needs a project: tests/programmes/test_projects.py
    "programmes.project_step": None,  # needs a project: tests/programmes/test_projects.py
    "programmes.targets_page": ("GET", perm.CITY_ROLES),
    "programmes.my_data": ("GET", ANY),
    "programmes.close_account": None,  # password-confirmed: tests/programmes/test_mydata.py
    # --- operations (add below this line) ---
    "health.healthz": ("GET", PUBLIC),
    "health.readyz": ("GET", PUBLIC),
    "health.metrics": ("GET", PUBLIC),  # loopback or METRICS_TOKEN, not roles: tests/ops/test_metrics.py
    "ops.index": ("GET", (perm.ADMIN,)),
    "ops.verify_ledger": ("POST", (perm.ADMIN,)),
}


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - set(ACCESS)
    assert not missing, f"add these endpoints to ACCESS: {sorted(missing)}"


def _path(app, endpoint, target):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    args = {name: target.id for name in rule.arguments if name != "kind"}
    if "kind" in rule.arguments:
        args["kind"] = "service"
    with app.test_request_context():
        from flask import url_for

        return url_for(endpoint, **args)


@pytest.mark.parametrize("role", (None,) + ALL_ROLES)
def test_role_route_matrix(app, client, factory, role):
    target = factory.organization(kind="enterprise", verified=False)
    if role is not None:
        login(client, factory.user(role))
    for endpoint, spec in ACCESS.items():
        if spec is None:
            continue
        method, who = spec
        path = _path(app, endpoint, target)
        response = client.open(path, method=method)
        allowed = who == PUBLIC or (role is not None and (who == ANY or role in who))
        if endpoint == "accounts.logout" and role is not None:
            login(client, factory.user(role))  # stay logged in for the rest of the walk
        if allowed:
            assert response.status_code in (200, 302), (role, endpoint, response.status_code)
            if role is not None and response.status_code == 302:
                assert "/login" not in response.headers["Location"], (role, endpoint)
        elif role is None:
            assert response.status_code in (302, 401), (role, endpoint, response.status_code)
            assert "/login" in response.headers.get("Location", "/login"), (role, endpoint)
        else:
            assert response.status_code == 403, (role, endpoint, response.status_code)
