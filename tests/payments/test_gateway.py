"""marketplace.payments.gateway: StripeGateway against the real stripe-mock, webhook
signature checks, and the InMemoryGateway fake."""
import json
import time
import urllib.parse

import pytest
import stripe

from marketplace.payments.gateway import (
    InMemoryGateway,
    PaymentGateway,
    PaymentGatewayError,
    PaymentIntent,
    Refund,
    StripeGateway,
    WebhookEvent,
    WebhookPayloadError,
    WebhookSignatureError,
    build_event,
    sign_webhook_payload,
)

SECRET = "whsec_test_marketplace"


class RecordingHTTPClient(stripe.RequestsClient):
    """The real HTTP client, also keeping each request's method, url, headers and body."""

    def __init__(self):
        super().__init__(timeout=30)
        self.recorded = []

    def _request_internal(self, method, url, headers, post_data, is_streaming):
        self.recorded.append((method, url, dict(headers or {}), post_data))
        return super()._request_internal(method, url, headers, post_data, is_streaming)


@pytest.fixture
def http_client():
    return RecordingHTTPClient()


@pytest.fixture
def gateway(stripe_api_base, http_client):
    return StripeGateway("sk_test_marketplace", stripe_api_base, SECRET,
                         http_client=http_client)


def _form(post_data):
    return dict(urllib.parse.parse_qsl(post_data or ""))


# ------------------------------------------------------------------ against stripe-mock


def test_stripe_gateway_satisfies_protocol(gateway):
    assert isinstance(gateway, PaymentGateway)


def test_create_payment_echoes_amount_and_currency(gateway, http_client, stripe_api_base):
    intent = gateway.create_payment(
        amount_fen=500000, reference="ORD-2026-0001", idempotency_key="order-1-pay-1",
        metadata={"order_id": "1", "buyer": "u42"},
    )
    assert isinstance(intent, PaymentIntent)
    assert intent.id.startswith("pi_")
    assert intent.amount_fen == 500000
    assert intent.currency == "cny"
    assert intent.status == "requires_payment_method"
    assert intent.client_secret

    method, url, headers, body = http_client.recorded[-1]
    assert method == "post"
    assert url == stripe_api_base.rstrip("/") + "/v1/payment_intents"
    assert headers["Idempotency-Key"] == "order-1-pay-1"
    form = _form(body)
    assert form["amount"] == "500000" and form["currency"] == "cny"
    assert form["metadata[reference]"] == "ORD-2026-0001"
    assert form["metadata[order_id]"] == "1"


def test_confirm_payment(gateway, http_client):
    intent = gateway.create_payment(amount_fen=1999, reference="ORD-2", idempotency_key="k-2",
                                    metadata={})
    confirmed = gateway.confirm_payment(intent.id)
    # stripe-mock keeps no state: the status is a fixture's, not proof of payment.
    assert confirmed.id == intent.id
    assert isinstance(confirmed.status, str) and confirmed.status
    method, url, _headers, body = http_client.recorded[-1]
    assert url.endswith(f"/v1/payment_intents/{intent.id}/confirm")
    assert _form(body)["payment_method"] == "pm_card_visa"


def test_refund(gateway, http_client):
    refund = gateway.refund(intent_id="pi_123", amount_fen=2500, idempotency_key="refund-1",
                            reason="requested_by_customer")
    assert isinstance(refund, Refund)
    assert refund.id.startswith("re_")
    assert refund.amount_fen == 2500
    assert refund.status == "succeeded"
    assert refund.intent_id
    _method, url, headers, body = http_client.recorded[-1]
    assert url.endswith("/v1/refunds")
    assert headers["Idempotency-Key"] == "refund-1"
    form = _form(body)
    assert form == {"payment_intent": "pi_123", "amount": "2500",
                    "reason": "requested_by_customer"}


def test_refund_free_text_reason_goes_to_metadata(gateway, http_client):
    gateway.refund(intent_id="pi_123", amount_fen=100, idempotency_key="refund-2",
                   reason="服务未按期交付")
    form = _form(http_client.recorded[-1][3])
    assert "reason" not in form
    assert form["metadata[reason]"] == "服务未按期交付"


def test_provider_error_is_wrapped(stripe_api_base):
    # stripe-mock answers 401 to a key that does not look like a test key.
    gw = StripeGateway("not-a-stripe-key", stripe_api_base, SECRET, max_network_retries=0)
    with pytest.raises(PaymentGatewayError, match="AuthenticationError"):
        gw.create_payment(amount_fen=100, reference="x", idempotency_key="k-bad", metadata={})


