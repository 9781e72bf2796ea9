"""The engine's structured trace, kept as JSON and rendered in Chinese or English on display.

A trace step is ``Step(key, values)``; values hold Decimals (amounts, rates), strings, numbers,
booleans and lists. Stored, a Decimal becomes ``{"$dec": "1200000.00"}`` so that rendering
after a round trip through the database gives exactly the engine's sentence.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _

from marketplace.core.money import yuan_to_fen
from marketplace.subsidies import default_parameters
from marketplace.subsidies.result import Award, Flag
from marketplace.subsidies.trace import Step, render


def _enc(value):
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, (list, tuple)):
        return [_enc(v) for v in value]
    if isinstance(value, dict):
        return {"$map": {str(k): _enc(v) for k, v in value.items()}}
    return str(value)


def _dec(value):
    if isinstance(value, dict):
        if "$dec" in value:
            return Decimal(value["$dec"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$map" in value:
            return {k: _dec(v) for k, v in value["$map"].items()}
    if isinstance(value, list):
        return [_dec(v) for v in value]
    return value


def encode_step(step: Step) -> dict:
    return {"key": step.key, "values": {k: _enc(v) for k, v in step.values.items()}}


def decode_step(data: dict) -> Step:
    return Step(data["key"], {k: _dec(v) for k, v in data["values"].items()})


def encode_award(award: Award) -> dict:
    """One part of a claim's trace: the award's amount, who pays it (A3: province and city,
    two payments), transactions and steps."""
    part = {"amount": str(award.amount), "transactions": list(award.transactions),
            "steps": [encode_step(s) for s in award.trace]}
    if award.payers:
        part["payers"] = {k: str(v) for k, v in award.payers.items()}
    return part


def encode_flag(flag: Flag) -> dict:
    return {"kind": flag.kind, "transactions": list(flag.transactions), "clauses": list(flag.clauses),
            "step": encode_step(flag.step)}


def part_fen(part: dict) -> int:
    return yuan_to_fen(part["amount"])


def render_trace(trace: list, lang: str) -> list[dict]:
    """Each part of a trace as {amount_fen, payers_fen, transactions, lines} in ``lang`` ("zh"
    or "en"). ``payers_fen`` ({"province": fen, "city": fen}, or None) splits a part that two
    funders pay, so a page shows the two payments apart, never one figure adding them up."""
    return [{"amount_fen": part_fen(p),
             "payers_fen": {k: yuan_to_fen(v) for k, v in p["payers"].items()} if p.get("payers") else None,
             "transactions": list(p.get("transactions", [])),
             "lines": [render(decode_step(s), lang) for s in p.get("steps", [])]} for p in trace or []]


def payer_split(trace: list) -> dict[str, int] | None:
    """The sum of a trace's parts by payer when any part names its payers (A3: {"city": fen,
    "province": fen}); None when the city pays it all. Stored beside the trace (``Claim.payers``)."""
    parts = trace or []
    if not any(p.get("payers") for p in parts):
        return None
    totals = {"city": 0, "province": 0}
    for p in parts:
        for payer, amount in (p.get("payers") or {"city": p["amount"]}).items():
            totals[payer] = totals.get(payer, 0) + yuan_to_fen(amount)
    return totals


def payer_totals(claim) -> dict[str, int] | None:
    """A claim's ``amount_fen`` by payer, from the split stored beside its trace. None when the
    city pays it all, or when the claim stands for another figure than its latest trace (a paid
    claim after a refund). Reads no trace."""
    totals = claim.payers
    return totals if totals and sum(totals.values()) == claim.amount_fen else None


def overlap_flagged(flags: list[dict]) -> bool:
    """Whether the claim stands on an overlap flag (one contract behind A1 and A2.city)."""
    return any(f.get("kind") == "overlap" for f in flags or [])


def render_flags(flags: list, lang: str) -> list[dict]:
    out = []
    for f in flags or []:
        if f.get("step"):
            note = render(decode_step(f["step"]), lang)
        elif f["kind"] == "related_party" and f.get("members"):
            note = _("Buyer and seller of %(refs)s share a member: %(members)s (a related-party order, checked "
                     "against the memberships when the claim was drafted).",
                     refs=", ".join(f["transactions"]), members=", ".join(f["members"]))
        elif f["kind"] == "related_party":
            note = _("Buyer and seller of %(refs)s share a member (a related-party order).",
                     refs=", ".join(f["transactions"]))
        else:
            note = ""
        out.append({"kind": f["kind"], "transactions": f["transactions"], "clauses": f.get("clauses", []),
                    "note": note})
    return out


def clause_title(clause: str, lang: str) -> str:
    try:
        c = default_parameters().clause(clause)
    except Exception:  # noqa: BLE001 - a clause without text shows its id only
        return clause
    return c.title_zh if lang == "zh" else c.title_en
