"""C — county R&D intensity indicator, section 6.2.

到2022年，50%以上的县（市、区）全社会研发（R&D）经费支出占地区生产总值(GDP)的比重达到2.2%以上。
Comparisons are exact (``rd >= 2.2% × gdp``); shares are rounded only for display.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Mapping

from ..parameters import Parameters, default_parameters
from ..trace import VERDICT, Step, render
from .common import clause_step


class IndicatorError(ValueError):
    """Bad county figures: which county, which field."""

    def __init__(self, county, field: str, message: str):
        self.county, self.field, self.message = county, field, message
        super().__init__(f"county {county}: field {field}: {message}")


@dataclass(frozen=True)
class CountyFigure:
    county: str
    rd_spending: Decimal
    gdp: Decimal


@dataclass(frozen=True)
class CountyResult:
    county: str
    rd_spending: Decimal
    gdp: Decimal
    intensity: Decimal  # exact rd / gdp to 10 significant places (display: intensity_pct)
    reaches: bool

    @property
    def intensity_pct(self) -> str:
        return f"{(self.intensity * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"

    def to_dict(self) -> dict:
        return {"county": self.county, "rd_spending": str(self.rd_spending), "gdp": str(self.gdp),
                "intensity_pct": self.intensity_pct, "reaches": self.reaches}


@dataclass
class Indicator:
    year: int
    target_intensity: Decimal
    target_county_share: Decimal
    target_year: int
    counties: list[CountyResult]
    reaching: int
    total: int
    met: bool
    trace: list[Step] = field(default_factory=list)

    @property
    def share_reaching(self) -> Decimal:
        return Decimal(self.reaching) / Decimal(self.total) if self.total else Decimal(0)

    def explain(self, lang: str = "en") -> list[str]:
        return [render(s, lang) for s in self.trace]

    def to_dict(self) -> dict:
        return {"year": self.year, "target_intensity": str(self.target_intensity),
                "target_county_share": str(self.target_county_share), "target_year": self.target_year,
                "counties": [c.to_dict() for c in self.counties], "reaching": self.reaching,
                "total": self.total, "met": self.met, "trace": self.explain("en")}


def _dec(county, name, value) -> Decimal:
    if isinstance(value, bool) or isinstance(value, float) or not isinstance(value, (str, int, Decimal)):
        raise IndicatorError(county, name, f"must be a decimal (string), not {value!r}")
    try:
        d = Decimal(value)
    except Exception:
        raise IndicatorError(county, name, f"not a decimal: {value!r}") from None
    if not d.is_finite() or d < 0:
        raise IndicatorError(county, name, f"must be a non-negative number: {value!r}")
    return d


def county_rd_indicator(figures: Iterable, year: int, parameters: Parameters | None = None) -> Indicator:
    """Each county's R&D spending against GDP, and whether enough counties reach the target.

    ``figures``: ``CountyFigure`` objects or mappings with ``county``,
    ``rd_spending`` and ``gdp`` (Decimal or decimal strings, same unit).
    """
    params = parameters or default_parameters()
    snap = params.at(date(year, 12, 31))
    target, needed, target_year = snap["c.rd_intensity"], snap["c.county_share"], snap["c.target_year"]
    trace = [clause_step(params, "C")]
    results = []
    seen = set()
    for f in figures:
        if isinstance(f, Mapping):
            county = f.get("county")
            if not county:
                raise IndicatorError(county, "county", "missing")
            rd, gdp = _dec(county, "rd_spending", f.get("rd_spending")), _dec(county, "gdp", f.get("gdp"))
        else:
            county = f.county
            rd, gdp = _dec(county, "rd_spending", f.rd_spending), _dec(county, "gdp", f.gdp)
        if county in seen:
            raise IndicatorError(county, "county", "listed twice")
        seen.add(county)
        if gdp <= 0:
            raise IndicatorError(county, "gdp", "must be greater than 0")
        reaches = rd >= target * gdp  # exact: no division in the comparison
        intensity = (rd / gdp)
        r = CountyResult(county, rd, gdp, intensity, reaches)
        results.append(r)
        trace.append(Step("c.county", {"county": county, "rd": rd, "gdp": gdp, "intensity_pct": r.intensity_pct,
                                       "target": target, "verdict": VERDICT[reaches][0]}))
    results.sort(key=lambda r: r.county)
    reaching = sum(r.reaches for r in results)
    total = len(results)
    met = total > 0 and Decimal(reaching) >= needed * total
    share = Decimal(reaching) / Decimal(total) if total else Decimal(0)
    trace.append(Step("c.city", {"reaching": reaching, "total": total,
                                 "share_pct": f"{(share * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%",
                                 "county_share": needed, "verdict": VERDICT[met][0]}))
    return Indicator(year, target, needed, target_year, results, reaching, total, met, trace)
