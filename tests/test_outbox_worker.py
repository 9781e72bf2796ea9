"""The outbox hands each topic's rows to its handler once; failures wait, then park; the worker
process drains what requests leave behind and runs timed jobs once per period."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace import outbox, worker
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.outbox import OutboxEntry
from marketplace.worker import ScheduledJob, WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def probe(app_ctx):
    """A topic of the test's own whose handler records the keys it was given."""
    seen: list[list[str]] = []
    state = {"fail": 0, "slow": 0.0}

    def handler(keys):
        if state["slow"]:
            time.sleep(state["slow"])
        if state["fail"]:
            state["fail"] -= 1
            raise RuntimeError("the far side is down")
        seen.append(sorted(keys))

    outbox.register(app_ctx, "probe", handler, batch=50)
    yield seen, state
    outbox._registry(app_ctx).pop("probe", None)


def _rows(topic="probe"):
    return list(db.session.scalars(select(OutboxEntry).where(OutboxEntry.topic == topic).order_by(OutboxEntry.id)))


def test_each_topic_goes_to_its_handler_once_with_distinct_keys(probe):
    seen, _ = probe
    for key in ("a", "b", "a"):
        outbox.enqueue("probe", key)
    db.session.commit()
    assert outbox.drain(["probe"]) == 3
    assert seen == [["a", "b"]]
    assert _rows() == []
    assert outbox.drain(["probe"]) == 0 and seen == [["a", "b"]]


def test_nothing_rolled_back_is_announced(probe):
    seen, _ = probe
    outbox.enqueue("probe", "ghost")
    db.session.rollback()
    assert outbox.drain(["probe"]) == 0 and seen == []


def test_a_failing_handler_keeps_the_rows_retries_with_back_off_then_parks(app_ctx, probe):
    seen, state = probe
    app_ctx.config.update(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_RETRY_BASE_SECONDS=10, OUTBOX_RETRY_MAX_SECONDS=3600)
    outbox.enqueue("probe", "k")
    db.session.commit()
    state["fail"] = 99
    t0 = utcnow()
    assert outbox.drain(["probe"], now=t0) == 0
    (row,) = _rows()
    assert (row.attempts, row.parked_at) == (1, None)
    assert row.available_at == t0  # the first retry at once: most faults pass
    assert "the far side is down" in row.last_error
    assert outbox.drain(["probe"], now=t0) == 0  # second try fails too
    db.session.expire_all()
    (row,) = _rows()
    assert row.attempts == 2 and row.available_at == t0 + timedelta(seconds=10)
    assert outbox.drain(["probe"], now=t0 + timedelta(seconds=9)) == 0  # still waiting: not tried
    db.session.expire_all()
    assert _rows()[0].attempts == 2
    assert outbox.drain(["probe"], now=t0 + timedelta(seconds=10)) == 0  # third failure: parked
    db.session.expire_all()
    (row,) = _rows()
    assert row.attempts == 3 and row.parked_at is not None
    assert outbox.drain(["probe"], now=t0 + timedelta(days=1)) == 0  # parked rows are left alone
    assert [p.key for p in outbox.parked()] == ["k"]
    assert {b["topic"]: (b["waiting"], b["parked"]) for b in outbox.backlog()}["probe"] == (0, 1)

    out = app_ctx.test_cli_runner().invoke(args=["outbox", "status"])
    assert out.exit_code == 0 and "parked #" in out.output and "the far side is down" in out.output
    state["fail"] = 0
    out = app_ctx.test_cli_runner().invoke(args=["outbox", "retry", "--topic", "probe"])
    assert out.exit_code == 0 and "1 parked rows back" in out.output
    assert outbox.drain(["probe"]) == 1 and seen == [["k"]]
    assert _rows() == []


def test_keys_a_handler_reports_failed_stay_alone_and_the_others_are_done(app_ctx):
    tries: list[list[str]] = []

    def handler(keys):
        tries.append(sorted(keys))
        return {"b": RuntimeError("refused")} if len(tries) == 1 else None

    outbox.register(app_ctx, "partly", handler, batch=50)
    try:
        for key in ("a", "b", "c"):
            outbox.enqueue("partly", key)
        db.session.commit()
        assert outbox.drain(["partly"]) == 2  # a and c done; b failed, not tried again in this drain
        (left,) = _rows("partly")
        assert (left.key, left.attempts, left.last_error) == ("b", 1, "RuntimeError: refused")
        assert outbox.drain(["partly"]) == 1  # the first retry comes at once
        assert _rows("partly") == [] and tries == [["a", "b", "c"], ["b"]]
    finally:
        outbox._registry(app_ctx).pop("partly", None)


def test_retry_delays_double_up_to_the_cap():
    delays = [outbox.retry_delay(n, 10, 60).total_seconds() for n in range(1, 7)]
    assert delays == [0, 10, 20, 40, 60, 60]


