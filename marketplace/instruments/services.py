"""Shared instruments: settings, qualification, bookings with approval, outages, waiting
lists, cancellations and no-shows, recorded use, samples sent in.

Every function takes the acting user first, asks marketplace.permissions, and runs in one
unit of work; a refusal writes nothing. Hours are held by the ``booking_slots`` unique key
of marketplace.orders (a second hold of the same hour fails in the database), and every
change of state that others may race for is a conditional UPDATE on the expected state.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from marketplace import permissions as perm
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, NotFound, ServiceError
from marketplace.core.timeutil import beijing_now, beijing_today, utcnow
from marketplace.core.uow import transactional, unit_of_work
from marketplace.extensions import db
from marketplace.instruments import (
    labels,  # noqa: F401 - the notices' names
    policy,
)
from marketplace.instruments.models import (
    APPROVAL_RULES,
    BILLING_RULES,
    LATE_RULES,
    OUTAGE_KINDS,
    BookingTerms,
    CalendarFeed,
    InstrumentSettings,
    Outage,
    Qualification,
    SampleOrder,
    WaitlistEntry,
)
from marketplace.listings.models import Listing
from marketplace.notifications.models import notify
from marketplace.notifications.services import members
from marketplace.orders import services as orders
from marketplace.orders.models import Booking, BookingSlot, Order

MAX_REPEAT_WEEKS = 8
FREE_SLOT_SEARCH_DAYS = 30


# --- looking things up --------------------------------------------------------------

def instrument(instrument_id: int) -> Listing:
    listing = db.session.get(Listing, instrument_id)
    if listing is None or listing.kind != "instrument":
        raise NotFound(_("This instrument does not exist."))
    return listing


def _published(instrument_id: int) -> Listing:
    listing = instrument(instrument_id)
    if listing.status != "published":
        raise NotFound(_("This instrument does not exist."))
    return listing


def settings_of(instrument_id: int) -> InstrumentSettings | None:
    return db.session.get(InstrumentSettings, instrument_id)


def _settings(instrument_id: int) -> InstrumentSettings:
    found = settings_of(instrument_id)
    if found is None:
        raise ServiceError(_("The provider has not set how this instrument is used yet."))
    return found


def _managed(actor, instrument_id: int) -> Listing:
    listing = instrument(instrument_id)
    perm.require(actor, perm.MANAGE_INSTRUMENT, listing)
    return listing


def _notify_managers(listing: Listing, message: str, link: str) -> None:
    for user_id in members(listing.organization_id):
        notify(user_id, message, link)


def qualification_of(user_id: int, instrument_id: int) -> Qualification | None:
    return db.session.scalar(select(Qualification).where(Qualification.instrument_id == instrument_id,
                                                         Qualification.user_id == user_id))


def terms_of(booking_id: int) -> BookingTerms | None:
    return db.session.get(BookingTerms, booking_id)


# --- settings -----------------------------------------------------------------------

SETTING_FIELDS = ("sample_mode", "self_mode", "sample_price_fen", "sample_days", "requires_training",
                  "training_hours", "training_price_fen", "qualification_months", "approval", "hold_hours",
                  "weekly_quota_hours", "overnight", "max_hours", "cancel_window_hours", "late_rule",
                  "late_fee_fen", "billing", "specifications", "accreditation", "latitude", "longitude")


@transactional
def save_settings(actor, instrument_id: int, **values) -> InstrumentSettings:
    """The provider sets how the instrument is used (both modes, rules, public details)."""
    listing = _managed(actor, instrument_id)
    unknown = set(values) - set(SETTING_FIELDS)
    if unknown:
        raise ValueError(f"unknown settings {sorted(unknown)}")
    current = settings_of(listing.id)
    if current is None:  # a new one starts from the columns' defaults
        current = InstrumentSettings(instrument_id=listing.id, **{
            c.name: c.default.arg for c in InstrumentSettings.__table__.columns
            if c.default is not None and not callable(c.default.arg)})
    merged = {name: values.get(name, getattr(current, name)) for name in SETTING_FIELDS}
    if not merged["sample_mode"] and not merged["self_mode"]:
        raise ServiceError(_("Offer at least one way to use the instrument."), "self_mode")
    if merged["sample_mode"] and not merged["sample_price_fen"]:
        raise ServiceError(_("Give the price per sample."), "sample_price")
    if merged["approval"] not in APPROVAL_RULES:
        raise ServiceError(_("Choose how bookings are approved."), "approval")
    if merged["late_rule"] not in LATE_RULES:
        raise ServiceError(_("Choose what a late cancellation or no-show costs."), "late_rule")
    if merged["billing"] not in BILLING_RULES:
        raise ServiceError(_("Choose how use is billed."), "billing")
    if merged["late_rule"] == "fee" and not merged["late_fee_fen"]:
        raise ServiceError(_("Give the fee for a late cancellation or no-show."), "late_fee")
    for name, low, high in (("hold_hours", 1, 24 * 14), ("max_hours", 1, 24 * 7), ("training_hours", 1, 12),
                            ("cancel_window_hours", 0, 24 * 14), ("qualification_months", 1, 60),
                            ("sample_days", 1, 90)):
        if merged[name] is None or not low <= merged[name] <= high:
            raise ServiceError(_("Enter a whole number from %(a)d to %(b)d.", a=low, b=high), name)
    if merged["weekly_quota_hours"] is not None and not 1 <= merged["weekly_quota_hours"] <= 168:
        raise ServiceError(_("Enter a whole number from %(a)d to %(b)d.", a=1, b=168), "weekly_quota_hours")
    for name, limit in (("latitude", 90), ("longitude", 180)):
        if merged[name]:
            try:
                degrees = Decimal(str(merged[name]).strip())
                ok = degrees.is_finite() and abs(degrees) <= limit
            except InvalidOperation:
                ok = False
            if not ok:
                raise ServiceError(_("Enter degrees, e.g. 36.4570."), name)
    for name in SETTING_FIELDS:
        setattr(current, name, merged[name])
    db.session.add(current)
    return current


# --- qualification ------------------------------------------------------------------

def self_booking_reasons(user, instrument_id: int, day: date | None = None) -> list[str]:
    """Why ``user`` may not book the instrument for self-operation (empty: they may)."""
    settings = settings_of(instrument_id)
    if user is None or not getattr(user, "is_authenticated", False):
        return [_("Log in to book.")]
    return policy.self_booking_reasons(settings, qualification_of(user.id, instrument_id), day or beijing_today())


@transactional
def qualify(actor, instrument_id: int, user_id: int, until: date | None = None) -> Qualification:
    """The manager records that a user may operate the instrument, from today until ``until``
    (by default the instrument's qualification period). Qualifying again renews."""
    listing = _managed(actor, instrument_id)
    settings = _settings(listing.id)
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("This user does not exist."))
    today = beijing_today()
    until = until or _add_months(today, settings.qualification_months)
    if until < today:
        raise ServiceError(_("The qualification cannot end in the past."), "until")
    found = qualification_of(user.id, listing.id)
    if found is None:
        found = Qualification(instrument_id=listing.id, user_id=user.id)
        db.session.add(found)
    found.qualified_on, found.expires_on, found.granted_by_id, found.revoked_at = today, until, actor.id, None
    notify(user.id, "notice.instrument_qualified", f"/instruments/{listing.id}")
    return found


