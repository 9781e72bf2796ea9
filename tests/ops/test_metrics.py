"""/metrics: loopback or a token only; requests, payments, refunds, recomputed claims and
the outbox backlog are counted."""
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from marketplace.extensions import db
from marketplace.outbox import OutboxEntry
from marketplace.payments import services as payments
from tests.claims.helpers import buy_with_voucher, published_service


def _value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _scrape(client, **kw):
    response = client.get("/metrics", **kw)
    assert response.status_code == 200, response.status_code
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for s in family.samples}


def test_metrics_answer_loopback_or_the_token_only(client, app, monkeypatch):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=outside).status_code == 403
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-secret-123")
    assert client.get("/metrics", environ_base=outside,
                      headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", environ_base=outside,
                      headers={"Authorization": "Bearer scrape-secret-123"}).status_code == 200


def test_requests_latency_and_errors_per_endpoint(client, app, monkeypatch):
    before = _value("marketplace_http_requests_total", endpoint="health.healthz", method="GET", status="200")
    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page")
    samples = _scrape(client)
    key = ("marketplace_http_requests_total", (("endpoint", "health.healthz"), ("method", "GET"), ("status", "200")))
    assert samples[key] == before + 3
    assert samples[("marketplace_http_request_duration_seconds_count",
                    (("endpoint", "health.healthz"), ("method", "GET")))] >= 3
    assert samples[("marketplace_http_requests_total",
                    (("endpoint", "unmatched"), ("method", "GET"), ("status", "404")))] >= 1

    errors = _value("marketplace_http_errors_total", endpoint="health.readyz")

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr("marketplace.ops.services.readiness", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    assert client.get("/readyz").status_code == 500
    assert _value("marketplace_http_errors_total", endpoint="health.readyz") == errors + 1


def test_payments_refunds_and_recomputed_claims_are_counted_when_committed(client, factory):
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published_service(provider)
    paid, paid_fen = _value("marketplace_payments_total"), _value("marketplace_payments_fen_total")
    refunded = _value("marketplace_refunds_total")
    recomputes = _value("marketplace_claims_recompute_runs_total")

    order_id = buy_with_voucher(client, buyer, service)
    assert _value("marketplace_payments_total") == paid + 1
    assert _value("marketplace_payments_fen_total") > paid_fen
    assert _value("marketplace_claims_recompute_runs_total") > recomputes  # the ledger entry asked for it

    try:  # a refused refund (no reason) commits nothing and counts nothing
        payments.refund(provider, order_id, "")
    except Exception:  # noqa: BLE001
        db.session.rollback()
    assert _value("marketplace_refunds_total") == refunded
    payments.refund(provider, order_id, "客户取消")
    assert _value("marketplace_refunds_total") == refunded + 1
    assert _value("marketplace_payments_total") == paid + 1


def test_outbox_backlog_and_age_are_scraped_from_the_database(client):
    db.session.add_all([OutboxEntry(topic="search", key="1"), OutboxEntry(topic="search", key="2"),
                        OutboxEntry(topic="claims", key="2025")])
    db.session.commit()
    samples = _scrape(client)
    assert samples[("marketplace_outbox_backlog", (("topic", "search"),))] == 2
    assert samples[("marketplace_outbox_backlog", (("topic", "claims"),))] == 1
    assert ("marketplace_outbox_oldest_age_seconds", (("topic", "search"),)) in samples


def test_parked_work_failing_timed_jobs_and_worker_progress_are_scraped_from_the_database(client, app):
    from marketplace import worker
    from marketplace.core.timeutil import utcnow

    db.session.add(OutboxEntry(topic="mail", key="3", attempts=8, parked_at=utcnow()))
    db.session.commit()

    def broken(now):
        raise RuntimeError("down")

    worker.schedule(app, "probe-metrics-job", 60, broken)
    try:
        worker.run_due_jobs("w-metrics")
    finally:
        worker._jobs(app).pop("probe-metrics-job", None)
    worker.beat("w-metrics", utcnow(), rows=7)
    samples = _scrape(client)
    assert samples[("marketplace_outbox_parked", (("topic", "mail"),))] == 1
    assert samples[("marketplace_timed_job_failures", (("job", "probe-metrics-job"),))] == 1
    assert ("marketplace_timed_job_last_duration_seconds", (("job", "probe-metrics-job"),)) in samples
    assert samples[("marketplace_worker_rows_done", (("worker", "w-metrics"),))] == 7
