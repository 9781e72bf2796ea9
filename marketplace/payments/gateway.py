"""Payment gateway: the one place that talks to the payment provider.

Pure Python — no Flask, no SQLAlchemy. The app picks an implementation from its config
(``StripeGateway`` in production and integration tests, ``InMemoryGateway`` in unit tests)
and keeps its own record of orders and payments in its database.

Money is always an ``int`` number of fen (1 CNY = 100 fen); the currency is ``"cny"``.

**The success signal is the signed webhook, never the API response.** ``create_payment``
and ``confirm_payment`` only start a payment; the app must mark an order paid when
``parse_webhook`` accepts a ``payment_intent.succeeded`` event whose amount matches the
order. In tests the provider is stripe-mock, which validates requests against Stripe's
OpenAPI and answers with fixture objects echoing what was sent, keeps no state between
calls (a confirmed intent may come back in any status) and never sends webhooks: tests and
a dev-only relay build signed events themselves with ``build_event`` and
``sign_webhook_payload``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "PaymentIntent",
    "Refund",
    "WebhookEvent",
    "PaymentGatewayError",
    "WebhookError",
    "WebhookSignatureError",
    "WebhookPayloadError",
    "PaymentGateway",
    "StripeGateway",
    "InMemoryGateway",
    "BankTransferGateway",
    "find_reference",
    "sign_webhook_payload",
    "build_event",
]

DEFAULT_CURRENCY = "cny"
DEFAULT_TOLERANCE_S = 300
# How long one attempt at a gateway call may take to connect, and then to answer (seconds).
# stripe-python's own default is 80; a web request that waits that long (three times, with
# its retries) holds one of its node's few workers all the while. STRIPE_TIMEOUT_S sets it.
DEFAULT_TIMEOUT_S = 20
# Stripe accepts only these values in a refund's ``reason``; other text goes to metadata.
STRIPE_REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    amount_fen: int
    currency: str
    status: str
    client_secret: str | None


@dataclass(frozen=True)
class Refund:
    id: str
    intent_id: str
    amount_fen: int
    status: str


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider event.

    ``object_id`` and ``amount_fen`` come from ``data.object`` (``None`` when absent);
    ``data`` is the event's whole ``data`` member as plain dicts and lists.
    """

    id: str
    type: str
    object_id: str | None
    amount_fen: int | None
    data: dict[str, Any] = field(default_factory=dict)


class PaymentGatewayError(Exception):
    """The provider refused a request or could not be reached."""


class WebhookError(ValueError):
    """Base of the webhook errors: answer the sender 400 and do nothing else."""


class WebhookSignatureError(WebhookError):
    """Missing, malformed, forged or out-of-tolerance ``Stripe-Signature`` header."""


class WebhookPayloadError(WebhookError):
    """Correctly signed but not a usable event (not UTF-8, not JSON, wrong shape)."""


# --------------------------------------------------------------------------- protocol