@transactional
def revoke_qualification(actor, instrument_id: int, user_id: int) -> Qualification:
    listing = _managed(actor, instrument_id)
    found = qualification_of(user_id, listing.id)
    if found is None or found.revoked_at is not None:
        raise ServiceError(_("This user is not qualified."))
    found.revoked_at = utcnow()
    return found


def qualifications(actor, instrument_id: int) -> list[Qualification]:
    listing = _managed(actor, instrument_id)
    return list(db.session.scalars(select(Qualification).where(Qualification.instrument_id == listing.id)
                                   .order_by(Qualification.expires_on.desc())))


def my_qualifications(actor) -> list[Qualification]:
    return list(db.session.scalars(select(Qualification).where(Qualification.user_id == actor.id)
                                   .order_by(Qualification.expires_on.desc())))


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# --- the calendar ---------------------------------------------------------------------

def _hours(start_at: datetime, end_at: datetime) -> list[datetime]:
    n = int((end_at - start_at).total_seconds() // 3600)
    return [start_at + timedelta(hours=h) for h in range(n)]


def outages(instrument_id: int, start: datetime, end: datetime) -> list[Outage]:
    return list(db.session.scalars(select(Outage).where(Outage.instrument_id == instrument_id, Outage.start_at < end,
                                                        Outage.end_at > start).order_by(Outage.start_at)))


def _live_holders():
    """Bookings whose slots still hold their hours (unpaid ones past their payment time do not)."""
    return Booking.id.not_in(orders._overdue().with_only_columns(Booking.id))


def taken_hours(instrument_id: int, start: datetime, end: datetime, ignore_booking: int | None = None) -> set:
    """Hours in [start, end) that are booked, held or blocked by an outage."""
    query = select(BookingSlot.slot_start).join(Booking, Booking.id == BookingSlot.booking_id).where(
        BookingSlot.instrument_id == instrument_id, BookingSlot.slot_start >= start, BookingSlot.slot_start < end,
        _live_holders())
    if ignore_booking is not None:
        query = query.where(BookingSlot.booking_id != ignore_booking)
    taken = set(db.session.scalars(query))
    for outage in outages(instrument_id, start, end):
        taken.update(h for h in _hours(max(outage.start_at, start), min(outage.end_at, end)))
        first = outage.start_at.replace(minute=0, second=0, microsecond=0)
        if start <= first < end:
            taken.add(first)
    return taken


def _fits(listing: Listing, settings: InstrumentSettings, start_at: datetime, hours: int) -> bool:
    return policy.hours_rule_reason(settings, listing.open_from_hour, listing.open_to_hour, start_at, hours) is None


def next_free_slots(listing: Listing, settings: InstrumentSettings | None, count: int = 5,
                    hours: int = 1) -> list[datetime]:
    """The next starting hours at which ``hours`` hours are free (for the public page)."""
    now = beijing_now()
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    end = start + timedelta(days=14)
    taken = taken_hours(listing.id, start, end + timedelta(hours=hours))
    found: list[datetime] = []
    moment = start
    while moment < end and len(found) < count:
        window = [moment + timedelta(hours=h) for h in range(hours)]
        fits = _fits(listing, settings, moment, hours) if settings else \
            listing.open_from_hour <= moment.hour and moment.hour + hours <= listing.open_to_hour
        if fits and not taken.intersection(window):
            found.append(moment)
        moment += timedelta(hours=1)
    return found


CELL_STATES = ("free", "booked", "closed", "outage", "mine")


def calendar_week(actor, listing: Listing, start: date, days: int = 7) -> dict:
    """The booking calendar of a week from ``start``: each opening hour of each day is free,
    booked (by someone else), the viewer's own booking (``mine``), blocked by an outage, or
    closed (past, or beyond the booking horizon). Hours in Beijing time, as bookings are."""
    first = datetime.combine(start, datetime.min.time())
    end = first + timedelta(days=days)
    held = db.session.execute(
        select(BookingSlot.slot_start, Booking.customer_org_id).join(Booking, Booking.id == BookingSlot.booking_id)
        .where(BookingSlot.instrument_id == listing.id, BookingSlot.slot_start >= first,
               BookingSlot.slot_start < end, _live_holders())).all()
    org = getattr(actor, "organization", None) if getattr(actor, "is_authenticated", False) else None
    mine = {slot for slot, customer in held if org is not None and customer == org.id}
    booked = {slot for slot, _customer in held}
    blocked: set[datetime] = set()
    week_outages = outages(listing.id, first, end)
    for outage in week_outages:  # an hour an outage touches at all is blocked
        hour_at = max(outage.start_at.replace(minute=0, second=0, microsecond=0), first)
        while hour_at < min(outage.end_at, end):
            blocked.add(hour_at)
            hour_at += timedelta(hours=1)
    now = beijing_now()
    horizon = now + timedelta(days=int(current_app.config["BOOKING_HORIZON_DAYS"]))
    hours = list(range(listing.open_from_hour, listing.open_to_hour))
    day_list = [start + timedelta(days=i) for i in range(days)]
    cells = {}
    for day in day_list:
        for hour in hours:
            at = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)
            if at in mine:
                state = "mine"
            elif at in blocked:
                state = "outage"
            elif at in booked:
                state = "booked"
            elif at <= now or at > horizon:
                state = "closed"
            else:
                state = "free"
            cells[(day, hour)] = state
    today = beijing_today()
    return {"days": day_list, "hours": hours, "cells": cells, "outages": week_outages,
            "start": start, "previous": max(start - timedelta(days=days), today) if start > today else None,
            "next": start + timedelta(days=days), "today": today}


