"""Another request holding the database's write lock, for tests of what waits for it."""
from __future__ import annotations

import threading
from contextlib import contextmanager

from marketplace.core import writers
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.notifications.models import queue_mail

HOLDER_MAIL = "held@example.org"  # the holder's write: one queued mail to this address


@contextmanager
def write_lock_held(app, *, wait_ms: int | None = None):
    """For as long as the block runs, a thread inside a unit of work that has written (and so
    holds SQLite's write lock, or PostgreSQL's row locks on what it wrote). ``wait_ms``: how long
    this engine's writers wait for their turn meanwhile (SQLite), restored afterwards. Yields
    the holding thread; its unit of work commits when the block ends."""
    inside, leave = threading.Event(), threading.Event()

    def hold():
        with app.app_context(), unit_of_work():
            queue_mail(HOLDER_MAIL, "持有写锁", "另一个请求正在写")
            inside.set()
            leave.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    engine = db.engine
    if wait_ms is not None:
        writers.register(engine, wait_ms)
    try:
        assert inside.wait(10)
        yield thread
    finally:
        if wait_ms is not None:
            writers.register(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        leave.set()
        thread.join(10)