@runtime_checkable
class PaymentGateway(Protocol):  # pragma: no mutate block (stubs only: mutmut's trampolines would become protocol members)
    def create_payment(
        self,
        *,
        amount_fen: int,
        currency: str = DEFAULT_CURRENCY,
        reference: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> PaymentIntent:
        """Start a payment of ``amount_fen``; ``reference`` is the app's order reference.

        Retrying with the same ``idempotency_key`` must not create a second payment.
        """
        ...

    def confirm_payment(
        self, intent_id: str, *, payment_method: str = "pm_card_visa"
    ) -> PaymentIntent:
        """Ask the provider to charge. Not proof of payment: wait for the webhook."""
        ...

    def refund(
        self,
        *,
        intent_id: str,
        amount_fen: int,
        idempotency_key: str,
        reason: str | None = None,
    ) -> Refund:
        ...

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent:
        """Verify and parse a webhook body; raise a ``WebhookError`` subclass otherwise."""
        ...


# --------------------------------------------------------------------------- helpers


def _check_amount(amount_fen: int) -> None:
    # bool is an int subclass: refuse it explicitly.
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ValueError(f"amount_fen must be a positive int, got {amount_fen!r}")


def _check_key(idempotency_key: str) -> None:
    if not idempotency_key or not isinstance(idempotency_key, str):
        raise ValueError("idempotency_key is required")
    if len(idempotency_key) > 255:
        raise ValueError("idempotency_key is longer than 255 characters")


def sign_webhook_payload(secret: str, payload: bytes, timestamp: int) -> str:
    """Return the ``Stripe-Signature`` header value for ``payload`` signed at ``timestamp``.

    ``t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<payload>")>`` — the scheme
    Stripe uses, so ``StripeGateway.parse_webhook`` accepts it.
    """
    signed = str(int(timestamp)).encode("ascii") + b"." + payload
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"t={int(timestamp)},v1={digest}"


def build_event(
    event_id: str,
    type: str,  # noqa: A002 - mirrors Stripe's field name
    intent: PaymentIntent | Refund,
    *,
    created: int | None = None,
) -> bytes:
    """A Stripe-shaped event body (JSON bytes) about ``intent``.

    For tests and a dev-only webhook relay (stripe-mock never sends webhooks). A
    ``PaymentIntent`` becomes ``data.object`` of object ``payment_intent``; a ``Refund``
    one of object ``refund`` with ``payment_intent`` set.
    """
    if isinstance(intent, PaymentIntent):
        obj: dict[str, Any] = {
            "id": intent.id,
            "object": "payment_intent",
            "amount": intent.amount_fen,
            "amount_received": intent.amount_fen if intent.status == "succeeded" else 0,
            "currency": intent.currency,
            "status": intent.status,
            "client_secret": intent.client_secret,
        }
    elif isinstance(intent, Refund):
        obj = {
            "id": intent.id,
            "object": "refund",
            "amount": intent.amount_fen,
            "currency": DEFAULT_CURRENCY,
            "payment_intent": intent.intent_id,
            "status": intent.status,
        }
    else:  # pragma: no cover - guarded by the type hint
        raise TypeError(f"cannot build an event about {intent!r}")
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-27",
        "created": int(time.time()) if created is None else int(created),
        "livemode": False,
        "pending_webhooks": 1,
        "type": type,
        "data": {"object": obj},
    }
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _parse_event_body(payload: bytes) -> WebhookEvent:
    """Parse an already-verified body into a ``WebhookEvent``."""
    try:
        text = payload.decode("utf-8")
        body = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookPayloadError(f"webhook body is not UTF-8 JSON: {exc}") from None
    if not isinstance(body, dict):
        raise WebhookPayloadError("webhook body is not a JSON object")
    event_id, event_type, data = body.get("id"), body.get("type"), body.get("data")
    if not isinstance(event_id, str) or not event_id:
        raise WebhookPayloadError("webhook event has no id")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookPayloadError("webhook event has no type")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise WebhookPayloadError("webhook event has no data.object")
    obj = data["object"]
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    amount = obj.get("amount")
    amount_fen = amount if isinstance(amount, int) and not isinstance(amount, bool) else None
    return WebhookEvent(
        id=event_id, type=event_type, object_id=object_id, amount_fen=amount_fen, data=data
    )


