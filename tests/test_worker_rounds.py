"""A worker round costs what its work costs: it reads only the topics that have rows, follows
work a handler queued for a later topic in the same drain, drains a topic longer than its batch
to the end, and after a round that found a little it waits for more before the next."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select

from marketplace import outbox, worker
from marketplace.extensions import db
from marketplace.outbox import OutboxEntry


@pytest.fixture()
def topics(app_ctx):
    """Two topics of the test's own, registered after every real one: ``first``'s handler
    queues a ``then`` row for each key; ``then`` records what it was given."""
    seen: dict[str, list[list[str]]] = {"first": [], "then": []}

    def first(keys):
        seen["first"].append(sorted(keys))
        for key in keys:
            outbox.enqueue("t-then", key)

    def then(keys):
        seen["then"].append(sorted(keys))

    outbox.register(app_ctx, "t-first", first, batch=2)
    outbox.register(app_ctx, "t-then", then, batch=50)
    yield seen
    for name in ("t-first", "t-then"):
        outbox._registry(app_ctx).pop(name, None)
    db.session.execute(OutboxEntry.__table__.delete())
    db.session.commit()


def test_work_a_handler_queues_for_a_later_topic_is_done_in_the_same_drain(topics):
    outbox.enqueue("t-first", "a")
    db.session.commit()
    assert outbox.drain() == 2
    assert topics == {"first": [["a"]], "then": [["a"]]}
    assert db.session.scalars(select(OutboxEntry)).all() == []


def test_a_topic_longer_than_its_batch_is_drained_to_the_end(topics):
    for key in "abcde":
        outbox.enqueue("t-first", key)
    db.session.commit()
    assert outbox.drain(["t-first"]) == 5
    assert topics["first"] == [["a", "b"], ["c", "d"], ["e"]]


def test_a_drain_reads_no_topic_without_rows(topics):
    """Rows in one topic of many: the outbox is read twice (which topics wait; that topic's
    batch), not once for every registered topic."""
    outbox.enqueue("t-then", "x")
    db.session.commit()
    reads: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM outbox" in statement:
            reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert outbox.drain() == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert len(outbox._registry()) > 3
    assert len(reads) == 2, reads
    assert topics["then"] == [["x"]]


def test_an_idle_worker_sleeps_a_trickle_is_waited_for_a_backlog_is_not():
    assert worker.round_pause(0, idle_ms=500, linger_ms=200, busy=100) == 500
    assert worker.round_pause(3, idle_ms=500, linger_ms=200, busy=100) == 200
    assert worker.round_pause(100, idle_ms=500, linger_ms=200, busy=100) == 0
    assert worker.round_pause(3, idle_ms=500, linger_ms=0, busy=100) == 0