def test_a_request_that_publishes_drains_inline_but_not_in_worker_mode(app, client, factory):
    from marketplace.search import indexing as search_index
    from search.documents import SearchQuery
    from tests.factories import login

    search_index.reindex()
    provider = factory.user("provider", kind="agency", service_agency=True)
    login(client, provider)
    title = f"离线索引测试服务{time.monotonic_ns()}"
    listing_id = int(client.post("/listings/new/service", data={"title": title, "price": "100"})
                     .headers["Location"].rsplit("/", 1)[1])
    app.config["OUTBOX_DRAIN"] = "worker"
    try:
        assert client.post(f"/listings/{listing_id}/publish").status_code == 302
        db.session.expire_all()
        assert [r.key for r in _rows("search")] == [str(listing_id)]  # left for the worker
        assert search_index.query(SearchQuery(text=title)).total == 0
        handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
        out = app.test_cli_runner().invoke(args=["worker", "--once", "--name", "w-test"])
        assert out.exit_code == 0, out.output
        # run in-process, the command gives its caller's TERM and Ctrl-C back (pytest's stop)
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers
    finally:
        app.config["OUTBOX_DRAIN"] = "inline"
    db.session.expire_all()
    assert _rows("search") == []
    assert [h.id for h in search_index.query(SearchQuery(text=title)).hits] == [f"service:{listing_id}"]
    beat = db.session.get(WorkerHeartbeat, "w-test")
    assert beat is not None and beat.rows_done >= 1


def test_a_timed_job_runs_once_per_period_whichever_worker_asks(app_ctx):
    runs = []
    worker.schedule(app_ctx, "probe-job", 60, lambda now: runs.append(now))
    try:
        t0 = utcnow()
        assert worker.run_due_jobs("w1", now=t0) >= 1
        worker.run_due_jobs("w2", now=t0 + timedelta(seconds=30))
        assert len(runs) == 1  # w2 was early: the period had not passed
        worker.run_due_jobs("w2", now=t0 + timedelta(seconds=61))
        assert len(runs) == 2
        job = db.session.get(ScheduledJob, "probe-job")
        assert job.last_worker == "w2" and job.last_error is None
    finally:
        worker._jobs(app_ctx).pop("probe-job", None)


