"""The agreed-price public notice (协议定价公示, 促进科技成果转化法 art. 18).

When a university or public institute sells at a negotiated price, the accepted version
stands on the public notice page (beside the city's subsidy notices, /notice) for the days
its seller set (PRICE_NOTICE_DAYS by default). Anyone logged in may object; the objection
reaches the seller, who upholds it (the notice is withdrawn and nothing is signed) or
dismisses it with a reason. Once the period has ended with no objection open or upheld the
notice clears — in the worker's sweep, or when the buyer asks to sign — and only then are
the order and the technology contract made, ready to pay. Clearing is a conditional update,
so the contract is made once. Enterprises selling are not affected (no notice).
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, select, update

from marketplace import permissions as perm
from marketplace.accounts.models import User
from marketplace.conversations.models import PriceNotice, PriceObjection, QuoteVersion
from marketplace.core.errors import Conflict, NotFound, PermissionDenied, ServiceError
from marketplace.core.money import format_yuan
from marketplace.core.timeutil import beijing_today, utcnow
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.notifications.services import Everyone, tell
from marketplace.orders.models import Enquiry


def start(enquiry: Enquiry, version: QuoteVersion) -> PriceNotice:
    """Put the accepted price on notice (inside the acceptance's unit of work)."""
    days = version.notice_days or int(current_app.config["PRICE_NOTICE_DAYS"])
    today = beijing_today()
    notice = PriceNotice(enquiry_id=enquiry.id, version_id=version.id, seller_org_id=enquiry.seller_org_id,
                         buyer_org_id=enquiry.buyer_org_id, title=enquiry.listing.title, price_fen=version.price_fen,
                         notice_from=today, notice_until=today + timedelta(days=days))
    db.session.add(notice)
    db.session.flush()
    for org_id in (enquiry.seller_org_id, enquiry.buyer_org_id):
        tell(Everyone(org_id), "notice", "talk.notice_started", f"/enquiries/{enquiry.id}",
             price=format_yuan(notice.price_fen), title=notice.title, until=notice.notice_until.isoformat())
    return notice


def on_notice() -> list[PriceNotice]:
    """The notices running today, for the public page."""
    day = beijing_today()
    return list(db.session.scalars(select(PriceNotice).where(PriceNotice.status == "on_notice",
                                                             PriceNotice.notice_from <= day,
                                                             PriceNotice.notice_until > day)
                                   .order_by(PriceNotice.notice_until, PriceNotice.id)))


def of_enquiry(enquiry_id: int) -> PriceNotice | None:
    return db.session.scalar(select(PriceNotice).where(PriceNotice.enquiry_id == enquiry_id))


def _notice(notice_id: int) -> PriceNotice:
    notice = db.session.get(PriceNotice, notice_id) if isinstance(notice_id, int) else None
    if notice is None:
        raise NotFound(_("This notice does not exist."))
    return notice


def object_to(actor, notice_id: int, reason: str) -> PriceObjection:
    perm.require(actor, perm.OBJECT_TO_PRICE)
    notice = _notice(notice_id)
    day = beijing_today()
    if notice.status != "on_notice" or not notice.notice_from <= day < notice.notice_until:
        raise Conflict(_("This notice has ended; objections are no longer taken."))
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ServiceError(_("Say what is wrong with this price."), "reason")
    if len(reason) > 3000:
        raise ServiceError(_("Write at most %(n)d characters.", n=3000), "reason")
    if db.session.scalar(select(PriceObjection.id).where(PriceObjection.notice_id == notice.id,
                                                         PriceObjection.user_id == actor.id)):
        raise Conflict(_("You have already objected to this price; the seller reads every objection."), "reason")
    with unit_of_work():
        objection = PriceObjection(notice_id=notice.id, user_id=actor.id, reason=reason)
        db.session.add(objection)
        db.session.flush()
        tell(Everyone(notice.seller_org_id), "notice", "talk.notice_objection",
             f"/enquiries/{notice.enquiry_id}", name=actor.name, price=format_yuan(notice.price_fen),
             title=notice.title, reason=reason[:200])
    return objection


def enquiry_id_of_objection(actor, objection_id: int) -> int:
    """The enquiry whose page shows this objection (that page asks who may see it)."""
    objection = db.session.get(PriceObjection, objection_id) if isinstance(objection_id, int) else None
    if objection is None:
        raise NotFound(_("This objection does not exist."))
    return objection.notice.enquiry_id


def decide_objection(actor, objection_id: int, uphold: bool, reason: str) -> PriceObjection:
    """The seller decides: uphold (the notice is withdrawn, nothing is signed) or dismiss with a reason."""
    objection = db.session.get(PriceObjection, objection_id) if isinstance(objection_id, int) else None
    if objection is None:
        raise NotFound(_("This objection does not exist."))
    notice = objection.notice
    if not perm.can(actor, perm.SELL, notice):
        raise PermissionDenied(_("You are not allowed to do this."))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give the reason for your decision."), "reason")
    with unit_of_work():
        moved = db.session.execute(update(PriceObjection).where(PriceObjection.id == objection.id,
                                                                PriceObjection.status == "open")
                                   .values(status="upheld" if uphold else "dismissed", decision_reason=reason,
                                           decided_by_id=actor.id, decided_at=utcnow())).rowcount
        if moved != 1:
            raise Conflict(_("This objection was already decided."))
        if uphold:
            withdrawn = db.session.execute(update(PriceNotice).where(PriceNotice.id == notice.id,
                                                                     PriceNotice.status == "on_notice")
                                           .values(status="withdrawn", closed_at=utcnow())).rowcount
            if withdrawn == 1:
                db.session.execute(update(Enquiry).where(Enquiry.id == notice.enquiry_id)
                                   .values(status="closed"))
                for org_id in (notice.seller_org_id, notice.buyer_org_id):
                    tell(Everyone(org_id), "notice", "talk.notice_withdrawn", f"/enquiries/{notice.enquiry_id}",
                         org=notice.seller.name, price=format_yuan(notice.price_fen), title=notice.title)
        else:
            tell([objection.user_id], "notice", "talk.objection_dismissed", f"/enquiries/{notice.enquiry_id}",
                 org=notice.seller.name, title=notice.title, reason=reason)
    db.session.refresh(objection)
    return objection


def _blocking():
    return exists().where(PriceObjection.notice_id == PriceNotice.id,
                          PriceObjection.status.in_(("open", "upheld")))


def clear(notice: PriceNotice):
    """Clear one notice whose period ended with no open or upheld objection and make the
    order and contract (in the caller's unit of work). Returns the order, or None if it was
    not clearable (still running, objected, or cleared by someone else meanwhile)."""
    from marketplace.orders import services as orders

    moved = db.session.execute(update(PriceNotice).where(
        PriceNotice.id == notice.id, PriceNotice.status == "on_notice", PriceNotice.notice_until <= beijing_today(),
        ~_blocking()).values(status="cleared", closed_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        return None
    enquiry = db.session.get(Enquiry, notice.enquiry_id)
    buyer_user = db.session.get(User, enquiry.buyer_user_id)
    db.session.execute(update(Enquiry).where(Enquiry.id == enquiry.id, Enquiry.status == "on_notice")
                       .values(status="ordered").execution_options(synchronize_session=False))
    order = orders.order_from_enquiry(buyer_user, enquiry, notice.price_fen, False)
    notice.order_id = order.id
    for org_id in (notice.seller_org_id, notice.buyer_org_id):
        tell(Everyone(org_id), "notice", "talk.notice_cleared", f"/orders/{order.id}",
             price=format_yuan(notice.price_fen), title=notice.title)
    return order


def sign(actor, notice_id: int):
    """The buyer asks to sign once the notice has ended: returns the order to pay."""
    notice = _notice(notice_id)
    if not perm.can(actor, perm.BUY, notice):
        raise PermissionDenied(_("You are not allowed to do this."))
    if notice.status == "cleared" and notice.order_id:
        from marketplace.orders.models import Order

        return db.session.get(Order, notice.order_id)
    if notice.status != "on_notice":
        raise ServiceError(_("This notice was withdrawn; nothing can be signed."))
    if notice.notice_until > beijing_today():
        raise ServiceError(_("The public notice runs until %(day)s; the contract is signed after it.",
                             day=notice.notice_until.isoformat()))
    if any(o.status == "open" for o in notice.objections):
        raise ServiceError(_("An objection waits for the seller's decision."))
    with unit_of_work():
        order = clear(notice)
        if order is None:
            raise Conflict(_("This notice was closed meanwhile. Reload the page."))
    return order


def clear_due(now=None) -> int:
    """The sweep: clear every notice whose period has ended without objection."""
    cleared = 0
    due = list(db.session.scalars(select(PriceNotice).where(PriceNotice.status == "on_notice",
                                                            PriceNotice.notice_until <= beijing_today())))
    for notice in due:
        with unit_of_work():
            cleared += clear(notice) is not None
    return cleared
