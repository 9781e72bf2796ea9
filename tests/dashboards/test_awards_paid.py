"""The dashboard's awards and budgets: paid and clawed-back sums per clause equal a sum over
the claims in Python whatever the claims go through, and the database starts from the payouts
and clawbacks (a lookup of each one's claim by key), never from the year's claims.

At province volume a year holds ~46,000 claims and a handful of payouts: joined the other way
round, SQLite (which keeps no statistics unless asked) walked the year's claims by the year
index and probed the payouts for each, 20 ms a statement and three statements a view.
"""
from __future__ import annotations

import random
from collections import defaultdict
from datetime import date

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from marketplace.claims import budgets as claims_budgets
from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.dashboards import services
from marketplace.extensions import db
from marketplace.vouchers.budget import budget_fen

YEARS = (2024, 2025)
CLAUSES = ("A1.DT", "A3", "B1")


def _claim(org_id: int, year: int, clause: str, status: str, amount: int, n: int) -> m.Claim:
    payers = None
    if clause == "A3":  # the city pays 30 % of an A3 award, the province the rest
        payers = {"city": amount * 3 // 10, "province": amount - amount * 3 // 10}
    claim = m.Claim(year=year, clause=clause, source=m.FILED, organization_id=org_id, status=status,
                    amount_fen=amount, engine_amount_fen=None, payers=payers, draft_key=f"t{n}")
    db.session.add(claim)
    return claim


def _truth(year: int) -> tuple[dict, dict]:
    """(awards, budgets) of ``year`` summed in Python over every claim, payout and clawback."""
    db.session.expire_all()
    awards = defaultdict(lambda: {"drafted_fen": 0, "approved_fen": 0, "paid_fen": 0, "clawed_back_fen": 0,
                                  "count": 0})
    paid = defaultdict(int)
    for c in db.session.scalars(select(m.Claim).where(m.Claim.year == year)):
        if c.status not in (m.REJECTED, m.WITHDRAWN):
            a = awards[c.clause]
            a["drafted_fen"] += c.amount_fen
            a["count"] += 1
            if c.status in m.APPROVED_STATUSES:
                a["approved_fen"] += c.amount_fen
        for p in c.payouts:
            awards[c.clause]["paid_fen"] += p.amount_fen
            paid[c.clause] += budget_fen(p)
        for k in c.clawbacks:
            awards[c.clause]["clawed_back_fen"] += k.amount_fen
    return dict(awards), dict(paid)


def _check(year: int) -> None:
    awards, paid = _truth(year)
    assert claims.awards_by_clause(year) == awards
    assert {r["clause"]: r["paid_fen"] for r in claims_budgets.budget_status(year) if r["paid_fen"]} == \
        {c: v for c, v in paid.items() if v}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=False), steps=st.integers(4, 30))
def test_paid_and_clawed_back_per_clause_equal_the_claims_through_any_sequence(factory, rnd, steps):
    """Claims are added in two years, change status, are paid (sometimes in another year than
    their own), clawed back once or twice, and the dashboard's sums follow after each step."""
    finance = factory.user("finance")
    orgs = [factory.user("enterprise").organization.id for _ in range(2)]
    made: list[m.Claim] = []
    log = []
    try:
        for _step in range(steps):
            op = rnd.choice(("claim", "claim", "status", "pay", "clawback"))
            if op == "claim" or not made:
                claim = _claim(rnd.choice(orgs), rnd.choice(YEARS), rnd.choice(CLAUSES),
                               rnd.choice(m.STATUSES[:5] + (m.REJECTED, m.WITHDRAWN)), rnd.randint(0, 10) * 10_000,
                               len(made))
                made.append(claim)
                log.append(("claim", claim.year, claim.clause, claim.status, claim.amount_fen))
            elif op == "status":
                claim = rnd.choice(made)
                claim.status = rnd.choice(m.STATUSES)
                log.append(("status", made.index(claim), claim.status))
            elif op == "pay":
                claim = rnd.choice([c for c in made if not c.payouts and c.amount_fen] or made)
                if claim.payouts or not claim.amount_fen:
                    continue
                claim.status = m.PAID
                db.session.add(m.Payout(claim=claim, amount_fen=claim.amount_fen, paid_on=date(rnd.choice(YEARS) + 1, 2, 1),
                                        recorded_by_id=finance.id))
                log.append(("pay", made.index(claim)))
            else:
                paid = [c for c in made if c.payouts]
                if not paid:
                    continue
                claim = rnd.choice(paid)
                owed = rnd.randint(1, claim.amount_fen)
                db.session.add(m.Clawback(claim=claim, organization_id=claim.organization_id, amount_fen=owed,
                                          engine_amount_fen=claim.amount_fen - owed))
                log.append(("clawback", made.index(claim), owed))
            db.session.commit()
            note(repr(log))
            for year in YEARS:
                _check(year)
    finally:
        db.session.rollback()
        for table in (m.Clawback, m.Payout, m.Claim):
            db.session.execute(table.__table__.delete())
        db.session.commit()


