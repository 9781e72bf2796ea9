"""StripeGateway and InMemoryGateway edges a mutation run showed untested (issue 16): the
gateway's address as configured, refused arguments, the metadata bound, network retries, and
the fake's signed events."""
import json
import urllib.parse

import pytest
import stripe

from marketplace.payments.gateway import (
    InMemoryGateway,
    PaymentGatewayError,
    PaymentIntent,
    StripeGateway,
)

SECRET = "whsec_test_marketplace"


class RecordingHTTPClient(stripe.RequestsClient):
    def __init__(self):
        super().__init__(timeout=30)
        self.recorded = []

    def _request_internal(self, method, url, headers, post_data, is_streaming):
        self.recorded.append((method, url, post_data))
        return super()._request_internal(method, url, headers, post_data, is_streaming)


def test_an_address_with_a_trailing_slash_reaches_the_same_api(stripe_api_base):
    http = RecordingHTTPClient()
    gateway = StripeGateway("sk_test_marketplace", stripe_api_base.rstrip("/") + "/", SECRET, http_client=http)
    intent = gateway.create_payment(amount_fen=100, reference="ORD-1", idempotency_key="k-slash", metadata={})
    assert intent.amount_fen == 100
    assert http.recorded[-1][1] == stripe_api_base.rstrip("/") + "/v1/payment_intents"


def test_without_an_address_the_gateway_is_built_for_stripe_itself():
    # (production: no STRIPE_API_BASE; nothing is sent until a payment starts)
    gateway = StripeGateway("sk_live_not_used", None, SECRET)
    assert isinstance(gateway, StripeGateway)


@pytest.mark.parametrize("call", ["refund", "confirm"])
def test_an_empty_intent_id_is_refused_before_anything_is_sent(call):
    gateway = StripeGateway("sk_test_marketplace", "http://127.0.0.1:9", SECRET, max_network_retries=0)
    with pytest.raises(ValueError, match="^intent_id is required$"):
        if call == "refund":
            gateway.refund(intent_id="", amount_fen=100, idempotency_key="k-empty")
        else:
            gateway.confirm_payment("")


def test_a_long_refund_reason_is_cut_to_500_characters_in_the_metadata(stripe_api_base):
    http = RecordingHTTPClient()
    gateway = StripeGateway("sk_test_marketplace", stripe_api_base, SECRET, http_client=http)
    gateway.refund(intent_id="pi_123", amount_fen=100, idempotency_key="k-long", reason="退" * 600)
    form = dict(urllib.parse.parse_qsl(http.recorded[-1][2]))
    assert form["metadata[reason]"] == "退" * 500


def test_an_unreachable_gateway_is_tried_three_times_under_one_idempotency_key():
    # Two retries by default: safe because every mutating call carries the caller's key.
    http = RecordingHTTPClient()
    gateway = StripeGateway("sk_test_marketplace", "http://127.0.0.1:9", SECRET, http_client=http)
    with pytest.raises(PaymentGatewayError, match="APIConnectionError"):
        gateway.create_payment(amount_fen=100, reference="ORD-1", idempotency_key="k-retry", metadata={})
    assert len(http.recorded) == 3


def test_the_fakes_signed_event_carries_the_time_it_was_signed_at():
    fake = InMemoryGateway()
    intent = PaymentIntent(id="pi_mem_0001", amount_fen=100, currency="cny", status="succeeded", client_secret=None)
    payload, signature = fake.make_webhook("evt_1", "payment_intent.succeeded", intent, timestamp=1_700_000_000)
    assert json.loads(payload)["created"] == 1_700_000_000
    assert signature.startswith("t=1700000000,")


def test_a_webhook_refused_by_stripes_own_check_says_why():
    from marketplace.payments.gateway import (
        WebhookPayloadError,
        WebhookSignatureError,
        sign_webhook_payload,
    )

    gateway = StripeGateway("sk_test_marketplace", None, SECRET)
    with pytest.raises(WebhookSignatureError, match="(?i)signature"):
        gateway.parse_webhook(b'{"id": "evt_1"}', "t=1,v1=00")
    body = b"\xff\xfe not utf-8"
    import time

    with pytest.raises(WebhookPayloadError, match="^webhook body is not UTF-8$"):
        gateway.parse_webhook(body, sign_webhook_payload(SECRET, body, int(time.time())))


def test_the_default_client_takes_its_proxies_from_the_environment_once(stripe_api_base, monkeypatch):
    # The environment's proxy settings still decide the route (an unreachable proxy fails the
    # call; NO_PROXY lets it through), but requests no longer reads os.environ on every call.
    import requests.utils

    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "")
    proxied = StripeGateway("sk_test_marketplace", stripe_api_base, SECRET, max_network_retries=0)
    with pytest.raises(PaymentGatewayError, match="APIConnectionError"):
        proxied.create_payment(amount_fen=100, reference="ORD-1", idempotency_key="k-proxy", metadata={})

    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    lookups = []
    real = requests.utils.get_environ_proxies
    monkeypatch.setattr(requests.utils, "get_environ_proxies", lambda *a, **k: lookups.append(a) or real(*a, **k))
    direct = StripeGateway("sk_test_marketplace", stripe_api_base, SECRET, max_network_retries=0)
    for n in range(3):
        intent = direct.create_payment(amount_fen=100, reference="ORD-1", idempotency_key=f"k-direct-{n}", metadata={})
        assert direct.confirm_payment(intent.id).id == intent.id
    assert len(lookups) == 1


