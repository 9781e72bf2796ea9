"""The turnover sums kept in the database equal the SQL aggregate afresh, and a web process's
first view of a year reads them instead of aggregating the year.

The worker brings each stored year forward after ledger appends (the "dashboards" outbox
topic: ``dashboards.stored.keep_up``), by the new entries only; a reader brings the stored
sums forward in-process from their head. Random ledgers (the claims property test's) are
appended in random order and the worker's batches run after random entries; after each
entry the stored sums, and what a fresh process reads from them, must equal ``_full_sums``.
Two workers at once must not count the same entries twice. Runs on SQLite and, with
TEST_DATABASE_URL, on PostgreSQL.
"""
from __future__ import annotations

import random
import threading
import time

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from marketplace.core.uow import unit_of_work
from marketplace.dashboards import cli, services, stored
from marketplace.dashboards.models import TurnoverHead, TurnoverSum
from marketplace.extensions import db
from marketplace.ledger.services import head
from marketplace.outbox import OutboxEntry
from tests.claims.test_incremental import YEARS, _append, _clean, orgs, random_ledger  # noqa: F401 - orgs is a fixture
from tests.ledger.helpers import purge_ledger

NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)  # note() prints the whole ledger


def _forget() -> None:
    """Empty the stored sums, the ledger and the outbox between examples (and after)."""
    db.session.rollback()
    with db.engine.begin() as conn:
        for table in (TurnoverSum.__table__, TurnoverHead.__table__, OutboxEntry.__table__):
            conn.execute(table.delete())
    purge_ledger()
    services._SUMS.clear()


def _stored(year: int) -> dict | None:
    found = stored.load(year)
    return None if found is None else found[2]


def _fresh_process_view(year: int) -> dict:
    """What a web process that has kept nothing reads for ``year``."""
    services._SUMS.clear()
    return {g: list(v) for g, v in services._year_sums(year).items()}


def _work(years=()) -> dict:
    with unit_of_work():
        return stored.keep_up(years)


@settings(max_examples=20, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=False), size=st.integers(6, 16))
def test_stored_sums_kept_by_the_worker_equal_the_aggregate_afresh(orgs, rnd, size):  # noqa: F811
    ledger = random_ledger(rnd, size)
    note(repr(ledger))
    _forget()
    try:
        for i, (op, _drain) in enumerate(ledger):
            _append(i, op, orgs)
            db.session.commit()
            if rnd.random() < 0.5:
                _work([y for y in YEARS if rnd.random() < 0.7])  # the worker, now and then
            seq = head()[0]
            for year in YEARS:
                fresh = services._full_sums(year)
                row = db.session.get(TurnoverHead, year)
                if row is not None:
                    if row.seq == seq:
                        assert _stored(year) == fresh, f"stored, after entry {i}, year {year}"
                    # a process that starts now reads the stored sums and brings them forward
                    assert _fresh_process_view(year) == fresh, f"read, after entry {i}, year {year}"
        _work(YEARS)
        for year in YEARS:
            fresh = services._full_sums(year)
            if not stored.has_entries(year):  # a year without entries is not stored
                assert _stored(year) is None and fresh == {}
                continue
            assert _stored(year) == fresh
            with unit_of_work():
                assert stored.rebuild(year).differed == 0  # the audit finds nothing to mend
    finally:
        _forget()


def test_a_process_first_view_reads_the_stored_sums_and_does_not_aggregate_the_year(orgs, monkeypatch):  # noqa: F811
    ledger = random_ledger(random.Random(26), 12)
    try:
        for i, (op, _drain) in enumerate(ledger[:8]):
            _append(i, op, orgs)
        db.session.commit()
        _work(YEARS)
        for i, (op, _drain) in enumerate(ledger[8:], start=8):
            _append(i, op, orgs)  # after the worker's last batch: the reader brings these forward
        db.session.commit()
        fresh = {y: services._full_sums(y) for y in YEARS}
        assert any(fresh.values())

        def aggregate(year, upto=None):
            raise AssertionError("a view aggregated the year")

        monkeypatch.setattr(services, "_full_sums", aggregate)
        assert {y: _fresh_process_view(y) for y in YEARS} == fresh
    finally:
        _forget()


def test_the_timed_job_stores_the_years_and_ledger_appends_bring_them_forward(app_ctx, factory):
    """Through the services: the worker's timed job stores every year of the ledger; a paid
    order's ledger entry enqueues its year and the outbox drain (the worker's, or the one at
    the end of the request) brings the stored sums forward, without aggregating the year."""
    from datetime import datetime

    from marketplace import worker
    from marketplace.core.timeutil import frozen_at, utcnow
    from marketplace.orders import services as orders
    from marketplace.outbox import drain
    from marketplace.payments import services as payments

    uni, buyer = factory.university(), factory.enterprise()
    patents = [factory.listing(uni, "achievement", price_fen=fen, transfer_modes=["assignment"])
               for fen in (12_000_000, 3_000_000)]

    def buy(patent):
        with frozen_at(datetime(2025, 3, 3, 4)):
            payments.checkout(buyer, orders.buy_achievement(buyer, patent.id, "assignment").id)

    buy(patents[0])
    drain()
    assert stored.load(2025) is None  # the drain does not aggregate a year
    worker.run_due_jobs("w-dash", now=utcnow())
    assert stored.load(2025)[0] == head()[0]
    buy(patents[1])
    assert db.session.scalars(select(OutboxEntry.key).where(OutboxEntry.topic == stored.TOPIC)).all() == ["2025"]
    real, services._full_sums = services._full_sums, None  # brought forward, not aggregated
    try:
        drain()
    finally:
        services._full_sums = real
    assert stored.load(2025)[0] == head()[0]
    assert _stored(2025) == services._full_sums(2025) != {}
    assert services._full_sums(2025)[("trades",)] == [15_000_000, 2]


