"""Steps shared by the clauses: the clause's source text, rate × base, caps, rounding."""
from __future__ import annotations

from decimal import Decimal

from ..money import ZERO, mul, round_fen
from ..parameters import Parameters
from ..trace import Step


def clause_step(params: Parameters, cid: str) -> Step:
    """The clause's source step (shared, never mutated: one per clause and parameter set)."""
    cache = params._clause_steps
    step = cache.get(cid)
    if step is None:
        step = cache[cid] = _clause_step(params, cid)
    return step


def _clause_step(params: Parameters, cid: str) -> Step:
    c = params.clause(cid)
    return Step("clause", {"clause": cid, "section": c.section, "sentence_zh": c.sentence_zh,
                           "gloss_en": c.gloss_en, "title_en": c.title_en, "title_zh": c.title_zh})


def who(orgs, key: str, code: str | None) -> dict:
    """Step values naming an organisation: its code under ``key`` and its name under ``key_name``
    (the trace shows "name (code)", never the code alone)."""
    org = orgs.get(code) if code is not None else None
    return {key: code, key + "_name": org.name if org is not None else ""}


def rate_capped(base: Decimal, rate: Decimal, cap: Decimal | None, trace: list[Step]) -> Decimal:
    """``min(rate × base, cap)`` exactly, rounded half-up to the fen once, with steps."""
    raw = mul(base, rate)
    trace.append(Step("rate", {"rate": rate, "base": base, "raw": raw}))
    return capped(raw, cap, trace)


def capped(raw: Decimal, cap: Decimal | None, trace: list[Step]) -> Decimal:
    value = raw
    if cap is not None:
        if raw > cap:
            trace.append(Step("cap.bit", {"cap": cap, "raw": raw}))
            value = cap
        else:
            trace.append(Step("cap.ok", {"cap": cap}))
    amount = round_fen(value)
    if amount < 0:  # defensive: amounts are never negative
        amount = ZERO
    trace.append(Step("rounded", {"amount": amount}))
    return amount
