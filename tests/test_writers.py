"""The writers' turn (``marketplace.core.writers``): SQLite's one write lock, handed over at once
between the threads and processes of a machine, never to two at a time, and let go by a
process that dies holding it."""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from marketplace.core import writers
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.notifications.models import OutgoingMail, queue_mail
from tests.writelock import HOLDER_MAIL, write_lock_held

FORK = multiprocessing.get_context("fork")


def _count(turn: writers.WriterTurn, counter: Path, times: int) -> None:
    """Add one to the number in ``counter``, ``times`` times, each time between reading and
    writing it giving the others every chance to come in between."""
    for _ in range(times):
        turn.acquire(10_000)
        try:
            n = int(counter.read_text())
            os.sched_yield()
            counter.write_text(str(n + 1))
        finally:
            turn.release()


def _hold(turn: writers.WriterTurn, held, release) -> None:
    turn.acquire(10_000)
    held.set()
    release.wait(30)
    turn.release()


def test_processes_and_threads_write_one_at_a_time(tmp_path):
    counter = tmp_path / "counter"
    counter.write_text("0")
    path = str(tmp_path / "db.sqlite-writer")
    processes = [FORK.Process(target=_count, args=(writers.WriterTurn(path), counter, 200)) for _ in range(3)]
    for p in processes:
        p.start()
    turn = writers.WriterTurn(path)  # and two threads of this process, sharing one turn
    threads = [threading.Thread(target=_count, args=(turn, counter, 200)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in processes:
        p.join(60)
        assert p.exitcode == 0
    assert int(counter.read_text()) == 5 * 200  # no increment lost: never two at once


def _held_elsewhere(turn: writers.WriterTurn):
    """A forked process holding ``turn``, and the event that lets it go."""
    held, release = FORK.Event(), FORK.Event()
    holder = FORK.Process(target=_hold, args=(turn, held, release))
    holder.start()
    assert held.wait(10)
    return holder, release


def test_a_waiter_that_runs_out_of_time_is_told_the_database_is_locked(tmp_path):
    path = str(tmp_path / "db.sqlite-writer")
    holder, release = _held_elsewhere(writers.WriterTurn(path))
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            writers.WriterTurn(path).acquire(200)
    finally:
        release.set()
        holder.join(10)
    turn = writers.WriterTurn(path)
    turn.acquire(1000)  # free again
    turn.release()


def test_a_process_that_dies_holding_the_turn_lets_go_of_it(tmp_path):
    path = str(tmp_path / "db.sqlite-writer")
    holder, _release = _held_elsewhere(writers.WriterTurn(path))
    os.kill(holder.pid, signal.SIGKILL)  # never releases
    holder.join(10)
    turn = writers.WriterTurn(path)
    turn.acquire(5000)
    turn.release()


def test_a_forked_child_waits_for_its_parents_turn_like_any_other_process(tmp_path):
    """gunicorn imports the app, then forks its workers: a worker must not share the parent's
    open lock file (a lock on one open file is held by all who share it)."""
    turn = writers.WriterTurn(str(tmp_path / "db.sqlite-writer"))
    turn.acquire(1000)  # the parent's lock file is open before the fork
    turn.release()
    child, release = _held_elsewhere(turn)  # the child holds the same object's turn
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            turn.acquire(200)  # the parent waits, and is refused in time
    finally:
        release.set()
        child.join(10)
    assert child.exitcode == 0
    turn.acquire(1000)
    turn.release()


def test_a_unit_of_work_that_gets_no_turn_writes_nothing(app, app_ctx):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has row locks: no writers' turn")
    with write_lock_held(app, wait_ms=200):  # this engine's writers wait 0.2 s at most
        with pytest.raises(OperationalError, match="database is locked"):
            with unit_of_work():
                queue_mail("second@example.org", "后写", "等不到写锁")
    db.session.rollback()
    assert db.session.scalars(select(OutgoingMail.recipient)).all() == [HOLDER_MAIL]


def test_a_page_that_gets_no_turn_says_the_platform_is_busy_and_saves_nothing(app, client, factory):
    """The person is told, in their language, that nothing was saved and to try again (503 with
    a Retry-After), not shown a 500; the order they asked for is not half-made."""
    from marketplace.orders.models import Order
    from tests.factories import login, published

    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has row locks: no writers' turn")
    provider = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published(provider, "service")
    login(client, buyer)
    with write_lock_held(app, wait_ms=200):
        busy = client.post(f"/listings/{service.id}/order")
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) > 0
    assert "平台正忙，本次操作未保存任何内容" in busy.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(Order).where(Order.listing_id == service.id)).all() == []
    assert client.post(f"/listings/{service.id}/order").status_code == 302  # free again: it is made
