"""The transactional outbox: work to do after commit (index a listing, recompute claims, ...).

Services add rows inside their unit of work (``enqueue``); a drain after commit hands each
topic's rows to the handler registered for that topic, then deletes them in the handler's
own transaction. A crash between commit and drain leaves the rows behind and the next drain
catches up, so what was committed is never forgotten and nothing that was rolled back is
ever announced.

Who drains is configuration (``OUTBOX_DRAIN``):

* ``inline`` — at the end of the request that wrote the rows (tests, a single process);
* ``worker`` — only ``flask --app wsgi worker`` drains (several may run on PostgreSQL:
  ``FOR UPDATE SKIP LOCKED`` hands each row to one of them).

A handler that raises leaves its rows in place: the row's ``attempts`` grows, it waits
``retry_delay(attempts)`` before the next try, and after ``OUTBOX_MAX_ATTEMPTS`` it is
*parked* (kept, skipped, shown to administrators) until somebody retries it. A handler whose
keys succeed or fail one by one (mail: one refused message among many sent) returns the keys
that failed, each with its error: only their rows stay for a retry, the others are done.
"""
from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable, Mapping

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DateTime, Integer, String, Text, bindparam, func, select, update
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.timeutil import utcnow
from marketplace.core.uow import transactional, unit_of_work
from marketplace.extensions import db

log = logging.getLogger(__name__)
# One line per batch of after-commit work (JSON in production, like the request lines): the
# topic, how many rows, how long, the outcome, and the ids of the requests that queued them.
job_log = logging.getLogger("marketplace.job")

# A topic's handler gets the distinct keys of a batch of rows and does their work inside the
# session's transaction; the drain deletes the rows and commits. It must not commit itself.
# It returns None when every key is done, or the keys that failed with their errors (their
# rows stay, as if the handler had raised for them alone; the work it did for the others commits).
Handler = Callable[[list[str]], Mapping[str, BaseException] | None]


class OutboxEntry(db.Model):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(20), index=True)
    key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Not before this moment (a retry waits); parked rows are skipped until retried by hand.
    available_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    parked_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The X-Request-ID of the request that queued the work, so its job's log lines join up.
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


@dataclass(frozen=True)
class Topic:
    name: str
    handler: Handler
    batch: int
    sends: bool = False


def _registry(app: Flask | None = None) -> dict[str, Topic]:
    app = app or current_app
    return app.extensions.setdefault("outbox_topics", {})


def register(app: Flask, topic: str, handler: Handler, *, batch: int = 500, sends: bool = False) -> None:
    """Name the function that does ``topic``'s work (each domain registers its own).

    ``sends``: the handler reads what does not change, sends it over the network (mail), and
    only then writes, after ``core.uow.lock_for_writing()``. Its unit of work takes SQLite's
    write lock at that call rather than first, so web requests are not kept waiting while
    the handler talks to a mail server; on PostgreSQL the batch's rows stay locked for the
    whole handler as for any topic."""
    if len(topic) > 20:
        raise ValueError(f"outbox topic {topic!r} is longer than 20 characters")
    _registry(app)[topic] = Topic(topic, handler, batch, sends)


@functools.cache
def _insert_statement():
    return OutboxEntry.__table__.insert()


def enqueue(topic: str, key: str) -> None:
    """Ask for ``topic``'s work on ``key`` once the caller's transaction commits."""
    from marketplace.ops.requestlog import current_request_id

    # (an INSERT through the table, now, in the caller's transaction: an ORM row flushed at
    # commit cost two and a half times as much, three rows in every checkout)
    db.session.execute(_insert_statement(), {"topic": topic, "key": str(key), "request_id": current_request_id()})
    db.session.info[_ENQUEUED] = True  # (a drain asks which topics wait again only after this)
    if has_request_context():
        g.outbox_dirty = True


_ENQUEUED = "marketplace_outbox_enqueued"


def retry_delay(attempts: int, base_seconds: int, max_seconds: int) -> timedelta:
    """The wait before try ``attempts + 1``: the first retry at once (a passing fault), then
    ``base``, 2×``base``, 4×``base``… never more than ``max_seconds``."""
    if attempts <= 1:
        return timedelta(0)
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** (attempts - 2)))


def _available(topic: str, now: datetime):
    return (OutboxEntry.topic == topic) & OutboxEntry.parked_at.is_(None) & (OutboxEntry.available_at <= now)


def drain_topic(topic: Topic, now: datetime | None = None, skip: set[int] | None = None) -> int | None:
    """One batch of ``topic``: lock the rows (other workers skip them), run the handler, delete
    the rows, commit. Returns the rows done, or None when there was nothing to do. On a handler
    error the failure is recorded, the batch's ids join ``skip`` (this drain does not try them
    again) and 0 is returned; keys the handler reports failed are recorded the same way, alone."""
    found = _drain_batch(topic, now, skip)
    return None if found is None else found[1]


