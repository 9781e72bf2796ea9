"""HTE — an enterprise's figures against the national high-tech enterprise criteria, section 1.3.

建设高新技术企业培育库，动态储备具有高新技术企业发展潜力的后备企业100家左右。
The criteria are those of 《高新技术企业认定管理办法》（国科发火〔2016〕32号）第十一条, held as
dated parameters (``parameters/hte_recognition.yaml``). Each criterion is met or missed, and a
missed one states its shortfall: yuan of R&D or high-tech revenue, persons of S&T staff, days
until the first anniversary, core IP items. Comparisons are exact (``rd >= 5% × revenue``);
the amount required is shown rounded *up* to the fen (the least whole-fen amount that meets
it), and a money shortfall is that amount less the figure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Mapping

from ..money import FEN, AmountError, fmt, fmt_human, parse_decimal
from ..parameters import Parameters, default_parameters
from ..trace import CATALOGUE, VERDICT, Step, render
from .common import clause_step

CRITERIA = ("age", "core_ip", "st_staff", "rd_intensity", "rd_in_china", "high_tech_revenue")
MONEY_FIELDS = ("revenue_last_year", "revenue_3y", "rd_3y", "rd_3y_in_china", "high_tech_revenue")
COUNT_FIELDS = ("staff", "st_staff", "core_ip_count")

# Sentences of the trace (registered in the shared catalogue, English and Chinese).
CATALOGUE.update({
    "hte.figures": ("figures: last year's revenue {revenue_last_year}; revenue of the three years {revenue_3y}; "
                    "R&D of the three years {rd_3y}, in China {rd_3y_in_china}; high-tech revenue {high_tech_revenue}; "
                    "staff {staff}, S&T staff {st_staff}; core IP {core_ip_count}; founded {founded_on}",
                    "申报数据：最近一年销售收入{revenue_last_year}；近三年销售收入总额{revenue_3y}；近三年研发费用总额{rd_3y}，"
                    "其中境内{rd_3y_in_china}；近一年高新技术产品（服务）收入{high_tech_revenue}；职工总数{staff}，"
                    "科技人员{st_staff}；核心知识产权{core_ip_count}项；成立日期{founded_on}"),
    "hte.rule": ("national rule: {rule}", "认定办法：{rule}"),
    "hte.band": ("last year's revenue {revenue_last_year} is {band_en}: the R&D rate required is {rate}",
                 "最近一年销售收入{revenue_last_year}，{band_zh}：研发费用比例不低于{rate}"),
    "hte.rd_intensity": ("R&D {rd_3y} against {rate} × revenue {revenue_3y} = {required}: {verdict}{short_en}",
                         "研发费用{rd_3y}，要求{rate} × 销售收入{revenue_3y} = {required}：{verdict_zh}{short_zh}"),
    "hte.rd_in_china": ("R&D in China {actual} against {share} × all R&D {base} = {required}: {verdict}{short_en}",
                        "境内研发费用{actual}，要求{share} × 全部研发费用{base} = {required}：{verdict_zh}{short_zh}"),
    "hte.high_tech_revenue": ("high-tech revenue {actual} against {share} × last year's revenue {base} = {required}: "
                              "{verdict}{short_en}",
                              "高新技术产品（服务）收入{actual}，要求{share} × 最近一年销售收入{base} = {required}："
                              "{verdict_zh}{short_zh}"),
    "hte.st_staff": ("S&T staff {actual} of {base} against {share}: at least {required} person(s): {verdict}{short_en}",
                     "科技人员{actual}人 / 职工{base}人，要求不低于{share}，即至少{required}人：{verdict_zh}{short_zh}"),
    "hte.age": ("founded {founded_on}; {years} year(s) are reached on {required}: {verdict}{short_en}",
                "成立日期{founded_on}；满{years}年之日为{required}：{verdict_zh}{short_zh}"),
    "hte.core_ip": ("core IP held: {actual} item(s); at least {required} needed: {verdict}{short_en}",
                    "拥有核心知识产权{actual}项，至少需{required}项：{verdict_zh}{short_zh}"),
    "hte.summary": ("{met} of {total} criteria met: {verdict}", "{total}项条件中满足{met}项：{verdict_zh}"),
    "hte.unchecked": ("not checked here, the experts decide: the technology's field, the innovation-capability score, "
                      "no serious accident in the year before",
                      "以下条件由专家评审认定，平台不作判断：技术领域、企业创新能力评价、申请前一年内无重大安全质量事故或严重环境违法行为"),
})
_UNITS_ZH = {"cny": "元", "persons": "人", "days": "天", "items": "项"}
_UNITS_EN = {"cny": "", "persons": " person(s)", "days": " day(s)", "items": " item(s)"}


class HteError(ValueError):
    """Bad figures: which field, what is wrong."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"field {field}: {message}")


