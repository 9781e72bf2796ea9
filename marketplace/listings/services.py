"""Listings: create, edit, publish, withdraw, moderate, browse.

A listing is published by its owner and moderated afterwards. A moderator's rejection
holds: the owner cannot publish the listing again (not even through withdraw, then
publish); editing it sends it back to moderation (pending), and only a moderator's
approval publishes it again. The reason stays on the listing for the owner to read.
"""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import case, literal, or_, select
from sqlalchemy.orm import joinedload

from marketplace import permissions as perm
from marketplace.audit.models import record
from marketplace.core import paging, uploads
from marketplace.core.errors import Conflict, NotFound, ServiceError
from marketplace.core.money import MAX_FEN
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import transactional, unit_of_work
from marketplace.extensions import db
from marketplace.listings import schema
from marketplace.listings.models import (
    FIELDS,
    IP_KINDS,
    KINDS,
    LISTING,
    MATURITIES,
    PRICE_UNITS,
    TRANSFER_MODES,
    Listing,
    ListingAttachment,
    ListingStatus,
)
from marketplace.outbox import enqueue

# The fields a listing takes, from their one declaration (marketplace/listings/schema.py).
COMMON = schema.service_names(schema.COMMON)
KIND_FIELDS = {kind: schema.service_names(fields) for kind, fields in schema.BY_KIND.items()}


def _clean(kind: str, data: dict) -> dict:
    if kind not in KINDS:
        raise ServiceError(_("Choose what you are listing."), "kind")
    values = {k: data.get(k) for k in COMMON + KIND_FIELDS[kind] if k in data}
    title = (values.get("title") or "").strip()
    if not title:
        raise ServiceError(_("This field is required."), "title")
    values["title"] = title
    if values.get("field") and values["field"] not in FIELDS:
        raise ServiceError(_("Choose a field from the list."), "field")
    for money in ("price_fen", "internal_price_fen"):
        if values.get(money) is not None and values[money] < 0:
            raise ServiceError(_("An amount cannot be negative."), money)
        if values.get(money) is not None and values[money] > MAX_FEN:
            raise ServiceError(_("The amount is too large."), money)
    if kind in ("service", "instrument") and values.get("price_fen") is None and not values.get("negotiable"):
        raise ServiceError(_("Give a price or mark it negotiable."), "price_fen")
    if kind == "achievement":
        if values.get("ip_kind") not in IP_KINDS:
            raise ServiceError(_("Choose the kind of achievement."), "ip_kind")
        if values.get("maturity") and values["maturity"] not in MATURITIES:
            raise ServiceError(_("Choose a maturity."), "maturity")
        modes = values.get("transfer_modes") or []
        if isinstance(modes, str):
            modes = [m for m in modes.split(",") if m]
        if not modes or any(m not in TRANSFER_MODES for m in modes):
            raise ServiceError(_("Choose at least one way to transfer it."), "transfer_modes")
        values["transfer_modes"] = ",".join(modes)
    if kind == "instrument":
        if values.get("price_unit") not in PRICE_UNITS:
            raise ServiceError(_("Choose how the instrument is charged."), "price_unit")
        start, end = values.get("open_from_hour"), values.get("open_to_hour")
        start = 8 if start is None else start
        end = 18 if end is None else end
        if not (0 <= start < end <= 24):
            raise ServiceError(_("Opening hours must run from an earlier to a later hour of one day."), "open_to_hour")
        values["open_from_hour"], values["open_to_hour"] = start, end
    return values


@transactional
def create_listing(actor, kind: str, data: dict) -> Listing:
    perm.require(actor, perm.POST_DEMAND if kind == "demand" else perm.LIST_OFFER)
    values = _clean(kind, data)
    org = actor.organization
    listing = Listing(kind=kind, organization_id=org.id, created_by_id=actor.id, status=ListingStatus.DRAFT,
                      **values)
    if not listing.county:
        listing.county = org.county
    db.session.add(listing)
    return listing


def _get(listing_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id)
    if listing is None:
        raise NotFound(_("This listing does not exist."))
    return listing


@transactional
def update_listing(actor, listing_id: int, data: dict) -> Listing:
    listing = _get(listing_id)
    perm.require(actor, perm.EDIT_LISTING, listing)
    for key, value in _clean(listing.kind, data).items():
        setattr(listing, key, value)
    if listing.status == ListingStatus.REJECTED:  # edited after a rejection: a moderator looks again
        LISTING.require(listing.status, ListingStatus.PENDING)
        listing.status = ListingStatus.PENDING
        record(actor, "listing.resubmit", "listing", listing.id, before={"status": ListingStatus.REJECTED},
               after={"status": ListingStatus.PENDING})
    if listing.status == ListingStatus.PUBLISHED:
        enqueue("search", str(listing.id))
    return listing


