"""A1 technology contract subsidy (4.1) and A2.city transfer agencies (4.2).

Facts in: the registered, paid technology contracts, one per registration
number (认定登记编号), already deduplicated, of the year and of earlier years
(history, for the earlier prices of a project), and the refunded or cancelled
assignments (named in the trace when the value-added rule skips them).
Awards, exclusions and flags out.

The value-added rule (同一项目多次转让，仅就增值部分给予补助), as CLAUSES.md settles it:
an **assignment** of a project counts ``max(0, price − the highest price of any earlier
paid assignment of that project)``, whoever sold it and in whichever year. "Earlier" is
the order (registration date, registration number as text, transaction id). Refunded,
cancelled and unregistered contracts set no price; licences (``transfer_kind: licence``)
count in full and set no price either.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Iterable, NamedTuple

from ..money import fen_to_decimal
from ..parameters import Parameters
from ..result import Award, Exclusion, Flag
from ..scenario import Organization, Transaction
from ..trace import Step
from .common import clause_step, rate_capped, who

GROUP_OF = {"development": "DT", "transfer": "DT", "consulting": "CS", "service": "CS"}
CLAUSE_OF = {"DT": "A1.DT", "CS": "A1.CS"}
EVIDENCE_CLAIM = {"provincial": "A2.provincial", "national": "A2.national"}


def order_key(t: Transaction):
    """The documented order of contracts: registration date, registration number as text, id."""
    return (t.date or "", t.registration_no or "", t.id)


def is_assignment(t: Transaction) -> bool:
    """A transfer contract in which the right itself changes hands (转让), of a named project."""
    return t.contract_type == "transfer" and t.transfer_kind != "licence" and bool(t.project)


class ValueAdded(NamedTuple):
    """How much of an assignment counts, and the contracts that decided it."""

    counted_fen: int
    earlier: Transaction | None  # the highest earlier paid assignment (None: there is none)
    skipped: tuple[Transaction, ...]  # earlier refunded or cancelled assignments, which set no price


def value_added(contracts: Iterable[Transaction], dead: Iterable[Transaction] = ()) -> dict[str, ValueAdded]:
    """For each paid assignment that has earlier assignments of its project (paid or not):
    what counts of its price. ``contracts``: the registered, paid contracts (one per
    registration number); ``dead``: refunded or cancelled assignments (they set no price).
    Assignments without any earlier one count in full and are not in the result."""
    by_project: dict[str, list[Transaction]] = defaultdict(list)
    for t in contracts:
        if is_assignment(t):
            by_project[t.project].append(t)
    for t in dead:
        if is_assignment(t) and t.date and t.project in by_project:
            by_project[t.project].append(t)
    out: dict[str, ValueAdded] = {}
    for items in by_project.values():
        if len(items) < 2:
            continue
        items.sort(key=order_key)
        best: Transaction | None = None
        skipped: list[Transaction] = []
        for t in items:
            if t.status != "paid":
                skipped.append(t)
                continue
            if best is not None or skipped:
                counted = t.amount_fen if best is None else max(0, t.amount_fen - best.amount_fen)
                out[t.id] = ValueAdded(counted, best, tuple(skipped))
            if best is None or t.amount_fen > best.amount_fen:
                best = t
    return out


def _type_of(t: Transaction) -> str:
    return "transfer.assignment" if t.contract_type == "transfer" else t.contract_type


def a1_awards(params: Parameters, snap, year: int, contracts: list[Transaction],
              added: dict[str, ValueAdded], orgs: dict[str, Organization],
              excluded: list[Exclusion], detail: bool = True) -> tuple[list[Award], dict[str, int]]:
    """A1.DT / A1.CS: one award per beneficiary and group; zero awards included (nil).

    Returns the awards and, per contract, the fen it counted for. ``detail=False`` (lean
    streaming) leaves out the one-line-per-contract steps of contracts counted in full and
    the id lists; value-added steps and the totals stay in the trace."""
    role = snap["a1.beneficiary_role"]
    per: dict[tuple[str, str], list] = {}
    counted_of: dict[str, int] = {}
    for t in contracts:
        beneficiary = getattr(t, role)
        group = GROUP_OF[t.contract_type]
        clause = CLAUSE_OF[group]
        if not orgs[beneficiary].in_city:
            excluded.append(Exclusion(t.id, Step("x.out_of_city", {"clauses": [clause], "role": role,
                                                                     **who(orgs, "org", beneficiary)})))
            continue
        entry = per.setdefault((clause, beneficiary), [0, [], [], False])
        price = t.amount_fen
        common = {"txn": t.id, "reg": t.registration_no, "date": t.date, "role": role,
                  **who(orgs, "org", beneficiary), **who(orgs, "buyer", t.buyer), "price": fen_to_decimal(price)}
        va = added.get(t.id)
        steps: list[Step] = []
        if va is None:
            counted = price
            if detail:
                if t.contract_type == "transfer" and t.transfer_kind == "licence":
                    steps.append(Step("a1.licence", {**common, "project": t.project}))
                else:
                    steps.append(Step("a1.contract", {**common, "contract_type": _type_of(t)}))
        else:
            counted = va.counted_fen
            for s in va.skipped:
                steps.append(Step("a1.skipped", {"txn": t.id, "project": t.project, "skip_txn": s.id,
                                                 "skip_date": s.date, "skip_price": fen_to_decimal(s.amount_fen),
                                                 "status": s.status}))
            if va.earlier is None:
                if detail:
                    steps.insert(0, Step("a1.contract", {**common, "contract_type": _type_of(t)}))
            else:
                e = va.earlier
                steps.insert(0, Step("a1.value_added", {
                    **common, "project": t.project, "prev_txn": e.id, "prev_reg": e.registration_no,
                    "prev_date": e.date, **who(orgs, "prev_seller", e.seller),
                    "prev_price": fen_to_decimal(e.amount_fen), "counted": fen_to_decimal(counted)}))
                entry[3] = True
        counted_of[t.id] = counted
        entry[0] += counted
        entry[1].append(t.id)
        if steps:
            entry[2].append((order_key(t), steps))
    awards = []
    for (clause, beneficiary), (fen, ids, keyed_steps, any_added) in per.items():
        count = len(ids)
        group = "DT" if clause == "A1.DT" else "CS"
        key = group.lower()
        trace = [clause_step(params, clause), Step("beneficiary", who(orgs, "org", beneficiary))]
        for _, steps in sorted(keyed_steps, key=lambda ks: ks[0]):
            trace.extend(steps)
        turnover = fen_to_decimal(fen)
        trace.append(Step("a1.base" if any_added else "a1.turnover",
                          {"year": year, "group": group, "turnover": turnover, "count": count}))
        amount = rate_capped(turnover, snap[f"a1.{key}.rate"], snap[f"a1.{key}.cap"], trace)
        awards.append(Award(clause, beneficiary, amount, sorted(ids) if detail else [], trace,
                            transaction_count=None if detail else count))
    return awards, counted_of


def a2_city_awards(params: Parameters, snap, year: int, contracts: list[Transaction],
                   orgs: dict[str, Organization], excluded: list[Exclusion],
                   detail: bool = True) -> tuple[list[Award], dict[str, list[Transaction]]]:
    """A2.city: contracts brokered for others and transformed in the city; threshold, rate, cap.

    Returns the awards (nil ones included) and, per agency, the contracts its turnover counts."""
    per: dict[str, list] = {}
    for t in contracts:
        if t.broker is None:
            continue
        agency = orgs[t.broker]
        level = agency.transfer_agency_level
        if level is None:
            excluded.append(Exclusion(t.id, Step("x.a2.not_filed", who(orgs, "org", agency.id))))
            continue
        if level != "city":  # provincial / national: one-off awards claimed with evidence
            excluded.append(Exclusion(t.id, Step("x.a2.level", {**who(orgs, "org", agency.id), "level": level,
                                                                 "claim": EVIDENCE_CLAIM[level]})))
            continue
        if not agency.in_city:
            excluded.append(Exclusion(t.id, Step("x.out_of_city", {"clauses": ["A2.city"], "role": "broker",
                                                                     **who(orgs, "org", agency.id)})))
            continue
        if agency.id in (t.seller, t.buyer):  # not 为促成他人技术交易
            side = "seller" if agency.id == t.seller else "buyer"
            excluded.append(Exclusion(t.id, Step("x.a2.own", {**who(orgs, "org", agency.id), "side": side})))
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
        txns.sort(key=order_key)
        trace = [clause_step(params, "A2.city"), Step("beneficiary", who(orgs, "org", agency_id))]
        for t in txns if detail else ():
            trace.append(Step("a2.contract", {"txn": t.id, "reg": t.registration_no, "date": t.date,
                                              **who(orgs, "seller", t.seller), **who(orgs, "buyer", t.buyer),
                                              "amount": fen_to_decimal(t.amount_fen)}))
        turnover = fen_to_decimal(fen)
        trace.append(Step("a2.turnover", {"year": year, "turnover": turnover, "count": len(txns)}))
        ids = sorted(t.id for t in txns)
        if turnover < threshold:
            shortfall = threshold - turnover
            trace.append(Step("a2.threshold.short", {"turnover": turnover, "threshold": threshold,
                                                     "shortfall": shortfall}))
            for t in txns:
                excluded.append(Exclusion(t.id, Step("x.a2.short", {
                    **who(orgs, "org", agency_id), "turnover": turnover, "threshold": threshold,
                    "shortfall": shortfall})))
            awards.append(Award("A2.city", agency_id, Decimal("0.00"), ids if detail else [], trace))
            continue
        trace.append(Step("a2.threshold.met", {"turnover": turnover, "threshold": threshold}))
        amount = rate_capped(turnover, snap["a2.city.rate"], snap["a2.city.cap"], trace)
        awards.append(Award("A2.city", agency_id, amount, ids if detail else [], trace,
                            transaction_count=None if detail else len(ids)))
    return awards, {agency: txns for agency, (_, txns) in per.items()}


def overlap_flags(a1: list[Award], a2: list[Award], brokered: dict[str, list[Transaction]],
                  counted: dict[str, int], role: str, orgs: dict[str, Organization]) -> list[Flag]:
    """A contract that counts (for more than 0) in a paid A1 award and in a paid A2.city award
    is flagged for the reviewer (one flag per A1 award and agency), not silently paid twice.
    Both awards stand on the flag in full: the reviewer decides which one is paid."""
    paid_a1 = {(a.clause, a.beneficiary) for a in a1 if a.amount > 0}
    paid_a2 = {a.beneficiary for a in a2 if a.amount > 0}
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for broker in paid_a2:
        for t in brokered.get(broker, ()):
            key = (CLAUSE_OF[GROUP_OF[t.contract_type]], getattr(t, role))
            if key in paid_a1 and counted.get(t.id, 0) > 0:
                groups[(key[0], key[1], broker)].append(t.id)
    flags = []
    for (clause, seller, broker), tids in sorted(groups.items()):
        tids.sort()
        flags.append(Flag("overlap", tuple(tids), (clause, "A2.city"), Step("f.overlap", {
            "txns": tids, "a1_clause": clause, **who(orgs, "seller", seller), **who(orgs, "broker", broker)}),
            awards=((clause, seller), ("A2.city", broker))))
    return flags
