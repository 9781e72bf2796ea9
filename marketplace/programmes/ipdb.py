"""The IP database by industry (知识产权数据库), section 4.3.

Patents and other registered IP held by organisations, each in one of the industries of
``industries.yaml`` and, when it protects an achievement on the market, linked to that
listing. The zero-patent view (专利“清零”) lists above-scale industrial enterprises that
hold no valid invention patent.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import exists, or_, select

from marketplace import permissions as perm
from marketplace.accounts.models import Organization
from marketplace.audit.models import record
from marketplace.core import paging
from marketplace.core.errors import Conflict, ServiceError
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.programmes import common
from marketplace.programmes.models import IP_RIGHT_KINDS, IP_STATUSES, EnterpriseProfile, IpRight
from marketplace.core.timeutil import utcnow


def normalise_number(number: str) -> str:
    """``zl 2019 1012 3456.7`` → ``ZL201910123456.7``: patent numbers compare without spaces or case."""
    return "".join((number or "").split()).upper()


def _achievement(listing_id, organization_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id) if isinstance(listing_id, int) else None
    if listing is None or listing.kind != "achievement":
        raise ServiceError(_("Choose one of your organisation's achievements."), "listing_id")
    if listing.organization_id != organization_id:
        raise ServiceError(_("The achievement must belong to the organisation that holds the IP."), "listing_id")
    return listing


def register_ip(actor, organization_id: int, data: dict) -> IpRight:
    """Add a patent or other registered IP of an organisation; an achievement of the same
    organisation that names the same number is linked to it."""
    org = common.get_or_404(Organization, organization_id)
    perm.require(actor, perm.REGISTER_IP, org)
    kind = common.choice(data.get("kind"), "kind", IP_RIGHT_KINDS)
    number = normalise_number(common.text(data.get("number"), "number", 40))
    title = common.text(data.get("title"), "title", 200)
    industry = common.choice(data.get("industry"), "industry", tuple(common.industries()))
    granted_on = common.day(data.get("granted_on"), "granted_on", required=False)
    if granted_on and granted_on > utcnow().date():
        raise ServiceError(_("The grant date cannot be in the future."), "granted_on")
    status = common.choice(data.get("status") or "valid", "status", IP_STATUSES)
    if db.session.scalar(select(IpRight.id).where(IpRight.number == number)):
        raise Conflict(_("This IP number is already in the database."))
    listing = None
    if data.get("listing_id"):
        listing = _achievement(data["listing_id"], org.id)
    else:
        listing = next((a for a in achievements_of(org.id)
                        if a.ip_number and normalise_number(a.ip_number) == number), None)
    ip = IpRight(organization_id=org.id, kind=kind, number=number, title=title, industry=industry,
                 granted_on=granted_on, status=status, listing_id=listing.id if listing else None,
                 created_by_id=actor.id)
    db.session.add(ip)
    db.session.flush()
    record(actor, "ip.register", "ip_right", ip.id, after={"number": number, "organization_id": org.id,
                                                           "listing_id": ip.listing_id})
    db.session.commit()
    return ip


def link_achievement(actor, ip_id: int, listing_id) -> IpRight:
    ip = common.get_or_404(IpRight, ip_id)
    perm.require(actor, perm.REGISTER_IP, ip.organization)
    listing = _achievement(listing_id, ip.organization_id)
    if listing.ip_number and normalise_number(listing.ip_number) != ip.number:
        raise ServiceError(_("The achievement names another patent or registration number."), "listing_id")
    before = {"listing_id": ip.listing_id}
    ip.listing_id = listing.id
    record(actor, "ip.link", "ip_right", ip.id, before=before, after={"listing_id": listing.id})
    db.session.commit()
    return ip


def _ip_query(actor, q: str | None = None, industry: str | None = None, kind: str | None = None,
              status: str | None = None, organization_id: int | None = None):
    perm.require(actor, perm.SEARCH_IP)
    stmt = select(IpRight).join(Organization, Organization.id == IpRight.organization_id)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(IpRight.title.ilike(like), IpRight.number.ilike(f"%{normalise_number(q)}%"),
                              Organization.name.ilike(like)))
    if industry:
        stmt = stmt.where(IpRight.industry == industry)
    if kind:
        stmt = stmt.where(IpRight.kind == kind)
    if status:
        stmt = stmt.where(IpRight.status == status)
    if organization_id:
        stmt = stmt.where(IpRight.organization_id == organization_id)
    return stmt


def search_ip(actor, limit: int = 500, **filters) -> list[IpRight]:
    """The rights the filters select, by industry and number (at most ``limit``)."""
    return list(db.session.scalars(_ip_query(actor, **filters).order_by(IpRight.industry, IpRight.number, IpRight.id)
                                   .limit(limit)))


def ip_page(actor, page: int = 1, per_page: int = paging.PER_PAGE, **filters) -> paging.Page[IpRight]:
    """The registry page by page, by industry and number."""
    return paging.paginate(_ip_query(actor, **filters), order_by=(IpRight.industry, IpRight.number),
                           tiebreak=IpRight.id, page=page, per_page=per_page)


def ip_table(rows: list[IpRight]) -> tuple[list[str], list[list]]:
    from marketplace.core import labels

    headers = [_("Number"), _("Kind"), _("Title"), _("Industry"), _("Holder"), _("Credit code"),
               _("County or district"), _("Granted on"), _("Status"), _("Achievement")]
    body = [[ip.number, labels.label(ip.kind, "ip_right_kind"), ip.title, common.industry_label(ip.industry),
             ip.organization.name, ip.organization.credit_code, ip.organization.county, ip.granted_on,
             labels.label(ip.status, "ip_status"), ip.listing.ref if ip.listing_id else None] for ip in rows]
    return headers, body


def export_ip(actor, fmt: str, **filters) -> tuple[bytes, str]:
    rows = search_ip(actor, **filters, limit=100_000)
    headers, body = ip_table(rows)
    return common.export_table(headers, body, fmt, sheet="IP")


def set_profile(actor, organization_id: int, above_scale_industrial: bool, industry: str | None) -> EnterpriseProfile:
    """The city marks an enterprise as above-scale industrial (规模以上工业企业) and sets its industry."""
    perm.require(actor, perm.MANAGE_PROGRAMMES)
    org = common.get_or_404(Organization, organization_id)
    if org.kind != "enterprise":
        raise ServiceError(_("Only enterprises have an enterprise profile."), "organization_id")
    if industry:
        common.choice(industry, "industry", tuple(common.industries()))
    profile = db.session.scalar(select(EnterpriseProfile).where(EnterpriseProfile.organization_id == org.id))
    before = None
    if profile is None:
        profile = EnterpriseProfile(organization_id=org.id)
        db.session.add(profile)
    else:
        before = {"above_scale_industrial": profile.above_scale_industrial, "industry": profile.industry}
    profile.above_scale_industrial, profile.industry = bool(above_scale_industrial), industry or None
    profile.updated_by_id, profile.updated_at = actor.id, utcnow()
    db.session.flush()
    record(actor, "enterprise_profile.set", "organization", org.id, before=before,
           after={"above_scale_industrial": profile.above_scale_industrial, "industry": profile.industry})
    db.session.commit()
    return profile


def _zero_patent_query(actor, industry: str | None = None):
    perm.require(actor, perm.VIEW_PROGRAMMES)
    has_patent = exists().where(IpRight.organization_id == EnterpriseProfile.organization_id,
                                IpRight.kind == "invention_patent", IpRight.status == "valid")
    stmt = (select(EnterpriseProfile).join(Organization, Organization.id == EnterpriseProfile.organization_id)
            .where(EnterpriseProfile.above_scale_industrial.is_(True), Organization.kind == "enterprise", ~has_patent))
    if industry:
        stmt = stmt.where(EnterpriseProfile.industry == industry)
    return stmt


def zero_patent(actor, industry: str | None = None) -> list[EnterpriseProfile]:
    """Above-scale industrial enterprises with no valid invention patent (专利清零 drive)."""
    return list(db.session.scalars(_zero_patent_query(actor, industry).order_by(
        Organization.county, Organization.name, EnterpriseProfile.id)))


def zero_patent_page(actor, industry: str | None = None, page: int = 1,
                     per_page: int = paging.PER_PAGE) -> paging.Page[EnterpriseProfile]:
    return paging.paginate(_zero_patent_query(actor, industry), order_by=(Organization.county, Organization.name),
                           tiebreak=EnterpriseProfile.id, page=page, per_page=per_page)


def export_zero_patent(actor, fmt: str, industry: str | None = None) -> tuple[bytes, str]:
    rows = zero_patent(actor, industry)
    headers = [_("Enterprise"), _("Credit code"), _("County or district"), _("Industry")]
    body = [[p.organization.name, p.organization.credit_code, p.organization.county,
             common.industry_label(p.industry)] for p in rows]
    return common.export_table(headers, body, fmt, sheet="zero-patent")


def holders_for(actor) -> list[Organization]:
    """Whose IP the actor may register: any organisation for the city's managers, else its own."""
    if perm.can(actor, perm.MANAGE_PROGRAMMES):
        return common.organizations()
    perm.require(actor, perm.REGISTER_IP, actor.organization)
    return [actor.organization]


def enterprises(actor) -> list[Organization]:
    """The enterprises whose profile a manager sets on the zero-patent page."""
    perm.require(actor, perm.VIEW_PROGRAMMES)
    return common.organizations("enterprise")


def achievements_of(organization_id: int) -> list[Listing]:
    return list(db.session.scalars(select(Listing).where(Listing.organization_id == organization_id,
                                                         Listing.kind == "achievement").order_by(Listing.id)))


def list_ip(actor, q: str | None = None, industry: str | None = None, kind: str | None = None) -> list[dict]:
    """Read-only, JSON-ready: the IP database (for the API)."""
    return [{"number": ip.number, "kind": ip.kind, "title": ip.title, "industry": ip.industry,
             "status": ip.status, "granted_on": ip.granted_on.isoformat() if ip.granted_on else None,
             "organization": {"id": ip.organization_id, "name": ip.organization.name,
                              "credit_code": ip.organization.credit_code},
             "achievement": ip.listing.ref if ip.listing_id else None}
            for ip in search_ip(actor, q=q, industry=industry, kind=kind)]
