"""Recompute only the claim groups a ledger entry can change.

The outbox keys name a family of groups and a party (``ledger/affects.py``). For each family
this reads the rows its groups need, builds the scenario of just those rows
(``ledger.scenario.build_subscenario``), evaluates it with the engine — the one place of the
rules — and files the groups it holds whole; every other award of that partial scenario is
dropped. ``flask claims draft --year Y`` (the whole year) is the audit: the result must be
the same (``tests/claims/test_incremental.py`` checks it on random ledgers).
"""
from __future__ import annotations

from collections import defaultdict

from marketplace.claims import drafting
from marketplace.extensions import db
from marketplace.ledger import affects
from marketplace.ledger.scenario import build_subscenario
from marketplace.reforms.parameters import in_force
from marketplace.subsidies import evaluate


def recompute_keys(year: int, keys: list[str]) -> dict:
    """Recompute the groups named by ``keys`` (all of ``year``), inside the caller's unit of work."""
    by_family: dict[str, set[str]] = defaultdict(set)
    for key in keys:
        _year, family, value = affects.parse_key(key)
        by_family[family].add(value)
    # Lock names: one per (family, party) — contracts of a year share one name, since a
    # component's extent is only known once read.
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
        _evaluate_and_file(year, rows, (), codes, targets, counts)
    if by_family.get("TC") or by_family.get("TP"):
        rows, history, parties = affects.contract_component(db.session, year, by_family.get("TC", set()),
                                                            by_family.get("TP", set()))
        targets = {(clause, code) for clause in affects.CLAUSES_OF_FAMILY["TC"] for code in parties}
        _evaluate_and_file(year, rows, history, set(), targets, counts)
    return dict(counts)


def _evaluate_and_file(year: int, rows, history, organizations: set[str], targets: set[tuple[str, str]],
                       counts: dict[str, int]) -> None:
    scenario = build_subscenario(db.session, year, rows, history, organizations=organizations)
    groups = drafting.group_awards(evaluate(scenario, parameters=in_force()), wanted=targets)
    for what, n in drafting.recompute_groups(year, groups, targets).items():
        counts[what] += n