@pytest.mark.parametrize("amount", [0, -5, 12.5, True, "100"])
def test_amount_must_be_positive_int_fen(amount):
    gw = StripeGateway("sk_test_x", "http://127.0.0.1:9", SECRET)  # never contacted
    with pytest.raises(ValueError):
        gw.create_payment(amount_fen=amount, reference="r", idempotency_key="k", metadata={})


# ------------------------------------------------------------------ webhooks (no network)


@pytest.fixture
def offline_gateway():
    return StripeGateway("sk_test_x", "http://127.0.0.1:9", SECRET)


def _intent(status="succeeded"):
    return PaymentIntent(id="pi_abc", amount_fen=500000, currency="cny", status=status,
                         client_secret="pi_abc_secret_x")


def _signed(payload, secret=SECRET, ts=None):
    ts = int(time.time()) if ts is None else ts
    return sign_webhook_payload(secret, payload, ts)


def test_sign_webhook_payload_matches_stripe_scheme():
    payload = b'{"id":"evt_1"}'
    header = sign_webhook_payload(SECRET, payload, 1700000000)
    assert header == stripe.WebhookSignature.generate_signature_header(
        payload.decode(), SECRET, timestamp=1700000000)


def test_valid_webhook_accepted(offline_gateway):
    payload = build_event("evt_1", "payment_intent.succeeded", _intent())
    event = offline_gateway.parse_webhook(payload, _signed(payload))
    assert isinstance(event, WebhookEvent)
    assert event.id == "evt_1"
    assert event.type == "payment_intent.succeeded"
    assert event.object_id == "pi_abc"
    assert event.amount_fen == 500000
    assert event.data["object"]["currency"] == "cny"


def test_refund_event_shape(offline_gateway):
    payload = build_event("evt_2", "charge.refunded",
                          Refund(id="re_1", intent_id="pi_abc", amount_fen=100,
                                 status="succeeded"))
    event = offline_gateway.parse_webhook(payload, _signed(payload))
    assert event.object_id == "re_1"
    assert event.data["object"]["payment_intent"] == "pi_abc"


def test_webhook_with_rolled_secrets_accepted(offline_gateway):
    payload = build_event("evt_3", "payment_intent.succeeded", _intent())
    ts = int(time.time())
    old = sign_webhook_payload("whsec_old", payload, ts).split(",")[1]
    header = f"{_signed(payload, ts=ts)},{old}"
    assert offline_gateway.parse_webhook(payload, header).id == "evt_3"


def test_forged_signature_rejected(offline_gateway):
    payload = build_event("evt_4", "payment_intent.succeeded", _intent())
    with pytest.raises(WebhookSignatureError):
        offline_gateway.parse_webhook(payload, _signed(payload, secret="whsec_attacker"))


def test_tampered_payload_rejected(offline_gateway):
    payload = build_event("evt_5", "payment_intent.succeeded", _intent())
    header = _signed(payload)
    tampered = payload.replace(b"500000", b"1")
    assert tampered != payload
    with pytest.raises(WebhookSignatureError):
        offline_gateway.parse_webhook(tampered, header)


def test_old_timestamp_rejected(offline_gateway):
    payload = build_event("evt_6", "payment_intent.succeeded", _intent())
    with pytest.raises(WebhookSignatureError):
        offline_gateway.parse_webhook(payload, _signed(payload, ts=int(time.time()) - 301))
    # within tolerance is fine
    offline_gateway.parse_webhook(payload, _signed(payload, ts=int(time.time()) - 200))


def test_far_future_timestamp_rejected(offline_gateway):
    payload = build_event("evt_7", "payment_intent.succeeded", _intent())
    with pytest.raises(WebhookSignatureError):
        offline_gateway.parse_webhook(payload, _signed(payload, ts=int(time.time()) + 3600))


@pytest.mark.parametrize("header", [
    "", "garbage", "t=,v1=abc", "t=notanumber,v1=abc", "v1=abc", "t=1700000000",
    "t=1700000000,v0=abc", "t=1,t=2,v1=abc",
])
def test_malformed_header_rejected(offline_gateway, header):
    payload = build_event("evt_8", "payment_intent.succeeded", _intent())
    with pytest.raises(WebhookSignatureError):
        offline_gateway.parse_webhook(payload, header)


