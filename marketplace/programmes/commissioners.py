"""Science and technology commissioners (科技特派员), section 3.3.

A registry of commissioners, their demonstration bases, 农科驿站 and 星创天地, and the
projects they lead with enterprises. The yearly selection (and the one-time awards) is
entered once, as a ``Selection``: the engine computes its amount on the day of selection
(``compute_claim``, clause B6.*), and the B6 claim is filed from it.
"""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import permissions as perm
from marketplace.accounts.models import COUNTIES, Organization
from marketplace.audit.models import record
from marketplace.core.errors import Conflict, ServiceError
from marketplace.extensions import db
from marketplace.core.money import fen_to_str
from marketplace.programmes import common
from marketplace.programmes.models import (BASE_KINDS, COMMISSIONER_KINDS, LEVELS, SELECTION_CATEGORIES, Commissioner,
                                           CommissionerBase, CommissionerProject, Selection)
from marketplace.subsidies import ClaimError, compute_claim
from marketplace.subsidies.money import parse_fen
from marketplace.core.timeutil import utcnow
from marketplace.reforms.parameters import in_force

# Which registry row each category selects.
SUBJECTS = {"base": "base", "star": "base", "station": "base",
            "excellent": "commissioner", "advanced": "commissioner", "enterprise": "commissioner",
            "project": "project"}
ONE_TIME = ("star", "station")


class ClaimsUnavailable(ServiceError):
    """The claims service is not installed yet: the selection stays, nothing is filed."""

    status = 503


def _county(value, field="county"):
    if value in (None, ""):
        return None
    return common.choice(value, field, COUNTIES)


def _org(value, field, required=True) -> Organization | None:
    if value in (None, ""):
        if required:
            raise ServiceError(_("This field is required."), field)
        return None
    try:
        org = db.session.get(Organization, int(value))
    except (TypeError, ValueError):
        org = None
    if org is None:
        raise ServiceError(_("Choose an organisation registered on the platform."), field)
    return org


def add_commissioner(actor, data: dict) -> Commissioner:
    perm.require(actor, perm.MANAGE_PROGRAMMES)
    org = _org(data.get("organization_id"), "organization_id", required=False)
    c = Commissioner(name=common.text(data.get("name"), "name", 100),
                     kind=common.choice(data.get("kind"), "kind", COMMISSIONER_KINDS),
                     organization_id=org.id if org else None,
                     specialty=common.text(data.get("specialty"), "specialty", 200, required=False),
                     county=_county(data.get("county")))
    db.session.add(c)
    db.session.flush()
    record(actor, "commissioner.add", "commissioner", c.id, after={"name": c.name, "kind": c.kind})
    db.session.commit()
    return c


def add_base(actor, data: dict) -> CommissionerBase:
    perm.require(actor, perm.MANAGE_PROGRAMMES)
    org = _org(data.get("organization_id"), "organization_id")
    commissioner = None
    if data.get("commissioner_id"):
        commissioner = db.session.get(Commissioner, int(data["commissioner_id"]))
        if commissioner is None:
            raise ServiceError(_("Choose a commissioner from the registry."), "commissioner_id")
    b = CommissionerBase(kind=common.choice(data.get("kind"), "kind", BASE_KINDS),
                         name=common.text(data.get("name"), "name", 200), organization_id=org.id,
                         commissioner_id=commissioner.id if commissioner else None,
                         county=_county(data.get("county")),
                         level=common.choice(data.get("level") or "city", "level", LEVELS),
                         provincially_filed=bool(data.get("provincially_filed")))
    db.session.add(b)
    db.session.flush()
    record(actor, "commissioner_base.add", "commissioner_base", b.id, after={"name": b.name, "kind": b.kind})
    db.session.commit()
    return b


def add_project(actor, data: dict) -> CommissionerProject:
    perm.require(actor, perm.MANAGE_PROGRAMMES)
    commissioner = db.session.get(Commissioner, int(data["commissioner_id"])) \
        if str(data.get("commissioner_id") or "").isdigit() else None
    if commissioner is None:
        raise ServiceError(_("Choose a commissioner from the registry."), "commissioner_id")
    org = _org(data.get("organization_id"), "organization_id")
    year = common.whole(data.get("year"), "year", minimum=2000)
    p = CommissionerProject(commissioner_id=commissioner.id, organization_id=org.id,
                            title=common.text(data.get("title"), "title", 200), year=year,
                            provincial_support_fen=common.fen(data.get("provincial_support"), "provincial_support",
                                                              required=False))
    db.session.add(p)
    db.session.flush()
    record(actor, "commissioner_project.add", "commissioner_project", p.id, after={"title": p.title})
    db.session.commit()
    return p


