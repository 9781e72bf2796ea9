"""The major S&T project reserve (科技项目库), section 1.1.

City-county joint projects are proposed by their lead organisation, reviewed by the city
into the reserve (or rejected), funded (city share at most the B1 cap, computed by the
engine) and completed, recording whether the key technology was broken through.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.accounts.models import COUNTIES, Organization
from marketplace.audit.models import record
from marketplace.core import paging
from marketplace.core.errors import Conflict, ServiceError
from marketplace.extensions import db
from marketplace.core.money import fen_to_str, format_yuan
from marketplace.programmes import common
from marketplace.programmes.commissioners import _claims_file_claim
from marketplace.programmes.models import PROJECT_STATUSES, MajorProject
from marketplace.subsidies import compute_claim, default_parameters
from marketplace.subsidies.money import parse_fen
from marketplace.core.timeutil import utcnow
from marketplace.reforms.parameters import in_force


def propose(actor, organization_id: int, data: dict) -> MajorProject:
    org = common.get_or_404(Organization, organization_id)
    perm.require(actor, perm.PROPOSE_PROJECT, org)
    p = MajorProject(title=common.text(data.get("title"), "title", 200), organization_id=org.id,
                     county=common.choice(data.get("county") or org.county, "county", COUNTIES),
                     industry=common.choice(data.get("industry"), "industry", tuple(common.industries())),
                     bottleneck=common.text(data.get("bottleneck"), "bottleneck", 5000),
                     requested_city_fen=common.fen(data.get("requested_city"), "requested_city"),
                     status="proposed", proposed_by_id=actor.id)
    cap = b1_cap_fen()
    if p.requested_city_fen > cap:
        raise ServiceError(_("The city supports a project with at most %(cap)s.", cap=format_yuan(cap)),
                           "requested_city")
    db.session.add(p)
    db.session.flush()
    record(actor, "project.propose", "major_project", p.id, after={"title": p.title, "organization_id": org.id})
    db.session.commit()
    return p


def proposing_organization(actor) -> Organization:
    """The organisation the actor proposes a project for (refused unless it may)."""
    org = actor.organization
    perm.require(actor, perm.PROPOSE_PROJECT, org)
    return org


STEPS = ("review", "fund", "complete")


def take_step(actor, project_id: int, step: str, data: dict, invalid: str | None = None) -> MajorProject:
    """A manager's step on a project from its page's form; ``invalid``: what was wrong with the form."""
    if step not in STEPS:
        raise ServiceError(_("This project cannot take that step now."))
    perm.require(actor, perm.MANAGE_PROGRAMMES)
    if invalid:
        raise ServiceError(invalid)
    if step == "review":
        return review(actor, project_id, data["decision"], data["note"])
    if step == "fund":
        return fund(actor, project_id, data["city_share"], data.get("county_share") or None,
                    data.get("funded_on") or None)
    return complete(actor, project_id, data["breakthrough"], data.get("completed_on") or None)


def get_project(actor, project_id: int) -> MajorProject:
    p = common.get_or_404(MajorProject, project_id)
    perm.require(actor, perm.VIEW_PROJECT, p)
    return p


def b1_cap_fen(on=None) -> int:
    return parse_fen(default_parameters().value("b1.cap", on or utcnow().date()))


def _transition(actor, project_id: int, allowed: tuple[str, ...]) -> MajorProject:
    perm.require(actor, perm.MANAGE_PROGRAMMES)
    p = common.get_or_404(MajorProject, project_id)
    if p.status not in allowed:
        raise Conflict(_("This project cannot take that step now."))
    return p


def review(actor, project_id: int, decision: str, note: str) -> MajorProject:
    """Into the reserve (入库) or rejected, with the reviewers' note."""
    p = _transition(actor, project_id, ("proposed",))
    decision = common.choice(decision, "decision", ("reserve", "reject"))
    note = common.text(note, "note", 2000)
    before = {"status": p.status}
    p.status, p.review_note = ("reserved" if decision == "reserve" else "rejected"), note
    record(actor, f"project.{decision}", "major_project", p.id, before=before, after={"status": p.status, "note": note})
    db.session.commit()
    return p


def b1_award(p: MajorProject, city_share_fen: int, on):
    return compute_claim("B1", {"applicant": p.organization.credit_code, "project": p.title,
                                "city_county_joint": True, "requested_amount": fen_to_str(city_share_fen)}, on,
                         parameters=in_force())


