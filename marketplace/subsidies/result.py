"""Awards, exclusions, flags and the result of an evaluation."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .money import fmt, fmt_human
from .trace import Step, render

CLAUSE_ORDER = ("A1.DT", "A1.CS", "A2.city", "A3", "A4", "A4.match", "A5")
_ORDER = {c: i for i, c in enumerate(CLAUSE_ORDER)}


@dataclass
class Award:
    """An amount for one beneficiary under one clause, with the trace that explains it.

    ``payers`` splits the amount between funders (A3: province/city; B3:
    city/county); ``enterprise_pays`` is the enterprise's own share (A3).
    """

    clause: str
    beneficiary: str
    amount: Decimal
    transactions: list[str] = field(default_factory=list)
    trace: list[Step] = field(default_factory=list)
    payers: dict[str, Decimal] | None = None
    enterprise_pays: Decimal | None = None
    transaction_count: int | None = None  # set when ids were not collected (streaming)

    def explain(self, lang: str = "en") -> list[str]:
        return [render(s, lang) for s in self.trace]

    def to_dict(self, lang: str = "en") -> dict:
        d = {"clause": self.clause, "beneficiary": self.beneficiary, "amount": fmt(self.amount)}
        if self.payers is not None:
            d["payers"] = {k: fmt(v) for k, v in self.payers.items()}
        if self.enterprise_pays is not None:
            d["enterprise_pays"] = fmt(self.enterprise_pays)
        d["transactions"] = list(self.transactions)
        d["trace"] = self.explain(lang)
        return d

    def sort_key(self):
        return (_ORDER.get(self.clause, len(_ORDER)), self.clause, self.beneficiary, self.transactions)


@dataclass(frozen=True)
class Exclusion:
    """A transaction that counts for nothing under a clause, and why."""

    transaction: str
    step: Step

    @property
    def reason(self) -> str:
        return render(self.step, "en")

    def to_dict(self, lang: str = "en") -> dict:
        return {"transaction": self.transaction, "reason": render(self.step, lang)}


@dataclass(frozen=True)
class Flag:
    """Something a reviewer must decide (e.g. one contract behind two clauses)."""

    kind: str
    transactions: tuple[str, ...]
    clauses: tuple[str, ...]
    step: Step

    @property
    def note(self) -> str:
        return render(self.step, "en")

    def to_dict(self, lang: str = "en") -> dict:
        return {"kind": self.kind, "transactions": list(self.transactions), "clauses": list(self.clauses),
                "note": render(self.step, lang)}


@dataclass
class Result:
    """What an evaluation produced. ``nil_awards`` are the awards that came to
    0 (kept for ``--explain``; the JSON leaves them out)."""

    year: int
    awards: list[Award] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    nil_awards: list[Award] = field(default_factory=list)

    def sort(self) -> "Result":
        self.awards.sort(key=Award.sort_key)
        self.nil_awards.sort(key=Award.sort_key)
        self.excluded.sort(key=lambda e: (e.transaction, e.reason))
        self.flags.sort(key=lambda f: (f.kind, f.clauses, f.transactions))
        return self

    def to_dict(self, lang: str = "en") -> dict:
        return {
            "year": self.year,
            "awards": [a.to_dict(lang) for a in self.awards],
            "excluded": [e.to_dict(lang) for e in self.excluded],
            "flags": [f.to_dict(lang) for f in self.flags],
        }

    def total(self, clause: str | None = None) -> Decimal:
        return sum((a.amount for a in self.awards if clause is None or a.clause == clause), Decimal("0.00"))

    def explain(self, lang: str = "en") -> str:
        """A readable report of every award, nil award, exclusion and flag."""
        zh = lang == "zh"
        out = [f"{self.year}年度补助测算" if zh else f"Subsidies for {self.year}", ""]
        out.append("一、补助" if zh else "Awards")
        if not self.awards:
            out.append("  （无）" if zh else "  (none)")
        for a in self.awards:
            out.append(_award_header(a, zh))
            out.extend(f"    - {line}" for line in a.explain(lang))
        if self.nil_awards:
            out += ["", "二、未达条件（金额为0）" if zh else "Not payable (amount 0)"]
            for a in self.nil_awards:
                out.append(f"  {a.clause}  {a.beneficiary}")
                out.extend(f"    - {line}" for line in a.explain(lang))
        out += ["", "三、不计入的交易" if zh else "Excluded transactions"]
        if not self.excluded:
            out.append("  （无）" if zh else "  (none)")
        for e in self.excluded:
            out.append(f"  {e.transaction}: {render(e.step, lang)}")
        out += ["", "四、待审核事项" if zh else "Flags for the reviewer"]
        if not self.flags:
            out.append("  （无）" if zh else "  (none)")
        for f in self.flags:
            out.append(f"  [{f.kind}] {', '.join(f.clauses)}: {render(f.step, lang)}")
        total = self.total()
        out += ["", (f"合计：{fmt_human(total)} 元" if zh else f"Total: {fmt_human(total)} CNY")]
        return "\n".join(out) + "\n"


def _award_header(a: Award, zh: bool) -> str:
    line = f"  {a.clause}  {a.beneficiary}  {fmt_human(a.amount)}" + (" 元" if zh else " CNY")
    if a.payers:
        parts = [f"{k} {fmt_human(v)}" for k, v in a.payers.items()]
        if zh:
            names = {"province": "省", "city": "市", "county": "县"}
            parts = [f"{names.get(k, k)} {fmt_human(v)}" for k, v in a.payers.items()]
        line += "  (" + ", ".join(parts) + ")"
    if a.enterprise_pays is not None:
        line += f"  {'企业自付' if zh else 'enterprise pays'} {fmt_human(a.enterprise_pays)}"
    if a.transactions:
        line += f"  [{', '.join(a.transactions[:20])}{', …' if len(a.transactions) > 20 else ''}]"
    return line
