"""Drafts, replays, forecasts and publication of parameter reforms.

Every figure comes from the rules engine itself (``marketplace.subsidies.evaluate``) run on the
year's scenario exported from the ledger, once under the parameters in force and once under
the draft: a reform is judged by the same code that drafts the claims.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from marketplace import permissions as perm
from marketplace.accounts.models import Organization
from marketplace.audit.models import record
from marketplace.core.errors import Conflict, NotFound, ServiceError
from marketplace.core.money import format_yuan
from marketplace.core.timeutil import beijing_today, utcnow
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.scenario import build_scenario
from marketplace.programmes.models import EnterpriseProfile
from marketplace.reforms import parameters as params
from marketplace.reforms.models import (
    DRAFT,
    PUBLISHED,
    ParameterDraft,
    ParameterDraftEdit,
    PublishedParameterValue,
)
from marketplace.subsidies import ParameterError, Parameters, evaluate

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# Parameters whose values are roles (lists of sizes, host levels) are not reformed here: they
# decide who is eligible, which a replay of past trade cannot judge (nobody who was refused
# is in the ledger).
EDITABLE_UNITS = ("rate", "share", "ratio", "cny", "year")
MAX_NAME = 120
MAX_REASON = 2000
MAX_DOCUMENT_NO = 80
# How far the forecast's range reaches either side of its central growth rate at the least
# (in growth-rate points), when the past years vary less than that or are too few to say.
MIN_SPREAD = Decimal("0.10")


# --- drafts -------------------------------------------------------------------------------------

def list_drafts(actor) -> list[ParameterDraft]:
    perm.require(actor, perm.DRAFT_REFORM)
    return list(db.session.scalars(select(ParameterDraft).order_by(ParameterDraft.id.desc())))


def get_draft(actor, draft_id: int) -> ParameterDraft:
    perm.require(actor, perm.DRAFT_REFORM)
    draft = db.session.get(ParameterDraft, draft_id)
    if draft is None:
        raise NotFound(_("No such draft."))
    return draft


def create_draft(actor, name: str) -> ParameterDraft:
    """A new draft: a copy of the parameters in force, under a name, with no changes yet."""
    perm.require(actor, perm.DRAFT_REFORM)
    name = _required_text(name, "name", MAX_NAME, _("Give the draft a name."))
    with unit_of_work():
        draft = ParameterDraft(name=name, status=DRAFT, created_by_id=actor.id)
        db.session.add(draft)
        db.session.flush()
        record(actor, "reform.create", "parameter_draft", draft.id, after={"name": name})
    return draft


def editable_parameters() -> list:
    """The parameters a draft may change, in the order of their clauses' files."""
    return [p for p in params.in_force().parameters.values() if p.unit in EDITABLE_UNITS]


def edit_value(actor, draft: ParameterDraft, name: str, text: str, reason: str) -> ParameterDraftEdit:
    """Set ``name`` to the value typed in ``text`` in the draft, with the reason for it."""
    perm.require(actor, perm.DRAFT_REFORM)
    _require_open(draft)
    current = params.in_force()
    try:
        parameter = current.get(name)
    except ParameterError:
        raise ServiceError(_("No such parameter."), "parameter") from None
    if parameter.unit not in EDITABLE_UNITS:
        raise ServiceError(_("This parameter decides who is eligible; a replay cannot judge it."), "parameter")
    reason = _required_text(reason, "reason", MAX_REASON, _("Say why the value changes."))
    value = _checked_value(current, name, text)
    with unit_of_work():
        edit = ParameterDraftEdit(draft_id=draft.id, parameter=name, value=_text(value), reason=reason,
                                  edited_by_id=actor.id)
        db.session.add(edit)
        record(actor, "reform.edit", "parameter_draft", draft.id,
               after={"parameter": name, "value": _text(value), "reason": reason})
    db.session.refresh(draft)
    return edit


def revert_value(actor, draft: ParameterDraft, name: str) -> None:
    """Take ``name`` out of the draft (back to the value in force); the edit history stays."""
    perm.require(actor, perm.DRAFT_REFORM)
    _require_open(draft)
    if name not in draft.changes():
        raise ServiceError(_("The draft does not change this parameter."), "parameter")
    with unit_of_work():
        db.session.add(ParameterDraftEdit(draft_id=draft.id, parameter=name, value="", reverted=True,
                                          reason=_("Back to the value in force."), edited_by_id=actor.id))
        record(actor, "reform.revert", "parameter_draft", draft.id, after={"parameter": name})
    db.session.refresh(draft)


