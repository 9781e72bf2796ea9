"""A1 technology contract subsidy (4.1) and A2.city transfer agencies (4.2).

Facts in: the registered, paid technology contracts, one per registration
number (认定登记编号), already deduplicated, of the year and of earlier years
(history, for the previous price of a project). Awards, exclusions and flags out.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Iterable

from ..money import fen_to_decimal
from ..parameters import Parameters
from ..result import Award, Exclusion, Flag
from ..scenario import Organization, Transaction
from ..trace import Step
from .common import clause_step, rate_capped

GROUP_OF = {"development": "DT", "transfer": "DT", "consulting": "CS", "service": "CS"}
CLAUSE_OF = {"DT": "A1.DT", "CS": "A1.CS"}


def previous_transfers(contracts: Iterable[Transaction]) -> dict[str, tuple[Transaction, Transaction]]:
    """For each repeated transfer of a project, the transfer before it.

    Returns ``{transaction id: (this, previous)}``. Transfers of a project are
    ordered by registration date, then registration number; any year counts.
    """
    by_project: dict[str, list[Transaction]] = defaultdict(list)
    for t in contracts:
        if t.contract_type == "transfer" and t.project:
            by_project[t.project].append(t)
    previous = {}
    for items in by_project.values():
        if len(items) < 2:
            continue
        items.sort(key=lambda t: (t.date, t.registration_no, t.id))
        for before, this in zip(items, items[1:]):
            previous[this.id] = (this, before)
    return previous


def a1_awards(params: Parameters, snap, year: int, contracts: list[Transaction],
              previous: dict[str, tuple[Transaction, Transaction]], orgs: dict[str, Organization],
              excluded: list[Exclusion], detail: bool = True) -> list[Award]:
    """A1.DT / A1.CS: one award per beneficiary and group; zero awards included (nil).

    ``detail=False`` (lean streaming) leaves out the one-line-per-contract steps and the
    id lists; value-added steps and the totals stay in the trace."""
    role = snap["a1.beneficiary_role"]
    per: dict[tuple[str, str], list] = {}
    for t in contracts:
        beneficiary = getattr(t, role)
        group = GROUP_OF[t.contract_type]
        clause = CLAUSE_OF[group]
        if not orgs[beneficiary].in_city:
            excluded.append(Exclusion(t.id, Step("x.out_of_city", {"clauses": [clause], "role": role,
                                                                     "org": beneficiary})))
            continue
        entry = per.setdefault((clause, beneficiary), [0, [], []])
        price = t.amount_fen
        counted = price
        steps = entry[2]
        if detail:
            steps.append(Step("a1.contract", {"txn": t.id, "contract_type": t.contract_type,
                                              "reg": t.registration_no, "date": t.date, "role": role,
                                              "org": beneficiary, "amount": fen_to_decimal(price)}))
        if t.id in previous:
            _, prev = previous[t.id]
            counted = max(0, price - prev.amount_fen)
            steps.append(Step("a1.value_added", {
                "txn": t.id, "project": t.project, "prev_txn": prev.id, "prev_date": prev.date,
                "prev_price": fen_to_decimal(prev.amount_fen), "price": fen_to_decimal(price),
                "counted": fen_to_decimal(counted)}))
        entry[0] += counted
        entry[1].append(t.id)
    awards = []
    for (clause, beneficiary), (fen, ids, steps) in per.items():
        count = len(ids)
        if not detail:
            ids = []
        group = "DT" if clause == "A1.DT" else "CS"
        key = group.lower()
        org = orgs[beneficiary]
        trace = [clause_step(params, clause), Step("beneficiary", {"org": beneficiary, "name": org.name})]
        trace.extend(sorted(steps, key=lambda s: (s.values["txn"], s.key)))
        turnover = fen_to_decimal(fen)
        trace.append(Step("a1.turnover", {"year": year, "group": group, "turnover": turnover, "count": count}))
        amount = rate_capped(turnover, snap[f"a1.{key}.rate"], snap[f"a1.{key}.cap"], trace)
        awards.append(Award(clause, beneficiary, amount, sorted(ids), trace,
                            transaction_count=None if detail else count))
    return awards


def a2_city_awards(params: Parameters, snap, year: int, contracts: list[Transaction],
                   orgs: dict[str, Organization], excluded: list[Exclusion], detail: bool = True) -> list[Award]:
    """A2.city: brokered contracts transformed in the city, threshold then rate and cap."""
    per: dict[str, list] = {}
    for t in contracts:
        if t.broker is None:
            continue
        agency = orgs[t.broker]
        if agency.transfer_agency_level != "city":
            continue
        if not agency.in_city:
            excluded.append(Exclusion(t.id, Step("x.out_of_city", {"clauses": ["A2.city"], "role": "broker",
                                                                     "org": agency.id})))
            continue
        if not t.transformed_in_city:
            excluded.append(Exclusion(t.id, Step("x.a2.not_transformed", {})))
            continue
        entry = per.setdefault(agency.id, [0, []])
        entry[0] += t.amount_fen
        entry[1].append(t)
    awards = []
    threshold = snap["a2.city.threshold"]
    for agency_id, (fen, txns) in per.items():
        txns.sort(key=lambda t: t.id)
        trace = [clause_step(params, "A2.city"),
                 Step("beneficiary", {"org": agency_id, "name": orgs[agency_id].name})]
        for t in txns if detail else ():
            trace.append(Step("a2.contract", {"txn": t.id, "reg": t.registration_no,
                                              "amount": fen_to_decimal(t.amount_fen)}))
        turnover = fen_to_decimal(fen)
        trace.append(Step("a2.turnover", {"year": year, "turnover": turnover, "count": len(txns)}))
        ids = [t.id for t in txns]
        if turnover < threshold:
            shortfall = threshold - turnover
            trace.append(Step("a2.threshold.short", {"turnover": turnover, "threshold": threshold,
                                                     "shortfall": shortfall}))
            for t in txns:
                excluded.append(Exclusion(t.id, Step("x.a2.short", {
                    "org": agency_id, "turnover": turnover, "threshold": threshold, "shortfall": shortfall})))
            awards.append(Award("A2.city", agency_id, Decimal("0.00"), ids if detail else [], trace))
            continue
        trace.append(Step("a2.threshold.met", {"turnover": turnover, "threshold": threshold}))
        amount = rate_capped(turnover, snap["a2.city.rate"], snap["a2.city.cap"], trace)
        awards.append(Award("A2.city", agency_id, amount, ids if detail else [], trace,
                            transaction_count=None if detail else len(ids)))
    return awards


def overlap_flags(a1: list[Award], a2: list[Award], contracts: Iterable[Transaction], role: str) -> list[Flag]:
    """A contract behind a paid A1 award that also counts for a paid A2.city award is
    flagged for the reviewer (one flag per A1 award and agency), not silently paid twice."""
    paid_a1 = {(a.clause, a.beneficiary) for a in a1 if a.amount > 0}
    paid_a2 = {a.beneficiary for a in a2 if a.amount > 0}
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for t in contracts:
        if t.broker in paid_a2 and t.transformed_in_city:
            key = (CLAUSE_OF[GROUP_OF[t.contract_type]], getattr(t, role))
            if key in paid_a1:
                groups[(key[0], key[1], t.broker)].append(t.id)
    flags = []
    for (clause, seller, broker), tids in sorted(groups.items()):
        tids.sort()
        flags.append(Flag("overlap", tuple(tids), (clause, "A2.city"), Step("f.overlap", {
            "txns": tids, "a1_clause": clause, "seller": seller, "broker": broker})))
    return flags
