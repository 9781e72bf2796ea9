"""The measures' five-year targets and the platform's own figures against them.

Targets are dated data with their source sentence (``targets.yaml``); each figure is
computed from what the platform holds, never typed in. Where the platform holds no data
(new provincial-or-higher platforms), or nobody entered it (county R&D), the figure is
shown as such rather than as zero.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.orders.models import TechContract
from marketplace.programmes import cultivation, projects
from marketplace.subsidies.parameters import _DecimalLoader

TARGETS_FILE = Path(__file__).with_name("targets.yaml")
QUALIFIERS = ("about", "at_least")
EPOCH = date(1900, 1, 1)  # "since the platform began": the lower bound of figures to date

# Figure states
COMPUTED = "computed"
NOT_ENTERED = "not_entered"  # the platform could hold it, nobody entered it
NOT_HELD = "not_held"  # the platform holds no data for it


@dataclass(frozen=True)
class TargetValue:
    effective_from: date
    effective_to: date | None
    value: Decimal
    period: tuple[date, date]


@dataclass(frozen=True)
class Target:
    key: str
    section: str
    sentence_zh: str
    title_zh: str
    title_en: str
    unit: str
    qualifier: str
    measure: str | None
    values: tuple[TargetValue, ...]

    def at(self, on: date) -> TargetValue | None:
        for v in self.values:
            if v.effective_from <= on and (v.effective_to is None or on <= v.effective_to):
                return v
        return None

    def title(self, locale: str) -> str:
        return self.title_en if locale == "en" else self.title_zh


class TargetError(ValueError):
    pass


@functools.lru_cache(maxsize=4)
def load_targets(path: str = str(TARGETS_FILE)) -> tuple[Target, ...]:
    doc = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_DecimalLoader)
    out = []
    for key, t in doc["targets"].items():
        if t.get("qualifier") not in QUALIFIERS:
            raise TargetError(f"{key}: qualifier must be one of {QUALIFIERS}")
        if t.get("measure") is not None and t["measure"] not in MEASURES:
            raise TargetError(f"{key}: unknown measure {t['measure']!r}")
        values = []
        for v in t["values"]:
            start, end = v["period"]
            if not all(isinstance(d, date) for d in (v["effective_from"], start, end)):
                raise TargetError(f"{key}: dates must be YYYY-MM-DD")
            values.append(TargetValue(v["effective_from"], v.get("effective_to"), Decimal(v["value"]), (start, end)))
        out.append(Target(key, str(t["section"]), t["sentence_zh"], t["title"]["zh"], t["title"]["en"], t["unit"],
                          t["qualifier"], t.get("measure"), tuple(values)))
    return tuple(out)


@dataclass
class Figure:
    state: str
    value: Decimal | int | None = None
    detail: dict | None = None


def _projects_reserve(period):
    return Figure(COMPUTED, projects.project_counts(period)["reserve"])


def _projects_implemented(period):
    return Figure(COMPUTED, projects.project_counts(period)["implemented"])


def _key_technologies(period):
    return Figure(COMPUTED, projects.project_counts(period)["breakthroughs"])


def _hte_recognised(period):
    from marketplace.programmes.models import PoolEntry

    return Figure(COMPUTED, db.session.scalar(select(func.count()).select_from(PoolEntry).where(
        PoolEntry.status == "recognised", PoolEntry.recognised_on.between(*period))))


def _hte_pool(period):
    return Figure(COMPUTED, cultivation.pool_counts()["admitted"])


def _achievements_transferred(period):
    n = db.session.scalar(select(func.count()).select_from(TechContract).where(
        TechContract.registration_no.is_not(None), TechContract.registered_on.between(*period)))
    return Figure(COMPUTED, n)


def _county_rd(period):
    """The 6.2 indicator from the dashboards' county figures, when that model exists and has rows."""
    try:
        from marketplace.dashboards.models import CountyRD  # built by another domain
    except ImportError:
        return Figure(NOT_ENTERED)
    try:
        rows = list(db.session.scalars(select(CountyRD)))
        by_year: dict[int, list] = {}
        for r in rows:
            by_year.setdefault(int(r.year), []).append(r)
        if not by_year:
            return Figure(NOT_ENTERED)
        # The latest year up to the target year; when none, the latest year entered (shown with it).
        years = [y for y in by_year if y <= period[1].year] or list(by_year)
        year = max(years)
        from marketplace.subsidies import county_rd_indicator

        def amount(r, name):
            if hasattr(r, f"{name}_fen"):
                return str(Decimal(getattr(r, f"{name}_fen")) / 100)
            return str(getattr(r, name))
        ind = county_rd_indicator([{"county": r.county, "rd_spending": amount(r, "rd_spending"),
                                    "gdp": amount(r, "gdp")} for r in by_year[year]], year)
    except Exception:  # a model of another shape: say so rather than show a wrong figure
        db.session.rollback()
        return Figure(NOT_ENTERED)
    return Figure(COMPUTED, ind.share_reaching, {"year": year, "reaching": ind.reaching, "total": ind.total})


MEASURES = {
    "projects_reserve": _projects_reserve,
    "projects_implemented": _projects_implemented,
    "key_technologies": _key_technologies,
    "hte_recognised": _hte_recognised,
    "hte_pool": _hte_pool,
    "achievements_transferred": _achievements_transferred,
    "county_rd": _county_rd,
}


@dataclass
class TargetRow:
    target: Target
    value: TargetValue | None
    figure: Figure  # within the target's period
    to_date: Figure | None = None  # everything on the platform up to today, when it differs

    @property
    def progress_pct(self) -> int | None:
        if self.figure.state != COMPUTED or self.value is None or not self.value.value:
            return None
        return int(min(Decimal(100), Decimal(self.figure.value) * 100 / self.value.value))

    @property
    def reached(self) -> bool | None:
        if self.figure.state != COMPUTED or self.value is None:
            return None
        return Decimal(self.figure.value) >= self.value.value


def targets_page(actor, on: date | None = None) -> list[TargetRow]:
    perm.require(actor, perm.VIEW_PROGRAMMES)
    on = on or utcnow().date()
    rows = []
    for t in load_targets():
        value = t.at(on)
        if t.measure is None:
            figure = Figure(NOT_HELD)
        elif value is None:
            figure = Figure(NOT_ENTERED)
        else:
            figure = MEASURES[t.measure](value.period)
        to_date = None
        if t.measure is not None and value is not None and on > value.period[1]:
            to_date = MEASURES[t.measure]((EPOCH, on))
        rows.append(TargetRow(t, value, figure, to_date))
    return rows