@dataclass(frozen=True)
class HteFigures:
    """An enterprise's figures, in yuan (Decimal, to the fen) and whole numbers of persons."""

    revenue_last_year: Decimal  # 最近一年销售收入
    revenue_3y: Decimal  # 近三个会计年度销售收入总额 (including last year)
    rd_3y: Decimal  # 近三个会计年度研究开发费用总额
    rd_3y_in_china: Decimal  # 其中在中国境内发生的
    high_tech_revenue: Decimal  # 近一年高新技术产品（服务）收入
    staff: int  # 当年职工总数
    st_staff: int  # 科技人员
    core_ip_count: int  # 核心自主知识产权（件）
    founded_on: date  # 注册成立日期

    @classmethod
    def from_mapping(cls, data: Mapping) -> "HteFigures":
        if not isinstance(data, Mapping):
            raise HteError("figures", "must be an object of figures")
        values: dict = {}
        for name in MONEY_FIELDS:
            raw = data.get(name)
            if raw is None or raw == "":
                raise HteError(name, "missing")
            try:
                values[name] = parse_decimal(raw)
            except AmountError as exc:
                raise HteError(name, str(exc)) from None
        for name in COUNT_FIELDS:
            raw = data.get(name)
            if raw is None or raw == "":
                raise HteError(name, "missing")
            if isinstance(raw, bool) or not isinstance(raw, (int, str)):
                raise HteError(name, f"must be a whole number, not {raw!r}")
            if isinstance(raw, str):
                if not raw.strip().isdigit():
                    raise HteError(name, f"must be a whole number, not {raw!r}")
                raw = int(raw.strip())
            if raw < 0:
                raise HteError(name, f"must not be negative: {raw!r}")
            values[name] = raw
        founded = data.get("founded_on")
        if isinstance(founded, str) and len(founded) == 10:
            try:
                founded = date.fromisoformat(founded)
            except ValueError:
                pass
        if not isinstance(founded, date):
            raise HteError("founded_on", f"not a date (YYYY-MM-DD): {data.get('founded_on')!r}")
        values["founded_on"] = founded
        figures = cls(**values)
        figures.check()
        return figures

    def check(self) -> None:
        """Figures that cannot all be true together are refused, naming the field."""
        if self.revenue_last_year > self.revenue_3y:
            raise HteError("revenue_3y", "the three years' revenue includes last year's: it cannot be smaller")
        if self.rd_3y_in_china > self.rd_3y:
            raise HteError("rd_3y_in_china", "R&D in China is part of all R&D: it cannot be larger")
        if self.high_tech_revenue > self.revenue_last_year:
            raise HteError("high_tech_revenue", "high-tech revenue is part of last year's revenue: it cannot be larger")
        if self.staff <= 0:
            raise HteError("staff", "an enterprise has at least one member of staff")
        if self.st_staff > self.staff:
            raise HteError("st_staff", "S&T staff are part of the staff: they cannot be more")

    def to_dict(self) -> dict:
        d = {name: fmt(getattr(self, name)) for name in MONEY_FIELDS}
        d.update({name: getattr(self, name) for name in COUNT_FIELDS})
        d["founded_on"] = self.founded_on.isoformat()
        return d


