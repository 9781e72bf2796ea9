"""A5 financially leased shared instruments, the lesser of two — section 5.3.

Per instrument first, then per institution per year (CLAUSES.md): ``min(cap, Σ over
instruments min(lease rate × that instrument's lease fees, service rate × that
instrument's external service fees))``. A busy instrument cannot lift an idle one.
Rounded once, at the end.
"""
from __future__ import annotations

from decimal import Decimal

from ..money import WIDE, fen_to_decimal, mul
from ..parameters import Parameters
from ..result import Award
from ..scenario import Organization
from ..trace import Step
from .common import capped, clause_step


def a5_award(params: Parameters, snap, year: int, org: Organization, instruments: dict[str, tuple[int, int]],
             ids: list[str] | None, count: int, rows: dict[str, list] | None = None,
             left: list | None = None) -> Award:
    """One institution's A5 award.

    ``instruments``: instrument → (lease fen, external service fen) of the year.
    ``rows``: instrument → counted rows ``(date, id, what, party, party name, fen)`` with
    ``what`` "lease_fee" or "external_service"; ``left``: rows left out
    ``(date, id, what, instrument, party, party name, fen, why)`` (party: the lessee of a lease,
    the customer of a service). Rows are listed when given (not when streaming lean)."""
    lr, sr = snap["a5.lease_rate"], snap["a5.service_rate"]
    trace = [clause_step(params, "A5"), Step("beneficiary", {"org": org.id, "org_name": org.name})]
    total = Decimal(0)
    for instrument in sorted(instruments):
        lease_fen, service_fen = instruments[instrument]
        # the instrument's lease fees first, then its external services, each by date
        for day, tid, what, party, name, fen in sorted((rows or {}).get(instrument, ()),
                                                       key=lambda r: (r[2] != "lease_fee", r[0], r[1])):
            if what == "lease_fee":
                trace.append(Step("a5.lease", {"txn": tid, "date": day, "instrument": instrument, "org": party,
                                               "org_name": name, "amount": fen_to_decimal(fen)}))
            else:
                trace.append(Step("a5.service", {"txn": tid, "date": day, "instrument": instrument,
                                                 "customer": party, "customer_name": name,
                                                 "amount": fen_to_decimal(fen)}))
        lease, service = fen_to_decimal(lease_fen), fen_to_decimal(service_fen)
        lease_part, service_part = mul(lease, lr), mul(service, sr)
        lesser = min(lease_part, service_part)
        trace.append(Step("a5.instrument", {"instrument": instrument, "lease_rate": lr, "lease": lease,
                                            "lease_part": lease_part, "service_rate": sr, "service": service,
                                            "service_part": service_part, "lesser": lesser}))
        total = WIDE.add(total, lesser)
    for day, tid, what, instrument, party, name, fen, why in sorted(left or (), key=lambda r: r[:2]):
        trace.append(Step("a5.left", {"what": what, "txn": tid, "date": day, "instrument": instrument,
                                      "party": party, "party_name": name, "amount": fen_to_decimal(fen),
                                      "why": why}))
    trace.append(Step("a5.sum", {"count": len(instruments), "sum": total}))
    amount = capped(total, snap["a5.cap"], trace)
    trace.append(Step("a5.review", {}))
    return Award("A5", org.id, amount, sorted(ids) if ids is not None else [], trace,
                 transaction_count=None if ids is not None else count)
