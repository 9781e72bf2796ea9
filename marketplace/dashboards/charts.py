"""Chart geometry for server-side SVG (templates/dashboards/_charts.html draws it).

No JavaScript, no external assets: each chart is a small object of integer pixel positions
with the value of every mark as text. Scaling uses integers and Decimal, never float.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Callable, Sequence

_ids = itertools.count(1)


def _next_id(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


def nice_ceiling(value) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (1 when value ≤ 0)."""
    value = Decimal(value)
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        candidate = step.scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)  # pragma: no cover


def scale(value, maximum, span: int) -> int:
    """``value`` of ``maximum`` as whole pixels of ``span`` (rounded up so a tiny value shows)."""
    value, maximum = Decimal(value), Decimal(maximum)
    if maximum <= 0 or value <= 0:
        return 0
    return min(span, int((value * span / maximum).to_integral_value(rounding=ROUND_CEILING)))


@dataclass
class Tick:
    pos: int  # x or y in pixels
    text: str


@dataclass
class Point:
    x: int
    y: int
    label: str
    text: str  # the value, formatted


@dataclass
class LineChart:
    id: str
    title: str
    desc: str
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    points: list[Point]
    ticks: list[Tick]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x},{p.y}" for p in self.points)

    @property
    def baseline(self) -> int:
        return self.top + self.plot_h


def line_chart(title: str, desc: str, items: Sequence[tuple[str, int]], fmt: Callable[[int], str],
               axis_fmt: Callable[[Decimal], str] | None = None, width: int = 680, height: int = 260) -> LineChart:
    left, right, top, bottom = 96, 16, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = nice_ceiling(max([v for _, v in items] + [0]))
    n = max(len(items) - 1, 1)
    points = [Point(left + (i * plot_w) // n, top + plot_h - scale(v, top_value, plot_h), label, fmt(v))
              for i, (label, v) in enumerate(items)]
    axis_fmt = axis_fmt or (lambda d: fmt(int(d)))
    ticks = [Tick(top + plot_h - (plot_h * k) // 4, axis_fmt(top_value * k / 4)) for k in range(5)]
    return LineChart(_next_id("chart-"), title, desc, width, height, left, top, plot_w, plot_h, points, ticks)


@dataclass
class Bar:
    x: int
    y: int
    w: int
    h: int
    cls: str
    text: str
    label: str


@dataclass
class Group:
    label: str
    x: int  # centre of the group's label
    bars: list[Bar] = field(default_factory=list)


@dataclass
class BarChart:
    id: str
    title: str
    desc: str
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    groups: list[Group]
    ticks: list[Tick]
    legend: list[tuple[str, str]]  # (css class, series name)

    @property
    def baseline(self) -> int:
        return self.top + self.plot_h


def bar_chart(title: str, desc: str, categories: Sequence[str], series: Sequence[tuple[str, str, Sequence[int | None]]],
              fmt: Callable[[int], str], width: int = 680, height: int = 280) -> BarChart:
    """Vertical grouped bars: ``series`` = [(css class, name, values per category)]; None = unknown."""
    left, right, top, bottom = 96, 16, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, _, vs in series for v in vs if v is not None]
    top_value = nice_ceiling(max(values + [0]))
    slot = plot_w // max(len(categories), 1)
    bar_w = max(4, (slot - 12) // max(len(series), 1))
    groups = []
    for i, cat in enumerate(categories):
        x0 = left + i * slot + (slot - bar_w * len(series)) // 2
        group = Group(cat, left + i * slot + slot // 2)
        for j, (cls, name, vs) in enumerate(series):
            v = vs[i]
            h = scale(v or 0, top_value, plot_h)
            group.bars.append(Bar(x0 + j * bar_w, top + plot_h - h, bar_w - 2, h, cls,
                                  "—" if v is None else fmt(v), name))
        groups.append(group)
    ticks = [Tick(top + plot_h - (plot_h * k) // 4, fmt(int(top_value * k / 4))) for k in range(5)]
    return BarChart(_next_id("chart-"), title, desc, width, height, left, top, plot_w, plot_h, groups, ticks,
                    [(cls, name) for cls, name, _ in series])


@dataclass
class HRow:
    label: str
    y: int
    bars: list[Bar]


@dataclass
class HBarChart:
    id: str
    title: str
    desc: str
    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    rows: list[HRow]
    ticks: list[Tick]
    legend: list[tuple[str, str]]
    line_x: int | None = None  # a reference line (e.g. the 2.2 % target)
    line_text: str = ""


def hbar_chart(title: str, desc: str, rows: Sequence[tuple[str, Sequence[tuple[str, object, str]]]],
               legend: Sequence[tuple[str, str]], axis_fmt: Callable[[Decimal], str],
               reference: object | None = None, reference_text: str = "", width: int = 680,
               label_width: int = 150) -> HBarChart:
    """One row per label, each with one or more overlaid bars [(css class, value, text)].

    Overlaid bars are drawn in order (draw the larger, background one first); ``reference``
    draws a vertical line at that value.
    """
    row_h, top, bottom, right = 26, 16, 30, 110
    left = label_width
    plot_w = width - left - right
    values = [Decimal(v) for _, bars in rows for _, v, _ in bars if v is not None]
    if reference is not None:
        values.append(Decimal(reference) * Decimal("1.25"))
    top_value = nice_ceiling(max(values + [Decimal(0)]))
    plot_h = row_h * max(len(rows), 1)
    out = []
    for i, (label, bars) in enumerate(rows):
        y = top + i * row_h
        out.append(HRow(label, y, [Bar(left, y + 4, scale(v or 0, top_value, plot_w), row_h - 8, cls, text, label)
                                   for cls, v, text in bars]))
    ticks = [Tick(left + (plot_w * k) // 4, axis_fmt(top_value * k / 4)) for k in range(5)]
    chart = HBarChart(_next_id("chart-"), title, desc, width, top + plot_h + bottom, left, top, plot_w, plot_h, out,
                      ticks, list(legend))
    if reference is not None:
        chart.line_x, chart.line_text = left + scale(reference, top_value, plot_w), reference_text
    return chart
