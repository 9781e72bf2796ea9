"""The dashboards' year sums brought forward entry by entry equal the SQL aggregate afresh.

A province year is too large to aggregate on every view after every new entry, so each
process keeps a year's sums and moves the contributions of the refs the new entries touch
(``dashboards.services._year_sums``). Random ledgers (the claims property test's: contracts
paid before or after registration and across years, vouchers under an order, leases under
one ref, corrections of anything) are appended in random order; after each entry the kept
sums must equal ``_full_sums``, the GROUP BY with the counted-once rule.
Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from marketplace.dashboards import services
from marketplace.extensions import db
from tests.claims.test_incremental import YEARS, _append, _clean, orgs, random_ledger  # noqa: F401 - orgs is a fixture


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=False), size=st.integers(6, 16))
def test_sums_brought_forward_equal_the_aggregate_afresh(orgs, rnd, size):  # noqa: F811
    ledger = random_ledger(rnd, size)
    note(repr(ledger))
    services._SUMS.clear()
    try:
        for year in YEARS:
            services._year_sums(year)  # kept from the first entry on: every later view brings it forward
        for i, (op, _drain) in enumerate(ledger):
            _append(i, op, orgs)
            db.session.commit()
            for year in YEARS:
                kept = {g: list(v) for g, v in services._year_sums(year).items()}
                assert kept == services._full_sums(year), f"after entry {i}, year {year}"
        for year in YEARS:  # the window's rule is counted_once's, and the headline reads the kept sums
            fresh = services._full_sums(year)
            assert _by_month_counted_once(year) == {g: v for g, v in fresh.items() if g[0] == "month"}
            h = services.headline(year)
            assert (h.turnover_fen, h.trades) == tuple(fresh.get(("trades",), [0, 0]))
    finally:
        _clean()

def test_the_kept_sums_start_afresh_when_the_ledger_is_not_the_one_they_were_kept_for(app_ctx, monkeypatch):
    services._SUMS.clear()
    services._year_sums(2025)
    key = next(iter(services._SUMS))
    services._SUMS[key].seq, services._SUMS[key].hash = 10 ** 9, "not this ledger"
    calls = []
    monkeypatch.setattr(services, "_full_sums", lambda year: calls.append(year) or {})
    assert services._year_sums(2025) == {} and calls == [2025]


def _by_month_counted_once(year: int) -> dict:
    """The month sums as first written: a correlated NOT EXISTS per entry (``counted_once``)."""
    from datetime import date

    from sqlalchemy import and_, distinct, extract, func, or_, select

    from marketplace.ledger.models import LedgerEntry

    month = extract("month", LedgerEntry.occurred_on)
    rows = db.session.execute(
        select(LedgerEntry.kind, month, func.sum(LedgerEntry.amount_fen), func.count(distinct(LedgerEntry.ref)))
        .where(LedgerEntry.occurred_on.between(date(year, 1, 1), date(year, 12, 31)),
               or_(LedgerEntry.kind.in_(("refund", "cancellation")),
                   and_(LedgerEntry.kind.in_(services.TURNOVER_KINDS), services.counted_once())))
        .group_by(LedgerEntry.kind, month))
    return {("month", kind, int(m)): [int(total), int(n)] for kind, m, total, n in rows}


def test_requests_at_once_bring_the_kept_sums_forward_once(orgs, app, monkeypatch):  # noqa: F811
    """A web process serves several requests at once (gthread). Two dashboard views after new
    entries must not both move the kept sums forward from the same head: the new entries would
    count twice. Each view runs in its own thread and application context (its own session),
    with the bring-forward slowed so that both are inside it together."""
    import random
    import threading
    import time

    ledger = random_ledger(random.Random(18), 14)
    services._SUMS.clear()
    try:
        half = len(ledger) // 2
        for i, (op, _drain) in enumerate(ledger[:half]):
            _append(i, op, orgs)
        db.session.commit()
        for year in YEARS:
            services._year_sums(year)  # kept at this head
        for i, (op, _drain) in enumerate(ledger[half:], start=half):
            _append(i, op, orgs)
        db.session.commit()

        real = services._ref_groups
        monkeypatch.setattr(services, "_ref_groups", lambda year, entries: time.sleep(0.01) or real(year, entries))
        seen, errors = [], []

        def view():
            try:
                with app.app_context():
                    seen.append({y: {g: list(v) for g, v in services._year_sums(y).items()} for y in YEARS})
                    db.session.remove()
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=view) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        monkeypatch.setattr(services, "_ref_groups", real)
        fresh = {y: services._full_sums(y) for y in YEARS}
        assert seen == [fresh] * len(threads)
        assert {y: {g: list(v) for g, v in services._year_sums(y).items()} for y in YEARS} == fresh
    finally:
        _clean()
