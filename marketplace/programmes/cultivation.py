"""The high-tech enterprise cultivation pool (高新技术企业培育库), section 1.3.

An enterprise enters its figures; the pure check (``marketplace.subsidies.hte_assessment``)
shows each national criterion met or missed with its shortfall; the city admits, keeps,
removes or records as recognised, always with a reason, in the pool's history and the
audit log.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.accounts.models import Organization
from marketplace.audit.models import record
from marketplace.core.errors import Conflict, ServiceError
from marketplace.extensions import db
from marketplace.core.money import fen_to_str
from marketplace.programmes import common
from marketplace.programmes.models import POOL_DECISIONS, POOL_STATUSES, HteFigureSet, PoolDecision, PoolEntry
from marketplace.subsidies import HteAssessment, HteError, hte_assessment
from marketplace.core.timeutil import utcnow

FIGURE_FIELDS = ("revenue_last_year", "revenue_3y", "rd_3y", "rd_3y_in_china", "high_tech_revenue")
COUNT_FIELDS = ("staff", "st_staff", "core_ip_count")


def _consistency_message(field: str) -> str:
    return {
        "revenue_3y": _("The three years' revenue includes last year's: it cannot be smaller."),
        "rd_3y_in_china": _("R&D spent in China is part of all R&D: it cannot be larger."),
        "high_tech_revenue": _("High-tech revenue is part of last year's revenue: it cannot be larger."),
        "staff": _("Enter at least one member of staff."),
        "st_staff": _("S&T staff are part of the staff: they cannot be more."),
    }.get(field, _("Check this figure."))


def _organization(organization_id) -> Organization:
    return common.get_or_404(Organization, organization_id)


def latest_figures(organization_id: int) -> HteFigureSet | None:
    return db.session.scalar(select(HteFigureSet).where(HteFigureSet.organization_id == organization_id)
                             .order_by(HteFigureSet.id.desc()).limit(1))


def assess(figures: HteFigureSet | None, on: date | None = None) -> HteAssessment | None:
    if figures is None:
        return None
    return hte_assessment(figures.engine_figures(), on or utcnow().date())


def enter_figures(actor, organization_id: int, data: dict) -> tuple[HteFigureSet, HteAssessment]:
    """Record an enterprise's figures (a new row each time) and check them against the criteria."""
    org = _organization(organization_id)
    perm.require(actor, perm.ENTER_HTE_FIGURES, org)
    values = {f"{name}_fen": common.fen(data.get(name), name) for name in FIGURE_FIELDS}
    values.update({name: common.whole(data.get(name), name) for name in COUNT_FIELDS})
    values["founded_on"] = common.day(data.get("founded_on"), "founded_on")
    today = utcnow().date()
    if values["founded_on"] > today:
        raise ServiceError(_("The founding date cannot be in the future."), "founded_on")
    fiscal_year = data.get("fiscal_year") or today.year - 1
    fiscal_year = common.whole(fiscal_year, "fiscal_year")
    if not (values["founded_on"].year <= fiscal_year <= today.year):
        raise ServiceError(_("The year of the figures must be between the founding year and this year."),
                           "fiscal_year")
    figures = HteFigureSet(organization_id=org.id, fiscal_year=fiscal_year, entered_by_id=actor.id, **values)
    try:
        assessment = hte_assessment(figures.engine_figures(), today)
    except HteError as exc:
        raise ServiceError(_consistency_message(exc.field), exc.field) from None
    db.session.add(figures)
    db.session.commit()
    return figures, assessment


@dataclass
class Candidate:
    organization: Organization
    entry: PoolEntry | None
    figures: HteFigureSet | None
    assessment: HteAssessment | None

    @property
    def criteria_met(self) -> int | None:
        return None if self.assessment is None else sum(c.met for c in self.assessment.criteria)


def own_enterprise(actor) -> Organization:
    """The enterprise whose figures the actor enters (refused to anyone else)."""
    org = actor.organization
    perm.require(actor, perm.ENTER_HTE_FIGURES, org)
    return org


def assessment_for(actor, organization_id: int, deciding: bool = False) -> Candidate:
    """An organisation's figures and assessment; ``deciding``: for the pool decision (managers only)."""
    if deciding:
        perm.require(actor, perm.MANAGE_PROGRAMMES)
    org = _organization(organization_id)
    perm.require(actor, perm.VIEW_HTE, org)
    entry = db.session.scalar(select(PoolEntry).where(PoolEntry.organization_id == org.id))
    figures = latest_figures(org.id)
    return Candidate(org, entry, figures, assess(figures))


