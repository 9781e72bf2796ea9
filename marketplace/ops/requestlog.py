"""Structured logs: one JSON object a line, one line per request.

Each request carries an id: the caller's ``X-Request-ID`` when it is a plain token (nginx
passes the client's or makes one), else a new one. It comes back in the response header,
stands on every log line written during the request and on the outbox rows the request
queues, so a job done later for the request can log the same id.

What a request line holds is chosen, not dumped: the route's rule (``/reset/<token>``, never
the path with the token in it), the endpoint, status, duration, the user's numeric id, the
client address and scheme as the proxy reported them. No query string, form field, header,
cookie or body is ever logged, so passwords, tokens, phone numbers and e-mail addresses stay
out of the logs (tests/ops/test_logs.py greps a run's log for them).
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, request
from sqlalchemy import inspect as sa_inspect

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")

request_log = logging.getLogger("marketplace.request")

# The LogRecord attributes every record has; anything else passed with ``extra=`` is data.
_RECORD_FIELDS = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "", (), None))) | {"message", "asctime"}


def current_request_id() -> str | None:
    if has_request_context():
        return g.get("request_id")
    return None


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, request id and the record's ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _Handler(logging.StreamHandler):
    """Marks the handler this module installed, so a second app does not add another."""


def configure_logging(app: Flask) -> None:
    """Send the process's log records to stderr (journald under systemd), in the format the
    configuration names. Installed once per process, on the root logger."""
    root = logging.getLogger()
    level = getattr(logging, str(app.config["LOG_LEVEL"]).upper(), logging.INFO)
    request_log.setLevel(level)
    logging.getLogger("stripe").setLevel(getattr(logging, str(app.config["LOG_LEVEL_STRIPE"]).upper(), logging.WARNING))
    if app.testing:  # pytest captures the records itself; a handler would outlive its stream
        return
    existing = next((h for h in root.handlers if isinstance(h, _Handler)), None)
    handler = existing or _Handler(sys.stderr)
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if existing is None:
        root.addHandler(handler)
    root.setLevel(level)


def _user_id() -> int | None:
    user = g.get("api_user") or g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False):
        # The identity the session holds: reading ``user.id`` after the request's commit
        # (every attribute expired) would load the user's row again only to log its number.
        state = sa_inspect(user, raiseerr=False)
        if state is not None and state.identity:
            return state.identity[0]
        return getattr(user, "id", None)
    return None


def start_request() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def finish_request(response):
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started is not None else None
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    rule = request.url_rule.rule if request.url_rule is not None else None
    status = response.status_code
    level = logging.ERROR if status >= 500 else logging.INFO
    request_log.log(level, "request", extra={
        "method": request.method, "route": rule, "endpoint": request.endpoint, "status": status,
        "duration_ms": duration_ms, "user_id": _user_id(), "remote_addr": request.remote_addr,
        "scheme": request.scheme,
    })
    g.request_logged = True
    return response
