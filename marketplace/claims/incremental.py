"""Recompute only the claim groups a ledger entry can change.

The outbox keys name a family of groups and a party (``ledger/affects.py``). For each family
this reads the rows its groups need, builds the scenario of just those rows
(``ledger.scenario.build_subscenario``), evaluates it with the engine — the one place of the
rules — and files the groups it holds whole; every other award of that partial scenario is
dropped. ``flask claims draft --year Y`` (the whole year) is the audit: the result must be
the same (``tests/claims/test_incremental.py`` checks it on random ledgers).

Technology contracts (families ``TC``, ``TP``; CLAUSES.md A1, A2.city). A group's result
depends on:

* its own contracts: A1.DT / A1.CS of a beneficiary (the role ``a1.beneficiary_role`` names),
  A2.city of a broker — every registered, paid contract of the year with that party;
* which of them counts (a registration number counts once: every row with the number) and
  for how much (an assignment counts the value added over the earlier assignments of its
  project, of any year) — the *links* of registration number and project, followed to their
  end (``ledger.affects.linked_contracts``);
* the overlap flags between an A1 award and an A2.city award standing on one contract: an A1
  group's flags read whether the A2.city group of each broker of its contracts is paid (more
  than 0), an A2.city group's whether the A1 group of each beneficiary of its contracts is.

So a contract changes the groups of the contracts linked to it (the targets), and their flags
change the groups on the other side of an overlap only when a target's paid-or-not changes.
The targets are evaluated with their neighbours' rows (whole, so the neighbours' paid-or-not
is the whole year's); a target whose paid-or-not differs from its filed claim brings its
neighbours in as targets, until none does. Sellers, buyers and brokers are not followed
further: a busy seller's new contract reads its own contracts and its brokers', not the year.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select

from marketplace.accounts.models import Organization
from marketplace.claims import drafting
from marketplace.claims import models as m
from marketplace.extensions import db
from marketplace.ledger import affects
from marketplace.ledger.scenario import _chunks, build_subscenario
from marketplace.reforms.parameters import in_force
from marketplace.subsidies import evaluate

A1_CLAUSES = ("A1.DT", "A1.CS")
A2 = "A2.city"
# the ledger column of each A1 beneficiary role (``ledger.models.INDEX_FIELDS``)
ROLE_COLUMN = {"seller": "party", "buyer": "counterparty"}


def recompute_keys(year: int, keys: list[str]) -> dict:
    """Recompute the groups named by ``keys`` (all of ``year``), inside the caller's unit of work."""
    by_family: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        _year, family, value = affects.parse_key(key)
        by_family[family].add(value)
    # Lock names: one per (family, party) — contracts of a year share one name, since the
    # groups a contract reaches are only known once read.
    names = [affects.key(year, f, v) for f in ("A3", "A4", "A5") for v in sorted(by_family.get(f, ()))]
    if by_family.get("TC") or by_family.get("TP"):
        names.append(f"{year}|contracts")
    drafting._lock_groups(db.session, year, names)

    counts: dict[str, int] = defaultdict(int)
    for family in ("A3", "A4", "A5"):
        codes = by_family.get(family)
        if not codes:
            continue
        rows = affects.family_rows(db.session, year, family, codes)
        targets = {(clause, code) for clause in affects.CLAUSES_OF_FAMILY[family] for code in codes}
        _file(year, _evaluate(year, rows, (), codes, targets), targets, counts)
    if by_family.get("TC") or by_family.get("TP"):
        _recompute_contracts(year, by_family.get("TC", set()), by_family.get("TP", set()), counts)
    return dict(counts)


def _evaluate(year: int, rows, history, organizations: set[str], targets: set[tuple[str, str]]) -> dict:
    scenario = build_subscenario(db.session, year, rows, history, organizations=organizations)
    return drafting.group_awards(evaluate(scenario, parameters=in_force()), wanted=targets)


def _file(year: int, groups: dict, targets: set[tuple[str, str]], counts: dict[str, int]) -> None:
    for what, n in drafting.recompute_groups(year, groups, targets).items():
        counts[what] += n


# --- technology contracts -----------------------------------------------------------------------

