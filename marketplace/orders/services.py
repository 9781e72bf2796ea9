"""Buying: enquiries and quotes, orders, technology contracts, bookings and lease fees.

Each function takes the acting user first, checks permission, and commits once.
Money events reach the ledger in the same transaction as the change they record.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, exists, insert, inspect, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from marketplace import permissions as perm
from marketplace.accounts.models import Membership
from marketplace.core import paging
from marketplace.core.errors import Conflict, NotFound, ServiceError
from marketplace.core.money import MAX_FEN, fen_to_str, format_yuan, yuan_to_fen
from marketplace.core.timeutil import beijing_now, beijing_today, utcnow
from marketplace.core.uow import as_written, transactional, unit_of_work
from marketplace.extensions import db
from marketplace.ledger.services import append as ledger_append
from marketplace.listings.models import Listing, ListingStatus
from marketplace.notifications.services import Chosen, Everyone, read_ahead, tell
from marketplace.orders.models import (
    BOOKING,
    CONTRACT_TYPES,
    ORDER,
    Booking,
    BookingSlot,
    BookingStatus,
    Enquiry,
    EnquiryStatus,
    LeasePayment,
    Order,
    OrderStatus,
    TechContract,
    booking_ref,
    contract_ref,
    order_ref,
    voucher_ref,
)

# Which technology contract a purchase of an achievement creates.
CONTRACT_FOR_MODE = {"assignment": "transfer", "exclusive_licence": "transfer", "non_exclusive_licence": "transfer",
                     "equity": "transfer", "co_development": "development"}
MAX_BOOKING_HOURS = 12


# Statements a checkout runs, built once with their ids as parameters: a statement keeps its
# cache key, so a request only binds its numbers (``session.get`` makes the statement and its
# key again at each call, with options at twice the CPU).
_LISTING = select(Listing).where(Listing.id == bindparam("listing_id"))
_NEW_ORDER = insert(Order.__table__).returning(Order.__table__.c.id)


def _member_in_both(buyer_org_id, seller_org_id):
    """One person in both organisations: a related-party order (关联交易), which the city's
    claim review flags (SQL: EXISTS)."""
    buyer_side, seller_side = aliased(Membership), aliased(Membership)
    return exists().where(buyer_side.organization_id == buyer_org_id, seller_side.organization_id == seller_org_id,
                          buyer_side.user_id == seller_side.user_id)


_SHARE_A_MEMBER = select(_member_in_both(bindparam("buyer"), bindparam("seller")))
# A listing bought at its price, with whether its organisation and the buyer's share a member.
_LISTING_TO_BUY = (select(Listing, _member_in_both(bindparam("buyer"), Listing.organization_id))
                   .where(Listing.id == bindparam("listing_id")))
_ORDER_WITH_PARTS = (select(Order).options(joinedload(Order.contract), joinedload(Order.booking))
                     .where(Order.id == bindparam("order_id")))


def _listing_for_sale(listing_id: int, kinds) -> Listing:
    return _on_sale(db.session.execute(_LISTING, {"listing_id": listing_id}).scalar_one_or_none(), kinds)


def _listing_to_buy(actor, listing_id: int, kinds) -> tuple[Listing, bool]:
    """The listing the actor's organisation buys at its price, and whether the two
    organisations share a member (the order's ``related_party``), in one statement."""
    row = db.session.execute(_LISTING_TO_BUY, {"listing_id": listing_id, "buyer": actor.organization.id}).one_or_none()
    listing, related = row if row is not None else (None, False)
    return _on_sale(listing, kinds), bool(related)


def _on_sale(listing: Listing | None, kinds) -> Listing:
    if listing is None or listing.status != ListingStatus.PUBLISHED or listing.kind not in kinds:
        raise NotFound(_("This listing does not exist."))
    return listing


def _shares_a_member(buyer_org_id: int, seller_org_id: int) -> bool:
    """Whether one person belongs to both organisations: one EXISTS; neither organisation's
    members are read for it (the seller's come with ``tell``'s one query, with their choices)."""
    return bool(db.session.scalar(_SHARE_A_MEMBER, {"buyer": buyer_org_id, "seller": seller_org_id}))


def voucher_eligible(buyer_org, listing: Listing) -> tuple[bool, str]:
    """May this buyer pay this listing with an innovation voucher (A3)? And if not, why.
    The rules engine decides (marketplace.vouchers.eligibility): one implementation."""
    from marketplace.vouchers import eligibility

    if listing.kind not in ("service", "instrument"):
        return False, _("Only services and instrument time can be paid with an innovation voucher.")
    return eligibility.eligible(buyer_org, listing.organization)


def price_preview(buyer_org, listing: Listing, amount_fen: int, on: date | None = None) -> dict:
    """What the buyer pays and what the province and city pay, before buying (the what-if)."""
    ok, why = voucher_eligible(buyer_org, listing) if buyer_org is not None else (False, "")
    if not ok:
        return {"eligible": False, "reason": why, "amount_fen": amount_fen, "enterprise_fen": amount_fen,
                "province_fen": 0, "city_fen": 0}
    province, city, enterprise = _split(amount_fen, on or beijing_today())
    return {"eligible": True, "reason": "", "amount_fen": amount_fen, "enterprise_fen": enterprise,
            "province_fen": province, "city_fen": city}


def _split(amount_fen: int, on: date) -> tuple[int, int, int]:
    """The voucher split, from the rules engine (the only implementation of it)."""
    from marketplace.reforms.parameters import in_force
    from marketplace.subsidies import voucher_split

    split = voucher_split(Decimal(amount_fen) / 100, on, parameters=in_force())
    province, city, enterprise = (yuan_to_fen(split.province), yuan_to_fen(split.city), yuan_to_fen(split.enterprise))
    assert province + city + enterprise == amount_fen
    return province, city, enterprise


def _new_order(actor, listing: Listing, kind: str, amount_fen: int, with_voucher: bool,
               transfer_mode: str | None = None, enquiry: Enquiry | None = None,
               voucher_id: int | None = None, related: bool | None = None,
               sellers: Chosen | None = None) -> Order:
    """The order (and, for an achievement or a demand, the technology contract). The buyer is
    the actor's organisation; on an enquiry the enquiry's parties (a demand's responder sells).
    ``related``: whether buyer and seller share a member, if the caller read it already;
    ``sellers``: the seller's members to tell, if the caller read them already."""
    buyer = enquiry.buyer if enquiry is not None else actor.organization
    seller_org_id = enquiry.seller_org_id if enquiry is not None else listing.organization_id
    if buyer.id == seller_org_id:
        raise ServiceError(_("You cannot buy from your own organisation."))
    if amount_fen <= 0:
        raise ServiceError(_("The amount must be more than zero."), "amount")
    if amount_fen > MAX_FEN:
        raise ServiceError(_("The amount is too large."), "amount")
    province = city = 0
    enterprise = amount_fen
    if with_voucher:
        ok, why = voucher_eligible(buyer, listing)
        if not ok:
            raise ServiceError(why, "with_voucher")
        province, city, enterprise = _split(amount_fen, beijing_today())
    values = dict(listing_id=listing.id, buyer_org_id=buyer.id, seller_org_id=seller_org_id,
                  created_by_id=actor.id, kind=kind, transfer_mode=transfer_mode, amount_fen=amount_fen,
                  with_voucher=with_voucher, province_fen=province, city_fen=city, enterprise_fen=enterprise,
                  related_party=_shares_a_member(buyer.id, seller_org_id) if related is None else related,
                  enquiry_id=enquiry.id if enquiry else None, status=OrderStatus.PENDING_PAYMENT,
                  created_at=utcnow(), paid_at=None, delivered_at=None)
    # (one INSERT: a flush working it out cost more CPU than the rest of ordering)
    order = as_written(Order, db.session.execute(_NEW_ORDER, values).scalar_one(), values)
    if with_voucher:  # the public shares are held on one of the buyer's vouchers
        from marketplace.vouchers.services import reserve

        reserve(order, voucher_id)
    if listing.kind in ("achievement", "demand"):
        # A demand answered is research done for the enterprise: a technology development contract.
        contract_type = "development" if listing.kind == "demand" else CONTRACT_FOR_MODE.get(transfer_mode, "transfer")
        contract = TechContract(order_id=order.id, contract_type=contract_type,
                                seller_org_id=seller_org_id, buyer_org_id=buyer.id,
                                amount_fen=amount_fen, project=listing.ref, signed_on=beijing_today(),
                                transformed_in_city=buyer.in_city)
        db.session.add(contract)
    tell(sellers or Everyone(seller_org_id), "order", "talk.order", f"/orders/{order.id}", exclude=actor.id,
         org=buyer.name, title=listing.title, price=format_yuan(amount_fen))
    return order


def order_from_enquiry(buyer_user, enquiry: Enquiry, amount_fen: int, with_voucher: bool) -> Order:
    """The order for an accepted quote (inside the caller's unit of work)."""
    kind = "licence" if enquiry.listing.kind == "achievement" else "service"
    return _new_order(buyer_user, enquiry.listing, kind, amount_fen, with_voucher,
                      transfer_mode=enquiry.transfer_mode, enquiry=enquiry)


@transactional
def enquire(actor, listing_id: int, message: str, transfer_mode: str | None = None) -> Enquiry:
    perm.require(actor, perm.TRADE)
    listing = _listing_for_sale(listing_id, ("achievement", "service", "instrument", "demand"))
    if listing.kind == "demand":
        raise ServiceError(_("Answer a demand with a proposal: your price and terms."), "message")
    if actor.organization.id == listing.organization_id:
        raise ServiceError(_("You cannot buy from your own organisation."))
    if not (message or "").strip():
        raise ServiceError(_("This field is required."), "message")
    if transfer_mode and transfer_mode not in listing.modes:
        raise ServiceError(_("This achievement is not offered that way."), "transfer_mode")
    enquiry = Enquiry(listing_id=listing.id, buyer_org_id=actor.organization.id, buyer_user_id=actor.id,
                      message=message.strip(), transfer_mode=transfer_mode)
    db.session.add(enquiry)
    db.session.flush()
    tell(Everyone(listing.organization_id), "enquiry", "talk.enquiry", f"/enquiries/{enquiry.id}",
         org=actor.organization.name, title=listing.title)
    return enquiry


def _enquiry(enquiry_id: int) -> Enquiry:
    enquiry = db.session.get(Enquiry, enquiry_id)
    if enquiry is None:
        raise NotFound(_("This enquiry does not exist."))
    return enquiry


def get_enquiry(actor, enquiry_id: int) -> Enquiry:
    """An enquiry its buyer or the listing's organisation sees (one row, not a scan of the list)."""
    org = getattr(actor, "organization", None)
    enquiry = db.session.get(Enquiry, enquiry_id)
    if enquiry is None or org is None or org.id not in (enquiry.buyer_org_id, enquiry.listing.organization_id,
                                                        enquiry.responder_org_id):
        raise NotFound(_("This enquiry does not exist."))
    return enquiry


@transactional
def quote(actor, enquiry_id: int, amount_fen: int, note: str = "") -> Enquiry:
    """The seller's quote: a version of the terms (marketplace.conversations.negotiation)."""
    from marketplace.conversations import negotiation

    enquiry = _enquiry(enquiry_id)
    perm.require(actor, perm.SELL, enquiry)
    negotiation.offer(actor, enquiry.id, amount_fen, note=note)
    return enquiry


@transactional
def accept_quote(actor, enquiry_id: int, with_voucher: bool = False) -> Order | None:
    """The buyer accepts the seller's open version: one order (and technology contract) per
    enquiry, or first the agreed-price notice when a university or institute sells (then None)."""
    from marketplace.conversations import negotiation, pricenotice

    enquiry = _enquiry(enquiry_id)
    perm.require(actor, perm.BUY, enquiry)
    if enquiry.status in (EnquiryStatus.ORDERED, EnquiryStatus.ON_NOTICE):
        raise Conflict(_("This quote was accepted already."))
    version = negotiation.open_version(enquiry)
    if version is None:
        # Another request may have accepted it between our two reads: that is a conflict,
        # not a missing quote.
        db.session.refresh(enquiry)
        if enquiry.status in (EnquiryStatus.ORDERED, EnquiryStatus.ON_NOTICE):
            raise Conflict(_("This quote was accepted already."))
    if enquiry.status != EnquiryStatus.QUOTED or version is None or version.side != "seller":
        raise ServiceError(_("There is no quote to accept."))
    result = negotiation.accept(actor, version.id, with_voucher)
    return None if isinstance(result, pricenotice.PriceNotice) else result


# Buying at the listed price reads the listing before its unit of work takes SQLite's write
# lock, which other checkouts wait for: nothing decided about a listing (an edit, a withdrawal)
# reads its orders, so an order made from what was read a moment ago is the order made a
# moment earlier. What must be decided inside (a voucher's balance) is, by the services
# _new_order calls.

def order_service(actor, listing_id: int, with_voucher: bool = False, voucher_id: int | None = None) -> Order:
    """Buy a service at its listed price."""
    perm.require(actor, perm.TRADE)
    listing, related = _listing_to_buy(actor, listing_id, ("service",))
    if listing.price_fen is None:
        raise ServiceError(_("This service is priced on request: send an enquiry."))
    sellers = read_ahead(Everyone(listing.organization_id), "order")
    with unit_of_work():
        return _new_order(actor, listing, "service", listing.price_fen, with_voucher, voucher_id=voucher_id,
                          related=related, sellers=sellers)


def buy_achievement(actor, listing_id: int, transfer_mode: str) -> Order:
    """Buy a licence or assignment at the asking price; creates the technology contract."""
    perm.require(actor, perm.TRADE)
    listing, related = _listing_to_buy(actor, listing_id, ("achievement",))
    if transfer_mode not in listing.modes:
        raise ServiceError(_("This achievement is not offered that way."), "transfer_mode")
    if listing.price_fen is None or listing.negotiable:
        raise ServiceError(_("The price is negotiable: send an enquiry."))
    sellers = read_ahead(Everyone(listing.organization_id), "order")
    with unit_of_work():
        return _new_order(actor, listing, "licence", listing.price_fen, False, transfer_mode=transfer_mode,
                          related=related, sellers=sellers)


def get_order(actor, order_id: int, *, with_parts: bool = False) -> Order:
    """The order, if the actor may see it. ``with_parts``: its contract and booking (what
    ``business_ref`` and the payment methods read) come in the same query."""
    if with_parts:
        order = db.session.execute(_ORDER_WITH_PARTS, {"order_id": order_id}).unique().scalar_one_or_none()
    else:
        order = db.session.get(Order, order_id)
    if order is None or not perm.can(actor, perm.VIEW_ORDER, order):
        raise NotFound(_("This order does not exist."))
    return order


def orders_of(actor, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[Order]:
    """The orders the actor's organisation bought or sold, newest first, a page at a time."""
    org = actor.organization
    if org is None:
        return paging.from_list([])
    return paging.paginate(select(Order).where(or_(Order.buyer_org_id == org.id, Order.seller_org_id == org.id)),
                           order_by=(), tiebreak=Order.id.desc(), page=page, per_page=per_page)


def enquiries_of(actor, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[Enquiry]:
    org = actor.organization
    if org is None:
        return paging.from_list([])
    return paging.paginate(select(Enquiry).join(Listing).where(
        or_(Enquiry.buyer_org_id == org.id, Listing.organization_id == org.id, Enquiry.responder_org_id == org.id)),
        order_by=(), tiebreak=Enquiry.id.desc(), page=page, per_page=per_page)


@transactional
def confirm_delivery(actor, order_id: int) -> Order:
    order = get_order(actor, order_id)
    perm.require(actor, perm.BUY, order)
    if order.with_voucher or order.booking is not None:
        raise ServiceError(_("This service is delivered by the provider and then accepted by you."))
    ORDER.require(order.status, OrderStatus.DELIVERED, _("Only a paid order can be confirmed as delivered."),
                  ServiceError)
    order.status, order.delivered_at = OrderStatus.DELIVERED, utcnow()
    return order


def committed_id(row) -> int:
    """The id of a row a unit of work committed, without reading the row again (a commit
    expires every loaded attribute, the id too)."""
    return inspect(row).identity[0]


def business_ref(order: Order) -> str:
    """The id under which an order's money events stand in the ledger and the scenario."""
    return business_ref_of(order.id, order.with_voucher, getattr(order.contract, "id", None),
                           getattr(order.booking, "id", None))


def business_ref_of(order_id: int, with_voucher: bool, contract_id: int | None, booking_id: int | None) -> str:
    """``business_ref`` from the ids alone: the contract's, else the booking's, else the
    voucher's, else the order's."""
    if contract_id is not None:
        return contract_ref(contract_id)
    if booking_id is not None:
        return booking_ref(booking_id)
    if with_voucher:
        return voucher_ref(order_id)
    return order_ref(order_id)


# --- technology contracts ------------------------------------------------------------

def contract_order_id(actor, contract_id: int) -> int:
    """The order a contract belongs to (its page shows the contract); reading the order asks
    the permission table."""
    contract = db.session.get(TechContract, contract_id)
    if contract is None:
        raise NotFound(_("This contract does not exist."))
    return contract.order_id


@transactional
def register_contract(actor, contract_id: int, registration_no: str, registered_on: date,
                      contract_type: str | None = None, broker_org_id: int | None = None) -> TechContract:
    """The seller (or its broker) records the 认定登记 registration; the ledger records it."""
    contract = db.session.get(TechContract, contract_id)
    if contract is None:
        raise NotFound(_("This contract does not exist."))
    perm.require(actor, perm.REGISTER_CONTRACT, contract)
    if contract.registration_no:
        raise Conflict(_("This contract is already registered."))
    registration_no = (registration_no or "").strip()
    if not registration_no or len(registration_no) > 40:
        raise ServiceError(_("Give the registration number."), "registration_no")
    if registered_on is None or registered_on > beijing_today():
        raise ServiceError(_("The registration date cannot be in the future."), "registered_on")
    if registered_on < contract.signed_on:
        raise ServiceError(_("A contract is registered after it is signed."), "registered_on")
    if contract_type:
        if contract_type not in CONTRACT_TYPES:
            raise ServiceError(_("Choose a contract type."), "contract_type")
        contract.contract_type = contract_type
    if broker_org_id is not None:
        contract.broker_org_id = broker_org_id
    if db.session.scalar(select(TechContract.id).where(TechContract.registration_no == registration_no)):
        raise Conflict(_("Another contract has this registration number."), "registration_no")
    contract.registration_no, contract.registered_on = registration_no, registered_on
    ledger_append("contract_registered", contract.ref, registered_on, contract.amount_fen, {
        "contract_type": contract.contract_type, "seller": contract.seller.credit_code,
        "buyer": contract.buyer.credit_code, "amount": fen_to_str(contract.amount_fen),
        "registration_no": registration_no, "registered_on": registered_on.isoformat(),
        "project": contract.project, "broker": contract.broker.credit_code if contract.broker else None,
        "transformed_in_city": contract.transformed_in_city, "transfer_kind": contract.transfer_kind,
    })
    return contract


# --- instrument bookings ----------------------------------------------------------

def booking_price(instrument: Listing, hours: int, samples: int | None, self_use: bool) -> int:
    unit_price = instrument.internal_price_fen if self_use and instrument.internal_price_fen is not None \
        else instrument.price_fen
    if unit_price is None:
        raise ServiceError(_("This instrument has no price yet."))
    quantity = hours if instrument.price_unit == "hour" else (samples or 0)
    if quantity <= 0:
        raise ServiceError(_("Give the number of samples."), "samples")
    return unit_price * quantity


def booking_payment_minutes() -> int:
    return int(current_app.config["BOOKING_PAYMENT_MINUTES"])


def booking_expired(booking: Booking) -> bool:
    """An unpaid booking whose time to pay has run out (its hours are, or will be, freed)."""
    if booking.status == BookingStatus.EXPIRED:
        return True
    return (booking.status == BookingStatus.BOOKED and booking.order is not None
            and booking.order.status == OrderStatus.PENDING_PAYMENT
            and booking.created_at < utcnow() - timedelta(minutes=booking_payment_minutes()))


def _expire(booking_ids) -> int:
    """Expire these unpaid bookings (part of the caller's unit of work): the order is
    cancelled by a conditional update — only while it waits for payment and no payment of
    it is under way — the booking marked expired and its hours deleted. Returns how many."""
    from marketplace.payments.models import LIVE, Payment

    expired = 0
    for booking_id, order_id in booking_ids:
        live_payment = exists().where(Payment.order_id == order_id, Payment.status.in_(LIVE))
        moved = db.session.execute(update(Order).where(Order.id == order_id,
                                                       Order.status.in_(ORDER.sources(OrderStatus.CANCELLED)),
                                                       ~live_payment)
                                   .values(status=OrderStatus.CANCELLED)
                                   .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            continue
        db.session.execute(update(Booking).where(Booking.id == booking_id,
                                                 Booking.status.in_(BOOKING.sources(BookingStatus.EXPIRED)))
                           .values(status=BookingStatus.EXPIRED).execution_options(synchronize_session=False))
        db.session.execute(delete(BookingSlot).where(BookingSlot.booking_id == booking_id)
                           .execution_options(synchronize_session=False))
        from marketplace.vouchers.services import release

        release(order_id)  # the voucher's reservation, if any, is free again
        expired += 1
    return expired


def _overdue(*where):
    deadline = utcnow() - timedelta(minutes=booking_payment_minutes())
    return (select(Booking.id, Booking.order_id).join(Order, Order.id == Booking.order_id)
            .where(Booking.status == BookingStatus.BOOKED, Order.status == OrderStatus.PENDING_PAYMENT,
                   Booking.created_at < deadline, *where))


@transactional
def expire_unpaid_bookings() -> int:
    """The sweep (``flask bookings expire``, run by the worker): expire every unpaid booking
    past its payment time and free its hours. Commits; returns how many expired."""
    expired = _expire(list(db.session.execute(_overdue())))
    return expired


@transactional
def book_instrument(actor, instrument_id: int, start_at: datetime, hours: int, samples: int | None = None,
                    with_voucher: bool = False, voucher_id: int | None = None) -> Booking:
    """Book whole hours of an instrument. Overlaps are impossible: each hour is a unique row.

    ``start_at`` is Beijing wall-clock time (as the calendar shows it). Everything that can
    refuse is checked before anything is written; a refusal writes nothing. Unpaid bookings
    of the same hours whose payment time has run out are expired in the same transaction."""
    perm.require(actor, perm.TRADE)
    instrument = _listing_for_sale(instrument_id, ("instrument",))
    from marketplace.instruments.models import InstrumentSettings

    if db.session.get(InstrumentSettings, instrument.id) is not None:  # its rules live in marketplace.instruments
        raise ServiceError(_("Book this instrument on its instrument page: it has its own rules."), "start_at")
    if start_at.minute or start_at.second or start_at.microsecond:
        raise ServiceError(_("Bookings start on the hour."), "start_at")
    if not 1 <= hours <= MAX_BOOKING_HOURS:
        raise ServiceError(_("Book between 1 and %(n)d hours.", n=MAX_BOOKING_HOURS), "hours")
    now = beijing_now()
    if start_at < now - timedelta(minutes=1):
        raise ServiceError(_("This time has passed."), "start_at")
    horizon = int(current_app.config["BOOKING_HORIZON_DAYS"])
    if start_at > now + timedelta(days=horizon):
        raise ServiceError(_("Bookings are taken at most %(n)d days ahead.", n=horizon), "start_at")
    end_at = start_at + timedelta(hours=hours)
    if start_at.hour < instrument.open_from_hour or start_at.hour + hours > instrument.open_to_hour:
        raise ServiceError(_("The instrument is open from %(a)d:00 to %(b)d:00.",
                             a=instrument.open_from_hour, b=instrument.open_to_hour), "start_at")
    self_use = actor.organization.id == instrument.organization_id
    amount = booking_price(instrument, hours, samples, self_use)
    if not self_use and with_voucher:
        ok, why = voucher_eligible(actor.organization, instrument)
        if not ok:
            raise ServiceError(why, "with_voucher")
    booking = Booking(instrument_id=instrument.id, customer_org_id=actor.organization.id, start_at=start_at,
                      end_at=end_at, samples=samples, amount_fen=amount, self_use=self_use)
    try:
        with db.session.begin_nested():  # a clash rolls back to here; the session stays usable
            if not self_use:
                order = _new_order(actor, instrument, "booking", amount, with_voucher, voucher_id=voucher_id)
                booking.order_id = order.id
            db.session.add(booking)
            db.session.flush()
            _expire(list(db.session.execute(_overdue(Booking.instrument_id == instrument.id, Booking.id.in_(
                select(BookingSlot.booking_id).where(BookingSlot.instrument_id == instrument.id,
                                                     BookingSlot.slot_start >= start_at, BookingSlot.slot_start < end_at))))))
            db.session.add_all([BookingSlot(booking_id=booking.id, instrument_id=instrument.id,
                                            slot_start=start_at + timedelta(hours=h)) for h in range(hours)])
    except IntegrityError:  # a concurrent booking of the same hour won the race
        raise Conflict(_("This time is already booked. Choose another."), "start_at") from None
    return booking


def calendar(instrument_id: int, day: date, days: int = 7) -> dict:
    """Booked hours of an instrument over a week: {date: set(hours)}."""
    start = datetime.combine(day, datetime.min.time())
    overdue = select(Booking.id).where(Booking.id.in_(_overdue(Booking.instrument_id == instrument_id)
                                                      .with_only_columns(Booking.id)))
    rows = db.session.scalars(select(BookingSlot.slot_start).where(
        BookingSlot.instrument_id == instrument_id, BookingSlot.slot_start >= start,
        BookingSlot.slot_start < start + timedelta(days=days),
        BookingSlot.booking_id.not_in(overdue)))  # unpaid past their time: free to book
    taken: dict = {}
    for slot in rows:
        taken.setdefault(slot.date(), set()).add(slot.hour)
    return taken


def _booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(_("This booking does not exist."))
    return booking


@transactional
def complete_booking(actor, booking_id: int) -> Booking:
    """The provider marks the service done, once its hours are over (Beijing time). The
    owner's own use is recorded in the ledger now; a customer's booking waits for the
    customer's acceptance (marketplace.vouchers.services), which writes the ledger."""
    booking = _booking(booking_id)
    perm.require(actor, perm.SELL, booking)
    BOOKING.require(booking.status, BookingStatus.COMPLETED, _("This booking is not open."), ServiceError)
    if booking.order is None and not booking.self_use:
        raise ServiceError(_("The booking is not paid yet."))
    if booking.order is not None and booking.order.status not in (OrderStatus.PAID, OrderStatus.DELIVERED):
        raise ServiceError(_("The booking is not paid yet."))
    if beijing_now() < booking.end_at:
        raise ServiceError(_("A booking can be completed only after it ends (%(end)s).",
                                end=booking.end_at.strftime("%Y-%m-%d %H:%M")))
    moved = db.session.execute(update(Booking).where(Booking.id == booking.id,
                                                     Booking.status.in_(BOOKING.sources(BookingStatus.COMPLETED)))
                               .values(status=BookingStatus.COMPLETED).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This booking is not open."))
    booking.status = BookingStatus.COMPLETED
    if booking.order is None:  # the owner's own use: nobody else to accept it
        provider = booking.instrument.organization
        ledger_append("booking_completed", booking.ref, booking.end_at.date(), booking.amount_fen, {
            "provider": provider.credit_code, "customer": booking.customer.credit_code,
            "instrument": booking.instrument.ref, "amount": fen_to_str(booking.amount_fen),
        })
    else:
        from marketplace.vouchers.services import on_booking_completed

        on_booking_completed(actor, booking)
    return booking


@transactional
def cancel_booking(actor, booking_id: int) -> Booking:
    booking = _booking(booking_id)
    perm.require(actor, perm.CANCEL_BOOKING, booking)
    BOOKING.require(booking.status, BookingStatus.CANCELLED, _("This booking is not open."), ServiceError)
    if booking.order is not None:
        ORDER.require(booking.order.status, OrderStatus.CANCELLED, _("A paid booking is cancelled by a refund."),
                      ServiceError)
        from marketplace.payments.models import LIVE, Payment

        live_payment = exists().where(Payment.order_id == booking.order_id, Payment.status.in_(LIVE))
        moved = db.session.execute(update(Order).where(Order.id == booking.order_id,
                                                       Order.status.in_(ORDER.sources(OrderStatus.CANCELLED)),
                                                       ~live_payment)
                                   .values(status=OrderStatus.CANCELLED).execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            raise Conflict(_("This booking is being paid; a paid booking is cancelled by a refund."))
        db.session.expire(booking.order)
        from marketplace.vouchers.services import release

        release(booking.order_id)
    booking.status = BookingStatus.CANCELLED
    for slot in db.session.scalars(select(BookingSlot).where(BookingSlot.booking_id == booking.id)):
        db.session.delete(slot)  # the hours are free again
    return booking


def bookings_of(actor, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[Booking]:
    """Bookings the organisation made or whose instrument it owns, latest hours first."""
    org = actor.organization
    if org is None:
        return paging.from_list([])
    return paging.paginate(select(Booking).join(Listing, Booking.instrument_id == Listing.id).where(
        or_(Booking.customer_org_id == org.id, Listing.organization_id == org.id)),
        order_by=(Booking.start_at.desc(),), tiebreak=Booking.id.desc(), page=page, per_page=per_page)


# --- lease fees (A5) -------------------------------------------------------------

@transactional
def record_lease_payment(actor, instrument_id: int, amount_fen: int, paid_on: date) -> LeasePayment:
    instrument = db.session.get(Listing, instrument_id)
    if instrument is None or instrument.kind != "instrument":
        raise NotFound(_("This listing does not exist."))
    perm.require(actor, perm.EDIT_LISTING, instrument)
    if not instrument.financing_lease:
        raise ServiceError(_("Only financially leased instruments have lease fees."))
    if amount_fen <= 0:
        raise ServiceError(_("The amount must be more than zero."), "amount")
    if paid_on > beijing_today():
        raise ServiceError(_("The payment date cannot be in the future."), "paid_on")
    lease = LeasePayment(instrument_id=instrument.id, lessee_org_id=instrument.organization_id,
                         amount_fen=amount_fen, paid_on=paid_on, recorded_by_id=actor.id)
    db.session.add(lease)
    db.session.flush()
    ledger_append("lease_fee", lease.ref, paid_on, amount_fen, {
        "lessee": instrument.organization.credit_code, "instrument": instrument.ref,
        "amount": fen_to_str(amount_fen), "financing_lease": instrument.financing_lease,
        "on_sharing_platform": instrument.on_sharing_platform,
    })
    return lease
