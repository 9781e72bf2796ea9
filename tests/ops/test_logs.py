"""One JSON line per request, with the request id; no password, token or phone number in
any log line of a run that used them."""
import io
import json
import logging
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from marketplace.accounts.services import create_token, hash_password
from marketplace.extensions import db
from marketplace.notifications.models import OutgoingMail
from marketplace.ops.requestlog import JsonFormatter
from marketplace.outbox import OutboxEntry

DEMO_PASSWORD = yaml.safe_load((Path(__file__).resolve().parents[2] / "marketplace/demo/city.yaml")
                               .read_text())["password"]


@pytest.fixture()
def captured():
    """Every log record of the test, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def _lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def _requests(stream):
    return [line for line in _lines(stream) if line["logger"] == "marketplace.request"]


def test_one_json_line_per_request_with_id_user_route_status_duration(client, factory, captured):
    user = factory.user("enterprise")
    from tests.factories import login

    login(client, user)
    response = client.get("/orders", headers={"X-Request-ID": "lb-0123456789abcdef"})
    assert response.headers["X-Request-ID"] == "lb-0123456789abcdef"
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    forged = client.get("/healthz", headers={"X-Request-ID": "bad id; <script>"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", forged)

    lines = _requests(captured)
    assert len(lines) == 4  # login, orders, two health checks: one line each
    orders = lines[1]
    assert orders["request_id"] == "lb-0123456789abcdef"
    assert orders["user_id"] == user.id and orders["endpoint"] == "orders.orders" and orders["route"] == "/orders"
    assert orders["status"] == 200 and orders["method"] == "GET" and orders["level"] == "INFO"
    assert isinstance(orders["duration_ms"], float) and orders["time"].endswith("+00:00")
    assert lines[2]["user_id"] is None or lines[2]["endpoint"] == "health.healthz"


def test_outbox_rows_carry_the_request_id_of_the_request_that_queued_them(app_ctx):
    from marketplace.outbox import enqueue

    with app_ctx.test_request_context("/listings/new/service", method="POST",
                                      headers={"X-Request-ID": "req-outbox-0001"}):
        app_ctx.preprocess_request()
        enqueue("search", "1")
        db.session.commit()
    enqueue("search", "2")  # outside a request (a CLI command): no id
    db.session.commit()
    rows = {r.key: r.request_id for r in db.session.scalars(select(OutboxEntry))}
    assert rows == {"1": "req-outbox-0001", "2": None}


def test_no_password_token_or_phone_number_in_the_logs(client, factory, captured):
    from marketplace.claims import budgets as claims_budgets
    from marketplace.claims import services as claims
    from marketplace.core.timeutil import utcnow
    from marketplace.review import services as review

    user = factory.user("enterprise")
    user.password_hash = hash_password(DEMO_PASSWORD)
    db.session.commit()
    assert client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD}).status_code == 302
    client.post("/login", data={"email": user.email, "password": DEMO_PASSWORD + "-wrong"})
    _row, secret = create_token(user, "ci")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}x"})  # a refused one too
    client.post("/logout")

    client.post("/password/forgot", data={"email": user.email})
    mail = db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id.desc())).first()
    link = re.search(r"https?://\S+", mail.body).group(0).split("marketplace.test", 1)[1]
    reset_token = link.rsplit("/", 1)[1]
    assert client.get(link).status_code == 200

    year = utcnow().year - 1
    claim = claims.file_claim(user, user.organization.id, "B1",
                              {"project": "项目", "city_county_joint": True, "requested_amount": "1000"}, year)
    city = {"reviewer": factory.user("reviewer"), "finance": factory.user("finance")}
    claims_budgets.set_budget(city["finance"], year, "B1", 100_000_000)
    review.approve(city["reviewer"], claim.id, note="ok")
    phone = "13912345678"
    objector = "wang.wu@example.org"
    response = client.post(f"/notice/{claim.id}/object", data={
        "name": "王五", "contact": objector, "reason": f"该项目并未实施，金额有误，电话{phone}"})
    assert response.status_code == 302

    log = captured.getvalue()
    assert len(_requests(captured)) >= 8
    for value in (DEMO_PASSWORD, secret, secret[:20], reset_token, phone, user.email, objector):
        assert value not in log, value
    assert "/password/reset/<token>" in log  # the route's rule is logged, not the path


def test_forwarded_headers_are_trusted_only_as_configured(app, client, captured, tmp_path):
    """Without a configured proxy a client cannot choose its logged address or scheme; with
    PROXY_FIX_X_FOR/X_PROTO = 1 the proxy's last hop is believed (tests/ops/test_deploy.py runs
    the real nginx)."""
    from marketplace import create_app

    forged = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"}
    client.get("/healthz", headers=forged)
    behind = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                         "SEARCH_SQLITE_PATH": str(tmp_path / "s.sqlite"),
                         "PROXY_FIX_X_FOR": 1, "PROXY_FIX_X_PROTO": 1})
    behind.test_client().get("/healthz", headers={"X-Forwarded-For": "6.6.6.6, 10.1.2.3",
                                                  "X-Forwarded-Proto": "https"})
    direct, proxied = _requests(captured)
    assert (direct["remote_addr"], direct["scheme"]) == ("127.0.0.1", "http")
    assert (proxied["remote_addr"], proxied["scheme"]) == ("10.1.2.3", "https")
