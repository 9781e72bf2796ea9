"""A3 innovation voucher (创新券) and A4 service-agency post-subsidy — section 5.3."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import NamedTuple

from ..money import AmountError, fen_to_decimal, mul, parse_fen, round_fen
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


def _named(org: Organization, key: str = "org") -> dict:
    return {key: org.id, key + "_name": org.name}


def voucher_ineligibility(buyer: Organization, provider: Organization, snap) -> Step | None:
    """Why a voucher service does not qualify for A3 (and so is not redeemed for A4), or None."""
    if not provider.service_agency:
        return Step("x.a3.not_agency", _named(provider))
    if not provider.in_city:
        return Step("x.out_of_city", {"clauses": ["A3", "A4"], "role": "provider", **_named(provider)})
    if not buyer.in_city:
        return Step("x.out_of_city", {"clauses": ["A3", "A4"], "role": "buyer", **_named(buyer)})
    if buyer.kind == "enterprise":
        if buyer.size is None:
            return Step("x.a3.size_unknown", _named(buyer))
        if buyer.size not in snap["a3.eligible_sizes"].split(","):
            return Step("x.a3.size", {**_named(buyer), "size": buyer.size})
        return None
    if buyer.kind == "maker_team":
        if buyer.host_level not in snap["a3.maker_team_host_levels"].split(","):
            return Step("x.a3.host", {**_named(buyer), "host": buyer.host_level})
        return None
    return Step("x.a3.kind", {**_named(buyer), "kind": buyer.kind})


_KIND_OF_SIZE = {"large": "large_enterprise", "medium": "medium_enterprise", "small": "small_enterprise",
                 "micro": "micro_enterprise"}


def a3_award(params: Parameters, txn_id: str, day: str, fee_fen: int, buyer: Organization,
             provider: Organization, snap) -> Award:
    """One A3 award for one eligible, paid voucher service. The trace shows each share's
    exact product before it is rounded (60% × 0.03 = 0.018 → 0.02), and the province's and
    the city's money apart: they are two payments, never one figure."""
    ps, cs = snap["a3.province_share"], snap["a3.city_share"]
    p, c, e = split_fen(fee_fen, ps, cs)
    province, city, enterprise = fen_to_decimal(p), fen_to_decimal(c), fen_to_decimal(e)
    fee = fen_to_decimal(fee_fen)
    # exact: a fee has at most 14 digits (MAX_FEN) and a share a few, well inside the context
    shares = {"province_share": ps, "fee": fee, "province_raw": ps * fee, "province": province,
              "city_share": cs, "city_raw": cs * fee, "city": city}
    kind = _KIND_OF_SIZE.get(buyer.size, "enterprise") if buyer.kind == "enterprise" else buyer.kind
    trace = [
        clause_step(params, "A3"),
        Step("a3.fee", {"txn": txn_id, "date": day, "fee": fee, "buyer": buyer.id, "buyer_name": buyer.name,
                        "kind": kind, "provider": provider.id, "provider_name": provider.name}),
        Step("a3.shares", shares),
    ]
    if e == 0 and round_fen(shares["city_raw"]) != city:  # shares of (almost) 100%: the enterprise never pays < 0
        trace.append(Step("a3.capped", {"amount": city}))
    trace.append(Step("a3.rest", {"fee": fee, "province": province, "city": city, "enterprise": enterprise}))
    return Award("A3", buyer.id, province + city, [txn_id], trace, payers={"province": province, "city": city},
                 enterprise_pays=enterprise)


def a4_award(params: Parameters, snap, year: int, agency: Organization, total_fen: int, count: int,
             ids: list[str] | None, rows: list | None = None, left: list | None = None) -> Award:
    """A4: 5% of the agency's redeemed voucher service contracts of the year, capped.

    ``rows``: the counted vouchers ``(date, id, buyer, buyer name, fen)``; ``left``: the
    agency's vouchers left out ``(date, id, buyer, buyer name, fen, why)`` (``why``: a nested
    reason step). Both are listed in the trace, so the base can be added up by hand."""
    total = fen_to_decimal(total_fen)
    trace = [clause_step(params, "A4"), Step("beneficiary", _named(agency))]
    for day, tid, buyer, name, fen in sorted(rows or ()):
        trace.append(Step("a4.row", {"txn": tid, "date": day, "buyer": buyer, "buyer_name": name,
                                     "amount": fen_to_decimal(fen)}))
    for day, tid, buyer, name, fen, why in sorted(left or (), key=lambda r: r[:2]):
        trace.append(Step("a4.left", {"txn": tid, "date": day, "buyer": buyer, "buyer_name": name,
                                      "amount": fen_to_decimal(fen), "why": why}))
    trace.append(Step("a4.base", {"year": year, **_named(agency), "total": total, "count": count}))
    amount = rate_capped(total, snap["a4.rate"], snap["a4.cap"], trace)
    return Award("A4", agency.id, amount, sorted(ids) if ids is not None else [], trace,
                 transaction_count=None if ids is not None else count)


def a4_match_award(params: Parameters, snap, year: int, org: Organization) -> Award:
    """A4.match: 1:1 of the provincial service-performance reward (outside the A4 cap)."""
    reward = org.provincial_service_reward
    trace = [clause_step(params, "A4.match"), Step("beneficiary", _named(org)),
             Step("a4.match", {"year": year, "reward": reward})]
    if not (org.in_city and org.service_agency):
        trace.append(Step("a4.match.ineligible", {**_named(org), "in_city": org.in_city,
                                                   "service_agency": org.service_agency}))
        trace.append(Step("zero", {}))
        return Award("A4.match", org.id, Decimal("0.00"), [], trace)
    ratio = snap["a4.match_ratio"]
    raw = mul(reward, ratio)
    trace.append(Step("ratio", {"ratio": ratio, "base": reward, "raw": raw}))
    amount = capped(raw, None, trace)
    return Award("A4.match", org.id, amount, [], trace)
