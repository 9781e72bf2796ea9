"""The worker: ``flask --app wsgi worker`` does what must outlive a request.

It drains the outbox (search index, claims, and whatever other topics domains register) and
runs timed jobs (sweeps and reminders). Several workers may run, on several machines, against
one PostgreSQL database:

* an outbox row is handed to one worker at a time (``FOR UPDATE SKIP LOCKED`` in
  ``marketplace.outbox``); a worker killed mid-batch releases its locks with its connection,
  and another takes the rows over;
* a timed job runs once per period across all workers: a worker starts it only by moving its
  ``next_run_at`` forward with a conditional UPDATE, which one worker wins;
* each worker writes a heartbeat, which ``/readyz`` and the admin pages read.

On SQLite (the embedded default) one worker runs: outbox rows are not locked for a worker
there, so a second would do the same rows again (a mail sent twice). A second worker on the
same database file refuses to start (``_the_only_worker``).
"""
from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import DateTime, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from marketplace import outbox
from marketplace.core import writers
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import transactional, unit_of_work
from marketplace.extensions import db

log = logging.getLogger(__name__)


class WorkerHeartbeat(db.Model):
    """One row per worker process, refreshed every loop."""
    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    host: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    seen_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    jobs_done: Mapped[int] = mapped_column(Integer, default=0)


class ScheduledJob(db.Model):
    """When a timed job next runs, and how its last run went."""
    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(DateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_worker: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[datetime], object]  # given "now"; runs in a unit of work of its own


def _jobs(app: Flask | None = None) -> dict[str, Job]:
    return (app or current_app).extensions.setdefault("worker_jobs", {})


def schedule(app: Flask, name: str, every_seconds: int, run: Callable[[datetime], object]) -> None:
    """Run ``run(now)`` every ``every_seconds`` in one of the workers (each domain registers its own)."""
    _jobs(app)[name] = Job(name, timedelta(seconds=every_seconds), run)


def _claim_job(job: Job, worker: str, now: datetime) -> bool:
    """Start ``job`` if it is due and no other worker started it: one conditional UPDATE wins."""
    if db.session.get(ScheduledJob, job.name) is None:
        try:
            with unit_of_work():
                db.session.add(ScheduledJob(name=job.name, next_run_at=now))
        except Exception:  # noqa: BLE001 - another worker inserted it first (rolled back)
            pass
    with unit_of_work():
        won = db.session.execute(
            update(ScheduledJob).where(ScheduledJob.name == job.name, ScheduledJob.next_run_at <= now)
            .values(next_run_at=now + job.every, last_started_at=now, last_worker=worker)).rowcount == 1
    return won


def run_due_jobs(worker: str, now: datetime | None = None) -> int:
    """Run every due job once (in this worker, if it wins the job); returns how many ran.

    The jobs' next runs are read in one query first, and only a job that is due (or has no row
    yet) is claimed: an idle round writes nothing. The claim's conditional UPDATE still decides
    which worker runs it."""
    now = now or utcnow()
    jobs = list(_jobs().values())
    if not jobs:
        return 0
    next_runs = dict(db.session.execute(select(ScheduledJob.name, ScheduledJob.next_run_at)).all())
    ran = 0
    for job in jobs:
        due = next_runs.get(job.name)
        if due is not None and due > now:
            continue
        if not _claim_job(job, worker, now):
            continue
        ran += 1
        started = time.perf_counter()
        try:
            with unit_of_work():
                job.run(now)
            error = None
        except Exception as exc:  # noqa: BLE001 - recorded (the job's work rolled back), retried next period
            log.exception("timed job %s failed", job.name)
            error = f"{type(exc).__name__}: {exc}"[:2000]
        duration_ms = int((time.perf_counter() - started) * 1000)
        outbox.job_log.log(logging.WARNING if error else logging.INFO, "timed job", extra={
            "job": job.name, "outcome": "failed" if error else "done", "duration_ms": duration_ms,
            "worker": worker})
        values = {"last_finished_at": utcnow(), "last_error": error, "last_duration_ms": duration_ms}
        if error:
            values["failures"] = ScheduledJob.failures + 1
        with unit_of_work():
            db.session.execute(update(ScheduledJob).where(ScheduledJob.name == job.name).values(**values))
    return ran


@transactional
def beat(name: str, started_at: datetime, rows: int = 0, jobs: int = 0) -> None:
    row = db.session.get(WorkerHeartbeat, name)
    now = utcnow()
    if row is None:
        row = WorkerHeartbeat(name=name, host=socket.gethostname()[:120], pid=os.getpid(), started_at=started_at,
                              seen_at=now, rows_done=0, jobs_done=0)
        db.session.add(row)
    row.seen_at = now
    row.rows_done = (row.rows_done or 0) + rows
    row.jobs_done = (row.jobs_done or 0) + jobs


def scheduled_jobs() -> list[ScheduledJob]:
    return list(db.session.scalars(select(ScheduledJob).order_by(ScheduledJob.name)))


