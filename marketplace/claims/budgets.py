"""Budgets per clause and year, and the queue of approved claims waiting for them.

An approved claim takes budget of its clause and year if there is enough left, in approval
order; otherwise it waits (``promote_waiting``, called whenever a claim is approved, a budget
entered, a notice suspended or the year's drafts recomputed). Budgeted, it goes on public
notice for ``PUBLIC_NOTICE_DAYS`` days (Beijing dates).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import load_only

from marketplace import permissions as perm
from marketplace.audit.models import record
from marketplace.claims import models as m
from marketplace.claims.drafting import decide, notify_members
from marketplace.core.errors import ServiceError
from marketplace.core.money import format_yuan
from marketplace.core.timeutil import beijing_today
from marketplace.core.uow import transactional
from marketplace.extensions import db
from marketplace.vouchers.budget import budget_fen


def today() -> date:
    """The business date: today in Beijing (notice periods, payment dates)."""
    return beijing_today()


def notice_days() -> int:
    return int(current_app.config["PUBLIC_NOTICE_DAYS"])


def _budget(year: int, clause: str, lock: bool = False) -> m.ClaimBudget | None:
    stmt = select(m.ClaimBudget).where(m.ClaimBudget.year == year, m.ClaimBudget.clause == clause)
    if lock:
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def _committed(year: int, clause: str) -> int:
    """The city's part of the clause's claims on notice and paid (A3: its 30 % only)."""
    return sum(budget_fen(c) for c in db.session.scalars(select(m.Claim).where(
        m.Claim.year == year, m.Claim.clause == clause, m.Claim.status.in_((m.ON_NOTICE, m.PAID)))))


def promote_waiting(year: int, clause: str, actor=None) -> list[m.Claim]:
    """Put waiting claims of (year, clause) on notice, in approval order, while the budget
    lasts; the first that does not fit stops the queue (no overtaking). Does not commit."""
    db.session.flush()
    budget = _budget(year, clause, lock=True)
    if budget is None:
        return []
    remaining = budget.amount_fen - _committed(year, clause)
    waiting = db.session.scalars(select(m.Claim).where(
        m.Claim.year == year, m.Claim.clause == clause, m.Claim.status == m.WAITING_BUDGET)
        .order_by(m.Claim.approved_at, m.Claim.id))
    promoted = []
    start = today()
    for claim in waiting:
        if budget_fen(claim) > remaining:
            break
        remaining -= budget_fen(claim)
        decide(claim, "notice", m.ON_NOTICE, actor)
        claim.notice_from, claim.notice_until = start, start + timedelta(days=notice_days())
        notify_members(claim.organization_id, "notice.claim_on_notice", claim.id)
        promoted.append(claim)
    return promoted


@transactional
def set_budget(actor, year: int, clause: str, amount_fen: int) -> m.ClaimBudget:
    from marketplace.claims.services import ALL_CLAUSES, FIRST_YEAR

    perm.require(actor, perm.BUDGET_EDIT)
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= today().year + 1:
        raise ServiceError(_("Choose a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=today().year + 1),
                           "year")
    if clause not in ALL_CLAUSES:
        raise ServiceError(_("Choose a clause."), "clause")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen < 0:
        raise ServiceError(_("Enter an amount in yuan, like 12000 or 12000.50."), "amount")
    committed = _committed(year, clause)
    if amount_fen < committed:
        raise ServiceError(_("The budget cannot be less than what is already committed (%(amount)s).",
                             amount=format_yuan(committed)), "amount")
    budget = _budget(year, clause, lock=True)
    before = budget.amount_fen if budget else None
    if budget is None:
        budget = m.ClaimBudget(year=year, clause=clause, amount_fen=amount_fen, updated_by_id=actor.id)
        db.session.add(budget)
    else:
        budget.amount_fen, budget.updated_by_id = amount_fen, actor.id
    record(actor, "claim.budget", "claim_budget", f"{year}/{clause}", before={"amount_fen": before},
           after={"amount_fen": amount_fen})
    promote_waiting(year, clause, actor)
    return budget


def clause_in_year(table, year: int):
    """The clause of the claim a payout or clawback row (``table``) is for, when that claim is
    of ``year`` (else NULL): a lookup by the claim's key per row. Joined instead, the planner
    (SQLite without statistics) walks the year's claims by the year index and probes ``table``
    for each: 20 ms a view at province volume, against 0.03 ms."""
    return (select(m.Claim.clause).where(m.Claim.id == table.claim_id, m.Claim.year == year)
            .scalar_subquery().label("clause"))


def paid_by_clause(table, year: int):
    """``SELECT clause, sum(amount_fen)`` of the ``table`` rows (payouts or clawbacks) whose
    claim is of ``year``, per clause, starting from those rows (``clause_in_year``)."""
    rows = select(clause_in_year(table, year), table.amount_fen).subquery()
    return select(rows.c.clause, func.sum(rows.c.amount_fen)).where(rows.c.clause.is_not(None)).group_by(rows.c.clause)


def budget_status(year: int) -> list[dict]:
    """Per clause of ``year`` with a budget or claims: ``budget_fen`` (0 when none is set:
    approved claims then wait), ``committed_fen`` (on notice and paid), ``paid_fen``,
    ``remaining_fen``, ``waiting`` (number of approved claims waiting for budget) and
    ``waiting_fen``; ``has_budget`` says whether the city entered one."""
    from marketplace.claims.services import ALL_CLAUSES

    budgets = {b.clause: b.amount_fen for b in db.session.scalars(select(m.ClaimBudget).where(m.ClaimBudget.year == year))}
    rows: dict[str, dict] = {}

    def row(clause):
        if clause not in rows:
            rows[clause] = {"clause": clause, "budget_fen": budgets.get(clause, 0), "committed_fen": 0, "paid_fen": 0,
                            "remaining_fen": 0, "waiting": 0, "waiting_fen": 0, "has_budget": clause in budgets}
        return rows[clause]

    for clause in budgets:
        row(clause)
    for claim in db.session.scalars(select(m.Claim).where(
            m.Claim.year == year, m.Claim.status.in_((m.WAITING_BUDGET, m.ON_NOTICE, m.PAID)))):
        r = row(claim.clause)
        if claim.status == m.WAITING_BUDGET:
            r["waiting"] += 1
            r["waiting_fen"] += budget_fen(claim)  # the city's part (A3: 30 %; the province owes 60 %)
        else:
            r["committed_fen"] += budget_fen(claim)
    # The database starts from the payouts (few beside the year's claims) and looks up each
    # one's claim by key (``clause_in_year``); the trace a payout keeps is not read.
    clause_of = clause_in_year(m.Payout, year)
    for clause, payout in db.session.execute(
            select(clause_of, m.Payout).options(load_only(m.Payout.claim_id, m.Payout.amount_fen))
            .where(clause_of.is_not(None))):
        row(clause)["paid_fen"] += budget_fen(payout)  # the city's part of what was paid
    for r in rows.values():
        r["remaining_fen"] = r["budget_fen"] - r["committed_fen"]
    order = {c: i for i, c in enumerate(ALL_CLAUSES)}
    return [rows[c] for c in sorted(rows, key=lambda c: (order.get(c, len(order)), c))]