def test_the_gateways_answer_is_read_as_plain_json(stripe_api_base):
    # (no stripe objects: the intent's fields come from the JSON the gateway sent)
    http = RecordingHTTPClient()
    gateway = StripeGateway("sk_test_marketplace", stripe_api_base, SECRET, http_client=http)
    intent = gateway.create_payment(amount_fen=4321, reference="ORD-9", idempotency_key="k-json", metadata={"a": "b"})
    assert (intent.amount_fen, intent.currency) == (4321, "cny") and intent.id.startswith("pi_")
    refund = gateway.refund(intent_id=intent.id, amount_fen=4321, idempotency_key="k-json-refund")
    assert refund.id.startswith("re_") and isinstance(refund.intent_id, str) and refund.intent_id
    method, url, _ = http.recorded[-1]
    assert (method, url) == ("post", stripe_api_base.rstrip("/") + "/v1/refunds")


# --- the default transport: stripe-python's client over urllib3's pools (no requests) -------------

def _steady_client():
    from marketplace.payments.gateway import _steady_http_client

    return _steady_http_client(stripe)


def test_the_default_transport_keeps_one_connection_alive_across_calls(stripe_api_base):
    http = _steady_client()()
    gateway = StripeGateway("sk_test_marketplace", stripe_api_base, SECRET, http_client=http)
    for n in range(3):
        intent = gateway.create_payment(amount_fen=100, reference="ORD-1", idempotency_key=f"k-alive-{n}", metadata={})
        assert gateway.confirm_payment(intent.id).status  # (stripe-mock's fixture status)
    (pool_manager,) = http._pools.values()
    pool = pool_manager.connection_from_url(stripe_api_base)
    assert (pool.num_requests, pool.num_connections) == (6, 1)  # six calls, one connection kept alive


def test_the_default_transport_tries_an_unreachable_gateway_three_times():
    attempts = []

    class Counting(_steady_client()):
        def _send(self, *args, **kwargs):
            attempts.append(args[1])
            return super()._send(*args, **kwargs)

    gateway = StripeGateway("sk_test_marketplace", "http://127.0.0.1:9", SECRET, http_client=Counting())
    with pytest.raises(PaymentGatewayError, match="APIConnectionError"):
        gateway.create_payment(amount_fen=100, reference="ORD-1", idempotency_key="k-steady-retry", metadata={})
    assert attempts == ["http://127.0.0.1:9/v1/payment_intents"] * 3


def test_the_default_transport_retries_broken_connections_but_not_a_certificate_that_fails():
    import urllib3

    client = _steady_client()
    for error, retried in ((urllib3.exceptions.ProtocolError("Connection aborted."), True),
                           (urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"), True),
                           (urllib3.exceptions.SSLError("certificate verify failed"), False),
                           (ValueError("a local mistake"), False)):
        with pytest.raises(stripe.APIConnectionError) as caught:
            client._handle_request_error(error)
        assert caught.value.should_retry is retried, error


def test_the_default_transport_checks_the_gateways_certificate_with_stripes_bundle():
    http = _steady_client()()
    pool = http._pool("https://api.stripe.com/v1/payment_intents")
    assert (pool.connection_pool_kw["cert_reqs"], pool.connection_pool_kw["ca_certs"]) == \
        ("CERT_REQUIRED", stripe.ca_bundle_path)
    assert http._pool("https://api.stripe.com/v1/refunds") is pool


@pytest.fixture()
def silent_gateway_address():
    """A loopback address that takes connections and never answers (a hung gateway)."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_a_hung_gateway_is_given_up_after_the_configured_timeout(app, silent_gateway_address, monkeypatch):
    """STRIPE_TIMEOUT_S bounds how long a web worker waits for the gateway's answer (stripe's own
    default, 80 s three times over, would hold it for four minutes); the checkout is told the
    payment service did not answer."""
    import time

    from marketplace.payments import services

    for key, value in {"PAYMENT_GATEWAY": "stripe", "STRIPE_API_BASE": silent_gateway_address,
                       "STRIPE_SECRET_KEY": "sk_test_marketplace", "STRIPE_TIMEOUT_S": 1}.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setattr(stripe.StripeClient, "__init__", _no_retries(stripe.StripeClient.__init__))
    started = time.monotonic()
    with app.app_context(), pytest.raises(PaymentGatewayError, match="APIConnectionError"):
        services.gateway().create_payment(amount_fen=100, reference="ORD-1", idempotency_key="k-hung", metadata={})
    assert 0.9 <= time.monotonic() - started < 5


def _no_retries(init):
    def without(self, *args, **kwargs):
        return init(self, *args, **{**kwargs, "max_network_retries": 0})
    return without


def test_the_gateway_timeout_is_a_number_of_seconds_within_reason():
    import config as config_module

    assert config_module.load("test", environ={"STRIPE_TIMEOUT_S": "7"})["STRIPE_TIMEOUT_S"] == 7
    for bad in ("0", "301"):
        with pytest.raises(config_module.ConfigurationError, match="STRIPE_TIMEOUT_S"):
            config_module.load("test", environ={"STRIPE_TIMEOUT_S": bad})