@pytest.mark.parametrize("payload", [
    b"not json", b"[1, 2]", b'{"type": "x", "data": {"object": {}}}',
    b'{"id": "evt_9", "data": {"object": {}}}', b'{"id": "evt_9", "type": "x"}',
])
def test_signed_but_malformed_payload_rejected(offline_gateway, payload):
    with pytest.raises(WebhookPayloadError):
        offline_gateway.parse_webhook(payload, _signed(payload))


def test_non_utf8_payload_rejected(offline_gateway):
    payload = b'{"id": "\xff"}'
    with pytest.raises((WebhookPayloadError, WebhookSignatureError)):
        offline_gateway.parse_webhook(payload, _signed(payload))


def test_build_event_is_stripe_shaped():
    body = json.loads(build_event("evt_10", "payment_intent.succeeded", _intent(), created=5))
    assert body["object"] == "event" and body["created"] == 5
    obj = body["data"]["object"]
    assert obj["object"] == "payment_intent"
    assert obj["amount"] == obj["amount_received"] == 500000


# ------------------------------------------------------------------ InMemoryGateway


def test_in_memory_gateway_follows_protocol():
    gw = InMemoryGateway()
    assert isinstance(gw, PaymentGateway)

    intent = gw.create_payment(amount_fen=500000, reference="ORD-1", idempotency_key="k1",
                               metadata={"order_id": "1"})
    assert intent == PaymentIntent("pi_mem_0001", 500000, "cny", "requires_payment_method",
                                   "pi_mem_0001_secret_mem")
    # same idempotency key → same intent, no second payment
    assert gw.create_payment(amount_fen=500000, reference="ORD-1", idempotency_key="k1",
                             metadata={"order_id": "1"}) == intent
    assert len(gw.intents) == 1
    assert gw.metadata[intent.id] == {"order_id": "1", "reference": "ORD-1"}

    with pytest.raises(PaymentGatewayError):
        gw.refund(intent_id=intent.id, amount_fen=1, idempotency_key="r0")  # not paid yet

    assert gw.confirm_payment(intent.id).status == "succeeded"
    r1 = gw.refund(intent_id=intent.id, amount_fen=200000, idempotency_key="r1")
    assert r1 == Refund("re_mem_0002", intent.id, 200000, "succeeded")
    assert gw.refund(intent_id=intent.id, amount_fen=200000, idempotency_key="r1") == r1
    with pytest.raises(PaymentGatewayError):
        gw.refund(intent_id=intent.id, amount_fen=300001, idempotency_key="r2")  # too much
    gw.refund(intent_id=intent.id, amount_fen=300000, idempotency_key="r3")

    with pytest.raises(PaymentGatewayError):
        gw.confirm_payment("pi_unknown")

    assert [name for name, _ in gw.calls] == [
        "create_payment", "create_payment", "refund", "confirm_payment", "refund", "refund",
        "refund", "refund", "confirm_payment",
    ]
    assert gw.calls[0][1]["idempotency_key"] == "k1"


def test_in_memory_declined_card():
    gw = InMemoryGateway()
    intent = gw.create_payment(amount_fen=100, reference="r", idempotency_key="k", metadata={})
    assert gw.confirm_payment(intent.id, payment_method="pm_card_chargeDeclined").status \
        == "requires_payment_method"


def test_in_memory_webhooks():
    gw = InMemoryGateway(webhook_secret="whsec_mem")
    intent = gw.create_payment(amount_fen=100, reference="r", idempotency_key="k", metadata={})
    payload, header = gw.make_webhook("evt_1", "payment_intent.succeeded",
                                      gw.confirm_payment(intent.id))
    event = gw.parse_webhook(payload, header)
    assert (event.type, event.object_id, event.amount_fen) == \
        ("payment_intent.succeeded", intent.id, 100)
    with pytest.raises(WebhookSignatureError):
        gw.parse_webhook(payload, sign_webhook_payload("whsec_other", payload, int(time.time())))
    with pytest.raises(WebhookSignatureError):
        gw.parse_webhook(payload.replace(b"100", b"999"), header)
    old_payload, old_header = gw.make_webhook("evt_2", "payment_intent.succeeded", intent,
                                              timestamp=int(time.time()) - 3600)
    with pytest.raises(WebhookSignatureError):
        gw.parse_webhook(old_payload, old_header)
