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


def test_the_gateways_own_deliveries_are_never_held_back_by_their_number(client, app, factory, monkeypatch,
                                                                         fresh_limits):
    """The webhook's limit counts refused deliveries only: the gateway sends one for every
    payment (100 checkouts/s are 100 deliveries/s from a few addresses), so valid ones past the
    limit are all applied; forged ones from an address count, and past the limit that address
    is refused, whatever it sends."""
    import time

    from sqlalchemy import func, select

    from marketplace.extensions import db
    from marketplace.orders.models import Order
    from marketplace.payments import gateway as gw
    from marketplace.payments.models import Payment, WebhookEvent
    from tests.factories import login, published

    monkeypatch.setitem(app.config, "RATELIMIT_WEBHOOK", "3 per minute")
    monkeypatch.setitem(app.config, "STRIPE_RELAY_WEBHOOKS", False)  # events arrive only as posted here
    service = published(factory.user("provider", kind="agency", service_agency=True), "service")
    login(client, factory.user("enterprise", size="small"))
    events = []
    for k in range(6):
        order_id = int(client.post(f"/listings/{service.id}/order").headers["Location"].rsplit("/", 1)[1])
        assert client.post(f"/orders/{order_id}/pay").status_code == 302
        payment = db.session.scalars(select(Payment).where(Payment.order_id == order_id)).one()
        intent = gw.PaymentIntent(id=payment.gateway_id, amount_fen=payment.amount_fen, currency="cny",
                                  status="succeeded", client_secret=None)
        events.append((order_id, gw.build_event(f"evt_limit_{k}", "payment_intent.succeeded", intent)))

    def deliver(body, secret=app.config["STRIPE_WEBHOOK_SECRET"]):
        signature = gw.sign_webhook_payload(secret, body, int(time.time()))
        return client.post("/payments/webhook", data=body,
                           headers={"Stripe-Signature": signature, "Content-Type": "application/json"})

    answers = [deliver(body) for _order, body in events]
    assert [a.status_code for a in answers] == [200] * 6
    assert [a.get_json()["outcome"] for a in answers] == ["paid"] * 6
    db.session.expire_all()
    assert {db.session.get(Order, order_id).status for order_id, _ in events} == {"paid"}
    # Forged deliveries count: three refused, then the address is refused outright; none of
    # the refused ones wrote anything.
    seen = db.session.scalar(select(func.count()).select_from(WebhookEvent))
    forged = [deliver(events[0][1], secret="whsec_not_ours").status_code for _ in range(4)]
    assert forged == [400, 400, 400, 429]
    assert deliver(events[1][1]).status_code == 429
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == seen == 6
