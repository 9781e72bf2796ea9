"""The unit of work: one transaction for one service call, however many services it calls.

A service opens a unit of work; a service it calls joins it (an inner block never commits),
so services compose: filing a claim from inside a project's registration is one
transaction, and a refusal anywhere in it writes nothing.

    with unit_of_work() as uow:
        db.session.add(thing)
        uow.on_commit(lambda: ...)      # after the outermost commit succeeded
        uow.on_rollback(lambda: ...)    # if the outermost block fails (delete a stored file)

Work that must outlive the request (index, recompute, mail) goes to the outbox
(``outbox.enqueue``), which writes its rows in this same transaction; ``on_commit`` is for
what is local and cheap (forget a cache, tell the embedded index to refresh), and
``on_rollback`` for undoing what a transaction cannot undo (a file written to storage).

``@transactional`` wraps a whole service function in one.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Callable, Iterator

from sqlalchemy.orm import make_transient_to_detached

from marketplace.core import writers
from marketplace.extensions import db

log = logging.getLogger(__name__)


class UnitOfWork:
    def __init__(self) -> None:
        self._on_commit: list[Callable[[], object]] = []
        self._on_rollback: list[Callable[[], object]] = []
        self._locked = False
        self._turn: writers.WriterTurn | None = None

    def lock_for_writing(self) -> None:
        """From now to its end, this unit of work holds the database's write lock (SQLite; a
        no-op on PostgreSQL and once held). A unit of work opened with ``lock_late=True`` calls
        it before its first write."""
        if not self._locked:
            self._locked = True
            self._turn = _take_the_write_lock()

    def _let_go(self) -> None:
        """After the commit or rollback: the next writer's turn."""
        turn, self._turn = self._turn, None
        if turn is not None:
            turn.release()

    def on_commit(self, fn: Callable[[], object]) -> None:
        self._on_commit.append(fn)

    def on_rollback(self, fn: Callable[[], object]) -> None:
        self._on_rollback.append(fn)

    def _run(self, hooks: list[Callable[[], object]], when: str) -> None:
        for fn in hooks:
            try:
                fn()
            except Exception:  # a hook after the fact must not undo what was decided
                log.exception("unit of work: %s hook %r failed", when, fn)


_current: ContextVar[UnitOfWork | None] = ContextVar("marketplace_uow", default=None)


def current() -> UnitOfWork | None:
    """The unit of work the caller is inside, or None."""
    return _current.get()


@contextmanager
def unit_of_work(*, lock_late: bool = False) -> Iterator[UnitOfWork]:
    """Join the caller's unit of work, or open one that commits (or rolls back) at its end.

    ``lock_late``: the work reads and talks to the network (sends mail) before it writes, and
    what it reads does not change under it: on SQLite it takes the write lock only at
    ``lock_for_writing()``, so no other writer waits while it sends. (Without it the lock is
    taken first: see ``_take_the_write_lock``.)"""
    outer = _current.get()
    if outer is not None:
        yield outer
        # An inner block flushes at its end, so what it made has its ids (and its unique keys
        # were checked) when it returns to the caller, as if it had committed on its own.
        db.session.flush()
        return
    uow = UnitOfWork()
    token = _current.set(uow)
    try:
        if not lock_late:
            uow.lock_for_writing()
        yield uow
        db.session.commit()
    except BaseException:
        try:
            db.session.rollback()
        finally:
            uow._let_go()
        _current.reset(token)
        uow._run(uow._on_rollback, "rollback")
        raise
    uow._let_go()
    _current.reset(token)
    uow._run(uow._on_commit, "commit")


def lock_for_writing() -> None:
    """The caller's unit of work holds the write lock from now on (``UnitOfWork.lock_for_writing``)."""
    uow = _current.get()
    if uow is not None:
        uow.lock_for_writing()


@contextmanager
def refusable_unit_of_work() -> Iterator[UnitOfWork]:
    """A unit of work that a unique key may refuse (an e-mail taken, one live attempt per
    part, one row per webhook event). Opened here, the refusal rolls back the whole
    transaction, which is all of it; joining a caller's, a SAVEPOINT keeps the caller's
    other work when this block is refused. (A SAVEPOINT and its RELEASE on every outermost
    block would cost two statements for nothing.)"""
    joined = _current.get() is not None
    with unit_of_work() as uow, (db.session.begin_nested() if joined else nullcontext()):
        yield uow


def _take_the_write_lock() -> writers.WriterTurn | None:
    """SQLite: open the unit of work with ``BEGIN IMMEDIATE``, so it holds the one write lock
    from its first read to its commit, after waiting for its turn among the machine's writers
    (``core.writers``: handed over at once, where SQLite's busy handler sleeps). Returns the
    turn, to release after the commit or rollback.

    In WAL mode a transaction that has read and then wants to write, after another connection
    committed in between, is refused at once with "database is locked" (its snapshot is stale,
    and waiting cannot help: busy_timeout does not apply). A unit of work reads before it
    writes (it checks a status, then moves it), and a SAVEPOINT opens such a reading
    transaction, so under parallel requests two checkouts, or a payment and its relayed event,
    failed with a 500 instead of one waiting for the other. Taking the lock first makes the
    second writer wait (busy_timeout) and then read what the first committed. PostgreSQL has
    row locks and is left alone; a transaction already open (it wrote before the unit of
    work began) keeps the lock it has."""
    session = db.session
    engine = session.get_bind()
    if engine.dialect.name != "sqlite":
        return None
    raw = session.connection().connection.dbapi_connection
    if raw is None or raw.in_transaction:
        return None
    turn = writers.take(engine)
    try:
        raw.execute("BEGIN IMMEDIATE")
    except BaseException:
        if turn is not None:
            turn.release()
        raise
    return turn


def as_written(model, row_id: int, values: dict):
    """The row a Core ``INSERT … RETURNING`` just wrote, as a mapped object in the session
    (persistent, not pending: nothing is left for a flush to work out). ``values`` are the
    columns the INSERT was given; any other column, and every relationship, is read from
    the database when first asked for. One INSERT like this costs less CPU than building the
    object and letting a flush write it."""
    row = model(id=row_id, **values)
    make_transient_to_detached(row)
    db.session.add(row)
    return row


def transactional(fn):
    """Run the decorated service function in one unit of work (joining the caller's)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with unit_of_work():
            return fn(*args, **kwargs)

    return wrapper