@transactional
def publish(actor, listing_id: int) -> Listing:
    listing = _get(listing_id)
    perm.require(actor, perm.EDIT_LISTING, listing)
    if listing.status == ListingStatus.REJECTED:
        raise Conflict(_("A moderator rejected this listing: %(note)s Edit it to send it back to moderation.",
                         note=listing.moderation_note or ""))
    if listing.status == ListingStatus.PENDING:  # a move the table has, but a moderator's to make
        raise Conflict(_("This listing awaits a moderator's decision; it is published once approved."))
    if listing.status != ListingStatus.PUBLISHED:  # publishing a published listing changes nothing
        LISTING.require(listing.status, ListingStatus.PUBLISHED)
    listing.status = ListingStatus.PUBLISHED
    listing.published_at = listing.published_at or utcnow()
    enqueue("search", str(listing.id))
    return listing


@transactional
def withdraw(actor, listing_id: int) -> Listing:
    listing = _get(listing_id)
    perm.require(actor, perm.EDIT_LISTING, listing)
    LISTING.require(listing.status, ListingStatus.WITHDRAWN, _("Only a published listing can be withdrawn."))
    listing.status = ListingStatus.WITHDRAWN
    enqueue("search", str(listing.id))
    return listing


@transactional
def moderate(actor, listing_id: int, decision: str, note: str = "") -> Listing:
    perm.require(actor, perm.MODERATE_LISTING)
    listing = _get(listing_id)
    before = {"status": listing.status}
    if decision == "reject":
        if not note.strip():
            raise ServiceError(_("Give the reason for rejecting."), "note")
        LISTING.require(listing.status, ListingStatus.REJECTED, _("This listing is already rejected."))
        listing.status, listing.moderation_note = ListingStatus.REJECTED, note.strip()
    elif decision == "approve":  # an edited listing, back from a rejection
        if listing.status != ListingStatus.PENDING:  # (the owner's publish moves the others)
            raise Conflict(_("Only a listing awaiting moderation can be approved."))
        LISTING.require(listing.status, ListingStatus.PUBLISHED)
        listing.status, listing.moderation_note = ListingStatus.PUBLISHED, None
        listing.published_at = listing.published_at or utcnow()
    elif decision == "restore":  # the moderator takes the rejection back; the owner publishes
        LISTING.require(listing.status, ListingStatus.DRAFT, _("Only a rejected listing can be restored."))
        listing.status, listing.moderation_note = ListingStatus.DRAFT, None
    else:
        raise ServiceError(_("Unknown decision."))
    record(actor, "listing." + decision, "listing", listing.id, before=before,
           after={"status": listing.status, "note": listing.moderation_note})
    enqueue("search", str(listing.id))
    return listing


def visible_to(viewer, listing: Listing) -> bool:
    if listing.status == ListingStatus.PUBLISHED:
        return True
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    return perm.can(viewer, perm.MODERATE_LISTING) or (
        viewer.organization is not None and viewer.organization.id == listing.organization_id)


def get_listing(viewer, listing_id: int) -> Listing:
    listing = _get(listing_id)
    if not visible_to(viewer, listing):
        raise NotFound(_("This listing does not exist."))
    return listing


def listing_to_edit(actor, listing_id: int) -> Listing:
    """The listing for its edit form: only who may edit it sees the form."""
    listing = get_listing(actor, listing_id)
    perm.require(actor, perm.EDIT_LISTING, listing)
    return listing


# the market's orders (/listings?sort=): relevance ranks listings whose title holds the typed
# words above those where only the description does (the full-text ranking lives on /search)
BROWSE_SORTS = ("relevance", "newest", "price_asc", "price_desc")
MAX_BROWSE_TEXT, MAX_BROWSE_WORDS = 100, 5


