"""Confidential files of an achievement: the non-confidential summary is public; a file the
seller marks confidential is shown to an enquirer's organisation only after the seller
granted it (per enquirer, on the enquiry), to the seller's own members, and to the moderators."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import permissions as perm
from marketplace.conversations.models import AttachmentGrant
from marketplace.core.errors import NotFound, PermissionDenied
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.listings.models import ListingAttachment
from marketplace.notifications.services import Everyone, tell
from marketplace.orders.models import Enquiry


def granted(viewer, listing) -> bool:
    org = viewer.organization if getattr(viewer, "is_authenticated", False) else None
    if org is None:
        return False
    return db.session.scalar(select(AttachmentGrant.id).where(AttachmentGrant.listing_id == listing.id,
                                                              AttachmentGrant.organization_id == org.id)) is not None


def may_see(viewer, attachment: ListingAttachment) -> bool:
    """Whether the viewer may open this file (the listing itself being visible to them)."""
    if not attachment.confidential:
        return True
    listing = attachment.listing
    if getattr(viewer, "is_authenticated", False) and (
            perm.can(viewer, perm.MODERATE_LISTING) or perm.can(viewer, perm.EDIT_LISTING, listing)):
        return True
    return granted(viewer, listing)


def set_confidential(actor, attachment_id: int, confidential: bool) -> ListingAttachment:
    attachment = db.session.get(ListingAttachment, attachment_id) if isinstance(attachment_id, int) else None
    if attachment is None:
        raise NotFound(_("This file does not exist."))
    perm.require(actor, perm.EDIT_LISTING, attachment.listing)
    with unit_of_work():
        attachment.confidential = confidential
    return attachment


def toggle_confidential(actor, attachment_id: int) -> ListingAttachment:
    """Mark a listing's file confidential, or public again."""
    attachment = db.session.get(ListingAttachment, attachment_id) if isinstance(attachment_id, int) else None
    if attachment is None:
        raise NotFound(_("This file does not exist."))
    return set_confidential(actor, attachment_id, not attachment.confidential)


def grant(actor, enquiry_id: int) -> AttachmentGrant:
    """The seller lets this enquirer's organisation see the listing's confidential files."""
    enquiry = db.session.get(Enquiry, enquiry_id) if isinstance(enquiry_id, int) else None
    if enquiry is None:
        raise NotFound(_("This enquiry does not exist."))
    if enquiry.responder_org_id is not None or not perm.can(actor, perm.SELL, enquiry):
        raise PermissionDenied(_("You are not allowed to do this."))
    existing = db.session.scalar(select(AttachmentGrant).where(AttachmentGrant.listing_id == enquiry.listing_id,
                                                               AttachmentGrant.organization_id == enquiry.buyer_org_id))
    if existing is not None:
        return existing
    with unit_of_work():
        row = AttachmentGrant(listing_id=enquiry.listing_id, organization_id=enquiry.buyer_org_id,
                              granted_by_id=actor.id)
        db.session.add(row)
        tell(Everyone(enquiry.buyer_org_id), "enquiry", "talk.files_granted", f"/listings/{enquiry.listing_id}",
             org=enquiry.seller_org.name, title=enquiry.listing.title)
    return row
