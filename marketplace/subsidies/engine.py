"""The engine: a scenario in, awards out. Pure: no database, no web app, no clock.

``evaluate(scenario)`` and ``evaluate_stream(year, organizations, transactions)``
run the same code. The stream keeps per-beneficiary sums in integer fen and
per-contract state only where a rule needs it (registered contracts, for "once
per contract" and the previous price of a project); A3 awards and exclusions
can be handed to callbacks instead of being held.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Callable, Iterable, Mapping

from .clauses.instruments import a5_award
from .clauses.tech_contracts import a1_awards, a2_city_awards, overlap_flags, previous_transfers
from .clauses.vouchers import a3_award, a4_award, a4_match_award, voucher_ineligibility
from .parameters import Parameters, default_parameters
from .result import Award, Exclusion, Result
from .scenario import Organization, Scenario, ScenarioError, Transaction, parse_organizations, parse_transaction, parse_year
from .trace import Step

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
        self.collect_ids = collect_ids
        self.result = Result(year)
        self.on_award = on_award or self.result.awards.append
        self.on_excluded = on_excluded or self.result.excluded.append
        self.count = 0
        # technology contracts: the best listing per registration number, the other listings
        self.contracts: dict[str, Transaction] = {}
        self.duplicates: list[Transaction] = []
        # A4: redeemed voucher sums per service agency
        self.a4_fen: dict[str, int] = defaultdict(int)
        self.a4_count: dict[str, int] = defaultdict(int)
        self.a4_ids: dict[str, list[str]] = defaultdict(list)
        # A5: lease fees per lessee, qualified (lessee, instrument), external services per (provider, instrument)
        self.lease_fen: dict[str, int] = defaultdict(int)
        self.lease_count: dict[str, int] = defaultdict(int)
        self.lease_ids: dict[str, list[str]] = defaultdict(list)
        self.qualified: set[tuple[str, str]] = set()
        self.service_fen: dict[tuple[str, str], int] = defaultdict(int)
        self.service_count: dict[tuple[str, str], int] = defaultdict(int)
        self.service_ids: dict[tuple[str, str], list[str]] = defaultdict(list)
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

    def _exclude(self, tid: str, step: Step) -> None:
        self.on_excluded(Exclusion(tid, step))

    def _not_paid(self, t: Transaction) -> None:
        self._exclude(t.id, Step("x.status", {"clauses": _CLAUSES_OF_TYPE[t.type], "status": t.status}))

    def _tech_contract(self, t: Transaction) -> None:
        in_year = t.year == self.year
        if t.status != "paid":
            if in_year:
                self._not_paid(t)
            return
        reg = t.registration_no
        if reg is None:
            if in_year or t.year is None:
                self._exclude(t.id, Step("x.unregistered", {}))
            return
        best = self.contracts.get(reg)
        if best is None:
            self.contracts[reg] = t
        elif (t.date, t.id) < (best.date, best.id):
            self.contracts[reg] = t
            self.duplicates.append(best)
        else:
            self.duplicates.append(t)

    def _voucher(self, t: Transaction) -> None:
        if t.year != self.year:
            return
        if t.status != "paid":
            self._not_paid(t)
            return
        buyer, provider = self.orgs[t.buyer], self.orgs[t.provider]
        snap = self._voucher_snaps.get(t.date)
        if snap is None:
            snap = self._voucher_snaps[t.date] = self.params.at(date.fromisoformat(t.date))
        why = voucher_ineligibility(buyer, provider, snap)
        if why is not None:
            self._exclude(t.id, why)
            return
        award = a3_award(self.params, t.id, t.date, t.amount_fen, buyer, provider, snap)
        if award.amount > 0:
            self.on_award(award)
        else:
            self.result.nil_awards.append(award)
        self.a4_fen[provider.id] += t.amount_fen
        self.a4_count[provider.id] += 1
        if self.collect_ids:
            self.a4_ids[provider.id].append(t.id)

    def _lease(self, t: Transaction) -> None:
        if t.status != "paid":
            if t.year == self.year:
                self._not_paid(t)
            return
        qualifies = t.financing_lease and t.on_sharing_platform
        if qualifies and t.year <= self.year:
            self.qualified.add((t.lessee, t.instrument))
        if t.year != self.year:
            return
        if not qualifies:
            self._exclude(t.id, Step("x.a5.lease", {"financing": t.financing_lease, "platform": t.on_sharing_platform}))
            return
        if not self.orgs[t.lessee].in_city:
            self._exclude(t.id, Step("x.out_of_city", {"clauses": ["A5"], "role": "lessee", "org": t.lessee}))
            return
        self.lease_fen[t.lessee] += t.amount_fen
        self.lease_count[t.lessee] += 1
        if self.collect_ids:
            self.lease_ids[t.lessee].append(t.id)

    def _service(self, t: Transaction) -> None:
        if t.year != self.year:
            return
        if t.status != "paid":
            self._not_paid(t)
            return
        provider = t.provider
        if t.customer == provider:
            self._exclude(t.id, Step("x.a5.self", {"org": provider, "instrument": t.instrument}))
            return
        if not self.orgs[provider].in_city:
            self._exclude(t.id, Step("x.out_of_city", {"clauses": ["A5"], "role": "provider", "org": provider}))
            return
        key = (provider, t.instrument)
        self.service_fen[key] += t.amount_fen
        self.service_count[key] += 1
        # ids are needed for the award (collect_ids) or to exclude the services if the
        # instrument turns out not to qualify; once it qualifies, the stream need not keep them.
        if self.collect_ids or key not in self.qualified:
            self.service_ids[key].append(t.id)

    # -- closing the year ------------------------------------------------------------------
    def finish(self) -> Result:
        result, params, snap, year, orgs = self.result, self.params, self.snap, self.year, self.orgs
        excluded: list[Exclusion] = []

        # A1 / A2.city over the deduplicated registered contracts
        in_year = [t for t in self.contracts.values() if t.year == year]
        for t in self.duplicates:
            if t.year == year:
                best = self.contracts[t.registration_no]
                excluded.append(Exclusion(t.id, Step("x.duplicate", {
                    "clauses": _A1_A2, "reg": t.registration_no, "winner": best.id, "winner_date": best.date})))
        previous = previous_transfers(self.contracts.values())
        a1 = a1_awards(params, snap, year, in_year, previous, orgs, excluded, detail=self.collect_ids)
        a2 = a2_city_awards(params, snap, year, in_year, orgs, excluded, detail=self.collect_ids)
        result.flags.extend(overlap_flags(a1, a2, in_year, snap["a1.beneficiary_role"]))
        yearly: list[Award] = a1 + a2

        # A4 and A4.match
        for agency, fen in self.a4_fen.items():
            yearly.append(a4_award(params, snap, year, agency, fen, self.a4_count[agency],
                                   self.a4_ids[agency] if self.collect_ids else None))
        for org in orgs.values():
            if org.provincial_service_reward > 0:
                yearly.append(a4_match_award(params, snap, year, org))

        # A5: lease fees and external services on qualified instruments, per institution
        services: dict[str, list] = {}
        for key, fen in self.service_fen.items():
            provider, instrument = key
            if key not in self.qualified:
                for tid in self.service_ids[key]:
                    excluded.append(Exclusion(tid, Step("x.a5.instrument", {"instrument": instrument,
                                                                            "org": provider})))
                continue
            entry = services.setdefault(provider, [0, 0, []])
            entry[0] += fen
            entry[1] += self.service_count[key]
            if self.collect_ids:
                entry[2].extend(self.service_ids[key])
        for inst in sorted(set(self.lease_fen) | set(services)):
            s_fen, s_count, s_ids = services.get(inst, (0, 0, []))
            ids = (self.lease_ids[inst] + s_ids) if self.collect_ids else None
            yearly.append(a5_award(params, snap, year, orgs[inst], self.lease_fen.get(inst, 0),
                                   self.lease_count.get(inst, 0), s_fen, s_count, ids))

        for award in yearly:
            if award.amount > 0:
                self.on_award(award)
            else:
                result.nil_awards.append(award)
        for e in excluded:
            self.on_excluded(e)
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
