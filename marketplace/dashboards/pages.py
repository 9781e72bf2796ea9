"""What the dashboard pages show: the services' figures, with their charts."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from marketplace.core.money import fen_to_yuan, format_yuan
from marketplace.dashboards import charts, services


def _locale() -> str:
    return str(get_locale() or "zh")


def axis_yuan(fen) -> str:
    """Whole yuan for chart axes: ¥1,250,000."""
    yuan = (Decimal(fen) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"¥{yuan:,}"


def pct(share: Decimal) -> str:
    return f"{(Decimal(share) * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def county_label(key) -> str:
    return _("Outside the city or unknown") if key == services.OUTSIDE else str(key)


def month_label(year: int, month: int) -> str:
    from datetime import date

    return format_date(date(year, month, 1), "MMM")


def turnover_charts(t: services.Turnover) -> dict:
    months = [(month_label(t.year, r.key), r.total_fen) for r in t.by_month]
    line = charts.line_chart(
        _("Turnover by month, %(year)d", year=t.year),
        _("Line chart of the turnover recorded on the ledger in each month of %(year)d; the values are in the "
          "table below.", year=t.year),
        months, format_yuan, axis_fmt=axis_yuan)
    county = charts.hbar_chart(
        _("Turnover by county, %(year)d", year=t.year),
        _("One bar per county or district: turnover counted for the organisations registered there; the values "
          "are in the table below."),
        [(county_label(r.key), [("bar-turnover", r.total_fen, format_yuan(r.total_fen))]) for r in t.by_county],
        [("bar-turnover", _("Turnover"))], axis_yuan, label_width=170)
    return {"month_chart": line, "county_chart": county}


def awards_chart(a: services.Awards):
    locale = _locale()
    cats = [r.clause for r in a.rows]
    series = [("bar-drafted", _("Drafted"), [r.drafted_fen for r in a.rows]),
              ("bar-approved", _("Approved"), [r.approved_fen for r in a.rows]),
              ("bar-paid", _("Paid"), [r.paid_fen for r in a.rows])]
    titles = "; ".join(f"{r.clause} {services.clause_title(r.clause, locale)}" for r in a.rows)
    return charts.bar_chart(_("Awards by clause, %(year)d", year=a.year),
                            _("Bars per clause: %(clauses)s. The values are in the table below.",
                              clauses=titles or "—"), cats, series, axis_yuan)


def budget_chart(rows: list[services.BudgetRow], year: int):
    return charts.hbar_chart(
        _("Budget used against budget, %(year)d", year=year),
        _("One row per clause: the pale bar is the budget, the dark bar what is committed or paid. The values "
          "are in the table below."),
        [(r.clause, [("bar-budget", r.budget_fen, format_yuan(r.budget_fen)),
                     ("bar-used", r.used_fen, format_yuan(r.used_fen))]) for r in rows],
        [("bar-budget", _("Budget")), ("bar-used", _("Committed or paid"))], axis_yuan, label_width=90)


def indicator_chart(view: services.IndicatorView):
    result = view.result
    if result is None:
        return None
    rows = [(c.county, [("bar-reaches" if c.reaches else "bar-below", c.intensity, c.intensity_pct)])
            for c in result.counties]
    return charts.hbar_chart(
        _("R&D spending as a share of GDP, %(year)d", year=view.year),
        _("One bar per county against the target line at %(target)s; %(reaching)d of %(total)d counties reach "
          "it. The values are in the table below.", target=pct(result.target_intensity),
          reaching=result.reaching, total=result.total),
        rows, [("bar-reaches", _("Reaches the target")), ("bar-below", _("Below the target"))],
        lambda d: pct(d), reference=result.target_intensity,
        reference_text=pct(result.target_intensity), label_width=110)


def overview(actor, year: int) -> dict:
    t = services.turnover(actor, year)
    a = services.awards(actor, year)
    b = services.budgets(actor, year)
    ind = services.county_indicator(actor, year)
    page = {"year": year, "turnover": t, "awards": a, "budgets": b, "indicator": ind,
            "awards_chart": awards_chart(a), "budget_chart": budget_chart(b, year) if b else None,
            "indicator_chart": indicator_chart(ind), "kinds": services.TURNOVER_KINDS,
            "county_label": county_label, "month_label": month_label, "pct": pct,
            "clause_title": lambda cid: services.clause_title(cid, _locale())}
    page.update(turnover_charts(t))
    return page


def indicator(actor, year: int) -> dict:
    from marketplace import permissions as perm

    view = services.county_indicator(actor, year)
    return {"year": year, "indicator": view, "indicator_chart": indicator_chart(view), "pct": pct,
            "progress": services.targets_progress(actor),
            "can_edit": perm.can(actor, perm.EDIT_COUNTY_RD), "counties": services.INDICATOR_COUNTIES}


def yuan(fen: int) -> Decimal:
    return fen_to_yuan(fen)


def exports(actor, year: int) -> dict:
    services._view(actor)
    return {"year": year}


def notice(actor, claim_id: int) -> dict:
    claim = services.claim_for_notice(actor, claim_id)
    return {"claim": claim, "clause_title": lambda cid: services.clause_title(cid, _locale())}
