"""A3 innovation voucher (创新券) and A4 service-agency post-subsidy — section 5.3."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from ..money import AmountError, fen_to_decimal, parse_fen
from ..parameters import Parameters, default_parameters
from ..result import Award
from ..scenario import Organization
from ..trace import Step
from .common import capped, clause_step, rate_capped


class VoucherSplit(NamedTuple):
    """Who pays an eligible voucher service fee. The three parts add up to the fee exactly."""

    province: Decimal
    city: Decimal
    enterprise: Decimal

    @property
    def subsidy(self) -> Decimal:
        """What the enterprise receives: province + city."""
        return self.province + self.city


def _half_up_div(numerator: int, denominator: int) -> int:
    """round_half_up(numerator / denominator) for non-negative integers, exactly."""
    return (2 * numerator + denominator) // (2 * denominator)


def split_fen(fee_fen: int, province_share: Decimal, city_share: Decimal) -> tuple[int, int, int]:
    """The one implementation of the A3 split, on integer fen.

    Province and city shares are each rounded half-up to the fen; the
    enterprise pays the remainder, so the parts add up to the fee exactly.
    """
    pn, pd = province_share.as_integer_ratio()
    cn, cd = city_share.as_integer_ratio()
    province = _half_up_div(fee_fen * pn, pd)
    city = _half_up_div(fee_fen * cn, cd)
    enterprise = fee_fen - province - city
    if enterprise < 0:  # shares of (almost) 100%: rounding never makes the enterprise pay less than 0
        city += enterprise
        enterprise = 0
    return province, city, enterprise


def voucher_split(fee: Decimal, on: date, parameters: Parameters | None = None) -> VoucherSplit:
    """Split an eligible voucher service fee between province, city and enterprise.

    ``fee`` is a ``Decimal`` (or decimal string) of at most two places; ``on``
    is the voucher's date, which picks the shares in force. This is the only
    implementation of the split: the marketplace calls it for voucher payments
    and the engine uses the same code for A3.
    """
    params = parameters or default_parameters()
    try:
        fen = parse_fen(fee)
    except AmountError as exc:
        raise ValueError(f"voucher fee: {exc}") from None
    snap = params.at(on)
    p, c, e = split_fen(fen, snap["a3.province_share"], snap["a3.city_share"])
    return VoucherSplit(fen_to_decimal(p), fen_to_decimal(c), fen_to_decimal(e))


def voucher_ineligibility(buyer: Organization, provider: Organization, snap) -> Step | None:
    """Why a voucher service does not qualify for A3 (and so is not redeemed for A4), or None."""
    if not provider.service_agency:
        return Step("x.a3.not_agency", {"org": provider.id})
    if not provider.in_city:
        return Step("x.out_of_city", {"clauses": ["A3", "A4"], "role": "provider", "org": provider.id})
    if not buyer.in_city:
        return Step("x.out_of_city", {"clauses": ["A3", "A4"], "role": "buyer", "org": buyer.id})
    if buyer.kind == "enterprise":
        if buyer.size is None:
            return Step("x.a3.size_unknown", {"org": buyer.id})
        if buyer.size not in snap["a3.eligible_sizes"].split(","):
            return Step("x.a3.size", {"org": buyer.id, "size": buyer.size})
        return None
    if buyer.kind == "maker_team":
        if buyer.host_level not in snap["a3.maker_team_host_levels"].split(","):
            return Step("x.a3.host", {"org": buyer.id, "host": buyer.host_level})
        return None
    return Step("x.a3.kind", {"org": buyer.id, "kind": buyer.kind})


def a3_award(params: Parameters, txn_id: str, day: str, fee_fen: int, buyer: Organization,
             provider: Organization, snap) -> Award:
    """One A3 award for one eligible, paid voucher service."""
    ps, cs = snap["a3.province_share"], snap["a3.city_share"]
    p, c, e = split_fen(fee_fen, ps, cs)
    province, city, enterprise = fen_to_decimal(p), fen_to_decimal(c), fen_to_decimal(e)
    amount = province + city
    trace = [
        clause_step(params, "A3"),
        Step("a3.fee", {"txn": txn_id, "date": day, "fee": fen_to_decimal(fee_fen), "buyer": buyer.id,
                        "kind": buyer.kind, "provider": provider.id}),
        Step("a3.split", {"province_share": ps, "province": province, "city_share": cs, "city": city,
                          "enterprise": enterprise}),
        Step("a3.total", {"amount": amount}),
    ]
    return Award("A3", buyer.id, amount, [txn_id], trace, payers={"province": province, "city": city},
                 enterprise_pays=enterprise)


def a4_award(params: Parameters, snap, year: int, agency: str, total_fen: int, count: int,
             ids: list[str] | None) -> Award:
    total = fen_to_decimal(total_fen)
    trace = [clause_step(params, "A4"),
             Step("a4.base", {"year": year, "org": agency, "total": total, "count": count})]
    amount = rate_capped(total, snap["a4.rate"], snap["a4.cap"], trace)
    return Award("A4", agency, amount, sorted(ids) if ids is not None else [], trace,
                 transaction_count=None if ids is not None else count)


def a4_match_award(params: Parameters, snap, year: int, org: Organization) -> Award:
    """A4.match: 1:1 of the provincial service-performance reward (outside the A4 cap)."""
    reward = org.provincial_service_reward
    trace = [clause_step(params, "A4.match"), Step("a4.match", {"year": year, "reward": reward})]
    if not (org.in_city and org.service_agency):
        trace.append(Step("a4.match.ineligible", {"org": org.id, "in_city": org.in_city,
                                                   "service_agency": org.service_agency}))
        trace.append(Step("zero", {}))
        return Award("A4.match", org.id, Decimal("0.00"), [], trace)
    ratio = snap["a4.match_ratio"]
    raw = reward * ratio
    trace.append(Step("ratio", {"ratio": ratio, "base": reward, "raw": raw}))
    amount = capped(raw, None, trace)
    return Award("A4.match", org.id, amount, [], trace)