def _verify_signature(
    payload: bytes, signature_header: str, secret: str, tolerance_s: int, now: int
) -> None:
    """Stripe's scheme, checked by hand: constant-time compare, bounded timestamp.

    Accepts any of several ``v1=`` signatures (Stripe sends two while a secret is being
    rolled). Rejects timestamps older than ``tolerance_s`` and ones more than
    ``tolerance_s`` in the future.
    """
    if not secret:
        raise WebhookSignatureError("no webhook secret configured")
    if not signature_header or not isinstance(signature_header, str):
        raise WebhookSignatureError("missing Stripe-Signature header")
    if not isinstance(payload, (bytes, bytearray)):
        raise WebhookPayloadError("webhook payload must be bytes (the raw request body)")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in signature_header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise WebhookSignatureError("malformed Stripe-Signature header")
        if key == "t":
            if not value.isdigit() or timestamp is not None:
                raise WebhookSignatureError("malformed timestamp in Stripe-Signature header")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise WebhookSignatureError("no timestamp in Stripe-Signature header")
    if not signatures:
        raise WebhookSignatureError("no v1 signature in Stripe-Signature header")
    expected = sign_webhook_payload(secret, bytes(payload), timestamp).split("v1=", 1)[1]
    # Compare against every candidate (no early exit on the first match).
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace"))
    if not matched:
        raise WebhookSignatureError("signature does not match the payload")
    if timestamp < now - tolerance_s:
        raise WebhookSignatureError(f"timestamp {timestamp} is older than {tolerance_s} s")
    if timestamp > now + tolerance_s:
        raise WebhookSignatureError(f"timestamp {timestamp} is too far in the future")


# --------------------------------------------------------------------------- Stripe