@functools.cache
def _batch_statement(lock: bool):
    """A topic's next batch (its rows' id, key and request id: no entity is loaded), built once:
    the worker runs it for every topic that waits, every round."""
    stmt = (select(OutboxEntry.id, OutboxEntry.key, OutboxEntry.request_id)
            .where(_available(bindparam("topic"), bindparam("now")))
            .order_by(OutboxEntry.id).limit(bindparam("batch")))
    return stmt.with_for_update(skip_locked=True) if lock else stmt


@functools.cache
def _delete_statement():
    table = OutboxEntry.__table__
    return table.delete().where(table.c.id.in_(bindparam("ids", expanding=True)))


def _drain_batch(topic: Topic, now: datetime | None, skip: set[int] | None) -> tuple[int, int] | None:
    """``drain_topic``, returning (rows taken, rows done)."""
    now = now or utcnow()
    lock = db.session.get_bind().dialect.name == "postgresql"
    stmt = _batch_statement(lock)
    if skip:  # (rows that failed in this drain: rare, built afresh)
        stmt = stmt.where(OutboxEntry.id.not_in(skip))
    rows = db.session.execute(stmt, {"topic": topic.name, "now": now, "batch": topic.batch}).all()
    if not rows:
        db.session.rollback()
        return None
    ids = [row.id for row in rows]
    key_of = {row.id: row.key for row in rows}
    keys = list(dict.fromkeys(key_of.values()))
    request_ids = sorted({row.request_id for row in rows if row.request_id})[:20]
    started = time.perf_counter()
    failed: Mapping[str, BaseException] = {}
    try:
        # The handler's work and the rows' deletion are one unit of work: the handler joins
        # it (the services it calls do not commit on their own) and on an error both roll back.
        with unit_of_work(lock_late=topic.sends) as uow:
            failed = topic.handler(keys) or {}
            done = [row_id for row_id in ids if key_of[row_id] not in failed]
            if done:
                uow.lock_for_writing()
                db.session.execute(_delete_statement(), {"ids": done})
    except Exception as exc:  # noqa: BLE001 - the rows stay, marked, for the next try
        _record_failure({row_id: exc for row_id in ids}, now)
        if skip is not None:
            skip.update(ids)
        log.exception("outbox topic %s failed on %d rows; kept for a retry", topic.name, len(ids))
        _log_batch(topic.name, len(ids), _ms_since(started), "failed", request_ids, type(exc).__name__)
        return len(ids), 0
    if failed:
        errors = {row_id: failed[key_of[row_id]] for row_id in ids if key_of[row_id] in failed}
        _record_failure(errors, now)
        if skip is not None:
            skip.update(errors)
        first = next(iter(errors.values()))
        log.warning("outbox topic %s: %d of %d rows failed (%s: %s); kept for a retry", topic.name, len(errors),
                    len(ids), type(first).__name__, first)
        _log_batch(topic.name, len(ids), _ms_since(started), "partly failed", request_ids, type(first).__name__,
                   failed_rows=len(errors))
        return len(ids), len(ids) - len(errors)
    _log_batch(topic.name, len(ids), _ms_since(started), "done", request_ids)
    return len(ids), len(ids)


def _ms_since(started) -> int:
    return int((time.perf_counter() - started) * 1000)


def _log_batch(topic: str, rows: int, duration_ms: int, outcome: str, request_ids: list[str],
               error: str | None = None, failed_rows: int | None = None) -> None:
    fields = {"job": f"outbox:{topic}", "rows": rows, "outcome": outcome,
              "duration_ms": duration_ms, "request_ids": request_ids}
    if error:
        fields["error"] = error
    if failed_rows is not None:
        fields["failed_rows"] = failed_rows
    job_log.log(logging.WARNING if error else logging.INFO, "outbox batch", extra=fields)


@transactional
def _record_failure(errors: Mapping[int, BaseException], now: datetime) -> None:
    """Each row's failed try: one more attempt, its error, when it may be tried again."""
    config = current_app.config
    base, cap, most = (config["OUTBOX_RETRY_BASE_SECONDS"], config["OUTBOX_RETRY_MAX_SECONDS"],
                       config["OUTBOX_MAX_ATTEMPTS"])
    for row in db.session.scalars(select(OutboxEntry).where(OutboxEntry.id.in_(list(errors)))):
        exc = errors[row.id]
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        row.available_at = now + retry_delay(row.attempts, base, cap)
        if row.attempts >= most:
            row.parked_at = now