@dataclass(frozen=True)
class HteCriterion:
    id: str  # one of CRITERIA
    met: bool
    required: object  # Decimal yuan, persons, a date (age) or items
    actual: object
    shortfall: object | None  # None when met; Decimal yuan, persons, days or items
    unit: str  # cny, persons, days, items
    step: Step

    def explain(self, lang: str = "en") -> str:
        return render(self.step, lang)

    def to_dict(self, lang: str = "en") -> dict:
        def plain(v):
            if isinstance(v, Decimal):
                return fmt(v)
            if isinstance(v, date):
                return v.isoformat()
            return v
        return {"criterion": self.id, "met": self.met, "required": plain(self.required), "actual": plain(self.actual),
                "shortfall": plain(self.shortfall), "unit": self.unit, "explain": self.explain(lang)}


@dataclass
class HteAssessment:
    on: date
    figures: HteFigures
    criteria: list[HteCriterion]
    trace: list[Step] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return all(c.met for c in self.criteria)

    @property
    def missed(self) -> list[HteCriterion]:
        return [c for c in self.criteria if not c.met]

    def criterion(self, cid: str) -> HteCriterion:
        return next(c for c in self.criteria if c.id == cid)

    def explain(self, lang: str = "en") -> list[str]:
        return [render(s, lang) for s in self.trace]

    def to_dict(self, lang: str = "en") -> dict:
        return {"on": self.on.isoformat(), "met": self.met, "figures": self.figures.to_dict(),
                "criteria": [c.to_dict(lang) for c in self.criteria], "trace": self.explain(lang)}


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _short(unit: str, shortfall) -> dict:
    if shortfall is None:
        return {"short_en": "", "short_zh": ""}
    shown = fmt(shortfall) if isinstance(shortfall, Decimal) else str(shortfall)
    return {"short_en": f", short by {shown}{_UNITS_EN[unit]}", "short_zh": f"，差{shown}{_UNITS_ZH[unit]}"}


def _verdict(met: bool) -> dict:
    return {"verdict": "met" if met else "not met", "verdict_zh": "满足" if met else "不满足"}


def _money(cid, step_key, actual: Decimal, share: Decimal, base: Decimal, extra: dict) -> HteCriterion:
    required_raw = share * base
    met = actual >= required_raw  # exact: no rounding before the comparison
    # The least whole-fen amount that meets the criterion: the exact requirement rounded up.
    required = required_raw.quantize(FEN, rounding=ROUND_CEILING)
    shortfall = None if met else required - actual
    values = {"actual": actual, "share": share, "base": base, "required": required, **extra,
              **_verdict(met), **_short("cny", shortfall)}
    return HteCriterion(cid, met, required, actual, shortfall, "cny", Step(step_key, values))


def _band(figures: HteFigures, p) -> tuple[str, str, str]:
    small, medium = p["hte.rd_band.small_limit"], p["hte.rd_band.medium_limit"]
    rev = figures.revenue_last_year
    if rev <= small:
        return "hte.rd_rate.small", f"up to {fmt_human(small)} (inclusive)", f"在{fmt_human(small)}元（含）以下"
    if rev <= medium:
        return ("hte.rd_rate.medium", f"above {fmt_human(small)} and up to {fmt_human(medium)} (inclusive)",
                f"在{fmt_human(small)}元至{fmt_human(medium)}元（含）之间")
    return "hte.rd_rate.large", f"above {fmt_human(medium)}", f"在{fmt_human(medium)}元以上"


