"""/healthz answers without the database; /readyz checks every component, JSON, 200 or 503."""
import json
from datetime import timedelta

import pytest

from marketplace import create_app
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.ops import services
from marketplace.outbox import OutboxEntry
from marketplace.worker import beat


@pytest.fixture(autouse=True)
def fresh_probes():
    services.clear_probe_cache()
    yield
    services.clear_probe_cache()


def test_healthz_and_readyz_green_on_a_healthy_platform(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert {name: c["status"] for name, c in body["checks"].items()} == {
        "database": "ok", "search": "ok", "payments": "ok", "outbox": "ok", "worker": "not_configured"}


def test_healthz_needs_no_database_and_readyz_says_the_database_is_down(tmp_path):
    app = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
                      "SEARCH_SQLITE_PATH": str(tmp_path / "search.sqlite")})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "fail" and body["checks"]["database"]["status"] == "fail"
    assert "127.0.0.1:1" not in response.get_data(as_text=True)  # no connection details


def test_outbox_backlog_and_age_above_thresholds_make_readyz_503(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_BACKLOG_MAX", 2)
    db.session.add_all([OutboxEntry(topic="search", key=str(i)) for i in range(3)])
    db.session.commit()
    body = client.get("/readyz")
    assert body.status_code == 503
    outbox = body.get_json()["checks"]["outbox"]
    assert outbox["status"] == "fail" and outbox["backlog"] == 3

    monkeypatch.setitem(app.config, "OUTBOX_BACKLOG_MAX", 100)
    assert client.get("/readyz").status_code == 200
    db.session.add(OutboxEntry(topic="claims", key="2025", created_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["outbox"]["oldest_age_seconds"] >= 7200


def test_worker_heartbeat_is_checked_once_a_worker_is_configured(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "WORKER_HEARTBEAT_MAX_AGE", 30)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["worker"] == {"status": "fail", "reason": "no heartbeat yet",
                                                       "max_age_seconds": 30}
    beat("host:123", utcnow())
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["checks"]["worker"]["status"] == "ok"


def test_payment_gateway_probe_reaches_stripe_and_is_cached(client, app, monkeypatch, stripe_api_base):
    monkeypatch.setitem(app.config, "PAYMENT_GATEWAY", "stripe")
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", stripe_api_base)
    body = client.get("/readyz")
    assert body.status_code == 200, body.get_json()
    assert body.get_json()["checks"]["payments"] == {"status": "ok", "gateway": "stripe"}
    assert app.config["STRIPE_SECRET_KEY"] not in body.get_data(as_text=True)

    calls = []
    real = services._http_get
    monkeypatch.setattr(services, "_http_get", lambda *a, **k: calls.append(a) or real(*a, **k))
    for _ in range(5):
        client.get("/readyz")
    assert calls == []  # the probe of a second ago is reused

    services.clear_probe_cache()
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:1")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["payments"]["status"] == "fail"


def test_elasticsearch_probe(client, app, monkeypatch, elasticsearch_url):
    monkeypatch.setitem(app.config, "SEARCH_BACKEND", "elasticsearch")
    monkeypatch.setitem(app.config, "ELASTICSEARCH_URL", elasticsearch_url)
    body = client.get("/readyz").get_json()
    assert body["checks"]["search"]["status"] == "ok" and body["checks"]["search"]["backend"] == "elasticsearch"
    services.clear_probe_cache()
    monkeypatch.setitem(app.config, "ELASTICSEARCH_URL", "http://127.0.0.1:1")
    response = client.get("/readyz")
    assert response.status_code == 503 and response.get_json()["checks"]["search"]["status"] == "fail"


def test_readyz_json_carries_no_secret(client, app):
    text = client.get("/readyz").get_data(as_text=True)
    json.loads(text)
    for secret in (app.config["SECRET_KEY"], app.config["STRIPE_SECRET_KEY"], app.config["STRIPE_WEBHOOK_SECRET"]):
        assert secret not in text