def candidates(actor, status: str | None = None) -> list[Candidate]:
    """Enterprises in the pool (``status``) or, with ``status`` "candidates", those that
    entered figures and are not in it. None: everything."""
    perm.require(actor, perm.VIEW_PROGRAMMES)
    entries = {e.organization_id: e for e in db.session.scalars(select(PoolEntry))}
    latest_ids = select(func.max(HteFigureSet.id)).group_by(HteFigureSet.organization_id)
    figures = {f.organization_id: f for f in db.session.scalars(select(HteFigureSet).where(
        HteFigureSet.id.in_(latest_ids)))}
    org_ids = set(entries) | set(figures)
    if status in POOL_STATUSES:
        org_ids = {i for i in org_ids if i in entries and entries[i].status == status}
    elif status == "candidates":
        org_ids = {i for i in org_ids if i not in entries or entries[i].status == "removed"}
    orgs = db.session.scalars(select(Organization).where(Organization.id.in_(org_ids)).order_by(Organization.name))
    today = utcnow().date()
    return [Candidate(o, entries.get(o.id), figures.get(o.id), assess(figures.get(o.id), today)) for o in orgs]


def decide(actor, organization_id: int, decision: str, reason: str, certificate_no: str | None = None) -> PoolEntry:
    """Admit to, keep in or remove from the pool, or record recognition; the reason is required."""
    perm.require(actor, perm.MANAGE_PROGRAMMES)
    org = _organization(organization_id)
    decision = common.choice(decision, "decision", POOL_DECISIONS)
    reason = common.text(reason, "reason", 1000)
    entry = db.session.scalar(select(PoolEntry).where(PoolEntry.organization_id == org.id))
    today = utcnow().date()
    before = {"status": entry.status} if entry else None
    if decision == "admit":
        if org.kind != "enterprise":
            raise ServiceError(_("Only enterprises enter the cultivation pool."), "decision")
        if entry is not None and entry.status == "admitted":
            raise Conflict(_("This enterprise is already in the pool."))
        if entry is not None and entry.status == "recognised":
            raise Conflict(_("This enterprise is already recognised as a high-tech enterprise."))
        if entry is None:
            entry = PoolEntry(organization_id=org.id, status="admitted", reason=reason, admitted_on=today,
                              reviewed_on=today)
            db.session.add(entry)
        entry.status, entry.admitted_on = "admitted", today
    else:
        if entry is None or entry.status != "admitted":
            raise Conflict(_("This enterprise is not in the pool."))
        if decision == "remove":
            entry.status = "removed"
        elif decision == "recognise":
            entry.certificate_no = common.text(certificate_no, "certificate_no", 40)
            entry.status, entry.recognised_on = "recognised", today
    entry.reason, entry.reviewed_on = reason, today
    db.session.flush()
    figures = latest_figures(org.id)
    assessment = assess(figures, today)
    met = None if assessment is None else sum(c.met for c in assessment.criteria)
    db.session.add(PoolDecision(entry_id=entry.id, decision=decision, reason=reason,
                                figures_id=figures.id if figures else None, criteria_met=met,
                                decided_by_id=actor.id))
    record(actor, f"hte_pool.{decision}", "organization", org.id, before=before,
           after={"status": entry.status, "reason": reason, "criteria_met": met,
                  "certificate_no": entry.certificate_no})
    db.session.commit()
    return entry


def pool_counts() -> dict[str, int]:
    rows = db.session.execute(select(PoolEntry.status, func.count()).group_by(PoolEntry.status))
    counts = {s: 0 for s in POOL_STATUSES}
    counts.update({status: n for status, n in rows})
    return counts


def list_pool(actor, status: str | None = "admitted") -> list[dict]:
    """Read-only, JSON-ready: the pool (for the API)."""
    perm.require(actor, perm.VIEW_PROGRAMMES)
    out = []
    for c in candidates(actor, status):
        if c.entry is None:
            continue
        out.append({
            "organization": {"id": c.organization.id, "name": c.organization.name,
                             "credit_code": c.organization.credit_code, "county": c.organization.county},
            "status": c.entry.status, "reason": c.entry.reason, "admitted_on": c.entry.admitted_on.isoformat(),
            "reviewed_on": c.entry.reviewed_on.isoformat(), "certificate_no": c.entry.certificate_no,
            "figures_year": c.figures.fiscal_year if c.figures else None,
            "revenue_last_year": fen_to_str(c.figures.revenue_last_year_fen) if c.figures else None,
            "criteria": [cr.to_dict() for cr in c.assessment.criteria] if c.assessment else [],
        })
    return out
