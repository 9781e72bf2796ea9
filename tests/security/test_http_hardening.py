"""The HTTP surface: upload limit, cookie flags, password hashing, security headers on every
page, and no open redirect through ``?next=``."""
from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.routing.converters import NumberConverter

from marketplace import create_app
from marketplace.accounts import credit_code
from marketplace.accounts.models import User
from marketplace.extensions import db
from tests.factories import PASSWORD, login

# --- request size ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/register", "/listings/new/service", "/payments/webhook",
                                  "/listings/1/enquire"])
def test_an_oversized_post_is_refused_with_413_and_writes_nothing(app, client, factory, path):
    login(client, factory.user("provider"))
    before = db.session.scalar(select(func.count()).select_from(User))
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit and limit <= 50 * 1024 * 1024
    body = b"title=" + b"x" * (limit + 1)
    response = client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413, (path, response.status_code)
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_a_post_just_under_the_limit_is_not_refused_for_its_size(app, client, factory):
    login(client, factory.user("provider"))
    body = b"title=" + b"x" * (app.config["MAX_CONTENT_LENGTH"] - 100)
    response = client.post("/listings/new/service", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400  # the form's own error (title too long), not 413


# --- cookies -------------------------------------------------------------------------------

def _cookies(response) -> dict[str, str]:
    """name -> the raw Set-Cookie header, attributes included."""
    return {h.split("=", 1)[0].strip(): h for h in response.headers.getlist("Set-Cookie")}


def _attrs(header: str) -> set[str]:
    """The cookie's attributes, lower-cased: {"httponly", "secure", "samesite=lax", "path=/", ...}."""
    return {part.strip().lower() for part in header.split(";")[1:] if part.strip()}


def test_session_and_remember_cookies_are_httponly_and_samesite_lax(client, factory):
    user = factory.user("enterprise")
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    cookies = _cookies(response)
    assert {"session", "remember_token"} <= set(cookies), cookies
    for name in ("session", "remember_token"):
        attrs = _attrs(cookies[name])
        assert "httponly" in attrs, cookies[name]
        assert "secure" not in attrs  # plain http on a developer machine still works
    assert "samesite=lax" in _attrs(cookies["session"]), cookies["session"]


def test_production_cookies_are_secure_too(database_url, tmp_path, app_ctx, factory):
    user = factory.user("enterprise")
    production = create_app({"CONFIG_NAME": "production", "SQLALCHEMY_DATABASE_URI": database_url,
                             "SECRET_KEY": "prod-test-secret-" + "x" * 32, "WTF_CSRF_ENABLED": False,
                             "STRIPE_SECRET_KEY": "sk_test_prod", "STRIPE_WEBHOOK_SECRET": "whsec_prod",
                             "EXTERNAL_BASE_URL": "https://marketplace.test",
                             "SEARCH_SQLITE_PATH": str(tmp_path / "s.sqlite"), "UPLOAD_DIR": str(tmp_path / "u")})
    try:
        assert production.config["SESSION_COOKIE_SECURE"] and production.config["REMEMBER_COOKIE_SECURE"]
        client = production.test_client()
        response = client.post("/login", data={"email": user.email, "password": PASSWORD, "remember": "y"},
                               base_url="https://marketplace.test")
        assert response.status_code == 302
        cookies = _cookies(response)
        for name in ("session", "remember_token"):
            attrs = _attrs(cookies[name])
            assert {"secure", "httponly"} <= attrs, cookies[name]
        assert "samesite=lax" in _attrs(cookies["session"])
    finally:
        with production.app_context():
            db.session.remove()
            db.engine.dispose()


# --- passwords -----------------------------------------------------------------------------

def test_passwords_are_stored_as_scrypt_hashes(client):
    password = "a-long-password-2"
    response = client.post("/register", data={
        "org_name": "哈希测试公司", "kind": "enterprise", "role": "enterprise", "size": "small",
        "credit_code": credit_code.make("91371502MA8000001"), "county": "东昌府区", "name": "测试",
        "email": "hash@example.com"})
    assert response.status_code == 302
    from marketplace.notifications.models import OutgoingMail
    body = db.session.scalars(select(OutgoingMail.body).where(OutgoingMail.recipient == "hash@example.com")).one()
    link = body.split("http://marketplace.test", 1)[1].split()[0]  # the confirmation link
    assert client.post(link, data={"password": password, "confirm": password}).status_code == 302
    stored = db.session.scalars(select(User.password_hash).where(User.email == "hash@example.com")).one()
    assert stored.startswith("scrypt:"), stored[:20]
    assert password not in stored


# --- headers on every page -------------------------------------------------------------------

REQUIRED_HEADERS = {
    "X-Content-Type-Options": lambda v: v == "nosniff",
    "X-Frame-Options": lambda v: v in ("DENY", "SAMEORIGIN"),
    "Content-Security-Policy": lambda v: "default-src 'self'" in v and "frame-ancestors 'none'" in v
                                         and "unsafe-inline" not in v,
}


def _get_paths(app):
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        path = rule.rule
        for name, converter in rule._converters.items():
            value = "1" if isinstance(converter, NumberConverter) else "x"
            path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", value, path)
        if rule.endpoint == "static":
            path = "/static/site.css"
        yield path


def test_every_page_sends_the_security_headers(app, client, factory):
    paths = sorted(set(_get_paths(app))) + ["/no-such-page", "/listings/999999"]
    assert len(paths) > 20
    for who in (None, factory.user("enterprise"), factory.user("admin")):
        if who is not None:
            login(client, who)
        for path in paths:
            response = client.get(path)
            for header, ok in REQUIRED_HEADERS.items():
                value = response.headers.get(header)
                assert value is not None and ok(value), (who and who.email, path, response.status_code, header, value)
        response = client.post("/payments/webhook", data=b"{}")  # JSON errors too
        assert all(response.headers.get(h) for h in REQUIRED_HEADERS)
        client.post("/logout")


# --- open redirects ------------------------------------------------------------------------

HOSTILE_NEXT = [
    "https://evil.example/", "http://evil.example", "//evil.example", "///evil.example", "////evil.example/x",
    "/\\evil.example", "\\\\evil.example", "\\/evil.example", "/\t/evil.example", "/\n/evil.example",
    " //evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
    "https:evil.example", "/%2F%2Fevil.example", "/%5Cevil.example", "http:/\\evil.example",
]


def _stays_here(location: str) -> bool:
    """Where a browser would go: same host, http(s), and no characters browsers rewrite into
    another host (backslashes and control characters)."""
    if "\\" in location or any(ord(c) < 0x20 or ord(c) == 0x7F for c in location):
        return False
    target = urlsplit(urljoin("http://marketplace.test/login", location))
    return target.scheme in ("http", "https") and target.netloc == "marketplace.test"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_refuses_to_redirect_off_site(client, factory, target):
    user = factory.user("enterprise")
    response = client.post("/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert _stays_here(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_language_switch_refuses_to_redirect_off_site(client, target):
    response = client.post("/lang/en", data={"next": target})
    assert response.status_code == 302
    assert _stays_here(response.headers["Location"]), response.headers["Location"]


def test_a_local_next_is_still_followed(client, factory):
    user = factory.user("enterprise")
    response = client.post("/login", query_string={"next": "/orders?page=2"},
                           data={"email": user.email, "password": PASSWORD})
    assert urlsplit(response.headers["Location"]).path == "/orders"
    assert client.post("/lang/en", data={"next": "/search?q=检测"}).headers["Location"].startswith("/search")