# --- booking ------------------------------------------------------------------------

def _check_time(listing: Listing, settings: InstrumentSettings, start_at: datetime, hours: int) -> None:
    if start_at.minute or start_at.second or start_at.microsecond:
        raise ServiceError(_("Bookings start on the hour."), "start_at")
    reason = policy.hours_rule_reason(settings, listing.open_from_hour, listing.open_to_hour, start_at, hours)
    if reason:
        raise ServiceError(reason, "hours" if not 1 <= hours <= settings.max_hours else "start_at")
    now = beijing_now()
    if start_at < now - timedelta(minutes=1):
        raise ServiceError(_("This time has passed."), "start_at")
    horizon = int(current_app.config["BOOKING_HORIZON_DAYS"])
    if start_at > now + timedelta(days=horizon):
        raise ServiceError(_("Bookings are taken at most %(n)d days ahead.", n=horizon), "start_at")
    end_at = start_at + timedelta(hours=hours)
    for outage in outages(listing.id, start_at, end_at):
        raise ServiceError(_("The instrument is blocked for %(kind)s from %(a)s to %(b)s.",
                             kind=labels.GROUPS["outage_kind"][outage.kind],
                             a=outage.start_at.strftime("%Y-%m-%d %H:%M"), b=outage.end_at.strftime("%Y-%m-%d %H:%M")),
                           "start_at")


def _booked_in_week(org_id: int, instrument_id: int, day: date) -> int:
    monday, next_monday = policy.week_of(day)
    return db.session.scalar(
        select(func.count(BookingSlot.id)).join(Booking, Booking.id == BookingSlot.booking_id).where(
            Booking.instrument_id == instrument_id, Booking.customer_org_id == org_id,
            Booking.status.in_(("booked", "completed")), _live_holders(),
            BookingSlot.slot_start >= datetime.combine(monday, datetime.min.time()),
            BookingSlot.slot_start < datetime.combine(next_monday, datetime.min.time()))) or 0


def _clear_the_way(instrument_id: int, start_at: datetime, end_at: datetime) -> None:
    """Expire unpaid bookings past their payment time and lapse pending requests past their
    hold in these hours, so that their hours can be booked now."""
    in_range = Booking.id.in_(select(BookingSlot.booking_id).where(
        BookingSlot.instrument_id == instrument_id, BookingSlot.slot_start >= start_at, BookingSlot.slot_start < end_at))
    orders._expire(list(db.session.execute(orders._overdue(Booking.instrument_id == instrument_id, in_range))))
    _lapse(select(BookingTerms.booking_id).join(Booking, Booking.id == BookingTerms.booking_id).where(
        Booking.instrument_id == instrument_id, in_range))


def _mergeable(actor, listing: Listing, purpose: str, start_at: datetime, end_at: datetime) -> Booking | None:
    """An open booking of the same user that ends where this one starts or starts where it
    ends, still unpaid (so its amount can grow): adjacent bookings by one user merge."""
    candidates = db.session.scalars(select(Booking).join(BookingTerms, BookingTerms.booking_id == Booking.id).where(
        Booking.instrument_id == listing.id, Booking.status == "booked", BookingTerms.user_id == actor.id,
        BookingTerms.purpose == purpose, BookingTerms.attendance == "", BookingTerms.series.is_(None),
        or_(Booking.end_at == start_at, Booking.start_at == end_at)))
    for booking in candidates:
        if booking.order is None or (booking.order.status == "pending_payment" and not booking.order.with_voucher
                                     and not _payment_under_way(booking.order_id)):
            return booking
    return None


