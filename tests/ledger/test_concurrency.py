"""Two transactions appending at once still build one chain (PostgreSQL: advisory lock)."""
import threading
import time

import pytest

from marketplace.extensions import db
from marketplace.ledger import services
from tests.ledger.helpers import payment


def test_concurrent_appends_make_one_chain(ledger, app, dialect):
    if dialect != "postgresql":
        pytest.skip("SQLite serialises writers itself; the advisory lock is PostgreSQL's")
    per_thread, start = 10, threading.Barrier(2)
    errors = []

    def worker(name):
        try:
            with app.app_context():
                start.wait()
                for i in range(per_thread):
                    payment(f"{name}-{i}", "1.00")
                    time.sleep(0.005)  # hold the transaction open while the other thread tries
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    result = services.verify()
    assert result == services.VerifyResult(True, 2 * per_thread)
    refs = [e.ref for e in services.entries()]
    assert sorted(refs) == sorted(f"{n}-{i}" for n in "AB" for i in range(per_thread))