def drain(topics: Iterable[str] | None = None, now: datetime | None = None, max_rounds: int = 1000) -> int:
    """Work the named topics (all registered ones by default, in order) until none has rows
    available; a batch that fails is left for a later drain and the rest go on. Returns the
    rows done.

    Which topics have rows is asked once (and again after a handler queued more work, which
    a later topic may hold: a notification's mail), and a topic whose batch was not full has
    nothing more: a worker's round that finds one checkout's work reads the outbox four
    times, not once more for every registered topic and every topic it emptied."""
    registry = _registry()
    names = list(topics) if topics is not None else list(registry)
    done = 0
    waiting = waiting_topics(now)
    for name in names:
        if name not in waiting:
            continue
        topic, failed = registry[name], set()
        db.session.info[_ENQUEUED] = False
        for _ in range(max_rounds):
            found = _drain_batch(topic, now, failed)
            if found is None:
                break
            taken, n = found
            done += n
            if taken < topic.batch:  # it took every row there was
                break
        if db.session.info.get(_ENQUEUED):
            waiting = waiting_topics(now)
    return done


@functools.cache
def _waiting_statement():
    return select(OutboxEntry.topic).where(OutboxEntry.parked_at.is_(None),
                                           OutboxEntry.available_at <= bindparam("now")).distinct()


def waiting_topics(now: datetime | None = None) -> set[str]:
    """The topics with rows available now."""
    now = now or utcnow()
    found = set(db.session.scalars(_waiting_statement(), {"now": now}))
    db.session.rollback()  # (a read: no transaction is left open between the batches)
    return found


def has_available(now: datetime | None = None) -> bool:
    now = now or utcnow()
    return db.session.scalar(select(OutboxEntry.id).where(
        OutboxEntry.parked_at.is_(None), OutboxEntry.available_at <= now).limit(1)) is not None


def backlog() -> list[dict]:
    """Per topic: rows waiting, rows parked, and the oldest waiting row's creation time."""
    rows = db.session.execute(
        select(OutboxEntry.topic, OutboxEntry.parked_at.is_(None).label("live"), func.count(), func.min(OutboxEntry.created_at))
        .group_by(OutboxEntry.topic, OutboxEntry.parked_at.is_(None)))
    out: dict[str, dict] = {}
    for topic, live, count, oldest in rows:
        entry = out.setdefault(topic, {"topic": topic, "waiting": 0, "parked": 0, "oldest": None})
        if live:
            entry["waiting"] += count
            entry["oldest"] = oldest
        else:
            entry["parked"] += count
    return [out[t] for t in sorted(out)]


def parked(limit: int = 200) -> list[OutboxEntry]:
    return list(db.session.scalars(select(OutboxEntry).where(OutboxEntry.parked_at.is_not(None))
                                   .order_by(OutboxEntry.id).limit(limit)))


@transactional
def retry_parked(topic: str | None = None) -> int:
    """Put parked rows back in the queue (after the cause was mended); returns how many."""
    stmt = update(OutboxEntry).where(OutboxEntry.parked_at.is_not(None)).values(
        parked_at=None, attempts=0, available_at=utcnow())
    if topic:
        stmt = stmt.where(OutboxEntry.topic == topic)
    return db.session.execute(stmt).rowcount


def _drain_after_request(response):
    """Inline mode: a request that wrote to the outbox — or any write request while rows are
    waiting from an earlier failure — drains before it answers. A failure never fails the
    request: what it committed stays committed and the rows wait for the next drain."""
    if current_app.config["OUTBOX_DRAIN"] != "inline":
        return response
    if not g.get("outbox_dirty") and request.method in ("GET", "HEAD", "OPTIONS"):
        return response
    try:
        if has_available():
            drain()
    except Exception:  # noqa: BLE001
        db.session.rollback()
        log.exception("outbox drain after request failed; rows kept for the next drain")
    return response


# --- the command line --------------------------------------------------------------------------

import click  # noqa: E402
from flask.cli import AppGroup  # noqa: E402

cli = AppGroup("outbox", help="Work waiting to be done after commit.")


@cli.command("status")
def status_command():
    """Rows waiting and parked, per topic, and the parked rows' last errors."""
    rows = backlog()
    if not rows:
        click.echo("the outbox is empty")
    for row in rows:
        oldest = row["oldest"].isoformat(sep=" ", timespec="seconds") if row["oldest"] else "-"
        click.echo(f"{row['topic']:<12} waiting {row['waiting']:>7}  parked {row['parked']:>5}  oldest {oldest}")
    for row in parked():
        click.echo(f"parked #{row.id} {row.topic}:{row.key} after {row.attempts} tries: {row.last_error}")


@cli.command("drain")
def drain_command():
    """Do all waiting work now, in this process."""
    click.echo(f"applied {drain()} outbox rows")


@cli.command("retry")
@click.option("--topic", default=None)
def retry_command(topic):
    """Put parked rows back in the queue once their cause is mended."""
    click.echo(f"{retry_parked(topic)} parked rows back in the queue")


def init_app(app: Flask) -> None:
    if app.config["OUTBOX_DRAIN"] not in ("inline", "worker"):
        raise ValueError(f"OUTBOX_DRAIN must be 'inline' or 'worker', not {app.config['OUTBOX_DRAIN']!r}")
    _registry(app)
    app.after_request(_drain_after_request)
    app.cli.add_command(cli)