def test_the_dashboard_shows_what_was_paid_and_clawed_back(factory):
    finance = factory.user("finance")
    org = factory.user("enterprise").organization.id
    a3 = _claim(org, 2025, "A3", m.PAID, 1_000_000, 1)
    _claim(org, 2025, "A3", m.DRAFTED, 500_000, 2)
    b1 = _claim(org, 2024, "B1", m.PAID, 300_000, 3)  # another year: not in 2025's figures
    db.session.flush()
    db.session.add_all([m.Payout(claim=a3, amount_fen=1_000_000, paid_on=date(2026, 1, 5), recorded_by_id=finance.id),
                        m.Payout(claim=b1, amount_fen=300_000, paid_on=date(2025, 3, 1), recorded_by_id=finance.id),
                        m.Clawback(claim=a3, organization_id=org, amount_fen=200_000, engine_amount_fen=800_000),
                        m.Clawback(claim=a3, organization_id=org, amount_fen=50_000, engine_amount_fen=750_000)])
    db.session.commit()
    [row] = services.awards(finance, 2025).rows
    assert (row.clause, row.drafted_fen, row.approved_fen, row.paid_fen, row.clawed_back_fen, row.count) == \
        ("A3", 1_500_000, 1_000_000, 1_000_000, 250_000, 2)
    budgets = {r.clause: r for r in services.budgets(finance, 2025)}
    assert (budgets["A3"].paid_fen, budgets["A3"].committed_fen) == (300_000, 300_000)  # the city's 30 %
    assert [(r.clause, r.paid_fen) for r in services.awards(finance, 2024).rows] == [("B1", 300_000)]


def test_payout_and_clawback_sums_look_claims_up_by_key_not_by_year(factory, app):
    """On SQLite, every statement of the awards and budgets that reads payouts or clawbacks
    reaches the claims by their primary key: none walks the year's claims (an index on year)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's planner, the one that chose the year index without statistics")
    finance = factory.user("finance")
    org = factory.user("enterprise").organization.id
    rnd = random.Random(7)
    claims_made = [_claim(org, 2025, rnd.choice(CLAUSES), m.DRAFTED, 10_000, n) for n in range(300)]
    claims_made[0].status = m.PAID
    db.session.flush()
    db.session.add(m.Payout(claim=claims_made[0], amount_fen=10_000, paid_on=date(2026, 1, 5),
                            recorded_by_id=finance.id))
    db.session.add(m.Clawback(claim=claims_made[0], organization_id=org, amount_fen=1_000, engine_amount_fen=9_000))
    db.session.commit()
    seen = []

    def keep(conn, cursor, statement, params, context, executemany):
        if "claim_payouts" in statement or "claim_clawbacks" in statement:
            seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        services.awards(finance, 2025)
        services.budgets(finance, 2025)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert len(seen) == 3  # paid and clawed back per clause; the payouts for the budgets
    cursor = db.session.connection().connection.cursor()  # the sqlite3 cursor: the statements' own "?"
    for statement, params in seen:
        plan = [row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()]
        on_claims = [step for step in plan if " claims " in f" {step} "]
        assert on_claims and all("INTEGER PRIMARY KEY" in step for step in on_claims), (statement, plan)
    db.session.rollback()
    for table in (m.Clawback, m.Payout, m.Claim):
        db.session.execute(table.__table__.delete())
    db.session.commit()