def _payment_under_way(order_id: int) -> bool:
    from marketplace.payments.models import Payment

    return bool(db.session.scalar(select(exists().where(Payment.order_id == order_id,
                                                        Payment.status.in_(("processing", "succeeded"))))))


def _price(listing: Listing, settings: InstrumentSettings, purpose: str, hours: int, self_use: bool) -> int:
    if purpose == "training":
        return 0 if self_use else settings.training_price_fen
    unit = listing.internal_price_fen if self_use and listing.internal_price_fen is not None else listing.price_fen
    if unit is None:
        raise ServiceError(_("This instrument has no price yet."))
    return unit * hours


def book(actor, instrument_id: int, start_at: datetime, hours: int, purpose: str = "use", repeat_weeks: int = 1,
         with_voucher: bool = False) -> list[Booking]:
    """Book the instrument for self-operation (or a training session on it).

    ``start_at`` is Beijing wall-clock time. Self-operation needs a valid qualification where
    the instrument requires training; with manager approval the request holds its hours for
    the instrument's hold time. ``repeat_weeks`` > 1 books the same hours on that many
    consecutive weeks, all or none. A booking right after (or before) an unpaid one of the
    same user grows that booking instead. Returns the bookings made or grown."""
    perm.require(actor, perm.TRADE)
    with unit_of_work():
        listing = _published(instrument_id)
        settings = _settings(listing.id)
        if purpose not in ("use", "training"):
            raise ServiceError(_("Choose self-operation or training."), "purpose")
        if not settings.self_mode:
            raise ServiceError(_("This instrument is not offered for self-operation; send samples instead."))
        if purpose == "training":
            if not settings.requires_training:
                raise ServiceError(_("This instrument needs no training."), "purpose")
            hours = settings.training_hours
        if not 1 <= repeat_weeks <= MAX_REPEAT_WEEKS:
            raise ServiceError(_("Repeat on 1 to %(n)d weeks.", n=MAX_REPEAT_WEEKS), "repeat_weeks")
        self_use = actor.organization.id == listing.organization_id
        if not self_use and with_voucher:
            ok, why = orders.voucher_eligible(actor.organization, listing)
            if not ok:
                raise ServiceError(why, "with_voucher")
        starts = [start_at + timedelta(weeks=w) for w in range(repeat_weeks)]
        for start in starts:
            _check_time(listing, settings, start, hours)
            if purpose == "use" and not self_use:  # the facility's own staff operate it anyway
                reason = policy.qualification_reason(settings, qualification_of(actor.id, listing.id), start.date())
                if reason:
                    raise ServiceError(reason, "start_at")
        if settings.weekly_quota_hours and not self_use and purpose == "use":
            for start in starts:
                used = _booked_in_week(actor.organization.id, listing.id, start.date())
                if used + hours > settings.weekly_quota_hours:
                    raise ServiceError(_("Your organisation has %(used)d of its %(quota)d hours this week on this "
                                         "instrument; this booking would pass the quota.",
                                         used=used, quota=settings.weekly_quota_hours), "hours")
        needs_approval = settings.approval == "manager" and not self_use
        made: list[Booking] = []
        series = secrets.token_hex(4) if repeat_weeks > 1 else None
        try:
            for start in starts:
                end = start + timedelta(hours=hours)
                _clear_the_way(listing.id, start, end)
                merged = _mergeable(actor, listing, purpose, start, end) if series is None else None
                if merged is not None:
                    made.append(_grow(actor, listing, settings, merged, start, end, self_use))
                    continue
                made.append(_new_booking(actor, listing, settings, purpose, start, end, self_use, with_voucher,
                                         needs_approval, series))
            db.session.flush()
        except IntegrityError:  # a concurrent booking of the same hour won the race
            db.session.rollback()  # before anything (the message's locale) reads through the failed session
            raise Conflict(_("This time is already booked. Choose another."), "start_at") from None
        return made


def _new_booking(actor, listing, settings, purpose, start, end, self_use, with_voucher, needs_approval,
                 series) -> Booking:
    amount = _price(listing, settings, purpose, len(_hours(start, end)), self_use)
    booking = Booking(instrument_id=listing.id, customer_org_id=actor.organization.id, start_at=start, end_at=end,
                      amount_fen=amount, self_use=self_use)
    if not needs_approval and amount > 0 and not self_use:
        booking.order_id = orders._new_order(actor, listing, "booking", amount, with_voucher).id
    db.session.add(booking)
    db.session.flush()
    terms = BookingTerms(booking_id=booking.id, user_id=actor.id, purpose=purpose, series=series,
                         approval="pending" if needs_approval else "instant")
    if needs_approval:
        terms.hold_until = utcnow() + timedelta(hours=settings.hold_hours)
        _notify_managers(listing, "notice.instrument_request", f"/instruments/{listing.id}/manage")
    db.session.add(terms)
    db.session.add_all([BookingSlot(booking_id=booking.id, instrument_id=listing.id, slot_start=h)
                        for h in _hours(start, end)])
    return booking


def _grow(actor, listing, settings, booking: Booking, start: datetime, end: datetime, self_use: bool) -> Booking:
    terms = terms_of(booking.id)
    db.session.add_all([BookingSlot(booking_id=booking.id, instrument_id=listing.id, slot_start=h)
                        for h in _hours(start, end)])
    booking.start_at, booking.end_at = min(booking.start_at, start), max(booking.end_at, end)
    hours = len(_hours(booking.start_at, booking.end_at))
    booking.amount_fen = _price(listing, settings, terms.purpose, hours, self_use)
    if booking.order is not None:
        booking.order.amount_fen = booking.order.enterprise_fen = booking.amount_fen
    if terms.approval == "pending":
        terms.hold_until = utcnow() + timedelta(hours=settings.hold_hours)
    return booking


