"""What an operator asks during an incident: is each component up, how far behind is the
outbox, is the ledger intact. /readyz, /metrics and the admin ops page all ask here.

Each check returns ``{"status": "ok" | "fail" | "not_configured", ...}`` with figures and a
short reason, never a URL with credentials, a key or a stack trace. The probes of other
servers (Elasticsearch, the payment gateway) are cached for READYZ_CACHE_SECONDS per process,
so polling /readyz every second costs one ``SELECT 1`` and one outbox query a second.
"""
from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from base64 import b64encode

from flask import current_app
from sqlalchemy import func, select, text

from marketplace import permissions as perm
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import transactional, unit_of_work
from marketplace.extensions import db
from marketplace.ops.models import LedgerVerification, last_verification
from marketplace.outbox import OutboxEntry

OK, FAIL, NOT_CONFIGURED = "ok", "fail", "not_configured"

_cache: dict[tuple, tuple[float, dict]] = {}
_cache_lock = threading.Lock()


def _cached(key: tuple, probe) -> dict:
    ttl = current_app.config["READYZ_CACHE_SECONDS"]
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
    result = probe()
    with _cache_lock:
        _cache[key] = (time.monotonic(), result)
    return result


def clear_probe_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _http_get(url: str, headers: dict | None = None) -> int:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=current_app.config["READYZ_PROBE_TIMEOUT"]) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def check_database() -> dict:
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        db.session.rollback()
        return {"status": FAIL, "reason": type(exc).__name__}
    return {"status": OK, "backend": db.engine.dialect.name,
            "ms": round((time.perf_counter() - started) * 1000, 1)}


def check_search() -> dict:
    config = current_app.config
    if config["SEARCH_BACKEND"] != "elasticsearch":
        def probe():
            from marketplace.search.indexing import backend

            try:
                return {"status": OK, "backend": "embedded", "documents": backend().count()}
            except Exception as exc:  # noqa: BLE001
                return {"status": FAIL, "backend": "embedded", "reason": type(exc).__name__}

        return _cached(("search", "embedded", config["SEARCH_SQLITE_PATH"]), probe)

    url = config["ELASTICSEARCH_URL"].rstrip("/")

    def probe():
        import json

        try:
            req = urllib.request.Request(f"{url}/_cluster/health?timeout=1s")
            with urllib.request.urlopen(req, timeout=config["READYZ_PROBE_TIMEOUT"]) as response:
                health = json.load(response)
        except Exception as exc:  # noqa: BLE001
            return {"status": FAIL, "backend": "elasticsearch", "reason": type(exc).__name__}
        status = health.get("status")
        return {"status": OK if status in ("green", "yellow") else FAIL, "backend": "elasticsearch",
                "cluster": status}

    return _cached(("search", url), probe)


def check_payments() -> dict:
    config = current_app.config
    if config["PAYMENT_GATEWAY"] == "memory":
        return {"status": OK, "gateway": "memory"}
    base = config["STRIPE_API_BASE"].rstrip("/")
    key = config["STRIPE_SECRET_KEY"]

    def probe():
        auth = "Basic " + b64encode(f"{key}:".encode()).decode()
        try:
            status = _http_get(f"{base}/v1/balance", {"Authorization": auth})
        except Exception as exc:  # noqa: BLE001
            return {"status": FAIL, "gateway": "stripe", "reason": type(exc).__name__}
        if status == 200:
            return {"status": OK, "gateway": "stripe"}
        reason = "credentials refused" if status in (401, 403) else f"HTTP {status}"
        return {"status": FAIL, "gateway": "stripe", "reason": reason}

    return _cached(("payments", base, key), probe)


def outbox_backlog() -> list[dict]:
    """Waiting outbox rows by topic: how many, and the age in seconds of the oldest."""
    now = utcnow()
    rows = db.session.execute(select(OutboxEntry.topic, func.count(), func.min(OutboxEntry.created_at))
                              .group_by(OutboxEntry.topic).order_by(OutboxEntry.topic)).all()
    return [{"topic": topic, "count": count,
             "oldest_age_seconds": max(0, int((now - oldest).total_seconds())) if oldest else 0}
            for topic, count, oldest in rows]