def heartbeats() -> list[WorkerHeartbeat]:
    return list(db.session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.seen_at.desc())))


def last_heartbeat() -> datetime | None:
    return db.session.scalar(select(WorkerHeartbeat.seen_at).order_by(WorkerHeartbeat.seen_at.desc()).limit(1))


# How often a running worker writes its heartbeat at most (the checks call a worker gone after
# WORKER_HEARTBEAT_MAX_AGE, 60 s by default); what it did meanwhile is added up.
BEAT_EVERY_NS = 5 * 10**9


class Pulse:
    """What the worker did since its last heartbeat; ``add`` writes the heartbeat at most every
    ``BEAT_EVERY_NS`` (the first at once), ``flush`` whatever is left (when it stops)."""

    def __init__(self, name: str, started_at: datetime) -> None:
        self.name, self.started_at = name, started_at
        self.rows = self.jobs = 0
        self.last_ns: int | None = None  # time.monotonic_ns() of the last heartbeat

    def add(self, rows: int, jobs: int) -> None:
        self.rows += rows
        self.jobs += jobs
        if self.last_ns is None or time.monotonic_ns() - self.last_ns >= BEAT_EVERY_NS:
            self.flush()

    def flush(self) -> None:
        beat(self.name, self.started_at, self.rows, self.jobs)
        self.rows = self.jobs = 0
        self.last_ns = time.monotonic_ns()


def work_once(name: str, started_at: datetime, pulse: Pulse | None = None) -> int:
    """One round: drain the topics that wait (one query when none does), run the due jobs, beat
    (through ``pulse``: at most every few seconds). Returns what was done."""
    rows = outbox.drain()  # (which asks first which topics wait: one query when none does)
    jobs = run_due_jobs(name)
    if pulse is None:
        beat(name, started_at, rows, jobs)
    else:
        pulse.add(rows, jobs)
    return rows + jobs


def round_pause(done: int, idle_ms: int, linger_ms: int, busy: int) -> int:
    """Milliseconds to wait after a round that did ``done`` rows and jobs: ``idle_ms`` after nothing,
    ``linger_ms`` after a little (what arrives meanwhile is done in one round, not in one round
    each), nothing after ``busy`` or more (a backlog is worked through at once)."""
    if not done:
        return idle_ms
    if done < busy:
        return linger_ms
    return 0


@click.command("worker")
@click.option("--once", is_flag=True, help="One round (drain, timed jobs), then exit.")
@click.option("--name", default=None, help="This worker's name (default host:pid).")
@with_appcontext
def worker_command(once: bool, name: str | None):
    """Drain the outbox and run timed jobs until stopped (TERM or Ctrl-C finish the round)."""
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    only = _the_only_worker()
    started = utcnow()
    stop = {"now": False}

    def ask_stop(signum, _frame):
        stop["now"] = True

    # (the handlers before, put back at the end: run in-process, by a test, the command leaves
    # its caller's TERM and Ctrl-C as they were)
    before = {sig: signal.signal(sig, ask_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        _serve(name, started, once, stop)
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        if only is not None:
            os.close(only)  # (and with it the lock)
    click.echo(f"worker {name} stopped")


def _the_only_worker() -> int | None:
    """On a SQLite file: hold ``<database>-worker`` locked while this worker runs, or refuse to
    start when another worker holds it. Returns the lock's file descriptor (None on PostgreSQL,
    where several workers share the work, and on an in-memory database)."""
    database = writers.sqlite_file(db.engine)
    if database is None:
        return None
    path = database + "-worker"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise click.ClickException(
            f"another worker already runs on the SQLite database {database} (it holds {path}). "
            "On SQLite one worker runs; several workers need PostgreSQL.") from None
    return fd


def _serve(name: str, started, once: bool, stop: dict) -> None:
    idle_ms, linger_ms = current_app.config["WORKER_IDLE_MS"], current_app.config["WORKER_LINGER_MS"]
    busy = current_app.config["WORKER_BUSY_ROWS"]
    click.echo(f"worker {name} started; topics: {', '.join(sorted(outbox._registry())) or '-'}; "
               f"jobs: {', '.join(sorted(_jobs())) or '-'}")
    pulse = Pulse(name, started)
    while not stop["now"]:
        try:
            done = work_once(name, started, pulse)
        except Exception:  # noqa: BLE001 - a lost database connection, say: wait and go on
            db.session.rollback()
            log.exception("worker round failed")
            done = 0
        finally:
            db.session.remove()
        if once:
            break
        pause_ms = round_pause(done, idle_ms, linger_ms, busy)
        if pause_ms:
            time.sleep(pause_ms / 1000)
    if pulse.rows or pulse.jobs:
        try:
            pulse.flush()
        except Exception:  # noqa: BLE001 - the counts are lost, not the work
            log.exception("the worker's last heartbeat failed")
        finally:
            db.session.remove()


def init_app(app: Flask) -> None:
    _jobs(app)
    app.cli.add_command(worker_command)