def _booking(booking_id: int) -> tuple[Booking, BookingTerms]:
    booking = db.session.get(Booking, booking_id)
    terms = terms_of(booking_id) if booking is not None else None
    if booking is None or terms is None:
        raise NotFound(_("This booking does not exist."))
    return booking, terms


def _release(booking: Booking) -> None:
    """Free the booking's hours, and offer them to the first in the waiting list."""
    db.session.execute(delete(BookingSlot).where(BookingSlot.booking_id == booking.id)
                       .execution_options(synchronize_session=False))
    _offer(booking.instrument_id, booking.start_at, booking.end_at)


@transactional
def decide(actor, booking_id: int, approve: bool, reason: str = "") -> Booking:
    """The manager approves a pending request (its payment, if any, is due from now) or
    refuses it with a reason (its hours are free again). Decided once."""
    booking, terms = _booking(booking_id)
    listing = _managed(actor, booking.instrument_id)
    reason = (reason or "").strip()
    if not approve and not reason:
        raise ServiceError(_("Give the reason for refusing."), "reason")
    if len(reason) > 300:
        raise ServiceError(_("At most %(n)d characters.", n=300), "reason")
    moved = db.session.execute(update(BookingTerms).where(BookingTerms.booking_id == booking.id,
                                                          BookingTerms.approval == "pending")
                               .values(approval="approved" if approve else "refused", decided_by_id=actor.id,
                                       decided_at=utcnow(), refusal_reason=reason or None)
                               .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This request was already decided."))
    db.session.refresh(terms)
    if approve:
        if booking.amount_fen > 0 and not booking.self_use:
            requester = db.session.get(User, terms.user_id)
            booking.order_id = orders._new_order(requester, listing, "booking", booking.amount_fen, False).id
            booking.created_at = utcnow()  # the payment time (BOOKING_PAYMENT_MINUTES) runs from the approval
        notify(terms.user_id, "notice.instrument_approved", "/instruments/bookings")
    else:
        booking.status = "cancelled"
        _release(booking)
        notify(terms.user_id, "notice.instrument_refused", "/instruments/bookings")
    return booking


def _lapse(booking_ids_query) -> int:
    """Pending requests past their hold lapse: their hours are free again."""
    lapsed = 0
    for booking_id in list(db.session.scalars(booking_ids_query.where(BookingTerms.approval == "pending",
                                                                      BookingTerms.hold_until < utcnow()))):
        moved = db.session.execute(update(BookingTerms).where(BookingTerms.booking_id == booking_id,
                                                              BookingTerms.approval == "pending")
                                   .values(approval="lapsed").execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            continue
        booking = db.session.get(Booking, booking_id)
        booking.status = "cancelled"
        user_id = db.session.scalar(select(BookingTerms.user_id).where(BookingTerms.booking_id == booking_id))
        _release(booking)
        notify(user_id, "notice.instrument_lapsed", "/instruments/bookings")
        lapsed += 1
    return lapsed


@transactional
def lapse_pending_requests() -> int:
    """The sweep (``flask instruments sweep``, run by the worker)."""
    return _lapse(select(BookingTerms.booking_id))


@transactional
def cancel(actor, booking_id: int) -> Booking:
    """The customer (or the provider) cancels an unpaid booking; a paid one is cancelled by a
    refund. A customer's cancellation inside the instrument's cancellation window is late:
    recorded, with the fee the provider set."""
    booking, terms = _booking(booking_id)
    as_customer = perm.can(actor, perm.BUY, booking)
    if not (as_customer or perm.can(actor, perm.MANAGE_INSTRUMENT, booking.instrument)):
        raise perm.PermissionDenied(_("You are not allowed to do this."))
    if booking.status != "booked":
        raise ServiceError(_("This booking is not open."))
    if booking.order is not None:
        live = exists().where(*_live_payment(booking.order_id))
        moved = db.session.execute(update(Order).where(Order.id == booking.order_id, Order.status == "pending_payment",
                                                       ~live).values(status="cancelled")
                                   .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            raise Conflict(_("A paid booking is cancelled by a refund."))
        db.session.expire(booking.order)
    moved = db.session.execute(update(Booking).where(Booking.id == booking.id, Booking.status == "booked")
                               .values(status="cancelled").execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This booking is not open."))
    db.session.refresh(booking)
    settings = _settings(booking.instrument_id)
    late = beijing_now() > booking.start_at - timedelta(hours=settings.cancel_window_hours)
    if as_customer and late and terms.approval in ("instant", "approved") and settings.late_rule != "none":
        terms.attendance = "late_cancel"
        terms.penalty_fen = settings.late_fee_fen if settings.late_rule == "fee" else 0
    _release(booking)
    return booking


def _live_payment(order_id: int):
    from marketplace.payments.models import Payment

    return (Payment.order_id == order_id, Payment.status.in_(("processing", "succeeded")))


def bookings_of(actor) -> list[tuple[Booking, BookingTerms]]:
    """The bookings the user made (their own calendar)."""
    return list(db.session.execute(select(Booking, BookingTerms).join(BookingTerms, BookingTerms.booking_id == Booking.id)
                                   .where(BookingTerms.user_id == actor.id).order_by(Booking.start_at.desc())
                                   .limit(200)).tuples())


def bookings_of_instrument(actor, instrument_id: int) -> list[tuple[Booking, BookingTerms]]:
    listing = _managed(actor, instrument_id)
    return list(db.session.execute(select(Booking, BookingTerms).join(BookingTerms, BookingTerms.booking_id == Booking.id)
                                   .where(Booking.instrument_id == listing.id).order_by(Booking.start_at.desc())
                                   .limit(300)).tuples())


# --- use, no-shows and billing ---------------------------------------------------------

@transactional
def record_use(actor, booking_id: int, used_start: datetime, used_end: datetime) -> BookingTerms:
    """The manager records when the instrument was actually used for this booking."""
    booking, terms = _booking(booking_id)
    _managed(actor, booking.instrument_id)
    if booking.status not in ("booked", "completed"):
        raise ServiceError(_("This booking is not open."))
    if terms.approval == "pending":
        raise ServiceError(_("This booking waits for approval."))
    if terms.attendance == "no_show":
        raise ServiceError(_("This booking was recorded as a no-show."))
    if used_end <= used_start:
        raise ServiceError(_("The end must be after the start."), "used_end")
    if used_start > beijing_now():
        raise ServiceError(_("Use is recorded once it has started."), "used_start")
    if used_end - used_start > timedelta(days=7):
        raise ServiceError(_("A single use lasts at most seven days."), "used_end")
    terms.used_start, terms.used_end, terms.recorded_by_id = used_start, used_end, actor.id
    return terms


@transactional
def record_no_show(actor, booking_id: int) -> BookingTerms:
    """The manager records that nobody came: a mark, or the fee the provider set. Once."""
    booking, terms = _booking(booking_id)
    _managed(actor, booking.instrument_id)
    settings = _settings(booking.instrument_id)
    if booking.status not in ("booked", "completed") or terms.approval == "pending":
        raise ServiceError(_("This booking is not open."))
    if booking.start_at > beijing_now():
        raise ServiceError(_("A no-show is recorded once the booking has started."))
    if terms.used_start is not None:
        raise ServiceError(_("Use was recorded for this booking."))
    moved = db.session.execute(update(BookingTerms).where(BookingTerms.booking_id == booking.id,
                                                          BookingTerms.attendance == "")
                               .values(attendance="no_show", recorded_by_id=actor.id,
                                       penalty_fen=settings.late_fee_fen if settings.late_rule == "fee" else 0)
                               .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This booking already has a no-show or late cancellation recorded."))
    db.session.refresh(terms)
    notify(terms.user_id, "notice.instrument_no_show", "/instruments/bookings")
    return terms


def billable_fen(booking: Booking, terms: BookingTerms, settings: InstrumentSettings) -> int:
    """What the use costs by the provider's billing rule: hours booked, used, or the greater."""
    booked_hours = max(1, len(_hours(booking.start_at, booking.end_at)))
    per_hour = booking.amount_fen // booked_hours
    used = terms.used_hours
    if settings.billing == "booked" or used is None:
        return booking.amount_fen if settings.billing != "used" or used is not None else 0
    used_fen = round(per_hour * used)
    return used_fen if settings.billing == "used" else max(used_fen, booking.amount_fen)


# --- outages --------------------------------------------------------------------------

@transactional
def block(actor, instrument_id: int, start_at: datetime, end_at: datetime, kind: str, reason: str) -> dict:
    """The manager blocks the instrument (maintenance, breakdown). Each booking in the way is
    moved to the first free time of the same length, or cancelled when there is none (a paid
    one is then left for a refund); its user is told either way."""
    listing = _managed(actor, instrument_id)
    settings = _settings(listing.id)
    reason = (reason or "").strip()
    if kind not in OUTAGE_KINDS:
        raise ServiceError(_("Choose maintenance or breakdown."), "kind")
    if not reason or len(reason) > 300:
        raise ServiceError(_("Say why the instrument is blocked."), "reason")
    if end_at <= start_at:
        raise ServiceError(_("The end must be after the start."), "end")
    if end_at - start_at > timedelta(days=90):
        raise ServiceError(_("Block at most 90 days at a time."), "end")
    db.session.add(Outage(instrument_id=listing.id, kind=kind, start_at=start_at, end_at=end_at, reason=reason,
                          created_by_id=actor.id))
    db.session.flush()
    affected = list(db.session.scalars(select(Booking).where(
        Booking.instrument_id == listing.id, Booking.status == "booked", Booking.start_at < end_at,
        Booking.end_at > start_at, _live_holders()).order_by(Booking.start_at)))
    try:
        return _move_out_of_the_way(listing, settings, affected, end_at)
    except IntegrityError:  # a booking took the hours a moved one was given, meanwhile
        db.session.rollback()
        raise Conflict(_("The calendar changed while blocking; try again.")) from None


def _move_out_of_the_way(listing, settings, affected, end_at) -> dict:
    result = {"moved": [], "cancelled": [], "left": []}
    for booking in affected:
        terms = terms_of(booking.id)
        new_start = _first_free(listing, settings, booking, after=end_at)
        user_ids = [terms.user_id] if terms else members(booking.customer_org_id)
        if new_start is not None:
            length = booking.end_at - booking.start_at
            db.session.execute(delete(BookingSlot).where(BookingSlot.booking_id == booking.id)
                               .execution_options(synchronize_session=False))
            db.session.flush()
            if terms is not None and terms.moved_from is None:
                terms.moved_from = booking.start_at
            booking.start_at, booking.end_at = new_start, new_start + length
            db.session.add_all([BookingSlot(booking_id=booking.id, instrument_id=listing.id, slot_start=h)
                                for h in _hours(booking.start_at, booking.end_at)])
            db.session.flush()
            result["moved"].append(booking)
            for user_id in user_ids:
                notify(user_id, "notice.instrument_moved", "/instruments/bookings")
        elif booking.order is None or booking.order.status == "pending_payment":
            if booking.order is not None:
                booking.order.status = "cancelled"
            booking.status = "cancelled"
            db.session.execute(delete(BookingSlot).where(BookingSlot.booking_id == booking.id)
                               .execution_options(synchronize_session=False))
            result["cancelled"].append(booking)
            for user_id in user_ids:
                notify(user_id, "notice.instrument_cancelled", "/instruments/bookings")
        else:
            result["left"].append(booking)
            for user_id in user_ids:
                notify(user_id, "notice.instrument_cancelled", "/instruments/bookings")
    return result


def _first_free(listing: Listing, settings: InstrumentSettings, booking: Booking, after: datetime) -> datetime | None:
    """The first start, from ``after`` on, where the booking's hours fit and are free: the
    same time of day on a later day first, then any hour."""
    hours = len(_hours(booking.start_at, booking.end_at))
    begin = max(after, beijing_now()).replace(minute=0, second=0, microsecond=0)
    if begin < after:
        begin += timedelta(hours=1)
    end = begin + timedelta(days=FREE_SLOT_SEARCH_DAYS)
    taken = taken_hours(listing.id, begin, end + timedelta(hours=hours), ignore_booking=booking.id)

    def free(start):
        return _fits(listing, settings, start, hours) and not taken.intersection(
            start + timedelta(hours=h) for h in range(hours))

    same_time = datetime.combine(begin.date(), booking.start_at.time())
    for d in range(FREE_SLOT_SEARCH_DAYS):
        start = same_time + timedelta(days=d)
        if start >= begin and free(start):
            return start
    moment = begin
    while moment < end:
        if free(moment):
            return moment
        moment += timedelta(hours=1)
    return None


def outages_of(actor, instrument_id: int) -> list[Outage]:
    listing = _managed(actor, instrument_id)
    return list(db.session.scalars(select(Outage).where(Outage.instrument_id == listing.id)
                                   .order_by(Outage.start_at.desc()).limit(50)))


# --- waiting list ----------------------------------------------------------------------

@transactional
def join_waitlist(actor, instrument_id: int, day: date, hours: int) -> WaitlistEntry:
    """Wait for a full day: the first freed hours that fit are offered in turn."""
    perm.require(actor, perm.TRADE)
    listing = _published(instrument_id)
    settings = _settings(listing.id)
    if day < beijing_today():
        raise ServiceError(_("This day has passed."), "day")
    if not 1 <= hours <= settings.max_hours:
        raise ServiceError(_("Book between 1 and %(n)d hours.", n=settings.max_hours), "hours")
    found = db.session.scalar(select(WaitlistEntry).where(WaitlistEntry.instrument_id == listing.id,
                                                          WaitlistEntry.user_id == actor.id, WaitlistEntry.day == day))
    if found is not None and found.status == "waiting":
        raise Conflict(_("You are already waiting for this day."), "day")
    if found is None:
        found = WaitlistEntry(instrument_id=listing.id, user_id=actor.id, organization_id=actor.organization.id,
                              day=day)
        db.session.add(found)
    found.hours, found.status, found.offered_start, found.offered_at = hours, "waiting", None, None
    found.created_at = utcnow()
    return found


@transactional
def leave_waitlist(actor, entry_id: int) -> WaitlistEntry:
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.user_id != actor.id:
        raise NotFound(_("This does not exist."))
    entry.status = "withdrawn"
    return entry


def _offer(instrument_id: int, start: datetime, end: datetime) -> WaitlistEntry | None:
    """Offer freed hours to the first in line for that day whose wish fits in them."""
    freed = len(_hours(start, end))
    entry = db.session.scalar(select(WaitlistEntry).where(
        WaitlistEntry.instrument_id == instrument_id, WaitlistEntry.status == "waiting",
        WaitlistEntry.day == start.date(), WaitlistEntry.hours <= freed).order_by(WaitlistEntry.created_at,
                                                                                   WaitlistEntry.id).limit(1))
    if entry is None:
        return None
    entry.status, entry.offered_start, entry.offered_at = "offered", start, utcnow()
    notify(entry.user_id, "notice.instrument_slot_offered", f"/instruments/{instrument_id}")
    return entry


def waitlist_of(instrument_id: int) -> list[WaitlistEntry]:
    return list(db.session.scalars(select(WaitlistEntry).where(WaitlistEntry.instrument_id == instrument_id,
                                                               WaitlistEntry.status != "withdrawn")
                                   .order_by(WaitlistEntry.day, WaitlistEntry.created_at)))


def my_waitlist(actor) -> list[WaitlistEntry]:
    return list(db.session.scalars(select(WaitlistEntry).where(WaitlistEntry.user_id == actor.id,
                                                               WaitlistEntry.status != "withdrawn")
                                   .order_by(WaitlistEntry.day)))


# --- samples sent in (送样) ---------------------------------------------------------------

@transactional
def send_samples(actor, instrument_id: int, samples: int, description: str, with_voucher: bool = False) -> SampleOrder:
    """An organisation sends samples for the facility's staff to run; priced per sample."""
    perm.require(actor, perm.TRADE)
    listing = _published(instrument_id)
    settings = _settings(listing.id)
    if not settings.sample_mode:
        raise ServiceError(_("This instrument does not take samples; book it for self-operation."))
    description = (description or "").strip()
    if not description or "\x00" in description:
        raise ServiceError(_("Describe the samples and the tests you need."), "description")
    if not 1 <= samples <= 10000:
        raise ServiceError(_("Send between 1 and 10000 samples."), "samples")
    amount = settings.sample_price_fen * samples
    order = orders._new_order(actor, listing, "booking", amount, with_voucher)
    sample = SampleOrder(instrument_id=listing.id, customer_org_id=actor.organization.id, user_id=actor.id,
                         order_id=order.id, samples=samples, description=description, amount_fen=amount)
    db.session.add(sample)
    db.session.flush()
    _notify_managers(listing, "notice.sample_order", f"/instruments/{listing.id}/manage")
    return sample


SAMPLE_STEPS = {"received": ("submitted", "received_at"), "testing": ("received", "testing_at"),
                "reported": ("testing", "reported_at")}


@transactional
def advance_samples(actor, sample_id: int, to: str, samples_done: int | None = None,
                    report: str | None = None) -> SampleOrder:
    """The facility moves the samples on: received → testing → reported (with the number of
    samples done and the report). Each step happens once."""
    sample = db.session.get(SampleOrder, sample_id)
    if sample is None:
        raise NotFound(_("This sample order does not exist."))
    _managed(actor, sample.instrument_id)
    if to not in SAMPLE_STEPS:
        raise ServiceError(_("Choose the next step."), "to")
    before, stamp = SAMPLE_STEPS[to]
    values = {"status": to, stamp: utcnow()}
    if to == "reported":
        report = (report or "").strip()
        if not report:
            raise ServiceError(_("Write the report's findings."), "report")
        if samples_done is None or not 0 <= samples_done <= sample.samples:
            raise ServiceError(_("Give how many of the %(n)d samples were done.", n=sample.samples), "samples_done")
        values.update(report=report, samples_done=samples_done)
    moved = db.session.execute(update(SampleOrder).where(SampleOrder.id == sample.id, SampleOrder.status == before)
                               .values(**values).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("These samples are not at that step."))
    db.session.refresh(sample)
    notify(sample.user_id, f"notice.sample_{to}", f"/instruments/samples/{sample.id}")
    return sample


def sample_order(actor, sample_id: int) -> SampleOrder:
    sample = db.session.get(SampleOrder, sample_id)
    if sample is None:
        raise NotFound(_("This sample order does not exist."))
    if not perm.can(actor, perm.VIEW_ORDER, sample):  # its parties and the city
        raise NotFound(_("This sample order does not exist."))
    return sample


def sample_orders_of(actor) -> list[SampleOrder]:
    org = actor.organization
    if org is None:
        return []
    return list(db.session.scalars(select(SampleOrder).where(SampleOrder.customer_org_id == org.id)
                                   .order_by(SampleOrder.created_at.desc()).limit(200)))


def sample_orders_of_instrument(actor, instrument_id: int) -> list[SampleOrder]:
    listing = _managed(actor, instrument_id)
    return list(db.session.scalars(select(SampleOrder).where(SampleOrder.instrument_id == listing.id)
                                   .order_by(SampleOrder.created_at.desc()).limit(200)))


# --- iCal feeds --------------------------------------------------------------------------

def _new_token() -> str:
    return secrets.token_urlsafe(32)


@transactional
def feed(actor, instrument_id: int | None = None) -> CalendarFeed:
    """The secret feed of the user's bookings, or of an instrument's (its managers'); made on
    first use."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise perm.PermissionDenied(_("You are not allowed to do this."))
    if instrument_id is not None:
        listing = _managed(actor, instrument_id)
        where = CalendarFeed.instrument_id == listing.id
        made = CalendarFeed(instrument_id=listing.id)
    else:
        where = CalendarFeed.user_id == actor.id
        made = CalendarFeed(user_id=actor.id)
    found = db.session.scalar(select(CalendarFeed).where(where))
    if found is None:
        made.token = _new_token()
        try:
            with db.session.begin_nested():  # two pages shown at once both make it: one wins
                db.session.add(made)
            found = made
        except IntegrityError:
            found = db.session.scalar(select(CalendarFeed).where(where))
    return found


@transactional
def reset_feed(actor, instrument_id: int | None = None) -> CalendarFeed:
    """A new secret address: the old one stops working at once."""
    found = feed(actor, instrument_id)
    found.token = _new_token()
    return found


def feed_by_token(token: str) -> CalendarFeed:
    found = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token == token)) if token else None
    if found is None:
        raise NotFound(_("This calendar does not exist."))
    return found


def feed_events(found: CalendarFeed) -> list[tuple[Booking, BookingTerms | None]]:
    since = beijing_now() - timedelta(days=90)
    query = select(Booking, BookingTerms).outerjoin(BookingTerms, BookingTerms.booking_id == Booking.id).where(
        Booking.status.in_(("booked", "completed")), Booking.end_at >= since)
    if found.user_id is not None:
        query = query.where(BookingTerms.user_id == found.user_id)
    else:
        query = query.where(Booking.instrument_id == found.instrument_id)
    return list(db.session.execute(query.order_by(Booking.start_at).limit(1000)).tuples())