def hte_assessment(figures, on: date, parameters: Parameters | None = None) -> HteAssessment:
    """Each criterion met or missed, with its shortfall, for the parameters in force on ``on``.

    ``figures``: ``HteFigures`` or a mapping of its fields (amounts as decimal strings).
    ``on``: the day of the check (age is counted to it; no clock is read).
    """
    if not isinstance(on, date):
        raise HteError("on", f"must be a date, not {on!r}")
    if not isinstance(figures, HteFigures):
        figures = HteFigures.from_mapping(figures)
    else:
        figures.check()
    params = parameters or default_parameters()
    p = params.at(on)
    f = figures
    trace = [clause_step(params, "HTE"), Step("hte.figures", {
        **{n: getattr(f, n) for n in MONEY_FIELDS + COUNT_FIELDS}, "founded_on": f.founded_on.isoformat()})]
    criteria: list[HteCriterion] = []

    # (一) registered at least one year ("以上": the anniversary itself qualifies)
    years = p["hte.min_years"]
    anniversary = add_years(f.founded_on, years)
    met = on >= anniversary
    short = None if met else (anniversary - on).days
    criteria.append(HteCriterion("age", met, anniversary, f.founded_on, short, "days", Step("hte.age", {
        "founded_on": f.founded_on.isoformat(), "years": years, "required": anniversary.isoformat(),
        **_verdict(met), **_short("days", short)})))

    # (二) core IP held
    met = f.core_ip_count >= 1
    short = None if met else 1 - f.core_ip_count
    criteria.append(HteCriterion("core_ip", met, 1, f.core_ip_count, short, "items", Step("hte.core_ip", {
        "actual": f.core_ip_count, "required": 1, **_verdict(met), **_short("items", short)})))

    # (四) S&T staff at least 10 % of staff: the smallest whole number of persons that reaches it
    share = p["hte.st_staff_share"]
    needed = int((share * f.staff).to_integral_value(rounding=ROUND_CEILING))
    met = Decimal(f.st_staff) >= share * f.staff
    short = None if met else needed - f.st_staff
    criteria.append(HteCriterion("st_staff", met, needed, f.st_staff, short, "persons", Step("hte.st_staff", {
        "actual": f.st_staff, "base": f.staff, "share": share, "required": needed,
        **_verdict(met), **_short("persons", short)})))

    # (五) R&D of three years over revenue of the same years, by last year's revenue band
    rate_name, band_en, band_zh = _band(f, p)
    rate = p[rate_name]
    trace.append(Step("hte.band", {"revenue_last_year": f.revenue_last_year, "band_en": band_en,
                                   "band_zh": band_zh, "rate": rate}))
    rd = _money("rd_intensity", "hte.rd_intensity", f.rd_3y, rate, f.revenue_3y,
                {"rd_3y": f.rd_3y, "revenue_3y": f.revenue_3y, "rate": rate})
    criteria.append(rd)
    # (五) of which R&D in China at least 60 %
    criteria.append(_money("rd_in_china", "hte.rd_in_china", f.rd_3y_in_china, p["hte.rd_in_china_share"],
                           f.rd_3y, {}))
    # (六) high-tech revenue at least 60 % of last year's revenue
    criteria.append(_money("high_tech_revenue", "hte.high_tech_revenue", f.high_tech_revenue,
                           p["hte.high_tech_revenue_share"], f.revenue_last_year, {}))

    by_id = {c.id: c for c in criteria}
    criteria = [by_id[cid] for cid in CRITERIA]
    rules = {**_RULE_PARAM, "rd_intensity": _RATE_PARAM[rate_name]}
    for c in criteria:
        rule = params.get(rules[c.id]).description if c.id in rules else CORE_IP_RULE
        if rule:
            trace.append(Step("hte.rule", {"rule": rule}))
        trace.append(c.step)
    met_count = sum(c.met for c in criteria)
    trace.append(Step("hte.summary", {"met": met_count, "total": len(criteria),
                                      "verdict": VERDICT[met_count == len(criteria)][0],
                                      "verdict_zh": VERDICT[met_count == len(criteria)][1]}))
    trace.append(Step("hte.unchecked", {}))
    return HteAssessment(on, figures, criteria, trace)


# The parameter whose description quotes the national rule of each criterion (R&D: by band).
_RULE_PARAM = {"age": "hte.min_years", "st_staff": "hte.st_staff_share",
               "rd_in_china": "hte.rd_in_china_share", "high_tech_revenue": "hte.high_tech_revenue_share"}
_RATE_PARAM = {n: n for n in ("hte.rd_rate.small", "hte.rd_rate.medium", "hte.rd_rate.large")}
CORE_IP_RULE = ("国科发火〔2016〕32号第十一条（二）：企业通过自主研发、受让、受赠、并购等方式，"
                "获得对其主要产品（服务）在技术上发挥核心支持作用的知识产权的所有权")
