"""Claim kinds: awards filed with evidence and checked by the city.

B1–B6 and the one-time A2.national / A2.provincial subsidies. Each kind
declares its evidence fields (name, type, required, labels) so a web form can
be generated from the registry; ``compute_claim`` validates the evidence,
reads the parameters in force on the given date and returns an ``Award`` with
its trace. Bad evidence raises ``ClaimError``; evidence that is valid but does
not qualify gives an award of 0 whose trace says why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Callable, Mapping

from ..money import AmountError, fen_to_decimal, parse_fen
from ..parameters import Parameters, default_parameters
from ..result import Award
from ..trace import Step, nested
from .common import capped, clause_step
from .vouchers import _half_up_div

FIELD_TYPES = ("organization", "text", "decimal", "date", "bool", "choice")


class ClaimError(ValueError):
    """Bad evidence for a claim: which kind, which field, what is wrong."""

    def __init__(self, kind: str, field: str, message: str):
        self.kind, self.field, self.message = kind, field, message
        super().__init__(f"claim {kind}: field {field}: {message}")


@dataclass(frozen=True)
class EvidenceField:
    name: str
    type: str  # one of FIELD_TYPES
    required: bool = True
    label_en: str = ""
    label_zh: str = ""
    choices: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = {"name": self.name, "type": self.type, "required": self.required,
             "label_en": self.label_en, "label_zh": self.label_zh}
        if self.choices:
            d["choices"] = list(self.choices)
        return d


@dataclass(frozen=True)
class ClaimKind:
    kind: str
    fields: tuple[EvidenceField, ...]
    compute: Callable = field(repr=False)

    def describe(self, parameters: Parameters | None = None) -> dict:
        params = parameters or default_parameters()
        c = params.clause(self.kind)
        return {"kind": self.kind, "section": c.section, "title_zh": c.title_zh, "title_en": c.title_en,
                "sentence_zh": c.sentence_zh, "gloss_en": c.gloss_en,
                "fields": [f.to_dict() for f in self.fields]}


def _applicant(label_en="applicant (organisation id)", label_zh="申请单位"):
    return EvidenceField("applicant", "organization", True, label_en, label_zh)


def _requested(required=False):
    return EvidenceField("requested_amount", "decimal", required, "amount requested (CNY)", "申请金额（元）")


def _up_to(cap: Decimal, ev: dict, trace: list[Step]) -> Decimal:
    requested = ev.get("requested_amount")
    if requested is None:
        trace.append(Step("claim.up_to.default", {"cap": cap}))
        return capped(cap, cap, trace)
    trace.append(Step("claim.up_to", {"cap": cap, "requested": requested}))
    return capped(requested, cap, trace)


def _zero(trace: list[Step], step: Step) -> Decimal:
    trace.append(step)
    trace.append(Step("zero", {}))
    return Decimal("0.00")


def _match(ratio: Decimal, base: Decimal, what: str, trace: list[Step]) -> Decimal:
    trace.append(Step("claim.match", {"ratio": ratio, "what": what, "base": base}))
    raw = base * ratio
    trace.append(Step("ratio", {"ratio": ratio, "base": base, "raw": raw}))
    return capped(raw, None, trace)


def _fixed(amount: Decimal, trace: list[Step]) -> Decimal:
    trace.append(Step("claim.fixed", {"amount": amount}))
    return capped(amount, None, trace)


# -- the kinds ---------------------------------------------------------------------------------
def _a2_national(ev, p, trace):
    if not ev["newly_recognised"]:
        return _zero(trace, Step("claim.not_new", {"what": "national-level technology-transfer agency"}))
    return _up_to(p["a2.national.cap"], ev, trace)


def _a2_provincial(ev, p, trace):
    if not ev["newly_filed"]:
        return _zero(trace, Step("claim.not_new", {"what": "provincial-level technology-transfer agency"}))
    return _up_to(p["a2.provincial.cap"], ev, trace)


def _b1(ev, p, trace):
    if not ev["city_county_joint"]:
        return _zero(trace, Step("claim.not_joint", {}))
    return _up_to(p["b1.cap"], ev, trace)


def _b2(ev, p, trace):
    if not ev["newly_recognised"]:
        return _zero(trace, Step("claim.not_new", {"what": "technology-innovation demonstration enterprise"}))
    return _up_to(p[f"b2.{ev['level']}"], ev, trace)


def _b3(ev, p, trace):
    if not ev["newly_listed"]:
        return _zero(trace, Step("claim.not_new", {"what": "manufacturing single champion"}))
    amount = _up_to(p[f"b3.{ev['category']}"], ev, trace)
    share = p["b3.city_share"]
    n, d = share.as_integer_ratio()
    fen = int(amount * 100)
    city = fen_to_decimal(_half_up_div(fen * n, d))
    county = amount - city
    trace.append(Step("claim.split", {"city_share": share, "city": city, "county": county}))
    return amount, {"city": city, "county": county}


def _b4(ev, p, trace):
    if not ev["city_level"]:
        return _zero(trace, Step("claim.not_city_level", {}))
    amount = _fixed(p["b4.amount"], trace)
    trace.append(Step("claim.county_match", {}))
    return amount


def _b5(ev, p, trace):
    funding, threshold = ev["funding"], p["b5.threshold"]
    if funding < threshold:
        return _zero(trace, Step("claim.threshold.short", {"funding": funding, "threshold": threshold,
                                                           "shortfall": threshold - funding}))
    trace.append(Step("claim.threshold.met", {"funding": funding, "threshold": threshold}))
    return _match(p["b5.match_ratio"], funding, f"{ev['level']} funding of {ev['programme']}", trace)


def _b6_fixed(name):
    def compute(ev, p, trace):
        return _fixed(p[f"b6.{name}"], trace)
    return compute


def _b6_once(name, what):
    def compute(ev, p, trace):
        if ev.get("previously_awarded"):
            return _zero(trace, Step("claim.once", {"what": what}))
        amount = _fixed(p[f"b6.{name}"], trace)
        trace.append(Step("claim.merit", {}))
        return amount
    return compute


def _b6_star(ev, p, trace):
    return _b6_once("star", "星创天地")(ev, p, trace)


def _b6_station(ev, p, trace):
    if not ev["provincially_filed"]:
        return _zero(trace, Step("claim.not_new", {"what": "农科驿站 not filed at provincial level"}))
    return _b6_once("station", "农科驿站")(ev, p, trace)


def _b6_enterprise(ev, p, trace):
    return _match(p["b6.enterprise_ratio"], ev["provincial_post_subsidy"], "the provincial post-subsidy", trace)


def _b6_project(ev, p, trace):
    return _match(p["b6.project_ratio"], ev["provincial_support"], "the provincial support", trace)


_NEW = "newly recognised (新认定)"
_LEVELS = ("national", "provincial")
CLAIM_KINDS: dict[str, ClaimKind] = {k.kind: k for k in [
    ClaimKind("A2.national", (
        _applicant(),
        EvidenceField("newly_recognised", "bool", True, _NEW + " national-level agency", "新增国家级技术转移机构"),
        EvidenceField("recognised_on", "date", True, "date of recognition", "认定日期"),
        _requested()), _a2_national),
    ClaimKind("A2.provincial", (
        _applicant(),
        EvidenceField("newly_filed", "bool", True, "newly filed as provincial-level agency", "新备案为省级技术转移服务机构"),
        EvidenceField("filed_on", "date", True, "date of filing", "备案日期"),
        _requested()), _a2_provincial),
    ClaimKind("B1", (
        _applicant(),
        EvidenceField("project", "text", True, "project", "项目名称"),
        EvidenceField("city_county_joint", "bool", True, "city-county joint major S&T project", "重大科技市县联合项目"),
        _requested(required=True)), _b1),
    ClaimKind("B2", (
        _applicant(),
        EvidenceField("level", "choice", True, "level", "级别", _LEVELS),
        EvidenceField("newly_recognised", "bool", True, _NEW, "新认定"),
        EvidenceField("recognised_on", "date", True, "date of recognition", "认定日期"),
        _requested()), _b2),
    ClaimKind("B3", (
        _applicant(),
        EvidenceField("category", "choice", True, "category", "类别",
                      ("national_demonstration", "national_cultivation", "provincial")),
        EvidenceField("newly_listed", "bool", True, "newly listed (新列入)", "新列入"),
        EvidenceField("listed_on", "date", True, "date of listing", "列入日期"),
        _requested()), _b3),
    ClaimKind("B4", (
        _applicant("community (organisation id)", "创新创业共同体"),
        EvidenceField("city_level", "bool", True, "city-level community", "市级创新创业共同体"),
        EvidenceField("recognised_on", "date", True, "date of recognition", "认定日期")), _b4),
    ClaimKind("B5", (
        _applicant("expert or talent (id)", "入选人才"),
        EvidenceField("programme", "text", True, "award, talent programme or project", "奖项、人才工程或引智项目"),
        EvidenceField("level", "choice", True, "level", "级别", _LEVELS),
        EvidenceField("funding", "decimal", True, "national/provincial funding (CNY)", "国家、省资助经费（元）"),
        EvidenceField("awarded_on", "date", True, "date awarded", "获得日期")), _b5),
    ClaimKind("B6.base", (
        _applicant("demonstration base (project)", "科技特派员工程示范基地（项目）"),
        EvidenceField("selected_on", "date", True, "date selected", "评选日期")), _b6_fixed("base")),
    ClaimKind("B6.excellent", (
        _applicant("commissioner", "科技特派员"),
        EvidenceField("selected_on", "date", True, "date selected", "评选日期")), _b6_fixed("excellent")),
    ClaimKind("B6.advanced", (
        _applicant("individual", "先进个人"),
        EvidenceField("selected_on", "date", True, "date selected", "评选日期")), _b6_fixed("advanced")),
    ClaimKind("B6.star", (
        _applicant("星创天地", "星创天地"),
        EvidenceField("level", "choice", True, "level (provincial or higher)", "级别（省级以上）", _LEVELS),
        EvidenceField("founded_by_commissioner", "bool", True, "founded or led by a commissioner", "科技特派员创办、领办"),
        EvidenceField("previously_awarded", "bool", False, "one-time award already received", "已获一次性奖励")),
        lambda ev, p, trace: _zero(trace, Step("claim.not_new", {"what": "星创天地 not founded or led by a commissioner"}))
        if not ev["founded_by_commissioner"] else _b6_star(ev, p, trace)),
    ClaimKind("B6.station", (
        _applicant("农科驿站", "农科驿站"),
        EvidenceField("provincially_filed", "bool", True, "filed at provincial level", "省级备案"),
        EvidenceField("previously_awarded", "bool", False, "one-time award already received", "已获一次性奖励")),
        _b6_station),
    ClaimKind("B6.enterprise", (
        _applicant("enterprise commissioner", "企业科技特派员"),
        EvidenceField("provincial_post_subsidy", "decimal", True, "provincial post-subsidy received (CNY)",
                      "省级财政后补助奖励额度（元）")), _b6_enterprise),
    ClaimKind("B6.project", (
        _applicant("enterprise commissioner", "企业科技特派员"),
        EvidenceField("project", "text", True, "project", "项目名称"),
        EvidenceField("provincial_support", "decimal", True, "provincial support of the project (CNY)",
                      "省级财政支持额度（元）")), _b6_project),
]}


def claim_kinds(parameters: Parameters | None = None) -> list[dict]:
    """The registry as plain data (for generating forms): kind, section, titles, fields."""
    return [k.describe(parameters) for k in CLAIM_KINDS.values()]


def _coerce(kind: str, f: EvidenceField, value):
    if f.type in ("organization", "text"):
        if not isinstance(value, str) or not value.strip():
            raise ClaimError(kind, f.name, f"must be a non-empty string, not {value!r}")
        return value.strip()
    if f.type == "decimal":
        try:
            return fen_to_decimal(parse_fen(value))
        except AmountError as exc:
            raise ClaimError(kind, f.name, str(exc)) from None
    if f.type == "date":
        if isinstance(value, date):
            return value
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise ClaimError(kind, f.name, f"not a date (YYYY-MM-DD): {value!r}")
    if f.type == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ClaimError(kind, f.name, f"must be true or false, not {value!r}")
    if f.type == "choice":
        if value not in f.choices:
            raise ClaimError(kind, f.name, f"must be one of {', '.join(f.choices)}, not {value!r}")
        return value
    raise ClaimError(kind, f.name, f"unknown field type {f.type}")  # pragma: no cover


def validate_evidence(kind: str, evidence: Mapping) -> dict:
    """Check evidence against the kind's fields; return it typed (Decimal, date, bool)."""
    spec = CLAIM_KINDS.get(kind)
    if spec is None:
        raise ClaimError(kind, "kind", f"unknown claim kind (one of {', '.join(CLAIM_KINDS)})")
    if not isinstance(evidence, Mapping):
        raise ClaimError(kind, "evidence", "must be an object of evidence fields")
    names = {f.name for f in spec.fields}
    for name in evidence:
        if name not in names:
            raise ClaimError(kind, str(name), f"unknown evidence field (expected {', '.join(sorted(names))})")
    typed = {}
    for f in spec.fields:
        value = evidence.get(f.name)
        if value is None or value == "":
            if f.required:
                raise ClaimError(kind, f.name, "missing")
            continue
        typed[f.name] = _coerce(kind, f, value)
    return typed