def test_a_head_of_another_ledger_is_rebuilt_not_brought_forward(orgs):  # noqa: F811
    ledger = random_ledger(random.Random(7), 10)
    try:
        for i, (op, _drain) in enumerate(ledger):
            _append(i, op, orgs)
        db.session.commit()
        _work(YEARS)
        year = next(y for y in YEARS if _stored(y))
        with unit_of_work():  # a restore from another database: the head's hash is not this ledger's
            db.session.get(TurnoverHead, year).hash = "f" * 64
            db.session.get(TurnoverSum, (year, "trades", "", "")).fen += 1
        services._SUMS.clear()
        assert stored.year_sums(year, *head()) is None  # the reader does not trust it
        assert _work()[year] == "rebuilt"
        assert _stored(year) == services._full_sums(year)
    finally:
        _forget()


def test_rebuild_says_whether_the_kept_sums_agreed(orgs, app):  # noqa: F811
    ledger = random_ledger(random.Random(11), 10)
    try:
        for i, (op, _drain) in enumerate(ledger):
            _append(i, op, orgs)
        db.session.commit()
        runner = CliRunner()
        first = runner.invoke(cli.rebuild, [], obj=None, standalone_mode=False, catch_exceptions=False)
        assert "stored afresh" in first.output
        again = runner.invoke(cli.rebuild, [], standalone_mode=False, catch_exceptions=False)
        assert "the kept sums agreed" in again.output and "differed" not in again.output
        year = db.session.scalars(select(TurnoverHead.year)).first()
        with unit_of_work():  # a stored group gone wrong
            row = db.session.scalars(select(TurnoverSum).where(TurnoverSum.year == year)).first()
            row.fen += 1
        mended = runner.invoke(cli.rebuild, ["--year", str(year)])
        assert mended.exit_code == 1 and "1 groups differed" in mended.output
        assert _stored(year) == services._full_sums(year)
    finally:
        _forget()


def _same_groups_ledger() -> list:
    """Contracts of one seller, buyer and month: after the first, every entry only adds to
    groups already stored (no new row whose key would clash between two workers)."""
    from datetime import date

    return [({"op": "contract", "day": date(2025, 3, 1 + i), "seller": "uni", "buyer": "small", "amount": 100_00 * (i + 1),
              "reg": i, "project": None, "broker": None, "ctype": "transfer", "kind": "assignment", "in_city": True,
              "paid": True}, True) for i in range(8)]


@pytest.mark.parametrize("workers,ledger", [(2, "random"), (3, "random"), (2, "same groups")])
def test_workers_at_once_bring_the_stored_sums_forward_once(orgs, app, monkeypatch, workers, ledger):  # noqa: F811
    """Several workers handle the topic at once (on PostgreSQL, on several machines): each runs
    ``handle`` in its own thread, session and transaction, slowed inside the bring-forward so
    that they overlap. The new entries must be counted once: a worker that read the same head
    waits for the first (row lock) or fails and rolls back (conditional update), never adds."""
    ledger = random_ledger(random.Random(18), 14) if ledger == "random" else _same_groups_ledger()
    try:
        half = len(ledger) // 2
        for i, (op, _drain) in enumerate(ledger[:half]):
            _append(i, op, orgs)
        db.session.commit()
        _work(YEARS)
        for i, (op, _drain) in enumerate(ledger[half:], start=half):
            _append(i, op, orgs)
        db.session.commit()
        db.session.remove()

        real = services._ref_groups
        monkeypatch.setattr(services, "_ref_groups", lambda year, entries: time.sleep(0.01) or real(year, entries))
        barrier = threading.Barrier(workers)
        outcomes, errors = [], []

        def worker():
            try:
                with app.app_context():
                    barrier.wait()
                    try:
                        with unit_of_work():
                            stored.handle([str(y) for y in YEARS])
                        outcomes.append("done")
                    except Exception as exc:  # noqa: BLE001 - a loser's rollback is expected
                        outcomes.append(type(exc).__name__)
                    finally:
                        db.session.remove()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and "done" in outcomes, outcomes
        monkeypatch.setattr(services, "_ref_groups", real)
        seq = head()[0]
        for year in [y for y in YEARS if stored.has_entries(y)]:
            assert stored.load(year)[0] == seq
            assert _stored(year) == services._full_sums(year), f"year {year}, outcomes {outcomes}"
    finally:
        _forget()


def test_years_at_one_head_move_together_or_not_at_all(app_ctx):
    """The worker moves the heads of the years it brought forward from one seq in one UPDATE:
    when another worker moved any of them meanwhile, it refuses (StaleHead) and moves none."""
    from datetime import datetime

    try:
        with unit_of_work():
            for year in (2024, 2025):
                db.session.add(TurnoverHead(year=year, seq=5, hash="a" * 64, updated_at=datetime(2025, 1, 1)))
        with unit_of_work():
            db.session.get(TurnoverHead, 2025).seq = 6  # another worker's move
        with pytest.raises(stored.StaleHead):
            with unit_of_work():
                stored._move_heads([2024, 2025], 5, 9, "b" * 64)
        db.session.expire_all()
        assert [(h.year, h.seq) for h in db.session.scalars(select(TurnoverHead).order_by(TurnoverHead.year))] == [
            (2024, 5), (2025, 6)]
        with unit_of_work():
            stored._move_heads([2024], 5, 9, "b" * 64)
        db.session.expire_all()
        assert (db.session.get(TurnoverHead, 2024).seq, db.session.get(TurnoverHead, 2024).hash) == (9, "b" * 64)
    finally:
        _forget()
