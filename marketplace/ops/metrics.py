"""Prometheus metrics, scraped at /metrics.

Under gunicorn each node runs several worker processes; with PROMETHEUS_MULTIPROC_DIR set
(deploy/marketplace.env) each process writes its counters to files in that directory and a
scrape adds them up, so any worker can answer for the whole node (deploy/gunicorn.conf.py
removes a dead worker's files). Without it the numbers are the answering process's own.

Counted here:
- every request by endpoint, method and status; its duration; 5xx answers per endpoint;
- payments that succeeded and refunds, counted when the transaction that records them
  commits (a session hook watching the ledger's payment and refund entries; nothing in payments/ changes);
- claims recomputed by the engine, per outcome (one call at the end of recompute_year);
- the outbox backlog and its oldest row's age, read from the database at scrape time.
"""
from __future__ import annotations

import os

from flask import Flask, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event
from sqlalchemy.orm import Session

REQUESTS = Counter("marketplace_http_requests_total", "HTTP requests answered.",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("marketplace_http_request_duration_seconds", "Time to answer a request.",
                    ["endpoint", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
ERRORS = Counter("marketplace_http_errors_total", "Requests answered with a 5xx status.", ["endpoint"])
PAYMENTS = Counter("marketplace_payments_total", "Payments that succeeded (committed).", [])
PAYMENTS_FEN = Counter("marketplace_payments_fen_total", "Fen received by succeeded payments.", [])
REFUNDS = Counter("marketplace_refunds_total", "Refunds made (committed).", [])
REFUNDS_FEN = Counter("marketplace_refunds_fen_total", "Fen refunded.", [])
CLAIMS_RECOMPUTED = Counter("marketplace_claims_recomputed_total",
                            "Claims visited by the engine's recompute, by what happened to them.",
                            ["outcome"])
RECOMPUTE_RUNS = Counter("marketplace_claims_recompute_runs_total", "Recomputes of a subsidy year.", [])


def observe_request(response):
    started = g.get("request_started")
    endpoint = request.endpoint or "unmatched"
    REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    if started is not None:
        import time

        LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
    if response.status_code >= 500:
        ERRORS.labels(endpoint).inc()
    return response


def claims_recomputed(counts: dict) -> None:
    """Called by ``claims.drafting.recompute_year`` after it commits."""
    RECOMPUTE_RUNS.inc()
    for outcome, n in counts.items():
        CLAIMS_RECOMPUTED.labels(outcome).inc(n)


# --- payments and refunds, counted on commit ------------------------------------------------

def _after_flush(session, _flush_context):
    from marketplace.ledger.models import LedgerEntry

    # A payment or a refund is money only once the ledger records it (the status moves
    # themselves are conditional UPDATEs the ORM does not see).
    pending = session.info.setdefault("ops_money", [])
    for obj in session.new:
        if isinstance(obj, LedgerEntry) and obj.kind in ("payment", "refund"):
            pending.append((obj.kind, obj.amount_fen or 0))


def _after_commit(session):
    for kind, fen in session.info.pop("ops_money", ()):
        if kind == "payment":
            PAYMENTS.inc()
            PAYMENTS_FEN.inc(fen)
        else:
            REFUNDS.inc()
            REFUNDS_FEN.inc(fen)


def _after_rollback(session):
    session.info.pop("ops_money", None)


def install_session_hooks() -> None:
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda session, _tx: _after_rollback(session))


# --- the scrape ---------------------------------------------------------------------------

class OutboxCollector:
    """The outbox backlog per topic and the age of its oldest row, read at scrape time."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        from marketplace.ops.services import outbox_backlog

        backlog = GaugeMetricFamily("marketplace_outbox_backlog", "Outbox rows waiting, by topic.",
                                    labels=["topic"])
        age = GaugeMetricFamily("marketplace_outbox_oldest_age_seconds",
                                "Age of the oldest waiting outbox row, by topic.", labels=["topic"])
        from marketplace import outbox, worker

        parked = GaugeMetricFamily("marketplace_outbox_parked", "Outbox rows parked after failing every retry.",
                                   labels=["topic"])
        failures = GaugeMetricFamily("marketplace_timed_job_failures", "Failed runs of each timed job.",
                                     labels=["job"])
        duration = GaugeMetricFamily("marketplace_timed_job_last_duration_seconds",
                                     "How long each timed job's last run took.", labels=["job"])
        rows_done = GaugeMetricFamily("marketplace_worker_rows_done", "Outbox rows each worker has done.",
                                      labels=["worker"])
        with self.app.app_context():
            for row in outbox_backlog():
                backlog.add_metric([row["topic"]], row["count"])
                age.add_metric([row["topic"]], row["oldest_age_seconds"])
            for row in outbox.backlog():
                parked.add_metric([row["topic"]], row["parked"])
            for job in worker.scheduled_jobs():
                failures.add_metric([job.name], job.failures or 0)
                if job.last_duration_ms is not None:
                    duration.add_metric([job.name], job.last_duration_ms / 1000)
            for beat in worker.heartbeats():
                rows_done.add_metric([beat.name], beat.rows_done or 0)
        yield from (backlog, age, parked, failures, duration, rows_done)


def render() -> tuple[bytes, str]:
    """The exposition text of this node: every process's counters (multiprocess mode) or this
    process's, plus the outbox gauges."""
    from prometheus_client import REGISTRY

    registry = CollectorRegistry()
    directory = current_app.config["PROMETHEUS_MULTIPROC_DIR"]  # config.py reads it from the environment
    if directory and os.path.isdir(directory):
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(OutboxCollector(current_app._get_current_object()))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward:
    """The process-wide registry seen through a per-scrape one (the outbox collector is
    added per scrape, never to the process-wide registry)."""

    def __init__(self, inner):
        self.inner = inner

    def collect(self):
        return self.inner.collect()
