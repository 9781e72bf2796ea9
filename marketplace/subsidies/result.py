"""Awards, exclusions, flags and the result of an evaluation."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .money import fmt, fmt_human
from .trace import Step, org_label, render

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
    awards: tuple[tuple[str, str], ...] = ()  # the (clause, beneficiary) awards that stand on the flag

    @property
    def note(self) -> str:
        return render(self.step, "en")

    def to_dict(self, lang: str = "en") -> dict:
        return {"kind": self.kind, "transactions": list(self.transactions), "clauses": list(self.clauses),
                "note": render(self.step, lang)}


ZERO2 = Decimal("0.00")


@dataclass
class Totals:
    """The awards summed by who pays (CLAUSES.md "Reading an amount"): what the **city** pays,
    what the **province** pays (A3's share), and the part of the city's total that stands on an
    overlap flag (**flagged**: both sides of an A1/A2 overlap, each in full). City and province
    are never added up into one figure."""

    city: Decimal = ZERO2
    province: Decimal = ZERO2
    flagged: Decimal = ZERO2

    def add(self, award: Award, flagged: bool = False) -> None:
        if award.payers is not None:
            city = award.payers.get("city", ZERO2)
            self.province += award.payers.get("province", ZERO2)
        else:
            city = award.amount
        self.city += city
        if flagged:
            self.flagged += city

    def to_dict(self) -> dict:
        return {"city": fmt(self.city), "province": fmt(self.province), "flagged": fmt(self.flagged)}


def flagged_awards(flags) -> set[tuple[str, str]]:
    """The (clause, beneficiary) awards standing on an overlap flag."""
    return {key for f in flags if f.kind == "overlap" for key in f.awards}


@dataclass
class Result:
    """What an evaluation produced. ``nil_awards`` are the awards that came to
    0 (kept for ``--explain``; the JSON leaves them out). ``names``: organisation
    names by id, for the readable report. ``totals``: set by the engine (also when awards
    were handed to a callback instead of being held); else summed from ``awards``."""

    year: int
    awards: list[Award] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    nil_awards: list[Award] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    totals: Totals | None = None

    def by_payer(self) -> Totals:
        if self.totals is not None:
            return self.totals
        flagged = flagged_awards(self.flags)
        totals = Totals()
        for a in self.awards:
            totals.add(a, (a.clause, a.beneficiary) in flagged)
        return totals

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
            "totals": self.by_payer().to_dict(),
        }

    def total(self, clause: str | None = None) -> Decimal:
        return sum((a.amount for a in self.awards if clause is None or a.clause == clause), Decimal("0.00"))

    def explain(self, lang: str = "en") -> str:
        """A readable report of every award, nil award, exclusion and flag, and the totals
        by payer (city, province, flagged), never one figure adding them up."""
        zh = lang == "zh"
        label = lambda code: org_label(code, self.names.get(code, ""), lang)  # noqa: E731
        flagged = flagged_awards(self.flags)
        out = [f"{self.year}年度补助测算" if zh else f"Subsidies for {self.year}", ""]
        out.append("一、补助" if zh else "Awards")
        if not self.awards:
            out.append("  （无）" if zh else "  (none)")
        for a in self.awards:
            out.append(_award_header(a, zh, label(a.beneficiary), (a.clause, a.beneficiary) in flagged))
            out.extend(f"    - {line}" for line in a.explain(lang))
        if self.nil_awards:
            out += ["", "二、未达条件（金额为0）" if zh else "Not payable (amount 0)"]
            for a in self.nil_awards:
                out.append(f"  {a.clause}  {label(a.beneficiary)}")
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
        t = self.by_payer()
        if zh:
            out += ["", "五、按支付方分列（市、省分别列示，不相加）",
                    f"  市财政：{fmt_human(t.city)} 元",
                    f"  省财政：{fmt_human(t.province)} 元（创新券省补贴）",
                    f"  市财政金额中待审核的重叠部分：{fmt_human(t.flagged)} 元"
                    "（A1与A2.city重叠的两项补助均全额列入，由审核人决定支付哪一项）"]
        else:
            out += ["", "By payer (city and province are separate payments, never added up)",
                    f"  city pays: {fmt_human(t.city)} CNY",
                    f"  province pays: {fmt_human(t.province)} CNY (the province's voucher share)",
                    f"  of the city's amount, flagged for a decision: {fmt_human(t.flagged)} CNY "
                    "(both sides of an A1/A2.city overlap, each in full; the reviewer decides which is paid)"]
        return "\n".join(out) + "\n"


def _award_header(a: Award, zh: bool, who: str, flagged: bool) -> str:
    unit = " 元" if zh else " CNY"
    if a.payers:
        names = {"province": "省财政", "city": "市财政", "county": "县财政"} if zh else {}
        amount = "；".join(f"{names.get(k, k)} {fmt_human(v)}{unit}" for k, v in a.payers.items()) if zh else \
            "; ".join(f"{k} pays {fmt_human(v)}{unit}" for k, v in a.payers.items())
    else:
        amount = fmt_human(a.amount) + unit
    line = f"  {a.clause}  {who}  {amount}"
    if a.enterprise_pays is not None:
        line += f"  {'企业自付' if zh else 'enterprise pays'} {fmt_human(a.enterprise_pays)}{unit}"
    if flagged:
        line += "  【待审核：重叠】" if zh else "  [flagged: overlap]"
    if a.transactions:
        line += f"  [{', '.join(a.transactions[:20])}{', …' if len(a.transactions) > 20 else ''}]"
    return line
