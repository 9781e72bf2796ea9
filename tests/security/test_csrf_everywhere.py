"""CSRF on every state-changing route: with protection on (as outside the test configuration),
every POST/PUT/PATCH/DELETE rule refuses a request without the token, logged in or not — except
the gateway's signed webhook and the token-authenticated API (/api/v1/*)."""
from __future__ import annotations

import re

import pytest
from werkzeug.routing.converters import NumberConverter

from marketplace import create_app
from tests.factories import PASSWORD

EXEMPT_ENDPOINTS = {"payments.webhook"}
EXEMPT_PREFIXES = ("/api/v1/",)
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture()
def csrf_app(app_ctx, database_url, tmp_path):
    application = create_app({"CONFIG_NAME": "test", "WTF_CSRF_ENABLED": True,
                              "SQLALCHEMY_DATABASE_URI": database_url,
                              "SEARCH_SQLITE_PATH": str(tmp_path / "s.sqlite"),
                              "UPLOAD_DIR": str(tmp_path / "uploads")})
    yield application
    from marketplace.extensions import db

    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _fill(rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        values[name] = 1 if isinstance(converter, NumberConverter) else "x"
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + r">", str(value), path)
    return path


def _state_changing_rules(application):
    for rule in application.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & STATE_CHANGING):
            yield rule, method, _fill(rule)


def _is_csrf_refusal(response) -> bool:
    return response.status_code == 400 and b"The form expired or was sent from elsewhere" in response.data


def _token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def _english(client):
    with client.session_transaction() as session:
        session["lang"] = "en"


def _login(client, user):
    token = _token(client)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_every_state_changing_route_refuses_a_request_without_the_token(csrf_app, factory):
    rules = list(_state_changing_rules(csrf_app))
    assert len(rules) >= 25, "the url map looks too small to be the platform's"
    user = factory.user("enterprise")
    checked = []
    for who in ("anonymous", "logged in"):
        client = csrf_app.test_client()
        _english(client)
        if who == "logged in":
            _login(client, user)
        for rule, method, path in rules:
            response = client.open(path, method=method, data={"email": "a@example.com", "message": "x"},
                                   headers={"Accept": "text/html"})
            exempt = rule.endpoint in EXEMPT_ENDPOINTS or path.startswith(EXEMPT_PREFIXES)
            if exempt:
                assert not _is_csrf_refusal(response), (who, method, path)
            else:
                assert _is_csrf_refusal(response), (who, method, path, response.status_code, response.data[:300])
            checked.append(path)
        if who == "logged in":
            # Still logged in: the refusals above did not log the user out or change anything.
            assert client.get("/home").status_code == 200
    assert "/payments/webhook" in checked


def test_a_wrong_or_foreign_token_is_refused_and_the_right_one_accepted(csrf_app, factory):
    user = factory.user("enterprise")
    client = csrf_app.test_client()
    _english(client)
    _login(client, user)
    other = csrf_app.test_client()
    foreign = _token(other)  # a valid token of somebody else's session
    for token in ("", "x" * 40, foreign):
        assert _is_csrf_refusal(client.post("/lang/zh", data={"csrf_token": token, "next": "/"})), token
    own = _token(client, "/home")
    response = client.post("/lang/zh", data={"csrf_token": own, "next": "/home"})
    assert response.status_code == 302  # the control: the same request with its token passes


def test_only_the_webhook_and_the_api_are_exempt(csrf_app):
    csrf = csrf_app.extensions["csrf"]
    exempt_views = set(getattr(csrf, "_exempt_views", set()))
    exempt_blueprints = set(getattr(csrf, "_exempt_blueprints", set()))
    allowed = {f"{csrf_app.view_functions[e].__module__}.{csrf_app.view_functions[e].__name__}"
               for e in EXEMPT_ENDPOINTS}
    api_modules = {f"{f.__module__}.{f.__name__}" for e, f in csrf_app.view_functions.items()
                   for r in csrf_app.url_map.iter_rules(e) if r.rule.startswith(EXEMPT_PREFIXES)}
    assert exempt_views <= allowed | api_modules, exempt_views - allowed - api_modules
    for blueprint in exempt_blueprints:
        name = getattr(blueprint, "name", blueprint)  # Flask-WTF keeps the Blueprint (or its name)
        rules = [r.rule for r in csrf_app.url_map.iter_rules() if r.endpoint.startswith(name + ".")]
        assert all(r.startswith(EXEMPT_PREFIXES) for r in rules), (name, rules)