def fund(actor, project_id: int, city_share, county_share, funded_on=None) -> MajorProject:
    """Fund a reserved project: the city share may not exceed the B1 cap in force on ``funded_on``."""
    p = _transition(actor, project_id, ("reserved",))
    city = common.fen(city_share, "city_share")
    county = common.fen(county_share, "county_share", required=False)
    funded_on = common.day(funded_on, "funded_on") if funded_on else utcnow().date()
    if city <= 0:
        raise ServiceError(_("Enter the city's share of the funding."), "city_share")
    award = b1_award(p, city, funded_on)
    if parse_fen(award.amount) < city:
        raise ServiceError(_("The city supports a project with at most %(cap)s.", cap=format_yuan(b1_cap_fen(funded_on))),
                           "city_share")
    before = {"status": p.status}
    p.status, p.city_share_fen, p.county_share_fen, p.funded_on = "funded", city, county, funded_on
    record(actor, "project.fund", "major_project", p.id, before=before,
           after={"status": "funded", "city_share": fen_to_str(city),
                  "county_share": fen_to_str(county) if county is not None else None})
    db.session.commit()
    return p


def complete(actor, project_id: int, breakthrough: bool, completed_on=None) -> MajorProject:
    p = _transition(actor, project_id, ("funded",))
    completed_on = common.day(completed_on, "completed_on") if completed_on else utcnow().date()
    if completed_on < p.funded_on:
        raise ServiceError(_("A project is completed after it is funded."), "completed_on")
    before = {"status": p.status}
    p.status, p.completed_on, p.breakthrough = "completed", completed_on, bool(breakthrough)
    record(actor, "project.complete", "major_project", p.id, before=before,
           after={"status": "completed", "breakthrough": p.breakthrough})
    db.session.commit()
    return p


def file_project_claim(actor, project_id: int):
    """File the B1 claim of a funded project through ``marketplace.claims``."""
    p = _transition(actor, project_id, ("funded", "completed"))
    if p.claim_id is not None:
        raise Conflict(_("The claim of this project is already filed."))
    file_claim = _claims_file_claim()
    evidence = {"applicant": p.organization.credit_code, "project": p.title, "city_county_joint": True,
                "requested_amount": fen_to_str(p.city_share_fen)}
    claim = file_claim(actor, p.organization_id, "B1", evidence, p.funded_on.year)
    p.claim_id = claim.id
    record(actor, "project.claim_filed", "major_project", p.id, after={"claim_id": claim.id})
    db.session.commit()
    return claim


def projects(actor, status: str | None = None, page: int = 1,
             per_page: int = paging.PER_PAGE) -> paging.Page[MajorProject]:
    """The city sees every project; a member sees its organisation's. Newest first, a page at a time."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        perm.require(actor, perm.VIEW_PROGRAMMES)
    stmt = select(MajorProject)
    if not perm.can(actor, perm.VIEW_PROGRAMMES):
        org = actor.organization
        stmt = stmt.where(MajorProject.organization_id == (org.id if org else -1))
    if status in PROJECT_STATUSES:
        stmt = stmt.where(MajorProject.status == status)
    return paging.paginate(stmt, order_by=(), tiebreak=MajorProject.id.desc(), page=page, per_page=per_page)


def project_counts(period=None) -> dict:
    """Reserve (held now), implemented (funded in the period) and breakthroughs (completed in it)."""
    reserve = db.session.scalar(select(func.count()).select_from(MajorProject).where(MajorProject.status == "reserved"))
    implemented = select(func.count()).select_from(MajorProject).where(
        MajorProject.status.in_(("funded", "completed")))
    breakthroughs = select(func.count()).select_from(MajorProject).where(
        MajorProject.status == "completed", MajorProject.breakthrough.is_(True))
    if period:
        implemented = implemented.where(MajorProject.funded_on.between(*period))
        breakthroughs = breakthroughs.where(MajorProject.completed_on.between(*period))
    return {"reserve": reserve, "implemented": db.session.scalar(implemented),
            "breakthroughs": db.session.scalar(breakthroughs)}


def list_projects(actor, status: str | None = None) -> list[dict]:
    """Read-only, JSON-ready: the project reserve (for the API)."""
    def money(v):
        return fen_to_str(v) if v is not None else None
    return [{"id": p.id, "title": p.title, "status": p.status, "county": p.county, "industry": p.industry,
             "organization": {"id": p.organization_id, "name": p.organization.name},
             "requested_city": money(p.requested_city_fen), "city_share": money(p.city_share_fen),
             "county_share": money(p.county_share_fen),
             "funded_on": p.funded_on.isoformat() if p.funded_on else None,
             "completed_on": p.completed_on.isoformat() if p.completed_on else None,
             "breakthrough": p.breakthrough, "claim_id": p.claim_id}
            for p in projects(actor, status, per_page=paging.MAX_PER_PAGE)]