def evidence_steps(kind: str, ev: Mapping) -> list[dict]:
    """The evidence as the trace shows it: each field by its label in the reader's language and
    its value in words ("新认定：是", not ``newly_recognised=True``)."""
    fields = {f.name: f for f in CLAIM_KINDS[kind].fields}
    steps = []
    for name, value in ev.items():
        f = fields[name]
        shown = value.isoformat() if isinstance(value, date) else value
        key = "claim.field_term" if f.type == "choice" else "claim.field"
        steps.append(nested(Step(key, {"label_en": f.label_en, "label_zh": f.label_zh,
                                       ("term" if f.type == "choice" else "value"): shown})))
    return steps


def compute_claim(kind: str, evidence: Mapping, on: date, parameters: Parameters | None = None) -> Award:
    """The award for one claim, from its evidence and the parameters in force on ``on``."""
    if not isinstance(on, date):
        raise ClaimError(kind, "on", f"must be a date, not {on!r}")
    ev = validate_evidence(kind, evidence)
    params = parameters or default_parameters()
    snap = params.at(on)
    trace = [clause_step(params, kind), Step("claim.evidence", {"evidence": evidence_steps(kind, ev)})]
    out = CLAIM_KINDS[kind].compute(ev, snap, trace)
    amount, payers = out if isinstance(out, tuple) else (out, None)
    return Award(kind, ev["applicant"], amount, [], trace, payers=payers)