def _subject(category: str, subject_id):
    what = SUBJECTS[category]
    model = {"base": CommissionerBase, "commissioner": Commissioner, "project": CommissionerProject}[what]
    obj = db.session.get(model, int(subject_id)) if str(subject_id or "").isdigit() else None
    if obj is None:
        raise ServiceError(_("Choose what was selected from the registry."), "subject_id")
    return what, obj


def _previous_award(category: str, subject: str) -> Selection | None:
    return db.session.scalar(select(Selection).where(Selection.category == category, Selection.subject == subject)
                             .order_by(Selection.id).limit(1))


def selection_evidence(category: str, subject_id, selected_on: date, extra: dict | None = None):
    """The receiving organisation, the subject key and the B6 evidence of a selection.

    Raises ``ServiceError`` (naming the field) when the selection cannot qualify.
    """
    extra = extra or {}
    what, obj = _subject(category, subject_id)
    subject = f"{what}:{obj.id}"
    if what == "base":
        wanted = {"base": "base", "star": "star", "station": "station"}[category]
        if obj.kind != wanted:
            raise ServiceError(_("The base chosen is not of the kind this award is for."), "subject_id")
        org = obj.organization
    elif what == "commissioner":
        if category == "enterprise" and obj.kind != "enterprise":
            raise ServiceError(_("Only enterprise commissioners receive this award."), "subject_id")
        org = obj.organization
    else:
        if obj.commissioner.kind != "enterprise":
            raise ServiceError(_("Only projects of enterprise commissioners receive this award."), "subject_id")
        org = obj.commissioner.organization
    if org is None:
        raise ServiceError(_("The commissioner has no organisation on the platform to receive the award."),
                           "subject_id")
    evidence: dict = {"applicant": org.credit_code}
    if category in ("base", "excellent", "advanced"):
        evidence["selected_on"] = selected_on.isoformat()
    elif category in ONE_TIME:
        earlier = _previous_award(category, subject)
        if earlier is not None:
            raise Conflict(_("This one-time award was already given (selection of %(year)d).", year=earlier.year))
        if category == "star":
            if obj.level not in ("provincial", "national"):
                raise ServiceError(_("Only provincial-or-higher 星创天地 qualify."), "subject_id")
            if obj.commissioner_id is None:
                raise ServiceError(_("Only 星创天地 founded or led by a commissioner qualify."), "subject_id")
            evidence.update(level=obj.level, founded_by_commissioner=True, previously_awarded=False)
        else:
            if not obj.provincially_filed:
                raise ServiceError(_("Only provincially filed 农科驿站 qualify."), "subject_id")
            evidence.update(provincially_filed=True, previously_awarded=False)
    elif category == "enterprise":
        amount = common.fen(extra.get("provincial_post_subsidy"), "provincial_post_subsidy")
        evidence["provincial_post_subsidy"] = fen_to_str(amount)
    elif category == "project":
        support = obj.provincial_support_fen
        if extra.get("provincial_support") not in (None, ""):
            support = common.fen(extra.get("provincial_support"), "provincial_support")
        if support is None:
            raise ServiceError(_("This field is required."), "provincial_support")
        evidence.update(project=obj.title, provincial_support=fen_to_str(support))
    return org, subject, evidence


