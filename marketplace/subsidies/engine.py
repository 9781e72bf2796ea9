"""The engine: a scenario in, awards out. Pure: no database, no web app, no clock.

``evaluate(scenario)`` and ``evaluate_stream(year, organizations, transactions)``
run the same code. The stream keeps per-beneficiary sums in integer fen and
per-contract state only where a rule needs it (registered contracts, for "once
per contract" and the earlier prices of a project; refunded or cancelled
assignments, to name them when they set no price); A3 awards and exclusions
can be handed to callbacks instead of being held. ``collect_ids=True`` (the
default) also lists every row counted or left out in the A4 and A5 traces.
The result's ``totals`` sum the awards by payer (city, province, flagged),
also when awards went to a callback.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Callable, Iterable, Mapping

from .clauses.common import who
from .clauses.instruments import a5_award
from .clauses.tech_contracts import a1_awards, a2_city_awards, order_key, overlap_flags, value_added
from .clauses.vouchers import a3_award, a4_award, a4_match_award, voucher_ineligibility
from .parameters import Parameters, default_parameters
from .result import Award, Exclusion, Result, Totals, flagged_awards
from .scenario import (
    Organization,
    Scenario,
    ScenarioError,
    Transaction,
    parse_organizations,
    parse_transaction,
    parse_year,
)
from .trace import Step, nested

_A1_A2 = ["A1", "A2.city"]
_CLAUSES_OF_TYPE = {
    "tech_contract": _A1_A2,
    "voucher_service": ["A3", "A4"],
    "instrument_lease": ["A5"],
    "instrument_service": ["A5"],
}


class _Accumulator:
    def __init__(self, year: int, orgs: dict[str, Organization], params: Parameters, collect_ids: bool,
                 on_award: Callable[[Award], None] | None, on_excluded: Callable[[Exclusion], None] | None):
        self.year = year
        self.orgs = orgs
        self.params = params
        self.snap = params.at(date(year, 12, 31))
        self.collect_ids = collect_ids  # also: list each row in the A4 / A5 traces
        self.result = Result(year, names={o.id: o.name for o in orgs.values()})
        self.totals = Totals()
        self._award_sink = on_award or self.result.awards.append
        self.on_excluded = on_excluded or self.result.excluded.append
        self.count = 0
        # technology contracts: the best listing per registration number, the other listings,
        # and the refunded or cancelled assignments of projects (named when skipped for a price)
        self.contracts: dict[str, Transaction] = {}
        self.duplicates: list[Transaction] = []
        self.dead_assignments: list[Transaction] = []
        # A4: redeemed voucher sums per service agency; rows counted and left out (detail)
        self.a4_fen: dict[str, int] = defaultdict(int)
        self.a4_count: dict[str, int] = defaultdict(int)
        self.a4_ids: dict[str, list[str]] = defaultdict(list)
        self.a4_rows: dict[str, list] = defaultdict(list)
        self.a4_left: dict[str, list] = defaultdict(list)
        # A5: lease fees per (lessee, instrument), qualified (lessee, instrument), external
        # services per (provider, instrument); rows counted and left out (detail)
        self.lease_fen: dict[tuple[str, str], int] = defaultdict(int)
        self.lease_count: dict[tuple[str, str], int] = defaultdict(int)
        self.lease_ids: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.qualified: set[tuple[str, str]] = set()
        self.service_fen: dict[tuple[str, str], int] = defaultdict(int)
        self.service_count: dict[tuple[str, str], int] = defaultdict(int)
        self.service_ids: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.a5_rows: dict[tuple[str, str], list] = defaultdict(list)
        self.a5_left: dict[str, list] = defaultdict(list)
        self._voucher_snaps: dict[str, object] = {}
        self._feed = {
            "tech_contract": self._tech_contract,
            "voucher_service": self._voucher,
            "instrument_lease": self._lease,
            "instrument_service": self._service,
        }

    # -- feeding ---------------------------------------------------------------------------
    def feed(self, item) -> None:
        t = item if item.__class__ is Transaction else parse_transaction(item, self.orgs)
        self.count += 1
        self._feed[t.type](t)

    def on_award(self, award: Award, flagged: bool = False) -> None:
        self.totals.add(award, flagged)
        self._award_sink(award)

    def _exclude(self, tid: str, step: Step) -> None:
        self.on_excluded(Exclusion(tid, step))

    def _not_paid(self, t: Transaction) -> None:
        self._exclude(t.id, Step("x.status", {"clauses": _CLAUSES_OF_TYPE[t.type], "status": t.status}))

    def _other_year(self, t: Transaction) -> dict:
        return nested(Step("why.year", {"year": t.year, "this_year": self.year}))

    def _a5_left(self, t: Transaction, institution: str, what: str, party: str, why: dict) -> None:
        """A lease or service of ``institution`` left out of its A5 sum, listed in its trace."""
        self.a5_left[institution].append((t.date, t.id, what, t.instrument, party, self.orgs[party].name,
                                          t.amount_fen, why))

    def _tech_contract(self, t: Transaction) -> None:
        in_year = t.year == self.year
        if t.status != "paid":
            if in_year:
                self._not_paid(t)
            if t.project and t.date and t.contract_type == "transfer" and t.transfer_kind != "licence":
                self.dead_assignments.append(t)
            return
        reg = t.registration_no
        if reg is None:
            if in_year or t.year is None:
                self._exclude(t.id, Step("x.unregistered", {}))
            return
        best = self.contracts.get(reg)
        if best is None:
            self.contracts[reg] = t
        elif order_key(t) < order_key(best):
            self.contracts[reg] = t
            self.duplicates.append(best)
        else:
            self.duplicates.append(t)

    def _voucher(self, t: Transaction) -> None:
        detail = self.collect_ids
        if t.year != self.year:
            if detail:
                self.a4_left[t.provider].append((t.date, t.id, t.buyer, self.orgs[t.buyer].name, t.amount_fen,
                                                 self._other_year(t)))
            return
        if t.status != "paid":
            self._not_paid(t)
            if detail:
                self.a4_left[t.provider].append((t.date, t.id, t.buyer, self.orgs[t.buyer].name, t.amount_fen,
                                                 nested(Step("why.status", {"status": t.status}))))
            return
        buyer, provider = self.orgs[t.buyer], self.orgs[t.provider]
        snap = self._voucher_snaps.get(t.date)
        if snap is None:
            snap = self._voucher_snaps[t.date] = self.params.at(date.fromisoformat(t.date))
        why = voucher_ineligibility(buyer, provider, snap)
        if why is not None:
            self._exclude(t.id, why)
            if detail:
                self.a4_left[provider.id].append((t.date, t.id, buyer.id, buyer.name, t.amount_fen,
                                                  nested(Step("why.voucher", {"reason": nested(why)}))))
            return
        award = a3_award(self.params, t.id, t.date, t.amount_fen, buyer, provider, snap)
        if award.amount > 0:
            self.on_award(award)
        else:
            self.result.nil_awards.append(award)
        self.a4_fen[provider.id] += t.amount_fen
        self.a4_count[provider.id] += 1
        if detail:
            self.a4_ids[provider.id].append(t.id)
            self.a4_rows[provider.id].append((t.date, t.id, buyer.id, buyer.name, t.amount_fen))

    def _lease(self, t: Transaction) -> None:
        detail = self.collect_ids
        lessee = t.lessee
        if t.status != "paid":
            if t.year == self.year:
                self._not_paid(t)
                if detail:
                    self._a5_left(t, lessee, "lease_fee", lessee, nested(Step("why.status", {"status": t.status})))
            elif detail:
                self._a5_left(t, lessee, "lease_fee", lessee, self._other_year(t))
            return
        qualifies = t.financing_lease and t.on_sharing_platform
        if qualifies and t.year <= self.year:
            self.qualified.add((lessee, t.instrument))
        if t.year != self.year:
            if detail:
                self._a5_left(t, lessee, "lease_fee", lessee, self._other_year(t))
            return
        if not qualifies:
            step = Step("x.a5.lease", {"financing": t.financing_lease, "platform": t.on_sharing_platform})
            self._exclude(t.id, step)
            if detail:
                self._a5_left(t, lessee, "lease_fee", lessee, nested(Step("why.lease", dict(step.values))))
            return
        if not self.orgs[lessee].in_city:
            self._exclude(t.id, Step("x.out_of_city", {"clauses": ["A5"], "role": "lessee",
                                                       **who(self.orgs, "org", lessee)}))
            return
        key = (lessee, t.instrument)
        self.lease_fen[key] += t.amount_fen
        self.lease_count[key] += 1
        if detail:
            self.lease_ids[key].append(t.id)
            self.a5_rows[key].append((t.date, t.id, "lease_fee", lessee, self.orgs[lessee].name, t.amount_fen))

    def _service(self, t: Transaction) -> None:
        detail = self.collect_ids
        provider = t.provider
        if t.year != self.year:
            if detail:
                self._a5_left(t, provider, "external_service", t.customer, self._other_year(t))
            return
        if t.status != "paid":
            self._not_paid(t)
            if detail:
                self._a5_left(t, provider, "external_service", t.customer,
                              nested(Step("why.status", {"status": t.status})))
            return
        if t.customer == provider:
            self._exclude(t.id, Step("x.a5.self", {**who(self.orgs, "org", provider), "instrument": t.instrument}))
            if detail:
                self._a5_left(t, provider, "external_service", t.customer,
                              nested(Step("why.self", who(self.orgs, "org", provider))))
            return
        if not self.orgs[provider].in_city:
            self._exclude(t.id, Step("x.out_of_city", {"clauses": ["A5"], "role": "provider",
                                                       **who(self.orgs, "org", provider)}))
            return
        key = (provider, t.instrument)
        self.service_fen[key] += t.amount_fen
        self.service_count[key] += 1
        # ids are needed for the award (collect_ids) or to exclude the services if the
        # instrument turns out not to qualify; once it qualifies, the stream need not keep them.
        if detail or key not in self.qualified:
            self.service_ids[key].append(t.id)
        if detail:
            self.a5_rows[key].append((t.date, t.id, "external_service", t.customer,
                                      self.orgs[t.customer].name, t.amount_fen))

    # -- closing the year ------------------------------------------------------------------
    def finish(self) -> Result:
        result, params, snap, year, orgs = self.result, self.params, self.snap, self.year, self.orgs
        detail = self.collect_ids
        excluded: list[Exclusion] = []

        # A1 / A2.city over the deduplicated registered contracts
        in_year = [t for t in self.contracts.values() if t.year == year]
        for t in self.duplicates:
            if t.year == year:
                best = self.contracts[t.registration_no]
                excluded.append(Exclusion(t.id, Step("x.duplicate", {
                    "clauses": _A1_A2, "reg": t.registration_no, "winner": best.id, "winner_date": best.date})))
        added = value_added(self.contracts.values(), self.dead_assignments)
        a1, counted = a1_awards(params, snap, year, in_year, added, orgs, excluded, detail=detail)
        a2, brokered = a2_city_awards(params, snap, year, in_year, orgs, excluded, detail=detail)
        result.flags.extend(overlap_flags(a1, a2, brokered, counted, snap["a1.beneficiary_role"], orgs))
        flagged = flagged_awards(result.flags)
        yearly: list[Award] = a1 + a2

        # A4 and A4.match
        for agency, fen in self.a4_fen.items():
            yearly.append(a4_award(params, snap, year, orgs[agency], fen, self.a4_count[agency],
                                   self.a4_ids[agency] if detail else None,
                                   self.a4_rows.get(agency), self.a4_left.get(agency)))
        for org in orgs.values():
            if org.provincial_service_reward > 0:
                yearly.append(a4_match_award(params, snap, year, org))

        # A5: per instrument, lease fees and external services on qualified instruments
        per_inst: dict[str, dict[str, list[int]]] = defaultdict(dict)
        counts: dict[str, int] = defaultdict(int)
        ids: dict[str, list[str]] = defaultdict(list)
        rows: dict[str, dict[str, list]] = defaultdict(dict)
        for key, fen in self.lease_fen.items():
            inst_org, instrument = key
            per_inst[inst_org].setdefault(instrument, [0, 0])[0] += fen
            counts[inst_org] += self.lease_count[key]
            if detail:
                ids[inst_org].extend(self.lease_ids[key])
        for key, fen in self.service_fen.items():
            provider, instrument = key
            if key not in self.qualified:
                why = Step("x.a5.instrument", {"instrument": instrument, **who(orgs, "org", provider)})
                for tid in self.service_ids[key]:
                    excluded.append(Exclusion(tid, why))
                if detail:
                    for day, tid, _, customer, name, s_fen in self.a5_rows.get(key, ()):
                        self.a5_left[provider].append((day, tid, "external_service", instrument, customer, name,
                                                       s_fen, nested(Step("why.instrument",
                                                                          who(orgs, "org", provider)))))
                continue
            per_inst[provider].setdefault(instrument, [0, 0])[1] += fen
            counts[provider] += self.service_count[key]
            if detail:
                ids[provider].extend(self.service_ids[key])
        if detail:
            for (inst_org, instrument), items in self.a5_rows.items():
                if instrument in per_inst.get(inst_org, ()):
                    rows[inst_org].setdefault(instrument, []).extend(items)
        for inst_org in sorted(per_inst):
            yearly.append(a5_award(params, snap, year, orgs[inst_org],
                                   {k: (v[0], v[1]) for k, v in per_inst[inst_org].items()},
                                   ids[inst_org] if detail else None, counts[inst_org],
                                   rows.get(inst_org), self.a5_left.get(inst_org)))

        for award in yearly:
            if award.amount > 0:
                self.on_award(award, (award.clause, award.beneficiary) in flagged)
            else:
                result.nil_awards.append(award)
        for e in excluded:
            self.on_excluded(e)
        result.totals = self.totals
        return result.sort()


def evaluate_stream(year: int, organizations, transactions: Iterable, *, parameters: Parameters | None = None,
                    collect_ids: bool = True, on_award: Callable[[Award], None] | None = None,
                    on_excluded: Callable[[Exclusion], None] | None = None) -> Result:
    """Evaluate one year from a stream of transactions (JSON-shaped dicts or ``Transaction``).

    ``organizations``: an iterable of organisation dicts / ``Organization``, or a
    mapping id → ``Organization``. Bad input raises ``ScenarioError``.
    ``collect_ids=False`` leaves the transaction lists of yearly awards empty
    (their ``transaction_count`` is set) so memory does not grow with the year;
    ``on_award`` / ``on_excluded`` receive awards and exclusions as they are
    decided instead of the result holding them. Transaction ids are not checked
    for duplicates here (the ledger guarantees them); ``Scenario.from_dict`` does.
    """
    year = parse_year(year)
    if isinstance(organizations, Mapping) and all(isinstance(o, Organization) for o in organizations.values()):
        orgs = dict(organizations)
    else:
        orgs = parse_organizations(organizations)
    acc = _Accumulator(year, orgs, parameters or default_parameters(), collect_ids, on_award, on_excluded)
    feed = acc.feed
    for item in transactions:
        feed(item)
    return acc.finish()


def evaluate(scenario: Scenario | Mapping, *, parameters: Parameters | None = None) -> Result:
    """Evaluate a scenario (a ``Scenario`` or its JSON dict). Bad input raises ``ScenarioError``."""
    if not isinstance(scenario, Scenario):
        scenario = Scenario.from_dict(scenario)
    return evaluate_stream(scenario.year, scenario.organizations, scenario.transactions, parameters=parameters)


__all__ = ["evaluate", "evaluate_stream", "ScenarioError"]