def _required_text(value, field: str, limit: int, missing: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(missing, field)
    if len(value) > limit:
        raise ServiceError(_("At most %(n)d characters.", n=limit), field)
    return value


def _require_open(draft: ParameterDraft) -> None:
    if draft.status != DRAFT:
        raise Conflict(_("This draft has been published; copy it into a new draft to change it."))


def _checked_value(current: Parameters, name: str, text: str):
    """The typed value, checked exactly as the engine checks a value of its files."""
    text = (text or "").strip().replace("，", ",")
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    try:
        value = params.parse_value(current, name, text)
    except ValueError:
        raise ServiceError(_("Type a number such as 0.2, 20% or 300000."), "value") from None
    unit = current.get(name).unit
    if percent:
        if unit not in ("rate", "share", "ratio"):
            raise ServiceError(_("This parameter is an amount, not a percentage."), "value")
        value = value / 100
    if unit == "cny" and value != value.quantize(CENT):
        raise ServiceError(_("An amount has at most two decimals."), "value")
    try:
        current.amended(name, date(2000, 1, 1), value)
    except ParameterError:
        if unit in ("rate", "share"):
            raise ServiceError(_("A rate or share lies between 0 and 1 (0 % and 100 %)."), "value") from None
        raise ServiceError(_("The value must not be negative."), "value") from None
    return value


def _text(value) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def draft_parameters(draft: ParameterDraft, year: int, base: Parameters | None = None) -> Parameters:
    """The parameters in force with the draft's values applied throughout ``year`` and after."""
    parameters = base or params.in_force()
    for name, edit in sorted(draft.changes().items()):
        parameters = parameters.amended(name, date(year, 1, 1), params.parse_value(parameters, name, edit.value))
    return parameters


# --- replay -------------------------------------------------------------------------------------

@dataclass
class Money:
    city: Decimal = ZERO
    province: Decimal = ZERO

    def add(self, award) -> None:
        if award.payers is not None:
            self.city += award.payers.get("city", ZERO)
            self.province += award.payers.get("province", ZERO)
        else:
            self.city += award.amount


@dataclass
class Row:
    key: str
    label: str
    base: Money = field(default_factory=Money)
    draft: Money = field(default_factory=Money)
    detail: str = ""  # a second line (the credit code of an organisation)

    @property
    def city_change(self) -> Decimal:
        return self.draft.city - self.base.city

    @property
    def province_change(self) -> Decimal:
        return self.draft.province - self.base.province

    @property
    def change(self) -> Decimal:
        return self.city_change + self.province_change

    @property
    def city_ratio(self) -> Decimal | None:
        """The draft's city figure as a share of today's (None when today's is nothing)."""
        if not self.base.city:
            return None
        return (self.draft.city / self.base.city).quantize(Decimal("0.0001"), ROUND_HALF_UP)


@dataclass
class Comparison:
    year: int
    draft: ParameterDraft
    changes: list[tuple[str, object, object]]  # (parameter, value in force on 31 Dec, draft's value)
    total: Row
    by_clause: list[Row]
    by_county: list[Row]
    by_industry: list[Row]
    gainers: list[Row]
    losers: list[Row]
    transactions: int


def replay_years(actor) -> list[int]:
    """The years the ledger holds trade of, newest first."""
    perm.require(actor, perm.DRAFT_REFORM)
    year = func.extract("year", LedgerEntry.occurred_on)
    years = db.session.scalars(select(func.distinct(year)))
    return sorted((int(y) for y in years if y is not None), reverse=True)


def replay(actor, draft: ParameterDraft, year: int, *, top: int = 10) -> Comparison:
    """Evaluate ``year``'s scenario under the parameters in force and under the draft."""
    perm.require(actor, perm.DRAFT_REFORM)
    if year not in replay_years(actor):
        raise ServiceError(_("The ledger holds no trade in %(year)s.", year=year), "year")
    scenario = build_scenario(db.session, year)
    base_parameters = params.in_force()
    base = evaluate(scenario, parameters=base_parameters)
    drafted = evaluate(scenario, parameters=draft_parameters(draft, year, base_parameters))
    orgs = _organisations({a.beneficiary for a in base.awards} | {a.beneficiary for a in drafted.awards})
    total = Row("total", _("All clauses"))
    rows: dict[str, dict[str, Row]] = {"clause": {}, "county": {}, "industry": {}, "org": {}}

    def row(kind: str, key: str, label: str, detail: str = "") -> Row:
        r = rows[kind].get(key)
        if r is None:
            r = rows[kind][key] = Row(key, label, detail=detail)
        return r

    for side, result in (("base", base), ("draft", drafted)):
        for award in result.awards:
            org = orgs.get(award.beneficiary)
            county = (org or {}).get("county") or _("(no county)")
            industry = (org or {}).get("industry") or _("(industry not recorded)")
            name = (org or {}).get("name") or award.beneficiary
            for r in (total, row("clause", award.clause, award.clause), row("county", county, county),
                      row("industry", industry, industry),
                      row("org", award.beneficiary, name, detail=award.beneficiary)):
                getattr(r, side).add(award)
    changed = sorted(rows["org"].values(), key=lambda r: (r.change, r.label))
    at = date(year, 12, 31)
    draft_set = draft_parameters(draft, year, base_parameters)
    return Comparison(
        year=year, draft=draft,
        changes=[(name, base_parameters.value(name, at), draft_set.value(name, at))
                 for name in sorted(draft.changes())],
        total=total,
        by_clause=sorted(rows["clause"].values(), key=lambda r: _clause_order(r.key)),
        by_county=sorted(rows["county"].values(), key=lambda r: (-r.base.city, r.label)),
        by_industry=sorted(rows["industry"].values(), key=lambda r: (-r.base.city, r.label)),
        gainers=[r for r in reversed(changed) if r.change > 0][:top],
        losers=[r for r in changed if r.change < 0][:top],
        transactions=len(scenario.get("transactions", [])),
    )


def _clause_order(clause: str) -> tuple:
    head = clause.split(".")[0]
    return (head[0], int(head[1:]) if head[1:].isdigit() else 0, clause)


def _organisations(codes: set[str]) -> dict[str, dict]:
    if not codes:
        return {}
    q = (select(Organization.credit_code, Organization.name, Organization.county, EnterpriseProfile.industry)
         .outerjoin(EnterpriseProfile, EnterpriseProfile.organization_id == Organization.id)
         .where(Organization.credit_code.in_(codes)))
    from marketplace.programmes.common import industry_label

    return {code: {"name": name, "county": county, "industry": industry_label(industry) if industry else None}
            for code, name, county, industry in db.session.execute(q)}


# --- forecast -----------------------------------------------------------------------------------

@dataclass
class ForecastRow:
    clause: str
    history: list[tuple[int, Decimal]]  # (year, city + province under the rules in force)
    growth: Decimal  # the assumed yearly growth rate (central)
    spread: Decimal  # +/- growth-rate points of the range
    assumed: bool  # True: the growth rate was typed, not derived from the past years
    base_low: Decimal = ZERO
    base_mid: Decimal = ZERO
    base_high: Decimal = ZERO
    draft_low: Decimal = ZERO
    draft_mid: Decimal = ZERO
    draft_high: Decimal = ZERO


@dataclass
class Forecast:
    year: int  # the year forecast
    from_year: int  # the last year of history, replayed under the draft
    rows: list[ForecastRow]
    total: ForecastRow


def forecast(actor, draft: ParameterDraft, growth: dict[str, Decimal] | None = None, *,
             history_years: int = 5) -> Forecast:
    """Next year's cost per clause, under the rules in force and under the draft, as a range.

    The assumption, stated on the page: each clause's cost grows by the average of its
    year-over-year growth in the years the ledger holds (or by the rate typed), and the
    range reaches the spread of those yearly rates either side (at least ``MIN_SPREAD``).
    The draft's figure applies the draft's effect on the last full year (its replayed cost
    over the cost in force) to the same growth.
    """
    perm.require(actor, perm.DRAFT_REFORM)
    growth = growth or {}
    this_year = beijing_today().year
    years = sorted(y for y in replay_years(actor) if y < this_year)[-history_years:]
    if not years:
        raise ServiceError(_("The ledger holds no full year to forecast from."), "year")
    base_parameters = params.in_force()
    history: dict[str, dict[int, Decimal]] = defaultdict(dict)
    last_draft: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for y in years:
        scenario = build_scenario(db.session, y)
        for award in evaluate(scenario, parameters=base_parameters).awards:
            m = Money()
            m.add(award)
            history[award.clause][y] = history[award.clause].get(y, ZERO) + m.city + m.province
        if y == years[-1]:
            for award in evaluate(scenario, parameters=draft_parameters(draft, y, base_parameters)).awards:
                m = Money()
                m.add(award)
                last_draft[award.clause] += m.city + m.province
    last = years[-1]
    rows = []
    for clause in sorted(set(history) | set(last_draft), key=_clause_order):
        series = [(y, history[clause].get(y, ZERO)) for y in years]
        rates = [(b - a) / a for (_, a), (_, b) in zip(series, series[1:]) if a > 0]
        typed = growth.get(clause)
        central = typed if typed is not None else (sum(rates, Decimal(0)) / len(rates) if rates else Decimal(0))
        spread = max(MIN_SPREAD, Decimal(str(statistics.pstdev(rates))) if len(rates) > 1 else MIN_SPREAD)
        r = ForecastRow(clause, series, central.quantize(Decimal("0.0001")), spread.quantize(Decimal("0.0001")),
                        typed is not None)
        base_last = history[clause].get(last, ZERO)
        draft_last = last_draft.get(clause, ZERO)
        for prefix, amount in (("base", base_last), ("draft", draft_last)):
            low = _grow(amount, central - spread)
            mid = _grow(amount, central)
            high = _grow(amount, central + spread)
            setattr(r, f"{prefix}_low", low)
            setattr(r, f"{prefix}_mid", mid)
            setattr(r, f"{prefix}_high", high)
        rows.append(r)
    total = ForecastRow(_("All clauses"), [(y, sum((r.history[i][1] for r in rows), ZERO)) for i, y in enumerate(years)],
                        Decimal(0), Decimal(0), False)
    for attr in ("base_low", "base_mid", "base_high", "draft_low", "draft_mid", "draft_high"):
        setattr(total, attr, sum((getattr(r, attr) for r in rows), ZERO))
    return Forecast(year=this_year if last < this_year - 1 else last + 1, from_year=last, rows=rows, total=total)


def _grow(amount: Decimal, rate: Decimal) -> Decimal:
    return max(ZERO, (amount * (1 + rate)).quantize(CENT, ROUND_HALF_UP))


def parse_growth(form: dict) -> dict[str, Decimal]:
    """Growth rates typed on the forecast form (``growth-A3`` = ``12`` meaning 12 %)."""
    out = {}
    for key, text in form.items():
        if not key.startswith("growth-") or not str(text).strip():
            continue
        raw = str(text).strip().rstrip("%").strip()
        try:
            value = Decimal(raw)
        except Exception:
            raise ServiceError(_("Type a growth rate in per cent, such as 8 or -5."), key) from None
        if not value.is_finite() or not Decimal(-100) <= value <= Decimal(1000):
            raise ServiceError(_("Type a growth rate in per cent, such as 8 or -5."), key)
        out[key[len("growth-"):]] = value / 100
    return out


# --- publication --------------------------------------------------------------------------------

def earliest_effective_date() -> date:
    """New values take effect on 1 January of a coming year: the subsidy year is the calendar
    year and the yearly clauses read the values in force on 31 December, so a change within
    the current year would rewrite the whole year's claims."""
    return date(beijing_today().year + 1, 1, 1)


def require_publisher(actor) -> None:
    perm.require(actor, perm.PUBLISH_PARAMETERS)


def publish(actor, draft: ParameterDraft, effective_from: date, document_no: str) -> list[PublishedParameterValue]:
    """Publish the draft's values as new dated parameter values (administrators only)."""
    perm.require(actor, perm.PUBLISH_PARAMETERS)
    document_no = _required_text(document_no, "document_no", MAX_DOCUMENT_NO,
                                 _("Give the number of the decision that sets the new values (文号)."))
    if not isinstance(effective_from, date):
        raise ServiceError(_("Give the date the new values take effect."), "effective_from")
    if effective_from < earliest_effective_date() or (effective_from.month, effective_from.day) != (1, 1):
        raise ServiceError(_("New values take effect on 1 January of a coming year (the earliest is %(d)s): "
                             "yearly clauses read the values in force on 31 December, so a change within "
                             "a year would rewrite its claims.", d=earliest_effective_date().isoformat()),
                           "effective_from")
    changes = draft.changes()
    if not changes:
        raise ServiceError(_("The draft changes no value."))
    current = params.in_force()
    with unit_of_work():
        claimed = db.session.execute(
            update(ParameterDraft).where(ParameterDraft.id == draft.id, ParameterDraft.status == DRAFT)
            .values(status=PUBLISHED, effective_from=effective_from, document_no=document_no,
                    published_by_id=actor.id, published_at=utcnow()))
        if claimed.rowcount != 1:
            raise Conflict(_("This draft has already been published."))
        rows = []
        for name, edit in sorted(changes.items()):
            row = PublishedParameterValue(parameter=name, effective_from=effective_from, value=edit.value,
                                          document_no=document_no, draft_id=draft.id, published_by_id=actor.id)
            db.session.add(row)
            rows.append(row)
        record(actor, "reform.publish", "parameter_draft", draft.id,
               before={name: _text(current.value(name, effective_from)) for name in changes},
               after={"values": {name: e.value for name, e in changes.items()},
                      "effective_from": effective_from.isoformat(), "document_no": document_no})
    db.session.refresh(draft)
    return rows


def published_values(actor) -> list[PublishedParameterValue]:
    perm.require(actor, perm.DRAFT_REFORM)
    return list(db.session.scalars(select(PublishedParameterValue).order_by(
        PublishedParameterValue.effective_from.desc(), PublishedParameterValue.id.desc())))


# --- the targets under a draft ------------------------------------------------------------------

# Which clauses of a scenario pay for what a five-year target counts. Targets met by award
# claims filed with evidence (projects: B1; recognised enterprises: B2) are not replayed, and
# the county R&D indicator is paid by nobody.
TARGET_CLAUSES = {
    "achievements_transferred": ("A1.DT", "A1.CS", "A2.city"),
}


@dataclass
class TargetEffect:
    clauses: tuple[str, ...]
    base: Decimal
    draft: Decimal
    count: int | None = None  # what the target counts, in the replayed year

    def per_unit(self, amount: Decimal) -> Decimal | None:
        if not self.count:
            return None
        return (amount / self.count).quantize(CENT, ROUND_HALF_UP)


def target_effects(actor, draft: ParameterDraft, year: int) -> dict[str, TargetEffect]:
    """Per target measure, the public money its clauses cost in ``year`` in force and under the
    draft, and per unit of what the target counts. A replay cannot say how many more contracts
    a richer subsidy would have brought; it says what each one would have cost."""
    from marketplace.programmes.targets import MEASURES

    comparison = replay(actor, draft, year)
    by_clause = {r.key: r for r in comparison.by_clause}
    period = (date(year, 1, 1), date(year, 12, 31))
    effects = {}
    for measure, clauses in TARGET_CLAUSES.items():
        rows = [by_clause[c] for c in clauses if c in by_clause]
        figure = MEASURES[measure](period)
        effects[measure] = TargetEffect(
            clauses, sum((r.base.city + r.base.province for r in rows), ZERO),
            sum((r.draft.city + r.draft.province for r in rows), ZERO),
            figure.value if isinstance(figure.value, int) else None)
    return effects


def yuan(amount: Decimal) -> str:
    """An engine amount (Decimal yuan) as people read it."""
    return format_yuan(int(amount * 100))


def targets_under_draft(actor, args) -> dict:
    """The targets page's draft column: which draft and year (from the query), and its effects."""
    if not perm.can(actor, perm.DRAFT_REFORM):
        return {}
    drafts = list_drafts(actor)
    years = replay_years(actor)
    out = {"reform_drafts": drafts, "reform_years": years, "reform": None}
    try:
        draft_id = int(args.get("draft", ""))
        year = int(args.get("year") or (years[0] if years else 0))
    except ValueError:
        return out
    draft = next((d for d in drafts if d.id == draft_id), None)
    if draft is None or year not in years:
        return out
    out["reform"] = {"draft": draft, "year": year, "effects": target_effects(actor, draft, year),
                     "yuan": yuan}
    return out