def test_an_idle_worker_round_claims_no_job_and_beats_only_now_and_then(app_ctx):
    from sqlalchemy import event

    t0 = utcnow()
    assert worker.run_due_jobs("w-idle", now=t0) >= 1  # every job ran: none is due for a while
    db.session.remove()
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split())[:80])

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        pulse = worker.Pulse("w-idle", t0)
        for _ in range(4):
            assert worker.work_once("w-idle", t0, pulse) == 0
            db.session.remove()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    writes = [s for s in seen if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert not any("scheduled_jobs" in w for w in writes), writes  # nothing due: nothing claimed
    assert sum("worker_heartbeats" in w for w in writes) == 1  # the first round's beat, not one a round
    assert db.session.get(WorkerHeartbeat, "w-idle") is not None
    assert len(seen) - len(writes) <= 4 * 2 + 1  # a round reads the outbox and the jobs' next runs


def test_a_failing_timed_job_is_recorded_and_tried_next_period(app_ctx):
    def broken(now):
        raise ValueError("mail server refused")

    worker.schedule(app_ctx, "probe-broken", 60, broken)
    try:
        worker.run_due_jobs("w1", now=utcnow())
        job = db.session.get(ScheduledJob, "probe-broken")
        assert job.failures == 1 and "mail server refused" in job.last_error
    finally:
        worker._jobs(app_ctx).pop("probe-broken", None)


def test_parallel_drains_on_postgresql_hand_each_row_to_one_worker(app, probe, database_url):
    """Several workers share the queue: SKIP LOCKED gives each row to exactly one of them."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED is PostgreSQL's; on SQLite one worker runs")
    seen, state = probe
    for n in range(40):
        outbox.enqueue("probe", f"k{n}")
    db.session.commit()
    outbox._registry(app)["probe"] = outbox.Topic("probe", outbox._registry(app)["probe"].handler, 5)
    state["slow"] = 0.05
    errors = []

    def run():
        try:
            with app.app_context():
                outbox.drain(["probe"])
                db.session.remove()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    keys = [k for batch in seen for k in batch]
    assert sorted(keys) == sorted(f"k{n}" for n in range(40))  # every row once, none twice
    assert len(seen) >= 2  # and the work was shared
    assert db.session.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.topic == "probe")) == 0


def test_the_worker_process_drains_and_stops_cleanly_on_term(app, client, factory, database_url, tmp_path):
    """A real `flask worker` process beside the app: it indexes what a request left behind."""
    from marketplace.search import indexing as search_index
    from search.documents import SearchQuery
    from tests.factories import login

    search_index.reindex()
    provider = factory.user("provider", kind="agency", service_agency=True)
    login(client, provider)
    title = f"进程索引测试服务{time.monotonic_ns()}"
    app.config["OUTBOX_DRAIN"] = "worker"
    try:
        listing_id = int(client.post("/listings/new/service", data={"title": title, "price": "100"})
                         .headers["Location"].rsplit("/", 1)[1])
        client.post(f"/listings/{listing_id}/publish")
    finally:
        app.config["OUTBOX_DRAIN"] = "inline"
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_APP", "TEST_DATABASE_URL")}
    env.update(MARKETPLACE_CONFIG="test", DATABASE_URL=database_url, OUTBOX_DRAIN="worker", WORKER_IDLE_MS="100",
               SEARCH_SQLITE_PATH=app.config["SEARCH_SQLITE_PATH"], SEARCH_BACKEND=app.config["SEARCH_BACKEND"])
    proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "worker", "--name", "w-proc"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db.session.expire_all()
            beat = db.session.get(WorkerHeartbeat, "w-proc")
            if beat is not None and not _rows("search"):
                break
            time.sleep(0.2)
        assert _rows("search") == []
        # The worker has its own search backend object: ask the index the app uses.
        assert [h.id for h in search_index.query(SearchQuery(text=title)).hits] == [f"service:{listing_id}"]
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert "worker w-proc stopped" in output


def test_the_worker_sweeps_unpaid_bookings_every_minute(app_ctx, monkeypatch):
    from marketplace.orders import services as orders

    calls = []
    monkeypatch.setattr(orders, "expire_unpaid_bookings", lambda: calls.append(1) or 0)
    t0 = utcnow()
    worker.run_due_jobs("w1", now=t0)
    worker.run_due_jobs("w1", now=t0 + timedelta(seconds=30))
    worker.run_due_jobs("w1", now=t0 + timedelta(seconds=61))
    assert calls == [1, 1]


def test_each_batch_and_each_timed_job_is_one_log_line_with_the_requests_that_queued_it(app_ctx, probe):
    import io
    import json
    import logging

    from marketplace.ops.requestlog import JsonFormatter

    seen, state = probe
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    job_log = logging.getLogger("marketplace.job")
    job_log.addHandler(handler)
    old = job_log.level
    job_log.setLevel(logging.INFO)
    try:
        db.session.add_all([OutboxEntry(topic="probe", key="a", request_id="req-00000001"),
                            OutboxEntry(topic="probe", key="b", request_id="req-00000002")])
        db.session.commit()
        outbox.drain(["probe"])
        outbox.enqueue("probe", "c")
        db.session.commit()
        state["fail"] = 1
        outbox.drain(["probe"])
        worker.schedule(app_ctx, "probe-log-job", 60, lambda now: None)
        worker.run_due_jobs("w-log")
    finally:
        worker._jobs(app_ctx).pop("probe-log-job", None)
        job_log.removeHandler(handler)
        job_log.setLevel(old)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    done, failed, timed = lines[0], lines[1], lines[-1]
    assert (done["job"], done["rows"], done["outcome"]) == ("outbox:probe", 2, "done")
    assert done["request_ids"] == ["req-00000001", "req-00000002"]
    assert isinstance(done["duration_ms"], int) and done["duration_ms"] >= 0
    assert (failed["outcome"], failed["error"], failed["level"]) == ("failed", "RuntimeError", "WARNING")
    assert (timed["job"], timed["outcome"], timed["worker"]) == ("probe-log-job", "done", "w-log")


def test_a_second_worker_on_the_same_sqlite_file_refuses_to_start_and_does_nothing(app, probe):
    """On SQLite outbox rows are not locked for a worker, so two workers would both do them
    (a mail sent twice): while one runs, another is refused at once with the reason, and the
    rows stay for the one that runs."""
    import fcntl

    database = db.engine.url.database
    if db.engine.dialect.name != "sqlite" or not database or database == ":memory:":
        pytest.skip("PostgreSQL shares the work among several workers")
    seen, _ = probe
    with app.app_context():
        outbox.enqueue("probe", "k1")
        db.session.commit()
    fd = os.open(os.path.realpath(database) + "-worker", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the worker that already runs
        refused = app.test_cli_runner().invoke(args=["worker", "--once", "--name", "w-second"])
    finally:
        os.close(fd)
    assert refused.exit_code != 0
    assert "another worker already runs" in refused.output and "PostgreSQL" in refused.output
    assert seen == [] and [r.key for r in _rows()] == ["k1"]  # nothing done twice, nothing lost
    assert db.session.get(WorkerHeartbeat, "w-second") is None
    ran = app.test_cli_runner().invoke(args=["worker", "--once", "--name", "w-only"])
    assert ran.exit_code == 0, ran.output
    db.session.expire_all()
    assert seen == [["k1"]] and _rows() == []
