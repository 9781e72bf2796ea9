"""What the reform pages show: labels, charts and the export, from the services' figures."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from marketplace import permissions as perm
from marketplace.core.money import format_yuan
from marketplace.dashboards import charts, exports
from marketplace.dashboards.pages import axis_yuan
from marketplace.reforms import parameters as params
from marketplace.reforms import services
from marketplace.subsidies import ParameterError


def _fen(amount: Decimal) -> int:
    return int(amount * 100)


yuan = services.yuan


def value_text(unit: str, value) -> str:
    """A parameter value as people read it: rates as per cent, amounts in yuan."""
    if unit in ("rate", "share") and isinstance(value, Decimal):
        return f"{(value * 100).normalize():f} %"
    if unit == "cny" and isinstance(value, Decimal):
        return format_yuan(_fen(value))
    return str(value)


def parameter_label(p) -> str:
    return f"{p.name} · {p.sentence_zh}"


def parameter_choices() -> list[tuple[str, str]]:
    return [(p.name, parameter_label(p)) for p in services.editable_parameters()]


def draft_page(actor, draft) -> dict:
    current = params.in_force()
    from marketplace.core.timeutil import beijing_today

    today = beijing_today()
    changes = []
    for name, edit in sorted(draft.changes().items()):
        p = current.get(name)
        try:
            now = value_text(p.unit, current.value(name, today))
        except ParameterError:
            now = "—"
        changes.append({"name": name, "sentence": p.sentence_zh, "section": p.section, "now": now,
                        "draft": value_text(p.unit, params.parse_value(current, name, edit.value)),
                        "reason": edit.reason, "by": edit.edited_by.name, "at": edit.edited_at})
    return {"draft": draft, "changes": changes, "history": list(reversed(draft.edits)),
            "years": services.replay_years(actor), "can_publish": perm.can(actor, perm.PUBLISH_PARAMETERS),
            "earliest": services.earliest_effective_date()}


def replay_page(actor, draft, year: int) -> dict:
    c = services.replay(actor, draft, year)
    cats = [r.label for r in c.by_clause]
    chart = charts.bar_chart(
        _("City's cost by clause, %(year)d: in force and under the draft", year=year),
        _("Two bars per clause: the city's cost under the parameters in force and under the draft. "
          "The values are in the table below."),
        cats, [("bar-drafted", _("In force"), [_fen(r.base.city) for r in c.by_clause]),
               ("bar-approved", _("Draft"), [_fen(r.draft.city) for r in c.by_clause])], axis_yuan)
    current = params.in_force()
    changes = [(name, value_text(current.get(name).unit, now), value_text(current.get(name).unit, new))
               for name, now, new in c.changes]
    from flask_babel import get_locale

    from marketplace.dashboards.services import clause_title

    locale = str(get_locale() or "zh")
    for r in c.by_clause:
        r.detail = clause_title(r.key, locale)
    return {"c": c, "chart": chart, "changes": changes, "yuan": yuan, "years": services.replay_years(actor)}


def replay_export(actor, draft, year: int) -> exports.Export:
    c = services.replay(actor, draft, year)
    headers = [_("Group"), _("Name"), _("City, in force"), _("City, draft"), _("City, change"),
               _("Province, in force"), _("Province, draft"), _("Province, change")]
    rows = []
    for group, items in ((_("Total"), [c.total]), (_("Clause"), c.by_clause), (_("County"), c.by_county),
                         (_("Industry"), c.by_industry), (_("Gains most"), c.gainers), (_("Loses most"), c.losers)):
        for r in items:
            name = f"{r.label} ({r.detail})" if r.detail else r.label
            rows.append([group, name, r.base.city, r.draft.city, r.city_change,
                         r.base.province, r.draft.province, r.province_change])
    table = exports.Table(name=f"reform-{draft.id}-{year}", title=_("Reform replay %(year)d", year=year),
                          headers=headers, rows=rows, money_columns=(2, 3, 4, 5, 6, 7))
    return exports.export(table, "xlsx")


def forecast_page(actor, draft, args) -> dict:
    growth, error = {}, None
    try:
        growth = services.parse_growth(args)
    except services.ServiceError as exc:
        error = exc.message
    try:
        f = services.forecast(actor, draft, growth)
    except services.ServiceError as exc:
        if exc.field != "year":
            raise
        f, error = None, exc.message
    typed = {k[len("growth-"):]: v for k, v in args.items() if k.startswith("growth-")}
    return {"draft": draft, "f": f, "yuan": yuan, "error": error, "typed": typed,
            "pct": lambda r: f"{(r * 100).quantize(Decimal('0.1'))} %"}