def _recompute_contracts(year: int, parties: set[str], projects: set[str], counts: dict[str, int]) -> None:
    """The A1/A2.city groups that the contracts of ``parties`` (as seller, buyer or broker) and
    of ``projects`` can change, recomputed (see the module's note)."""
    params = in_force()
    role = params.at(date(year, 12, 31))["a1.beneficiary_role"]
    role_col = ROLE_COLUMN[role]
    session = db.session
    seeds, history = affects.linked_contracts(session, year, {"party": parties, "counterparty": parties, "broker": parties},
                             projects)
    # The parties' own groups, and the groups of every contract linked to another by number or
    # project, may change. A contract linked to none changes only its own groups, and only if
    # it is the one that changed: their groups are recomputed if their figure or trace differs
    # from the filed claim's (which a busy seller's other brokers' seldom do).
    targets = {(clause, code) for code in parties for clause in (*A1_CLAUSES, A2)}
    regs = defaultdict(int)
    for row in (*seeds.values(), *history.values()):
        if row.registration_no:
            regs[row.registration_no] += 1
    maybe: set[tuple[str, str]] = set()
    for row in seeds.values():
        alone = row.project is None and (row.registration_no is None or regs[row.registration_no] == 1)
        (maybe if alone else targets).update(_groups_of(row, role_col))
    maybe -= targets
    if maybe:
        rows, history = affects.linked_contracts(session, year, {role_col: {code for clause, code in maybe if clause != A2},
                                                "broker": {code for clause, code in maybe if clause == A2}}, set())
        groups = _evaluate(year, list(rows.values()), list(history.values()), set(), maybe)
        filed = _filed(year, maybe)
        for key in maybe:
            g, claim = groups.get(key), filed.get(key)
            same = (g is None and claim is None) or (
                g is not None and claim is not None and claim[0] == g.fen and claim[1] == g.digest)
            if not same:
                targets.add(key)
    while True:
        beneficiaries = {code for clause, code in targets if clause != A2}
        brokers = {code for clause, code in targets if clause == A2}
        # the targets' own contracts, then their neighbours' (the other side of an overlap)
        own, _ = affects.linked_contracts(session, year, {role_col: beneficiaries, "broker": brokers}, set(), follow=False)
        n_beneficiaries = {getattr(r, role_col) for r in own.values() if r.broker in brokers}
        n_brokers = {r.broker for r in own.values() if r.broker and getattr(r, role_col) in beneficiaries}
        rows, history = affects.linked_contracts(session, year, {role_col: beneficiaries | n_beneficiaries,
                                                "broker": brokers | n_brokers}, set())
        groups = _evaluate(year, list(rows.values()), list(history.values()), set(), targets)
        flipped = _paid_changed(year, groups, targets)
        more: set[tuple[str, str]] = set()
        for clause, code in flipped:
            for r in rows.values():
                if clause == A2 and r.broker == code:
                    more |= {(c, getattr(r, role_col)) for c in A1_CLAUSES}
                elif clause != A2 and getattr(r, role_col) == code and r.broker:
                    more.add((A2, r.broker))
        if more <= targets:
            break
        targets |= more
    _file(year, groups, targets, counts)


def _groups_of(row, role_col: str) -> set[tuple[str, str]]:
    out = {(clause, getattr(row, role_col)) for clause in A1_CLAUSES if getattr(row, role_col)}
    if row.broker:
        out.add((A2, row.broker))
    return out


def _paid_changed(year: int, groups: dict, targets: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The targets whose award is paid (more than 0) now and was not in their filed claim, or
    the other way round (a claim never filed: not paid)."""
    filed = _filed(year, targets)
    out = set()
    for key in targets:
        g = groups.get(key)
        now = g is not None and g.fen > 0
        before = filed.get(key, (0, None))[0]
        if before is None or (before > 0) != now:
            out.add(key)
    return out


def _filed(year: int, keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int | None, str | None]]:
    """The filed engine claims of ``keys``: (clause, credit code) → (engine figure, trace digest)."""
    out = {}
    for chunk in _chunks(sorted({code for _, code in keys})):
        for clause, code, fen, digest in db.session.execute(
                select(m.Claim.clause, Organization.credit_code, m.Claim.engine_amount_fen, m.Claim.trace_digest)
                .join(Organization, Organization.id == m.Claim.organization_id)
                .where(m.Claim.year == year, m.Claim.source == m.ENGINE, m.Claim.clause.in_((*A1_CLAUSES, A2)),
                       Organization.credit_code.in_(chunk))):
            if (clause, code) in keys:
                out[(clause, code)] = (fen, digest)
    return out
