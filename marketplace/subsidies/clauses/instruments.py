"""A5 financially leased shared instruments, the lesser of two — section 5.3."""
from __future__ import annotations

from ..money import fen_to_decimal
from ..parameters import Parameters
from ..result import Award
from ..scenario import Organization
from ..trace import Step
from .common import capped, clause_step


def a5_award(params: Parameters, snap, year: int, org: Organization, lease_fen: int, lease_count: int,
             service_fen: int, service_count: int, ids: list[str] | None) -> Award:
    """``min(10% × lease fees, 20% × external service fees, 500,000)`` for one institution."""
    lease, service = fen_to_decimal(lease_fen), fen_to_decimal(service_fen)
    lr, sr = snap["a5.lease_rate"], snap["a5.service_rate"]
    lease_part, service_part = lease * lr, service * sr
    lesser = min(lease_part, service_part)
    trace = [
        clause_step(params, "A5"),
        Step("beneficiary", {"org": org.id, "name": org.name}),
        Step("a5.lease", {"year": year, "total": lease, "count": lease_count}),
        Step("a5.service", {"year": year, "total": service, "count": service_count}),
        Step("a5.lesser", {"lease_rate": lr, "lease": lease, "lease_part": lease_part, "service_rate": sr,
                           "service": service, "service_part": service_part, "lesser": lesser}),
    ]
    amount = capped(lesser, snap["a5.cap"], trace)
    trace.append(Step("a5.review", {}))
    return Award("A5", org.id, amount, sorted(ids) if ids is not None else [], trace,
                 transaction_count=None if ids is not None else lease_count + service_count)
