"""API tokens: shown once, stored as a hash, revoked for good; bearer auth only."""
import hashlib
import re

from sqlalchemy import func, select

from marketplace.accounts.models import ApiToken
from marketplace.extensions import db
from tests.api.conftest import bearer
from tests.factories import login

TOKEN = re.compile(r"lcm_[A-Za-z0-9_-]{20,}")


def _create(client, name="ERP sync"):
    response = client.post("/account/tokens", data={"name": name})
    assert response.status_code == 201, response.data[:300]
    return TOKEN.search(response.get_data(as_text=True)).group(0)


def test_token_lifecycle_secret_shown_once_hash_stored_revoke_refuses(client, enterprise):
    login(client, enterprise)
    assert client.get("/account/tokens").status_code == 200
    secret = _create(client)
    token = db.session.scalars(select(ApiToken)).one()
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:12] and token.name == "ERP sync" and token.user_id == enterprise.id
    assert secret not in {str(v) for v in (token.prefix, token.secret_hash, token.name)}
    # Listed by its prefix, never again in full.
    page = client.get("/account/tokens").get_data(as_text=True)
    assert token.prefix in page and secret not in page
    assert token.last_used_at is None

    client.post("/logout")  # the API does not need (or read) the session
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json["user"]["id"] == enterprise.id
    assert db.session.get(ApiToken, token.id).last_used_at is not None

    login(client, enterprise)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401 and "error" in refused.json
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_blank_name_creates_nothing(client, enterprise):
    login(client, enterprise)
    response = client.post("/account/tokens", data={"name": "   "})
    assert response.status_code == 400 and not TOKEN.search(response.get_data(as_text=True))
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_nobody_revokes_another_users_token(client, factory, enterprise):
    secret = _create_for(client, enterprise)
    token = db.session.scalars(select(ApiToken)).one()
    client.post("/logout")
    login(client, factory.user("enterprise"))
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert db.session.get(ApiToken, token.id).revoked_at is None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def _create_for(client, user):
    login(client, user)
    return _create(client)


def test_only_a_valid_bearer_token_authenticates(client, enterprise):
    headers = bearer(enterprise)
    secret = headers["Authorization"].split()[1]
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers={"Authorization": f"bearer {secret}"}).status_code == 200
    for bad in ("", "Bearer", f"Basic {secret}", f"Token {secret}", "Bearer lcm_not-a-real-token",
                f"Bearer {secret}x", f"Bearer {secret[:-1]}"):
        response = client.get("/api/v1/me", headers={"Authorization": bad} if bad else {})
        assert response.status_code == 401, bad
        assert response.json["error"]


def test_a_session_cookie_is_not_api_authentication(client, enterprise):
    login(client, enterprise)
    assert client.get("/api/v1/me").status_code == 401
    assert client.post("/api/v1/listings", json={"kind": "demand", "title": "x"}).status_code == 401


def test_a_deactivated_user_s_token_stops_working(client, enterprise):
    headers = bearer(enterprise)
    enterprise.active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_the_api_needs_no_csrf_token_but_the_token_page_does(app, client, enterprise):
    headers = bearer(enterprise)
    login(client, enterprise)  # a session cookie is there, as in a browser, and changes nothing
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        created = client.post("/api/v1/listings", headers=headers,
                              json={"kind": "demand", "title": "寻求轴承热处理技术"})
        assert created.status_code == 201, created.json
        assert client.post("/account/tokens", data={"name": "no csrf"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 1  # only the fixture's


def test_market_roles_see_the_api_tokens_link_at_home(client, enterprise, factory):
    login(client, enterprise)
    assert "/account/tokens" in client.get("/home").get_data(as_text=True)
    client.post("/logout")
    login(client, factory.user("finance"))
    assert "/account/tokens" not in client.get("/home").get_data(as_text=True)


def test_anonymous_calls_to_every_api_endpoint_get_401(app, client, provider):
    """Route x anonymous: every /api/v1 rule and method except the document answers 401."""
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.openapi":
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = re.sub(rf"<(int:)?{arg}>", "1", path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={} if method in ("POST", "PATCH") else None)
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.is_json and response.json["error"]
            checked += 1
    assert checked == 34  # 21, the instruments' 6 (issue 20) and the vouchers' 7 (issue 17)
    assert client.get("/api/v1/openapi.json").status_code == 200