class StripeGateway:
    """``PaymentGateway`` backed by the Stripe API (stripe-python 16 ``StripeClient``).

    ``api_base`` points at stripe-mock in tests (``STRIPE_API_BASE``) and at
    ``https://api.stripe.com`` in production. The client object is per gateway: nothing is
    set on the ``stripe`` module's globals. Each mutating call sends the caller's
    idempotency key, so a retry after a timeout cannot charge or refund twice.

    Webhooks are verified first with stripe's own ``WebhookSignature.verify_header`` and
    then again by this module's constant-time check, which also rejects timestamps too far
    in the future; only then is the body parsed.
    """

    def __init__(
        self,
        api_key: str,
        api_base: str | None,
        webhook_secret: str,
        tolerance_s: int = DEFAULT_TOLERANCE_S,
        *,
        max_network_retries: int = 2,
        http_client: Any = None,
        timeout_s: int = DEFAULT_TIMEOUT_S,
    ) -> None:
        import stripe  # imported here so unit tests of InMemoryGateway need no stripe

        self._stripe = stripe
        base_addresses = {"api": api_base.rstrip("/")} if api_base else None
        self._client = stripe.StripeClient(
            api_key,
            base_addresses=base_addresses,  # type: ignore[arg-type]
            max_network_retries=max_network_retries,
            http_client=http_client if http_client is not None else _steady_http_client(stripe)(timeout_s=timeout_s),
        )
        self._webhook_secret = webhook_secret
        self._tolerance_s = int(tolerance_s)

    # -- payments

    def create_payment(
        self,
        *,
        amount_fen: int,
        currency: str = DEFAULT_CURRENCY,
        reference: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> PaymentIntent:
        _check_amount(amount_fen)
        _check_key(idempotency_key)
        meta = {str(k): str(v) for k, v in (metadata or {}).items()}
        meta["reference"] = reference
        params = {
            "amount": amount_fen,
            "currency": currency.lower(),
            "metadata": meta,
            "description": reference,
            "payment_method_types": ["card"],
        }
        return self._to_intent(self._post("/v1/payment_intents", params, idempotency_key))

    def confirm_payment(
        self, intent_id: str, *, payment_method: str = "pm_card_visa"
    ) -> PaymentIntent:
        if not intent_id:
            raise ValueError("intent_id is required")
        path = f"/v1/payment_intents/{urllib.parse.quote(intent_id, safe='')}/confirm"
        return self._to_intent(self._post(path, {"payment_method": payment_method}))

    def refund(
        self,
        *,
        intent_id: str,
        amount_fen: int,
        idempotency_key: str,
        reason: str | None = None,
    ) -> Refund:
        _check_amount(amount_fen)
        _check_key(idempotency_key)
        if not intent_id:
            raise ValueError("intent_id is required")
        params: dict[str, Any] = {"payment_intent": intent_id, "amount": amount_fen}
        if reason in STRIPE_REFUND_REASONS:
            params["reason"] = reason
        elif reason:
            params["metadata"] = {"reason": reason[:500]}
        data = self._post("/v1/refunds", params, idempotency_key)
        pi = data.get("payment_intent")
        pi_id = pi if isinstance(pi, str) else (pi or {}).get("id") or intent_id
        return Refund(
            id=data["id"],
            intent_id=pi_id,
            amount_fen=int(data["amount"]),
            status=str(data.get("status") or "pending"),
        )

    # -- webhooks

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent:
        if isinstance(payload, str):
            raise WebhookPayloadError("webhook payload must be bytes (the raw request body)")
        try:
            self._stripe.WebhookSignature.verify_header(
                payload, signature_header, self._webhook_secret, self._tolerance_s
            )
        except self._stripe.SignatureVerificationError as exc:
            raise WebhookSignatureError(str(exc.user_message or exc)) from None
        except UnicodeDecodeError:
            raise WebhookPayloadError("webhook body is not UTF-8") from None
        _verify_signature(
            payload, signature_header, self._webhook_secret, self._tolerance_s, int(time.time())
        )
        return _parse_event_body(bytes(payload))

    # -- internals

    def _post(self, path: str, params: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """POST through the client (its retries, keys, headers and error mapping) and return
        the answer as plain JSON: stripe's ``StripeObject`` tree, built field by field and then
        turned back into a dict, cost more CPU than the HTTP exchange itself."""
        if idempotency_key is not None:
            params = {**params, "idempotency_key": idempotency_key}  # a request option, not a form field
        try:
            data = self._client.raw_request("post", path, **params).data
        except self._stripe.StripeError as exc:
            raise PaymentGatewayError(
                f"{type(exc).__name__}: {exc.user_message or exc} "
                f"(http_status={exc.http_status}, code={exc.code})"
            ) from exc
        if not isinstance(data, dict):
            raise PaymentGatewayError(f"the gateway answered {path} with no JSON object")
        return data

    @staticmethod
    def _to_intent(data: dict[str, Any]) -> PaymentIntent:
        return PaymentIntent(
            id=data["id"],
            amount_fen=int(data["amount"]),
            currency=str(data["currency"]),
            status=str(data["status"]),
            client_secret=data.get("client_secret"),
        )


_STEADY_CLIENT: Any = None


def _steady_http_client(stripe: Any) -> Any:
    """stripe's ``HTTPClient`` interface over urllib3's connection pools, without ``requests``.

    stripe-python keeps doing what it does for every call (the request's form, its headers,
    the idempotency key, the retries and their back-off, the error mapping); only the transport
    under it is lighter. ``requests`` (stripe's default ``RequestsClient``) spent about as much
    CPU preparing each request (merging the session's settings, hooks and cookies, walking its
    adapters) as urllib3 spends sending it and reading the answer: about 0.35 ms of 1 ms a call,
    two calls a payment.

    Nothing is read from the environment per call: the proxy ``requests`` would have chosen
    for an address (``HTTPS_PROXY``, ``NO_PROXY``…) is looked up once per scheme and host, and
    neither ``~/.netrc`` nor the environment's certificate bundles are read (the certificates
    checked are stripe's own bundle, as its ``RequestsClient`` passes them). Connections are kept
    alive in a pool per scheme and host, shared by the threads; urllib3 retries nothing itself
    (stripe's loop decides, under the call's idempotency key)."""
    global _STEADY_CLIENT
    if _STEADY_CLIENT is not None:
        return _STEADY_CLIENT
    import threading

    import requests.utils
    import urllib3

    class SteadyHTTPClient(stripe.HTTPClient):  # type: ignore[misc, name-defined]
        name = "urllib3"

        def __init__(self, timeout_s: int = 80, verify_ssl_certs: bool = True, proxy: Any = None) -> None:
            super().__init__(verify_ssl_certs=verify_ssl_certs, proxy=proxy)
            self._timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)  # (seconds, as stripe's default)
            self._pools: dict[tuple[str, str], urllib3.PoolManager] = {}
            self._pools_lock = threading.Lock()

        def proxies_for(self, url: str) -> dict[str, str]:
            """The proxies for ``url``: the ones given, else the environment's, as requests reads them."""
            return dict(self._proxy) if self._proxy else requests.utils.get_environ_proxies(url)

        def _pool(self, url: str) -> urllib3.PoolManager:
            parts = urllib.parse.urlsplit(url)
            key = (parts.scheme, parts.netloc)
            pool = self._pools.get(key)
            if pool is None:
                with self._pools_lock:
                    pool = self._pools.get(key)
                    if pool is None:
                        tls = ({"cert_reqs": "CERT_REQUIRED", "ca_certs": stripe.ca_bundle_path}
                               if self._verify_ssl_certs else {"cert_reqs": "CERT_NONE"})
                        proxy = self.proxies_for(url).get(parts.scheme)
                        pool = self._pools[key] = (urllib3.ProxyManager(proxy, maxsize=10, **tls) if proxy
                                                   else urllib3.PoolManager(maxsize=10, **tls))
            return pool

        def request(self, method, url, headers, post_data=None):  # type: ignore[no-untyped-def]
            return self._send(method, url, headers, post_data, stream=False)

        def request_stream(self, method, url, headers, post_data=None):  # type: ignore[no-untyped-def]
            return self._send(method, url, headers, post_data, stream=True)

        def _send(self, method: str, url: str, headers: Any, post_data: Any, stream: bool):
            try:
                answer = self._pool(url).request(method.upper(), url, body=post_data, headers=dict(headers or {}),
                                                 timeout=self._timeout, retries=False, redirect=False,
                                                 preload_content=not stream)
            except Exception as exc:  # noqa: BLE001 - every failure becomes stripe's APIConnectionError
                self._handle_request_error(exc)
            return (answer if stream else answer.data), answer.status, answer.headers

        @staticmethod
        def _handle_request_error(exc: Exception):  # type: ignore[no-untyped-def]
            # As stripe's own clients: a connection that could not be made, broke or timed out
            # is tried again; a certificate that does not verify, or anything else, is not.
            errors = urllib3.exceptions
            retry = not isinstance(exc, errors.SSLError) and isinstance(
                exc, (errors.TimeoutError, errors.NewConnectionError, errors.ProtocolError, errors.ProxyError))
            raise stripe.APIConnectionError(f"the payment gateway could not be reached or broke off "
                                            f"({type(exc).__name__}: {exc})", should_retry=retry) from exc

        def close(self) -> None:
            for pool in list(self._pools.values()):
                pool.clear()

    _STEADY_CLIENT = SteadyHTTPClient
    return _STEADY_CLIENT


# --------------------------------------------------------------------------- in memory


class InMemoryGateway:
    """Deterministic fake for unit tests; never use it outside tests.

    Ids are ``pi_mem_0001``, ``re_mem_0001``… in call order. Every call is appended to
    ``calls`` as ``(method_name, kwargs)``. Repeating ``create_payment``/``refund`` with an
    idempotency key already used returns the first result (as Stripe does). Confirming
    moves an intent to ``succeeded`` here, but the app must still wait for the webhook,
    which tests produce with ``make_webhook``. Refunds over the amount left are refused
    with ``PaymentGatewayError``.
    """

    def __init__(self, webhook_secret: str = "whsec_test_in_memory",
                 tolerance_s: int = DEFAULT_TOLERANCE_S) -> None:
        self.webhook_secret = webhook_secret
        self.tolerance_s = tolerance_s
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.intents: dict[str, PaymentIntent] = {}
        self.refunds: dict[str, Refund] = {}
        self.metadata: dict[str, dict[str, str]] = {}
        self._by_key: dict[tuple[str, str], Any] = {}
        self._seq = 0

    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}_mem_{self._seq:04d}"

    def create_payment(
        self,
        *,
        amount_fen: int,
        currency: str = DEFAULT_CURRENCY,
        reference: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> PaymentIntent:
        self.calls.append(("create_payment", dict(
            amount_fen=amount_fen, currency=currency, reference=reference,
            idempotency_key=idempotency_key, metadata=dict(metadata or {}))))
        _check_amount(amount_fen)
        _check_key(idempotency_key)
        if ("create", idempotency_key) in self._by_key:
            return self.intents[self._by_key[("create", idempotency_key)]]
        intent_id = self._next("pi")
        intent = PaymentIntent(
            id=intent_id, amount_fen=amount_fen, currency=currency.lower(),
            status="requires_payment_method", client_secret=f"{intent_id}_secret_mem",
        )
        self.intents[intent_id] = intent
        self.metadata[intent_id] = {**(metadata or {}), "reference": reference}
        self._by_key[("create", idempotency_key)] = intent_id
        return intent

    def confirm_payment(
        self, intent_id: str, *, payment_method: str = "pm_card_visa"
    ) -> PaymentIntent:
        self.calls.append(("confirm_payment", dict(
            intent_id=intent_id, payment_method=payment_method)))
        intent = self._intent(intent_id)
        status = "requires_payment_method" if payment_method.startswith(
            "pm_card_chargeDeclined") else "succeeded"
        intent = PaymentIntent(intent.id, intent.amount_fen, intent.currency, status,
                               intent.client_secret)
        self.intents[intent_id] = intent
        return intent

    def refund(
        self,
        *,
        intent_id: str,
        amount_fen: int,
        idempotency_key: str,
        reason: str | None = None,
    ) -> Refund:
        self.calls.append(("refund", dict(
            intent_id=intent_id, amount_fen=amount_fen,
            idempotency_key=idempotency_key, reason=reason)))
        _check_amount(amount_fen)
        _check_key(idempotency_key)
        if ("refund", idempotency_key) in self._by_key:
            return self.refunds[self._by_key[("refund", idempotency_key)]]
        intent = self._intent(intent_id)
        if intent.status != "succeeded":
            raise PaymentGatewayError(f"payment {intent_id} has not succeeded")
        refunded = sum(r.amount_fen for r in self.refunds.values() if r.intent_id == intent_id)
        if refunded + amount_fen > intent.amount_fen:
            raise PaymentGatewayError(
                f"refund of {amount_fen} fen exceeds the {intent.amount_fen - refunded} left")
        refund = Refund(id=self._next("re"), intent_id=intent_id, amount_fen=amount_fen,
                        status="succeeded")
        self.refunds[refund.id] = refund
        self._by_key[("refund", idempotency_key)] = refund.id
        return refund

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent:
        self.calls.append(("parse_webhook", dict(signature_header=signature_header)))
        _verify_signature(payload, signature_header, self.webhook_secret, self.tolerance_s,
                          int(time.time()))
        return _parse_event_body(bytes(payload))

    def make_webhook(self, event_id: str, type: str,  # noqa: A002
                     obj: PaymentIntent | Refund, *, timestamp: int | None = None
                     ) -> tuple[bytes, str]:
        """A signed ``(payload, Stripe-Signature)`` pair this gateway accepts."""
        ts = int(time.time()) if timestamp is None else timestamp
        payload = build_event(event_id, type, obj, created=ts)
        return payload, sign_webhook_payload(self.webhook_secret, payload, ts)

    def _intent(self, intent_id: str) -> PaymentIntent:
        try:
            return self.intents[intent_id]
        except KeyError:
            raise PaymentGatewayError(f"no such payment intent: {intent_id}") from None


# --------------------------------------------------------------------------- bank transfer

# Crockford's base 32: no I, L, O or U, so a reference copied by hand into a bank's remark
# field (附言) cannot be misread; I and L read as 1, O as 0 when a remark is matched.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})
REFERENCE_PREFIX = "LC"
_REFERENCE_BODY = 8


def _check_char(body: str) -> str:
    """One check character (weighted sum mod 32): a mistyped character or two swapped
    neighbours make another reference that does not check, so it matches nothing."""
    total = sum((i + 1) * _ALPHABET.index(c) for i, c in enumerate(body))
    return _ALPHABET[total % 32]


def make_reference(secret: str, key: str) -> str:
    """``LC`` + eight characters derived from ``key`` (the payment's idempotency key) under
    ``secret`` + a check character: the same key gives the same reference, another key
    practically never the same one (the database's unique key is the backstop)."""
    digest = hmac.new(secret.encode("utf-8"), key.encode("utf-8"), hashlib.sha256).digest()
    number = int.from_bytes(digest[:5], "big")  # 40 bits = 8 characters of 5 bits
    body = "".join(_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(_REFERENCE_BODY)))
    return REFERENCE_PREFIX + body + _check_char(body)


