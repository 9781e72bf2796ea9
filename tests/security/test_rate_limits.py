"""Request rate limits (Flask-Limiter) on login, registration, password reset, objections,
the API and the payment webhook: past the limit a clear 429 page or JSON, never a 500. The
suite's own limits are generous; each test here sets a low one on the running app."""
import pytest

from marketplace.extensions import limiter

LIMITED = [
    ("RATELIMIT_LOGIN", "/login", {"email": "a@example.com", "password": "whatever-it-is"}),
    ("RATELIMIT_REGISTER", "/register", {"email": "not-valid"}),
    ("RATELIMIT_PASSWORD_RESET", "/password/forgot", {"email": "a@example.com"}),
    ("RATELIMIT_OBJECTION", "/notice/1/object", {"name": "x", "contact": "x", "reason": "x"}),
    ("RATELIMIT_WEBHOOK", "/payments/webhook", b"{}"),
]


@pytest.fixture()
def fresh_limits():
    limiter.reset()
    yield
    limiter.reset()


@pytest.mark.parametrize("setting, path, data", LIMITED, ids=[row[0] for row in LIMITED])
def test_posts_past_the_limit_get_429(client, app, monkeypatch, fresh_limits, setting, path, data):
    monkeypatch.setitem(app.config, setting, "3 per minute")
    statuses = [client.post(path, data=data).status_code for _ in range(5)]
    assert all(s not in (429, 500) for s in statuses[:3]), statuses
    assert statuses[3:] == [429, 429], statuses
    page = client.post(path, data=data)
    assert page.status_code == 429
    if path.startswith("/payments/"):
        assert "error" in page.get_json()
    else:
        assert "请求过于频繁" in page.get_data(as_text=True)  # the error page, in Chinese
    # Another client address is not held back by this one.
    assert client.post(path, data=data, environ_base={"REMOTE_ADDR": "192.0.2.77"}).status_code != 429


def test_reading_the_login_form_is_not_limited(client, app, monkeypatch, fresh_limits):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "2 per minute")
    assert [client.get("/login").status_code for _ in range(5)] == [200] * 5


def test_the_api_is_limited_with_a_json_answer(client, app, monkeypatch, fresh_limits):
    monkeypatch.setitem(app.config, "RATELIMIT_API", "3 per minute")
    statuses = [client.get("/api/v1/listings").status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429, statuses
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 429 and response.is_json and response.get_json()["error"]
    assert "Retry-After" in response.headers