def browse_sort(sort: str | None, text: str | None) -> str:
    """The order a request asks for: relevance needs words to rank by, else newest first."""
    if sort in BROWSE_SORTS and (sort != "relevance" or text):
        return sort
    return "relevance" if text else "newest"


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def browse(viewer, kind: str | None = None, sort: str = "newest", page: int = 1,
           per_page: int = paging.PER_PAGE, text: str | None = None) -> paging.Page[Listing]:
    """Published listings, a page at a time: newest first (the default), by price (listings
    without a price, 面议, last), or, with ``text``, by relevance (title matches first);
    ties newest first, then id, so pages never repeat or skip a listing. ``text`` keeps the
    listings whose title or description contains every word typed."""
    query = select(Listing).options(joinedload(Listing.organization)).where(Listing.status == ListingStatus.PUBLISHED)
    if kind in KINDS:
        query = query.where(Listing.kind == kind)
    words = (text or "").strip()[:MAX_BROWSE_TEXT].split()[:MAX_BROWSE_WORDS]
    for word in words:
        pattern = _like(word)
        query = query.where(or_(Listing.title.ilike(pattern, escape="\\"),
                                Listing.description.ilike(pattern, escape="\\")))
    sort = browse_sort(sort, " ".join(words))
    newest = (Listing.published_at.desc(),)
    if sort == "price_asc":
        order = (Listing.price_fen.is_(None), Listing.price_fen) + newest
    elif sort == "price_desc":
        order = (Listing.price_fen.is_(None), Listing.price_fen.desc()) + newest
    elif sort == "relevance":
        in_title = sum((case((Listing.title.ilike(_like(w), escape="\\"), 1), else_=0) for w in words),
                       literal(0))
        order = (in_title.desc(),) + newest
    else:
        order = newest
    return paging.paginate(query, order_by=order, tiebreak=Listing.id.desc(), page=page, per_page=per_page)


def my_listings(actor, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[Listing]:
    if actor.organization is None:
        return paging.from_list([])
    return paging.paginate(select(Listing).where(Listing.organization_id == actor.organization.id),
                           order_by=(), tiebreak=Listing.id.desc(), page=page, per_page=per_page)


def moderation_queue(actor, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[Listing]:
    """Listings waiting for a moderator first, then the others, newest first."""
    perm.require(actor, perm.MODERATE_LISTING)
    return paging.paginate(select(Listing).options(joinedload(Listing.organization))
                           .where(Listing.status.in_((ListingStatus.PENDING, ListingStatus.PUBLISHED,
                                                      ListingStatus.REJECTED))),
                           order_by=(Listing.status != ListingStatus.PENDING,), tiebreak=Listing.id.desc(),
                           page=page, per_page=per_page)


MAX_ATTACHMENTS = 10


@transactional
def attach_files(actor, listing_id: int, files) -> list[ListingAttachment]:
    """Attach PDF, JPEG or PNG files to one's own listing (checked before anything is written)."""
    listing = _get(listing_id)
    perm.require(actor, perm.EDIT_LISTING, listing)
    checked = uploads.check(files)
    if not checked:
        raise ServiceError(_("Choose a file to attach."), "files")
    if len(listing.attachments) + len(checked) > MAX_ATTACHMENTS:
        raise ServiceError(_("A listing has at most %(n)d attachments.", n=MAX_ATTACHMENTS), "files")
    made: list[ListingAttachment] = []

    def row(f, stored):
        attachment = ListingAttachment(listing_id=listing.id, stored_name=stored, original_name=f.original_name,
                                       content_type=f.content_type, size_bytes=len(f.data), sha256=f.sha256,
                                       uploaded_by_id=actor.id)
        made.append(attachment)
        return attachment

    uploads.save_with_rows(checked, "listings", row)
    return made


def remove_attachment(actor, attachment_id: int) -> Listing:
    attachment = db.session.get(ListingAttachment, attachment_id)
    if attachment is None:
        raise NotFound(_("This file does not exist."))
    listing = attachment.listing
    perm.require(actor, perm.EDIT_LISTING, listing)
    key = uploads.key_of("listings", attachment.stored_name)
    with unit_of_work() as uow:
        db.session.delete(attachment)
        uow.on_commit(lambda: uploads.remove([key]))  # the row is gone for good: then the file
    return listing


def attachment_file(viewer, attachment_id: int):
    """(attachment, open file) for download: whoever may see the listing."""
    from marketplace.conversations.confidential import may_see

    attachment = db.session.get(ListingAttachment, attachment_id)
    if attachment is None or not visible_to(viewer, attachment.listing) or not may_see(viewer, attachment):
        raise NotFound(_("This file does not exist."))
    try:
        return attachment, uploads.open_stored("listings", attachment.stored_name)
    except FileNotFoundError:
        raise NotFound(_("This file does not exist.")) from None
