"""SQLite's one write lock, handed from writer to writer at once.

SQLite lets one connection write at a time. A connection that finds the lock taken waits in
SQLite's busy handler, which sleeps and looks again 1, 2, 5, 10, 15, 20, 25 … 100 ms later.
A unit of work holds the lock for a few milliseconds, so under parallel checkouts most
waiters were asleep while the lock stood free: on 2 cores a quarter to a third of the
machine idle, and checkouts/s flat whether gunicorn ran 1 or 8 threads a worker
(bench/http.py; issue 18).

So every unit of work on the machine first waits for its turn here, then begins its
transaction with ``BEGIN IMMEDIATE``:

* in a process, on a mutex: the next thread wakes the moment the last one is done;
* between processes (gunicorn's workers, ``flask worker``), on an advisory lock of a file
  beside the database, ``<database>-writer`` (``flock``): the process that holds the turn
  looks again every fraction of a millisecond, and a process that dies holding it lets go
  with its file.

SQLite's own lock stays the guarantee: a writer that does not queue here (the ``sqlite3``
shell, a migration) still holds it, and the busy timeout still covers waiting for it. Waiting
for the turn has the same bound, ``SQLITE_BUSY_TIMEOUT_MS``, after which it fails as SQLite
would, "database is locked", and nothing was written.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
import weakref

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

# A process that waits for another's turn looks again after 50 µs, then every 100 µs: a
# unit of work holds the lock 1 to 6 ms, and a web worker of one thread (deploy/gunicorn.conf.py)
# has nothing else to do meanwhile. Looking at most every 500 µs left the turn free and
# unclaimed longer: 4 % fewer checkouts a second (bench/http.py, six alternated pairs, scaled
# by the machine's speed; bench/README.md 2026-11-27).
# (Times here are whole milliseconds and microseconds, as SQLite's busy timeout is.)
_FIRST_LOOK_US, _LAST_LOOK_US = 50, 100


class WriterTurn:
    """The turn to write one SQLite file: ``acquire()`` before ``BEGIN IMMEDIATE``,
    ``release()`` after the commit or rollback. One per file in a process, shared by its
    engines and threads."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fresh()
        _EVERY.add(self)

    def _fresh(self) -> None:
        """A new mutex and no file yet (at start, and in a forked child: a copy of the parent's
        descriptor shares the parent's lock, and the parent's threads are not there to
        release its mutex)."""
        self._mutex = threading.Lock()
        self._fd: int | None = None

    def acquire(self, timeout_ms: int) -> None:
        deadline_ns = time.monotonic_ns() + timeout_ms * 1_000_000
        if not self._mutex.acquire(timeout=timeout_ms / 1000):
            raise _locked(timeout_ms)
        try:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            pause_us = _FIRST_LOOK_US
            while True:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic_ns() >= deadline_ns:
                        raise _locked(timeout_ms) from None
                    time.sleep(pause_us / 1_000_000)
                    pause_us = min(pause_us * 2, _LAST_LOOK_US)
        except BaseException:
            self._mutex.release()
            raise

    def release(self) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._mutex.release()


def _locked(timeout_ms: int) -> OperationalError:
    """The error SQLite gives a writer that waited its busy timeout out."""
    return OperationalError("BEGIN IMMEDIATE", None,
                            sqlite3.OperationalError(f"database is locked (no turn to write in {timeout_ms} ms)"))


_EVERY: weakref.WeakSet[WriterTurn] = weakref.WeakSet()  # (made fresh in a forked child)
_BY_FILE: dict[str, WriterTurn] = {}
# (an engine's turn and how long its writers wait for it: its app's busy timeout)
_BY_ENGINE: weakref.WeakKeyDictionary[Engine, tuple[WriterTurn, int]] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def sqlite_file(engine: Engine) -> str | None:
    """The real path of the SQLite file an engine writes, or None: another database, an
    in-memory one, or a URI filename (``file:…``, which may name either)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.realpath(database)


def register(engine: Engine, timeout_ms: int) -> None:
    """Give a SQLite engine on a file its turn (shared with the process's other engines on the
    same file). An in-memory database has one connection and no other process, and a URI
    filename (``file:…``) may name one: no turn; SQLite's busy timeout alone covers them."""
    database = sqlite_file(engine)
    if database is None:
        return
    path = database + "-writer"
    with _GUARD:
        turn = _BY_FILE.get(path)
        if turn is None:
            turn = _BY_FILE[path] = WriterTurn(path)
        _BY_ENGINE[engine] = (turn, int(timeout_ms))


def take(engine: Engine) -> WriterTurn | None:
    """Wait for the engine's turn to write and return it (to release after the transaction),
    or None for an engine without one (PostgreSQL, an in-memory SQLite)."""
    found = _BY_ENGINE.get(engine)
    if found is None:
        return None
    turn, timeout_ms = found
    turn.acquire(timeout_ms)
    return turn


def _after_fork_in_child() -> None:
    for turn in list(_EVERY):
        turn._fresh()


os.register_at_fork(after_in_child=_after_fork_in_child)