def find_reference(text: str) -> str | None:
    """The first well-formed platform reference in a bank remark, or None.

    Banks add their own words around the remark, upper- or lower-case it and sometimes split
    it with spaces or hyphens: those are ignored, and the check character must hold."""
    if not text:
        return None
    squeezed = "".join(ch for ch in str(text).upper() if ch.isalnum())
    length = len(REFERENCE_PREFIX) + _REFERENCE_BODY + 1
    start = squeezed.find(REFERENCE_PREFIX)
    while start != -1:
        candidate = squeezed[start + len(REFERENCE_PREFIX):start + length].translate(_READ_AS)
        if len(candidate) == _REFERENCE_BODY + 1 and all(c in _ALPHABET for c in candidate) \
                and _check_char(candidate[:-1]) == candidate[-1]:
            return REFERENCE_PREFIX + candidate
        start = squeezed.find(REFERENCE_PREFIX, start + 1)
    return None


class BankTransferGateway:
    """``PaymentGateway`` for 对公转账: the buyer's finance department transfers the money to
    the payee account with the platform's reference in the remark, and the payee's side (the
    city's finance, or the seller) confirms receipt, by hand or by importing a statement.

    ``create_payment`` issues the reference (the intent id) and says the payment waits for
    the buyer (``requires_action``). Nothing here can prove that money arrived: there is no
    webhook, and ``confirm_payment`` only reports that the transfer is awaited. ``refund``
    is an instruction to send money back by transfer, carried out by a person (``pending``).
    """

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a secret is required to derive references")
        self._secret = secret

    def create_payment(
        self,
        *,
        amount_fen: int,
        currency: str = DEFAULT_CURRENCY,
        reference: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> PaymentIntent:
        _check_amount(amount_fen)
        _check_key(idempotency_key)
        return PaymentIntent(id=make_reference(self._secret, idempotency_key), amount_fen=amount_fen,
                             currency=currency.lower(), status="requires_action", client_secret=None)

    def confirm_payment(
        self, intent_id: str, *, payment_method: str = "pm_card_visa"
    ) -> PaymentIntent:
        if not intent_id:
            raise ValueError("intent_id is required")
        # The amount is the platform's record; the gateway keeps none.
        return PaymentIntent(id=intent_id, amount_fen=0, currency=DEFAULT_CURRENCY, status="requires_action",
                             client_secret=None)

    def refund(
        self,
        *,
        intent_id: str,
        amount_fen: int,
        idempotency_key: str,
        reason: str | None = None,
    ) -> Refund:
        _check_amount(amount_fen)
        _check_key(idempotency_key)
        if not intent_id:
            raise ValueError("intent_id is required")
        return Refund(id=f"RT{intent_id}", intent_id=intent_id, amount_fen=amount_fen, status="pending")

    def parse_webhook(self, payload: bytes, signature_header: str) -> WebhookEvent:
        raise WebhookSignatureError("bank transfers send no webhooks")