def select_for_award(actor, year, category: str, subject_id, selected_on=None, extra: dict | None = None) -> Selection:
    """Enter one result of the selection; the engine computes the award on ``selected_on``."""
    perm.require(actor, perm.MANAGE_PROGRAMMES)
    year = common.whole(year, "year", minimum=2000)
    category = common.choice(category, "category", tuple(SELECTION_CATEGORIES))
    selected_on = common.day(selected_on, "selected_on") if selected_on else utcnow().date()
    if selected_on.year != year:
        raise ServiceError(_("The date of selection must fall in the year of the selection."), "selected_on")
    org, subject, evidence = selection_evidence(category, subject_id, selected_on, extra)
    if db.session.scalar(select(Selection.id).where(Selection.year == year, Selection.category == category,
                                                    Selection.subject == subject)):
        raise Conflict(_("This selection is already entered for that year."))
    kind = SELECTION_CATEGORIES[category]
    try:
        award = compute_claim(kind, evidence, selected_on, parameters=in_force())
    except ClaimError as exc:  # a programming error: the evidence is built here
        raise ServiceError(_("The award could not be computed: %(why)s", why=exc.message), exc.field) from None
    what, obj = subject.split(":")[0], subject
    s = Selection(year=year, category=category, claim_kind=kind, subject=subject, organization_id=org.id,
                  selected_on=selected_on, evidence=evidence, amount_fen=parse_fen(award.amount),
                  created_by_id=actor.id, **{f"{what}_id": int(obj.split(":")[1])})
    db.session.add(s)
    db.session.flush()
    record(actor, "commissioner.select", "selection", s.id,
           after={"year": year, "category": category, "subject": subject, "claim_kind": kind,
                  "amount": fen_to_str(s.amount_fen), "organization_id": org.id})
    db.session.commit()
    return s


def file_selection_claim(actor, selection_id: int):
    """File the B6 claim of a selection through ``marketplace.claims`` (entered once, claimed from here)."""
    perm.require(actor, perm.MANAGE_PROGRAMMES)
    s = common.get_or_404(Selection, selection_id)
    if s.claim_id is not None:
        raise Conflict(_("The claim of this selection is already filed."))
    file_claim = _claims_file_claim()
    claim = file_claim(actor, s.organization_id, s.claim_kind, dict(s.evidence), s.year)
    s.claim_id = claim.id
    record(actor, "commissioner.claim_filed", "selection", s.id, after={"claim_id": claim.id})
    db.session.commit()
    return claim


def _claims_file_claim():
    try:
        from marketplace.claims.services import file_claim
    except ImportError:
        raise ClaimsUnavailable(_("Claims cannot be filed yet: the claims service is not installed.")) from None
    return file_claim


def form_choices(actor) -> dict:
    """What the registry's forms offer: organisations and commissioners (managers only)."""
    perm.require(actor, perm.MANAGE_PROGRAMMES)
    return {"organizations": common.organizations(), "commissioners": registry(actor)["commissioners"]}


def registry(actor) -> dict:
    perm.require(actor, perm.VIEW_PROGRAMMES)
    return {
        "commissioners": list(db.session.scalars(select(Commissioner).order_by(Commissioner.name))),
        "bases": list(db.session.scalars(select(CommissionerBase).order_by(CommissionerBase.kind, CommissionerBase.name))),
        "projects": list(db.session.scalars(select(CommissionerProject).order_by(CommissionerProject.year.desc(),
                                                                                 CommissionerProject.id))),
    }


def selections(actor, year: int | None = None) -> list[Selection]:
    perm.require(actor, perm.VIEW_PROGRAMMES)
    stmt = select(Selection).order_by(Selection.year.desc(), Selection.category, Selection.id)
    if year:
        stmt = stmt.where(Selection.year == year)
    return list(db.session.scalars(stmt))


def subject_label(s: Selection) -> str:
    obj = s.base or s.commissioner or s.project
    return getattr(obj, "name", None) or getattr(obj, "title", "")


def list_commissioners(actor) -> list[dict]:
    """Read-only, JSON-ready: commissioners with their bases, projects and selections (for the API)."""
    reg = registry(actor)
    sel = selections(actor)
    out = []
    for c in reg["commissioners"]:
        out.append({
            "id": c.id, "name": c.name, "kind": c.kind, "specialty": c.specialty, "county": c.county,
            "organization": ({"id": c.organization.id, "name": c.organization.name} if c.organization else None),
            "bases": [{"id": b.id, "kind": b.kind, "name": b.name, "level": b.level, "county": b.county}
                      for b in reg["bases"] if b.commissioner_id == c.id],
            "projects": [{"id": p.id, "title": p.title, "year": p.year, "enterprise": p.organization.name}
                         for p in reg["projects"] if p.commissioner_id == c.id],
            "selections": [{"year": s.year, "category": s.category, "claim_kind": s.claim_kind,
                            "amount": fen_to_str(s.amount_fen), "claim_id": s.claim_id}
                           for s in sel if s.commissioner_id == c.id
                           or (s.project_id and s.project.commissioner_id == c.id)
                           or (s.base_id and s.base.commissioner_id == c.id)],
        })
    return out