def check_outbox() -> dict:
    config = current_app.config
    try:
        topics = outbox_backlog()
        db.session.rollback()
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        return {"status": FAIL, "reason": type(exc).__name__}
    backlog = sum(t["count"] for t in topics)
    age = max((t["oldest_age_seconds"] for t in topics), default=0)
    result = {"backlog": backlog, "oldest_age_seconds": age, "backlog_max": config["OUTBOX_BACKLOG_MAX"],
              "age_max_seconds": config["OUTBOX_MAX_AGE_SECONDS"]}
    if backlog > config["OUTBOX_BACKLOG_MAX"]:
        return {"status": FAIL, "reason": "backlog above the threshold", **result}
    if age > config["OUTBOX_MAX_AGE_SECONDS"]:
        return {"status": FAIL, "reason": "oldest row older than the threshold", **result}
    return {"status": OK, **result}


def check_worker() -> dict:
    config = current_app.config
    # A worker is expected wherever requests leave their after-commit work to one.
    max_age = config["WORKER_HEARTBEAT_MAX_AGE"] or (60 if config["OUTBOX_DRAIN"] == "worker" else 0)
    if not max_age:
        return {"status": NOT_CONFIGURED, "reason": "no worker deployed; the outbox is drained after each request"}
    from marketplace.worker import last_heartbeat

    try:
        seen = last_heartbeat()  # the most recent of any worker's
        db.session.rollback()
    except Exception as exc:  # noqa: BLE001
        db.session.rollback()
        return {"status": FAIL, "reason": type(exc).__name__}
    if seen is None:
        return {"status": FAIL, "reason": "no heartbeat yet", "max_age_seconds": max_age}
    age = int((utcnow() - seen).total_seconds())
    return {"status": OK if age <= max_age else FAIL, "age_seconds": age, "max_age_seconds": max_age}


CHECKS = {"database": check_database, "search": check_search, "payments": check_payments,
          "outbox": check_outbox, "worker": check_worker}


def readiness() -> tuple[bool, dict]:
    """Run every check; ready when none failed ("not_configured" is not a failure)."""
    results = {name: check() for name, check in CHECKS.items()}
    return all(r["status"] != FAIL for r in results.values()), results


# --- the ledger verification record ------------------------------------------------------

def verify_ledger(actor=None, source: str = "cli") -> LedgerVerification:
    """Verify the whole chain, then that the money adds up (``ledger.verify_business``), and
    keep the result. From the admin page ``actor`` must be allowed to run operations; the CLI
    runs as the operator of the machine. The row's ``inconsistent`` (not stored) tells a
    broken chain from a business rule broken by well-chained entries."""
    from marketplace.ledger import services as ledger

    if source != "cli":
        perm.require(actor, perm.RUN_OPS)
    started = time.perf_counter()
    result = ledger.verify()
    failed, inconsistent = result, False
    if result.ok:
        business = ledger.verify_business()
        if not business.ok:
            failed, inconsistent = business, True
    db.session.rollback()  # the reads end here; the record is a transaction of its own
    with unit_of_work():
        row = LedgerVerification(ran_at=utcnow(), ok=failed.ok, checked=result.checked,
                                 first_broken_seq=failed.first_broken_seq,
                                 reason=(failed.reason or None) and str(failed.reason)[:300], source=source,
                                 user_id=getattr(actor, "id", None),
                                 duration_ms=int((time.perf_counter() - started) * 1000))
        db.session.add(row)
    row.inconsistent = inconsistent
    return row


def worker_heartbeats() -> list:
    from marketplace.worker import heartbeats

    return heartbeats()


def overview(actor) -> dict:
    """Everything the admin ops page shows."""
    from marketplace import outbox, worker

    perm.require(actor, perm.RUN_OPS)
    ready, checks = readiness()
    return {"ready": ready, "checks": checks, "outbox": outbox_backlog(), "last_verification": last_verification(),
            "heartbeats": worker_heartbeats(), "parked": outbox.parked(), "jobs": worker.scheduled_jobs()}


@transactional
def retry_parked(actor, topic: str | None = None) -> int:
    """Put the parked outbox rows (of one topic, or all) back in the queue, once an operator
    has mended their cause; audited. Returns how many rows."""
    from marketplace import outbox
    from marketplace.audit.models import record

    perm.require(actor, perm.RUN_OPS)
    count = outbox.retry_parked(topic)
    record(actor, "ops.outbox_retry", "outbox", topic or "*", after={"rows": count})
    return count
