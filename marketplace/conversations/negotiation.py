"""Negotiation: versions of terms on an enquiry, and demands answered the right way round.

Either side of an enquiry makes a version (price, delivery date, instalments, validity);
the other side accepts it, declines it with a reason, or counters it with the next version
(the countered one is kept, marked ``countered``). On a demand (需求) the responder — a
university, institute or provider — is the seller and the enterprise that posted it the
buyer: it proposes, the enterprise compares, asks, counters and accepts one.

Accepting moves the version open -> accepted and the enquiry quoted -> ordered by
conditional updates, so of two acceptances racing one wins. When the seller is a university
or institute the accepted price first stands on the agreed-price public notice
(``pricenotice``); otherwise the order (and technology contract) is made at once.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from marketplace import permissions as perm
from marketplace.conversations.models import QuoteVersion
from marketplace.core.errors import Conflict, NotFound, PermissionDenied, ServiceError
from marketplace.core.money import MAX_FEN, format_yuan
from marketplace.core.timeutil import beijing_today, utcnow
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.notifications.services import Everyone, members, tell
from marketplace.orders.models import Enquiry
from marketplace.outbox import enqueue

NOTICE_SELLER_KINDS = ("university", "institute")  # public units: 协议定价公示 before signing
MAX_NOTICE_DAYS = 60
MAX_VALID_DAYS = 365
MAX_NOTE = 3000


def enquiry_seen_by(actor, enquiry_id: int) -> Enquiry | None:
    """The enquiry if ``actor`` is one of its sides (for the pages), else None."""
    enquiry = db.session.get(Enquiry, enquiry_id)
    if enquiry is None or side_of(actor, enquiry) is None:
        return None
    return enquiry


def order_of(enquiry: Enquiry):
    """The order an accepted enquiry became, or None."""
    from marketplace.orders.models import Order

    return db.session.scalar(select(Order).where(Order.enquiry_id == enquiry.id))


def side_of(actor, enquiry: Enquiry) -> str | None:
    """'seller', 'buyer' or None: which side of this enquiry the actor may act for."""
    if perm.can(actor, perm.SELL, enquiry):
        return "seller"
    if perm.can(actor, perm.BUY, enquiry):
        return "buyer"
    return None


def _enquiry(enquiry_id: int) -> Enquiry:
    enquiry = db.session.get(Enquiry, enquiry_id) if isinstance(enquiry_id, int) else None
    if enquiry is None:
        raise NotFound(_("This enquiry does not exist."))
    return enquiry


def _other_org(enquiry: Enquiry, side: str) -> int:
    return enquiry.buyer_org_id if side == "seller" else enquiry.seller_org_id


def _org_name(enquiry: Enquiry, side: str) -> str:
    return enquiry.seller_org.name if side == "seller" else enquiry.buyer.name


def needs_notice(enquiry: Enquiry) -> bool:
    """A university's or public institute's sale at a negotiated price (促进科技成果转化法 art. 18)."""
    return enquiry.seller_org.kind in NOTICE_SELLER_KINDS


def versions(enquiry: Enquiry) -> list[QuoteVersion]:
    return list(db.session.scalars(select(QuoteVersion).where(QuoteVersion.enquiry_id == enquiry.id)
                                   .order_by(QuoteVersion.version)))


def open_version(enquiry: Enquiry) -> QuoteVersion | None:
    return db.session.scalar(select(QuoteVersion).where(QuoteVersion.enquiry_id == enquiry.id,
                                                        QuoteVersion.status == "open")
                             .order_by(QuoteVersion.version.desc()).limit(1))


def _check_terms(price_fen: int, delivery_on: date | None, instalments: int, valid_until: date | None,
                 note: str, notice_days: int | None) -> tuple[date, str]:
    today = beijing_today()
    if price_fen is None or price_fen <= 0:
        raise ServiceError(_("The amount must be more than zero."), "amount")
    if price_fen > MAX_FEN:
        raise ServiceError(_("The amount is too large."), "amount")
    if delivery_on is not None and delivery_on < today:
        raise ServiceError(_("The delivery date cannot be in the past."), "delivery_on")
    if not isinstance(instalments, int) or not 1 <= instalments <= 12:
        raise ServiceError(_("Between 1 and 12 instalments."), "instalments")
    if valid_until is None:
        valid_until = today + timedelta(days=int(current_app.config["QUOTE_VALID_DAYS"]))
    if valid_until < today:
        raise ServiceError(_("The offer must be valid at least until today."), "valid_until")
    if valid_until > today + timedelta(days=MAX_VALID_DAYS):
        raise ServiceError(_("An offer is valid at most %(n)d days.", n=MAX_VALID_DAYS), "valid_until")
    if notice_days is not None and not 1 <= notice_days <= MAX_NOTICE_DAYS:
        raise ServiceError(_("The public notice lasts between 1 and %(n)d days.", n=MAX_NOTICE_DAYS), "notice_days")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ServiceError(_("Write at most %(n)d characters.", n=MAX_NOTE), "note")
    return valid_until, note


def offer(actor, enquiry_id: int, price_fen: int, *, delivery_on: date | None = None, instalments: int = 1,
          valid_until: date | None = None, note: str = "", notice_days: int | None = None) -> QuoteVersion:
    """Make the next version of the terms (a quote, or a counter to the other side's open one)."""
    enquiry = _enquiry(enquiry_id)
    side = side_of(actor, enquiry)
    if side is None:
        raise PermissionDenied(_("You are not allowed to do this."))
    if enquiry.status not in ("open", "quoted"):
        raise ServiceError(_("This enquiry is closed."))
    valid_until, note = _check_terms(price_fen, delivery_on, instalments, valid_until, note, notice_days)
    if side == "seller" and needs_notice(enquiry) and notice_days is None:
        notice_days = int(current_app.config["PRICE_NOTICE_DAYS"])
    with unit_of_work():
        previous = open_version(enquiry)
        countered = previous is not None and previous.side != side
        if previous is not None:
            moved = db.session.execute(update(QuoteVersion).where(QuoteVersion.id == previous.id,
                                                                  QuoteVersion.status == "open")
                                       .values(status="countered" if countered else "withdrawn",
                                               decided_at=utcnow(), decided_by_id=actor.id)).rowcount
            if moved != 1:
                raise Conflict(_("The terms changed meanwhile. Reload and look again."))
        number = (db.session.scalar(select(func.max(QuoteVersion.version))
                                    .where(QuoteVersion.enquiry_id == enquiry.id)) or 0) + 1
        version = QuoteVersion(enquiry_id=enquiry.id, version=number, side=side, author_id=actor.id,
                               price_fen=price_fen, delivery_on=delivery_on, instalments=instalments,
                               valid_until=valid_until, note=note,
                               notice_days=notice_days if side == "seller" and needs_notice(enquiry) else None)
        db.session.add(version)
        moved = db.session.execute(update(Enquiry).where(Enquiry.id == enquiry.id,
                                                         Enquiry.status.in_(("open", "quoted")))
                                   .values(status="quoted", quote_fen=price_fen, quote_note=note,
                                           quoted_at=utcnow())).rowcount
        if moved != 1:
            raise Conflict(_("This enquiry is closed."))
        try:
            db.session.flush()
        except IntegrityError:
            raise Conflict(_("The terms changed meanwhile. Reload and look again.")) from None
        key = "talk.countered" if countered or side == "buyer" else (
            "talk.proposal" if enquiry.listing.kind == "demand" else "talk.quoted")
        tell(Everyone(_other_org(enquiry, side)), "quote", key, f"/enquiries/{enquiry.id}", exclude=actor.id,
             org=_org_name(enquiry, side), price=format_yuan(price_fen), title=enquiry.listing.title)
    db.session.expire(enquiry)
    return version


def _version(version_id: int) -> QuoteVersion:
    version = db.session.get(QuoteVersion, version_id) if isinstance(version_id, int) else None
    if version is None:
        raise NotFound(_("This offer does not exist."))
    return version


def _decidable(actor, version: QuoteVersion) -> tuple[Enquiry, str]:
    enquiry = db.session.get(Enquiry, version.enquiry_id)
    side = side_of(actor, enquiry)
    if side is None:
        raise PermissionDenied(_("You are not allowed to do this."))
    if side == version.side:
        raise ServiceError(_("The other side decides on your offer."))
    if version.status == "accepted":
        raise Conflict(_("This quote was accepted already."))
    if version.status != "open":
        raise ServiceError(_("This offer is no longer open."))
    if version.valid_until < beijing_today():
        raise ServiceError(_("This offer has expired."))
    return enquiry, side


def accept(actor, version_id: int, with_voucher: bool = False):
    """Accept the other side's open version. Returns the order, or the public notice the
    price must stand on first (university or institute seller)."""
    from marketplace.conversations import pricenotice
    from marketplace.orders import services as orders

    version = _version(version_id)
    enquiry, side = _decidable(actor, version)
    if side == "seller" and with_voucher:
        raise ServiceError(_("Only the buyer chooses to pay with a voucher."), "with_voucher")
    notice = needs_notice(enquiry)
    with unit_of_work():
        moved = db.session.execute(update(QuoteVersion).where(QuoteVersion.id == version.id,
                                                              QuoteVersion.status == "open")
                                   .values(status="accepted", decided_at=utcnow(), decided_by_id=actor.id)).rowcount
        if moved == 1:
            moved = db.session.execute(update(Enquiry).where(Enquiry.id == enquiry.id, Enquiry.status == "quoted")
                                       .values(status="on_notice" if notice else "ordered",
                                               quote_fen=version.price_fen)
                                       .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            raise Conflict(_("This quote was accepted already."))
        tell(Everyone(_other_org(enquiry, side)), "quote", "talk.accepted", f"/enquiries/{enquiry.id}",
             exclude=actor.id, org=_org_name(enquiry, side), price=format_yuan(version.price_fen),
             title=enquiry.listing.title)
        if enquiry.listing.kind == "demand":
            _not_chosen(enquiry)
        if notice:
            result = pricenotice.start(enquiry, version)
        else:
            buyer_user = actor if side == "buyer" else db.session.get(type(actor), enquiry.buyer_user_id)
            try:
                result = orders.order_from_enquiry(buyer_user, enquiry, version.price_fen, with_voucher)
            except IntegrityError:
                raise Conflict(_("This quote was accepted already.")) from None
    db.session.expire(enquiry)
    return result


def decline(actor, version_id: int, reason: str) -> QuoteVersion:
    version = _version(version_id)
    enquiry, side = _decidable(actor, version)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why you decline."), "reason")
    if len(reason) > 1000:
        raise ServiceError(_("Write at most %(n)d characters.", n=1000), "reason")
    with unit_of_work():
        moved = db.session.execute(update(QuoteVersion).where(QuoteVersion.id == version.id,
                                                              QuoteVersion.status == "open")
                                   .values(status="declined", reason=reason, decided_at=utcnow(),
                                           decided_by_id=actor.id)).rowcount
        if moved != 1:
            raise Conflict(_("This offer is no longer open."))
        tell(Everyone(_other_org(enquiry, side)), "quote", "talk.declined", f"/enquiries/{enquiry.id}",
             exclude=actor.id, org=_org_name(enquiry, side), price=format_yuan(version.price_fen),
             title=enquiry.listing.title, reason=reason)
    db.session.refresh(version)
    return version


# --- demands ------------------------------------------------------------------------------

def respond_to_demand(actor, listing_id: int, message: str, price_fen: int, *, delivery_on: date | None = None,
                      instalments: int = 1, valid_until: date | None = None, note: str = "",
                      notice_days: int | None = None) -> Enquiry:
    """A university, institute or provider proposes on a demand: it is the seller, the
    enterprise that posted the demand the buyer. One proposal thread per responder."""
    perm.require(actor, perm.RESPOND_DEMAND)
    listing = db.session.get(Listing, listing_id) if isinstance(listing_id, int) else None
    if listing is None or listing.kind != "demand" or listing.status != "published":
        raise NotFound(_("This demand is not open."))
    org = actor.organization
    if org.id == listing.organization_id:
        raise ServiceError(_("You cannot answer your own demand."))
    message = (message or "").strip()
    if not message:
        raise ServiceError(_("This field is required."), "message")
    if len(message) > MAX_NOTE:
        raise ServiceError(_("Write at most %(n)d characters.", n=MAX_NOTE), "message")
    _check_terms(price_fen, delivery_on, instalments, valid_until, note, notice_days)
    if db.session.scalar(select(Enquiry.id).where(Enquiry.listing_id == listing.id, Enquiry.responder_org_id == org.id,
                                                  Enquiry.status.in_(("open", "quoted")))):
        raise Conflict(_("Your organisation has already proposed on this demand: change its terms there."))
    poster = listing.created_by_id or next(iter(members(listing.organization_id)), None)
    with unit_of_work():
        enquiry = Enquiry(listing_id=listing.id, buyer_org_id=listing.organization_id, buyer_user_id=poster,
                          responder_org_id=org.id, message=message)
        db.session.add(enquiry)
        db.session.flush()
        offer(actor, enquiry.id, price_fen, delivery_on=delivery_on, instalments=instalments,
              valid_until=valid_until, note=note, notice_days=notice_days)
    return enquiry


def proposals(actor, listing_id: int) -> tuple[Listing, list[tuple[Enquiry, QuoteVersion | None]]]:
    """Every proposal a demand got, with its latest terms, for its poster to compare."""
    listing = db.session.get(Listing, listing_id) if isinstance(listing_id, int) else None
    if listing is None or listing.kind != "demand" or not perm.can(actor, perm.EDIT_LISTING, listing):
        raise NotFound(_("This demand does not exist."))
    rows = []
    for enquiry in db.session.scalars(select(Enquiry).where(Enquiry.listing_id == listing.id,
                                                           Enquiry.responder_org_id.is_not(None))
                                      .order_by(Enquiry.id)):
        latest = db.session.scalar(select(QuoteVersion).where(QuoteVersion.enquiry_id == enquiry.id)
                                   .order_by(QuoteVersion.version.desc()).limit(1))
        rows.append((enquiry, latest))
    return listing, rows


def _not_chosen(chosen: Enquiry) -> None:
    """The other open proposals on a demand whose poster accepted one are closed, and told."""
    _close_open(chosen.listing, "talk.not_chosen", Enquiry.id != chosen.id)


def _close_open(listing: Listing, key: str, *where) -> None:
    """Close the open proposals on a demand (their open versions withdrawn); tell each responder."""
    for other in db.session.scalars(select(Enquiry).where(Enquiry.listing_id == listing.id,
                                                         Enquiry.status.in_(("open", "quoted")), *where)):
        other.status = "closed"
        db.session.execute(update(QuoteVersion).where(QuoteVersion.enquiry_id == other.id,
                                                      QuoteVersion.status == "open").values(status="withdrawn"))
        tell(Everyone(other.seller_org_id), "enquiry", key, f"/enquiries/{other.id}",
             org=listing.organization.name, title=listing.title)


def close_demand(actor, listing_id: int) -> Listing:
    """The poster closes a demand: no new proposals; the open ones are closed and told; all
    stay visible to the poster."""
    listing = db.session.get(Listing, listing_id) if isinstance(listing_id, int) else None
    if listing is None or listing.kind != "demand":
        raise NotFound(_("This demand does not exist."))
    perm.require(actor, perm.EDIT_LISTING, listing)
    if listing.status != "published":
        raise ServiceError(_("This demand is not open."))
    with unit_of_work():
        moved = db.session.execute(update(Listing).where(Listing.id == listing.id, Listing.status == "published")
                                   .values(status="withdrawn")).rowcount
        if moved != 1:
            raise Conflict(_("This demand is not open."))
        enqueue("search", str(listing.id))
        _close_open(listing, "talk.demand_closed")
    db.session.refresh(listing)
    return listing


def expire_versions(now=None) -> int:
    """The sweep: open versions past their validity are marked expired."""
    with unit_of_work():
        return db.session.execute(update(QuoteVersion).where(QuoteVersion.status == "open",
                                                             QuoteVersion.valid_until < beijing_today())
                                  .values(status="expired", decided_at=utcnow())).rowcount
