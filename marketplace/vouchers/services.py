"""Innovation vouchers: apply, decide, issue; admit providers; reserve at order time;
deliver, accept (验收) or dispute; redeem at acceptance; lapse; pay redemption batches.

Every function takes the acting user first, asks ``marketplace.permissions`` and runs in one
unit of work (``reserve``, ``release`` and ``on_booking_completed`` join their caller's). A
state that moves money changes once: each move is a conditional UPDATE on the status it
expects, and the voucher's balance is guarded by the database (``vouchers.balance``).
"""
from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from marketplace import permissions as perm
from marketplace.audit.models import record
from marketplace.core import uploads
from marketplace.core.errors import Conflict, NotFound, ServiceError
from marketplace.core.money import MAX_FEN, fen_to_str
from marketplace.core.timeutil import beijing_today, business_date, utcnow
from marketplace.core.uow import transactional, unit_of_work
from marketplace.extensions import db
from marketplace.ledger.services import append as ledger_append
from marketplace.notifications.models import notify
from marketplace.notifications.services import members
from marketplace.orders.models import Booking, Order
from marketplace.vouchers import eligibility
from marketplace.vouchers.models import (
    Delivery,
    ProviderAdmission,
    RedemptionBatch,
    Voucher,
    VoucherApplication,
    VoucherReservation,
    VoucherSetting,
)

DEFAULTS = {"yearly_cap_fen": None, "use_months": 12, "redeem_months": 3}
QUALIFICATIONS = ("CMA", "CNAS", "CATL", "other")


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


# --- dated settings --------------------------------------------------------------------------

def setting(key: str, on: date | None = None):
    """The value of a voucher setting in force on ``on`` (the latest set from a date on or
    before it), or its default."""
    row = db.session.scalar(select(VoucherSetting).where(VoucherSetting.key == key,
                                                         VoucherSetting.effective_from <= (on or beijing_today()))
                            .order_by(VoucherSetting.effective_from.desc()).limit(1))
    return row.value if row is not None else DEFAULTS[key]


def settings_history() -> list[VoucherSetting]:
    return list(db.session.scalars(select(VoucherSetting).order_by(VoucherSetting.key,
                                                                   VoucherSetting.effective_from.desc())))


@transactional
def set_setting(actor, key: str, value: int | None, effective_from: date) -> VoucherSetting:
    """The city sets a parameter from a date on (the yearly cap may be None: no cap)."""
    perm.require(actor, perm.VOUCHER_SETTINGS)
    if key not in DEFAULTS:
        raise ServiceError(_("Choose a setting."), "key")
    if effective_from is None:
        raise ServiceError(_("Enter a date like 2024-03-01."), "effective_from")
    if key == "yearly_cap_fen":
        if value is not None and not 0 < value <= MAX_FEN:
            raise ServiceError(_("The amount must be more than zero."), "value")
    elif value is None or not 1 <= value <= 60:
        raise ServiceError(_("Give a number of months from 1 to 60."), "value")
    row = db.session.scalar(select(VoucherSetting).where(VoucherSetting.key == key,
                                                         VoucherSetting.effective_from == effective_from))
    before = row.value if row else None
    if row is None:
        row = VoucherSetting(key=key, effective_from=effective_from, value=value, set_by_id=actor.id)
        db.session.add(row)
    else:
        row.value, row.set_by_id = value, actor.id
    record(actor, "voucher.setting", "voucher_setting", f"{key}/{effective_from}", before={"value": before},
           after={"value": value})
    return row


# --- applications (申领) ----------------------------------------------------------------------

def _application(application_id: int) -> VoucherApplication:
    item = db.session.get(VoucherApplication, application_id)
    if item is None:
        raise NotFound(_("This application does not exist."))
    return item


@transactional
def apply(actor, year: int, planned_fen: int, purpose: str, mode: str = "exchange") -> VoucherApplication:
    """An eligible organisation applies for a voucher for a year (the engine's eligibility)."""
    org = actor.organization
    perm.require(actor, perm.VOUCHER_APPLY, org)
    ok, why = eligibility.eligible(org)
    if not ok:
        raise ServiceError(why)
    this_year = beijing_today().year
    if year not in (this_year, this_year + 1):
        raise ServiceError(_("Apply for this year or the next."), "year")
    if not isinstance(planned_fen, int) or not 0 < planned_fen <= MAX_FEN:
        raise ServiceError(_("The amount must be more than zero."), "planned")
    purpose = (purpose or "").strip()
    if not purpose:
        raise ServiceError(_("Say what the voucher is for."), "purpose")
    if mode not in ("exchange", "general"):
        raise ServiceError(_("Choose how the voucher is redeemed."), "mode")
    application = VoucherApplication(organization_id=org.id, applicant_id=actor.id, year=year,
                                     planned_fen=planned_fen, purpose=purpose[:3000], mode=mode)
    db.session.add(application)
    db.session.flush()
    record(actor, "voucher.apply", "voucher_application", application.id, after={"planned_fen": planned_fen})
    return application


@transactional
def resubmit(actor, application_id: int, purpose: str) -> VoucherApplication:
    """The applicant answers a request for material; the application is back in the queue."""
    application = _application(application_id)
    perm.require(actor, perm.VOUCHER_APPLY, application.organization)
    purpose = (purpose or "").strip()
    if not purpose:
        raise ServiceError(_("Say what the voucher is for."), "purpose")
    moved = db.session.execute(update(VoucherApplication).where(
        VoucherApplication.id == application.id, VoucherApplication.status == "material_requested")
        .values(status="pending", purpose=purpose[:3000]).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This application is not waiting for material."))
    db.session.expire(application)
    return application


def issued_in_year(org_id: int, year: int) -> int:
    return int(db.session.scalar(select(func.coalesce(func.sum(Voucher.amount_fen), 0)).where(
        Voucher.organization_id == org_id, Voucher.year == year)) or 0)


@transactional
def decide_application(actor, application_id: int, decision: str, amount_fen: int | None = None,
                       note: str = "") -> VoucherApplication:
    """The city approves with an amount (the voucher is issued), asks for material, or
    rejects with a reason. Decided once: a conditional UPDATE on the open status."""
    perm.require(actor, perm.VOUCHER_REVIEW)
    application = _application(application_id)
    note = (note or "").strip()
    if decision not in ("approve", "material", "reject"):
        raise ServiceError(_("Choose a decision."), "decision")
    if decision in ("material", "reject") and not note:
        raise ServiceError(_("Give the reason."), "note")
    today = beijing_today()
    if decision == "approve":
        if not isinstance(amount_fen, int) or not 0 < amount_fen <= MAX_FEN:
            raise ServiceError(_("The amount must be more than zero."), "amount")
        cap = setting("yearly_cap_fen", today)
        if cap is not None and issued_in_year(application.organization_id, application.year) + amount_fen > cap:
            raise ServiceError(_("This would pass the yearly cap per organisation (%(cap)s).",
                                 cap=fen_to_str(cap)), "amount")
    status = {"approve": "approved", "material": "material_requested", "reject": "rejected"}[decision]
    moved = db.session.execute(update(VoucherApplication).where(
        VoucherApplication.id == application.id, VoucherApplication.status == "pending")
        .values(status=status, approved_fen=amount_fen if decision == "approve" else None, note=note or None,
                decided_by_id=actor.id, decided_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This application was decided already."))
    db.session.expire(application)
    if decision == "approve":
        issued = today if application.year == today.year else date(application.year, 1, 1)
        use_by = _add_months(issued, int(setting("use_months", today))) - timedelta(days=1)
        redeem_by = _add_months(use_by, int(setting("redeem_months", today)))
        voucher = Voucher(number=f"LCCXQ{application.year}{application.id:06d}", application_id=application.id,
                          organization_id=application.organization_id, year=application.year, mode=application.mode,
                          amount_fen=amount_fen, issued_on=issued, use_by=use_by, redeem_by=redeem_by)
        db.session.add(voucher)
    record(actor, "voucher.decide", "voucher_application", application.id, after={"status": status,
                                                                                   "amount_fen": amount_fen})
    notify(application.applicant_id, "notice.voucher_decided", "/vouchers")
    return application


def applications_queue(actor) -> list[VoucherApplication]:
    perm.require(actor, perm.VOUCHER_REVIEW)
    return list(db.session.scalars(select(VoucherApplication).order_by(
        (VoucherApplication.status == "pending").desc(), VoucherApplication.id.desc()).limit(300)))


def applications_of(org_id: int) -> list[VoucherApplication]:
    return list(db.session.scalars(select(VoucherApplication).where(VoucherApplication.organization_id == org_id)
                                   .order_by(VoucherApplication.id.desc())))


def vouchers_of(org_id: int) -> list[Voucher]:
    return list(db.session.scalars(select(Voucher).where(Voucher.organization_id == org_id)
                                   .order_by(Voucher.use_by, Voucher.id)))


def usable_vouchers(org_id: int, on: date | None = None) -> list[Voucher]:
    on = on or beijing_today()
    return [v for v in vouchers_of(org_id) if v.status == "active" and v.use_by >= on and v.issued_on <= on]


def reservations_of(org_id: int) -> list[VoucherReservation]:
    return list(db.session.scalars(select(VoucherReservation).join(Voucher).where(
        Voucher.organization_id == org_id).order_by(VoucherReservation.id.desc())))


# --- reservation at order time ------------------------------------------------------------------

def public_share(order: Order) -> int:
    return order.province_fen + order.city_fen


def reserve(order: Order, voucher_id: int | None = None) -> VoucherReservation:
    """Hold the order's public shares (province + city) on one of the buyer's vouchers: the
    chosen one, or the usable one that runs out first with enough balance. Part of the
    caller's transaction. The conditional UPDATE never takes more than the balance, so of
    orders racing for the last of a voucher one gets it and the others are refused."""
    amount = public_share(order)
    today = beijing_today()
    candidates = usable_vouchers(order.buyer_org_id, today)
    if voucher_id is not None:
        candidates = [v for v in candidates if v.id == voucher_id]
        if not candidates:
            raise ServiceError(_("Choose one of your vouchers that can be used today."), "voucher_id")
    if not candidates:
        raise ServiceError(_("Your organisation has no innovation voucher that can be used today. Apply for one "
                             "on the vouchers page."), "with_voucher")
    for voucher in candidates:
        moved = db.session.execute(update(Voucher).where(
            Voucher.id == voucher.id, Voucher.status == "active", Voucher.use_by >= today,
            Voucher.amount_fen - Voucher.used_fen - Voucher.reserved_fen - Voucher.lapsed_fen >= amount)
            .values(reserved_fen=Voucher.reserved_fen + amount).execution_options(synchronize_session=False)).rowcount
        if moved == 1:
            db.session.expire(voucher)
            reservation = VoucherReservation(voucher_id=voucher.id, order_id=order.id, amount_fen=amount)
            db.session.add(reservation)
            db.session.flush()
            return reservation
    raise ServiceError(_("The voucher's balance (%(balance)s) is less than the public share of this purchase "
                         "(%(amount)s).", balance=fen_to_str(max(v.balance_fen for v in candidates)),
                         amount=fen_to_str(amount)), "voucher_id" if voucher_id else "with_voucher")


def reservation_of(order_id: int) -> VoucherReservation | None:
    return db.session.scalar(select(VoucherReservation).where(VoucherReservation.order_id == order_id))


def release(order_id: int) -> bool:
    """Give a cancelled or refunded order's public share back to its voucher (part of the
    caller's transaction; once: a conditional UPDATE on the reservation's status). Before
    acceptance the reservation is released; a refund after acceptance gives back what was
    redeemed (the ledger's refund then corrects the redemption)."""
    reservation = reservation_of(order_id)
    if reservation is None:
        return False
    for status, column in (("reserved", Voucher.reserved_fen), ("redeemed", Voucher.used_fen)):
        moved = db.session.execute(update(VoucherReservation).where(
            VoucherReservation.id == reservation.id, VoucherReservation.status == status)
            .values(status="released", settled_at=utcnow()).execution_options(synchronize_session=False)).rowcount
        if moved == 1:
            db.session.execute(update(Voucher).where(Voucher.id == reservation.voucher_id)
                               .values({column.key: column - reservation.amount_fen})
                               .execution_options(synchronize_session=False))
            db.session.expire(reservation)
            return True
    return False


def release_many(order_ids) -> None:
    for order_id in order_ids:
        release(order_id)


def payable_fen(order: Order) -> int:
    """What the buyer pays through the gateway: its 10 % (通兑), or the whole fee (通用: the
    public shares are reimbursed to it after acceptance)."""
    if order.with_voucher:
        reservation = reservation_of(order.id)
        if reservation is not None and reservation.voucher.mode == "general":
            return order.amount_fen
    return order.enterprise_fen


def preview(buyer_org, amount_public_fen: int) -> dict | None:
    """The buyer's usable voucher for the listing page: its balance and what this purchase
    would leave (None when it has none)."""
    if buyer_org is None:
        return None
    usable = usable_vouchers(buyer_org.id)
    if not usable:
        return {"voucher": None, "balance_fen": 0, "left_fen": None, "enough": False}
    fit = next((v for v in usable if v.balance_fen >= amount_public_fen), usable[0])
    return {"voucher": fit, "balance_fen": fit.balance_fen, "left_fen": fit.balance_fen - amount_public_fen,
            "enough": fit.balance_fen >= amount_public_fen, "vouchers": usable}


# --- delivery and acceptance -----------------------------------------------------------------------

def _order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(_("This order does not exist."))
    return order


def delivery_of(order_id: int) -> Delivery | None:
    return db.session.scalar(select(Delivery).where(Delivery.order_id == order_id))


def auto_accept_days() -> int:
    return int(current_app.config["VOUCHER_AUTO_ACCEPT_DAYS"])


def _on_time(order: Order, now: datetime) -> bool:
    if order.booking is not None:
        return True  # delivered at its hours
    paid = order.paid_at or order.created_at
    return now - paid <= timedelta(days=int(current_app.config["VOUCHER_DELIVERY_DAYS"]))


def deliver(actor, order_id: int, note: str = "", files=()) -> Delivery:
    """The provider delivers a paid service order (a service or test report attached). A
    booking is delivered by completing it (``orders.services.complete_booking``)."""
    order = _order(order_id)
    perm.require(actor, perm.SELL, order)
    if order.booking is not None:
        raise ServiceError(_("A booking is delivered by completing it after its end time."))
    if order.kind != "service":
        raise ServiceError(_("Only service orders are delivered here."))
    checked = uploads.check(files)
    if order.with_voucher and not checked:
        raise ServiceError(_("Attach the service or test report."), "files")
    with unit_of_work() as uow:
        delivery = _delivered(actor, order, note)
        if checked:
            written = uploads.store(checked[:1], "vouchers")
            uow.on_rollback(lambda: uploads.remove([k for _f, _s, k in written]))
            f, stored, _path = written[0]
            delivery.report_name, delivery.report_stored, delivery.report_type = \
                f.original_name, stored, f.content_type
    return delivery


def _delivered(actor, order: Order, note: str = "") -> Delivery:
    now = utcnow()
    moved = db.session.execute(update(Order).where(Order.id == order.id, Order.status == "paid")
                               .values(status="delivered", delivered_at=now)
                               .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("Only a paid order can be delivered."))
    db.session.expire(order)
    delivery = Delivery(order_id=order.id, delivered_by_id=actor.id, delivered_at=now, note=(note or "")[:3000],
                        on_time=_on_time(order, now))
    db.session.add(delivery)
    db.session.flush()
    for user_id in members(order.buyer_org_id):
        notify(user_id, "notice.delivered", f"/orders/{order.id}")
    return delivery


def on_booking_completed(actor, booking: Booking) -> None:
    """A customer's paid booking was completed after its end: it waits for the customer's
    acceptance (part of the caller's transaction)."""
    _delivered(actor, booking.order)


def accept(actor, order_id: int) -> Delivery:
    """The buyer accepts (验收) the delivered service: only now is it redeemed."""
    order = _order(order_id)
    perm.require(actor, perm.BUY, order)
    with unit_of_work():
        return _accept(order, "accepted")


def _accept(order: Order, status: str) -> Delivery:
    delivery = delivery_of(order.id)
    if delivery is None:
        raise Conflict(_("This order has not been delivered."))
    now = utcnow()
    moved = db.session.execute(update(Delivery).where(
        Delivery.id == delivery.id, Delivery.status.in_(("delivered",) if status == "auto_accepted"
                                                        else ("delivered", "disputed")))
        .values(status=status, accepted_at=now).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This delivery was accepted already."))
    if order.status != "delivered":
        raise Conflict(_("This order is no longer open."))
    db.session.expire(delivery)
    _redeem(order, now)
    for user_id in members(order.seller_org_id):
        notify(user_id, "notice.accepted", f"/orders/{order.id}")
    return delivery


def _redeem(order: Order, now: datetime) -> None:
    """The ledger's service entries, written at acceptance: A3, A4 and A5 see only accepted
    service. The voucher's reservation becomes used; the public shares become receivables,
    in the provider's batch of the month."""
    from marketplace.orders.services import business_ref
    from marketplace.payments.models import VoucherReceivable

    today = business_date(now)
    ref = business_ref(order)
    if order.booking is not None:
        booking = order.booking
        ledger_append("booking_completed", booking.ref, today, booking.amount_fen, {
            "provider": order.seller.credit_code, "customer": order.buyer.credit_code,
            "instrument": booking.instrument.ref, "amount": fen_to_str(booking.amount_fen),
        })
    if not order.with_voucher:
        return
    reservation = reservation_of(order.id)
    ledger_append("voucher_redemption", ref, today, order.amount_fen, {
        "buyer": order.buyer.credit_code, "provider": order.seller.credit_code,
        "amount": fen_to_str(order.amount_fen), "province": fen_to_str(order.province_fen),
        "city": fen_to_str(order.city_fen), "enterprise": fen_to_str(order.enterprise_fen),
        "order_ref": order.ref,
    })
    db.session.add_all([VoucherReceivable(order_id=order.id, payer="province", amount_fen=order.province_fen),
                        VoucherReceivable(order_id=order.id, payer="city", amount_fen=order.city_fen)])
    if reservation is None:
        return
    moved = db.session.execute(update(VoucherReservation).where(
        VoucherReservation.id == reservation.id, VoucherReservation.status == "reserved")
        .values(status="redeemed", settled_at=now, batch_id=_batch(order.seller_org_id, today).id)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This voucher reservation was settled already."))
    db.session.execute(update(Voucher).where(Voucher.id == reservation.voucher_id)
                       .values(reserved_fen=Voucher.reserved_fen - reservation.amount_fen,
                               used_fen=Voucher.used_fen + reservation.amount_fen)
                       .execution_options(synchronize_session=False))
    db.session.expire(reservation)


def _batch(provider_org_id: int, day: date) -> RedemptionBatch:
    month = day.strftime("%Y-%m")
    stmt = select(RedemptionBatch).where(RedemptionBatch.provider_org_id == provider_org_id,
                                         RedemptionBatch.month == month)
    batch = db.session.scalar(stmt)
    if batch is not None:
        return batch
    try:
        with db.session.begin_nested():  # a concurrent acceptance may make the same batch
            batch = RedemptionBatch(provider_org_id=provider_org_id, month=month)
            db.session.add(batch)
    except IntegrityError:
        batch = db.session.scalar(stmt)
    return batch


def dispute(actor, order_id: int, reason: str) -> Delivery:
    """The buyer disputes the delivery with a reason; nothing is redeemed until it accepts."""
    order = _order(order_id)
    perm.require(actor, perm.BUY, order)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give the reason."), "reason")
    with unit_of_work():
        delivery = delivery_of(order.id)
        if delivery is None:
            raise Conflict(_("This order has not been delivered."))
        moved = db.session.execute(update(Delivery).where(Delivery.id == delivery.id,
                                                          Delivery.status == "delivered")
                                   .values(status="disputed", dispute_reason=reason[:3000])
                                   .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            raise Conflict(_("Only a delivery waiting for acceptance can be disputed."))
        db.session.expire(delivery)
        for user_id in members(order.seller_org_id):
            notify(user_id, "notice.disputed", f"/orders/{order.id}")
    return delivery


def auto_accept(now: datetime | None = None) -> int:
    """The sweep: deliveries with no answer for VOUCHER_AUTO_ACCEPT_DAYS are accepted. One
    unit of work per order, so one failure does not hold back the others."""
    now = now or utcnow()
    due = list(db.session.scalars(select(Delivery.order_id).where(
        Delivery.status == "delivered", Delivery.delivered_at <= now - timedelta(days=auto_accept_days()))))
    done = 0
    for order_id in due:
        try:
            with unit_of_work():
                _accept(_order(order_id), "auto_accepted")
            done += 1
        except Conflict:
            continue
    return done


def rate(actor, order_id: int, rating: int, comment: str = "") -> Delivery:
    order = _order(order_id)
    perm.require(actor, perm.BUY, order)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise ServiceError(_("Rate from 1 to 5."), "rating")
    with unit_of_work():
        delivery = delivery_of(order.id)
        if delivery is None:
            raise Conflict(_("This order has not been delivered."))
        moved = db.session.execute(update(Delivery).where(
            Delivery.id == delivery.id, Delivery.status.in_(("accepted", "auto_accepted")), Delivery.rating.is_(None))
            .values(rating=rating, comment=(comment or "").strip()[:2000], rated_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            raise Conflict(_("A service is rated once, after it is accepted."))
        db.session.expire(delivery)
    return delivery


def provider_stats(org_id: int) -> dict:
    """A provider's average rating, on-time delivery rate and dispute rate."""
    rows = list(db.session.execute(select(Delivery.rating, Delivery.on_time, Delivery.status,
                                          Delivery.dispute_reason).join(Order, Order.id == Delivery.order_id)
                                   .where(Order.seller_org_id == org_id)))
    rated = [r.rating for r in rows if r.rating]
    return {"deliveries": len(rows), "rated": len(rated),
            "average": round(sum(rated) / len(rated), 2) if rated else None,
            "on_time": round(100 * sum(1 for r in rows if r.on_time) / len(rows)) if rows else None,
            "disputes": round(100 * sum(1 for r in rows if r.dispute_reason) / len(rows)) if rows else None}


# --- provider admission (入库) ----------------------------------------------------------------------

def _admission(admission_id: int) -> ProviderAdmission:
    item = db.session.get(ProviderAdmission, admission_id)
    if item is None:
        raise NotFound(_("This application does not exist."))
    return item


def admission_of(org_id: int) -> ProviderAdmission | None:
    return db.session.scalar(select(ProviderAdmission).where(ProviderAdmission.organization_id == org_id)
                             .order_by(ProviderAdmission.id.desc()).limit(1))


def apply_admission(actor, scope: str, qualifications) -> ProviderAdmission:
    org = actor.organization
    perm.require(actor, perm.ADMISSION_APPLY, org)
    scope = (scope or "").strip()
    if not scope:
        raise ServiceError(_("Describe the services you offer."), "scope")
    quals = [q for q in (qualifications or []) if q in QUALIFICATIONS]
    try:
        with unit_of_work():
            admission = ProviderAdmission(organization_id=org.id, applicant_id=actor.id, scope=scope[:3000],
                                          qualifications=",".join(quals))
            db.session.add(admission)
            db.session.flush()
            record(actor, "admission.apply", "provider_admission", admission.id)
    except IntegrityError:
        raise Conflict(_("Your organisation has an application or admission already.")) from None
    return admission


_ADMISSION_MOVES = {"admit": (("pending", "suspended"), "admitted"), "reject": (("pending",), "rejected"),
                    "suspend": (("admitted",), "suspended"), "remove": (("admitted", "suspended"), "removed")}


@transactional
def decide_admission(actor, admission_id: int, decision: str, note: str = "") -> ProviderAdmission:
    """The city admits, rejects, suspends or removes (with a reason). Only an admitted in-city
    agency's services and instruments are voucher-eligible: the decision sets the mark the
    engine and the scenario read (``organizations.service_agency``)."""
    perm.require(actor, perm.VOUCHER_REVIEW)
    admission = _admission(admission_id)
    if decision not in _ADMISSION_MOVES:
        raise ServiceError(_("Choose a decision."), "decision")
    note = (note or "").strip()
    if decision != "admit" and not note:
        raise ServiceError(_("Give the reason."), "note")
    expected, status = _ADMISSION_MOVES[decision]
    moved = db.session.execute(update(ProviderAdmission).where(
        ProviderAdmission.id == admission.id, ProviderAdmission.status.in_(expected))
        .values(status=status, note=note or None, decided_by_id=actor.id, decided_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This application was decided already."))
    db.session.expire(admission)
    org = admission.organization
    before = org.service_agency
    org.service_agency = status == "admitted"
    record(actor, "admission." + decision, "provider_admission", admission.id,
           before={"service_agency": before}, after={"service_agency": org.service_agency, "note": note})
    from marketplace.listings.models import Listing
    from marketplace.outbox import enqueue

    for listing_id in db.session.scalars(select(Listing.id).where(Listing.organization_id == org.id)):
        enqueue("search", str(listing_id))  # the voucher facet of its listings changed
    notify(admission.applicant_id, "notice.admission_decided", "/vouchers/provider")
    return admission


def admissions_queue(actor) -> list[ProviderAdmission]:
    perm.require(actor, perm.VOUCHER_REVIEW)
    return list(db.session.scalars(select(ProviderAdmission).order_by(
        (ProviderAdmission.status == "pending").desc(), ProviderAdmission.id.desc()).limit(300)))


# --- lapse and redemption batches -----------------------------------------------------------------

def lapse_expired(now: datetime | None = None) -> int:
    """The daily sweep: a voucher past its use-by date lapses; what was neither used nor
    reserved is shown as lapsed (a reservation still held is redeemed or released later)."""
    today = business_date(now or utcnow())
    with unit_of_work():
        moved = db.session.execute(update(Voucher).where(Voucher.status == "active", Voucher.use_by < today)
                                   .values(status="lapsed", lapsed_at=utcnow(),
                                           lapsed_fen=Voucher.amount_fen - Voucher.used_fen - Voucher.reserved_fen)
                                   .execution_options(synchronize_session=False)).rowcount
    return moved


def batches(actor) -> list[RedemptionBatch]:
    perm.require(actor, perm.VOUCHER_OVERSEE)
    return list(db.session.scalars(select(RedemptionBatch).order_by(RedemptionBatch.month.desc(),
                                                                    RedemptionBatch.id)))


def batch_total(batch: RedemptionBatch) -> dict:
    orders = [r.order for r in batch.reservations if r.status == "redeemed"]
    return {"count": len(orders), "amount_fen": sum(o.amount_fen for o in orders),
            "province_fen": sum(o.province_fen for o in orders), "city_fen": sum(o.city_fen for o in orders)}


@transactional
def pay_batch(actor, batch_id: int) -> RedemptionBatch:
    """City finance pays a month's batch: the city's 30 % receivables are settled; the
    province's 60 % stay owed by the province (its own export)."""
    from marketplace.payments.models import VoucherReceivable

    perm.require(actor, perm.VOUCHER_PAY)
    batch = db.session.get(RedemptionBatch, batch_id)
    if batch is None:
        raise NotFound(_("This batch does not exist."))
    if beijing_today().strftime("%Y-%m") <= batch.month:
        raise ServiceError(_("A month's batch is paid after the month ends."))
    moved = db.session.execute(update(RedemptionBatch).where(RedemptionBatch.id == batch.id,
                                                             RedemptionBatch.status == "open")
                               .values(status="paid", paid_at=utcnow(), paid_by_id=actor.id)
                               .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This batch was paid already."))
    db.session.expire(batch)
    order_ids = [r.order_id for r in batch.reservations if r.status == "redeemed"]
    if order_ids:
        db.session.execute(update(VoucherReceivable).where(VoucherReceivable.order_id.in_(order_ids),
                                                           VoucherReceivable.payer == "city",
                                                           VoucherReceivable.status == "owed")
                           .values(status="settled").execution_options(synchronize_session=False))
    record(actor, "voucher.batch_paid", "redemption_batch", batch.id, after=batch_total(batch))
    return batch


def province_owed(actor) -> list[dict]:
    """The province's 60 % of every accepted voucher service, owed by the province."""
    from marketplace.payments.models import VoucherReceivable

    perm.require(actor, perm.VOUCHER_OVERSEE)
    rows = db.session.execute(select(VoucherReceivable, Order).join(Order, Order.id == VoucherReceivable.order_id)
                              .where(VoucherReceivable.payer == "province", VoucherReceivable.status == "owed")
                              .order_by(VoucherReceivable.id))
    out = []
    for receivable, order in rows:
        out.append({"order": order, "receivable": receivable, "amount_fen": receivable.amount_fen,
                    "buyer": order.buyer.name, "provider": order.seller.name,
                    "accepted_on": business_date(receivable.created_at)})
    return out


def provider_orders(actor) -> dict:
    """A provider's voucher orders awaiting delivery, acceptance and redemption."""
    org = actor.organization
    if org is None:
        return {"delivery": [], "acceptance": [], "redemption": [], "redeemed": []}
    orders = list(db.session.scalars(select(Order).where(Order.seller_org_id == org.id, Order.with_voucher.is_(True))
                                     .order_by(Order.id.desc()).limit(300)))
    deliveries = {d.order_id: d for d in db.session.scalars(select(Delivery).where(
        Delivery.order_id.in_([o.id for o in orders])))} if orders else {}
    reservations = {r.order_id: r for r in db.session.scalars(select(VoucherReservation).where(
        VoucherReservation.order_id.in_([o.id for o in orders])))} if orders else {}
    out = {"delivery": [], "acceptance": [], "redemption": [], "redeemed": []}
    for o in orders:
        d, r = deliveries.get(o.id), reservations.get(o.id)
        if o.status == "paid":
            out["delivery"].append((o, d, r))
        elif d is not None and d.status in ("delivered", "disputed"):
            out["acceptance"].append((o, d, r))
        elif r is not None and r.status == "redeemed":
            paid = r.batch_id and db.session.get(RedemptionBatch, r.batch_id).status == "paid"
            out["redeemed" if paid else "redemption"].append((o, d, r))
    return out


def dashboard(actor, year: int) -> list[dict]:
    """Vouchers issued, used and lapsed in ``year`` per county and industry."""
    perm.require(actor, perm.VOUCHER_OVERSEE)
    from marketplace.accounts.models import Organization

    rows = {}
    for v, org in db.session.execute(select(Voucher, Organization).join(Organization,
                                                                       Organization.id == Voucher.organization_id)
                                     .where(Voucher.year == year)):
        key = (org.county or "—", _industry(org))
        r = rows.setdefault(key, {"county": key[0], "industry": key[1], "issued_fen": 0, "used_fen": 0,
                                  "lapsed_fen": 0, "count": 0})
        r["issued_fen"] += v.amount_fen
        r["used_fen"] += v.used_fen
        r["lapsed_fen"] += v.lapsed_fen
        r["count"] += 1
    return [rows[k] for k in sorted(rows)]


def _industry(org) -> str:
    from marketplace.listings.models import Listing

    field = db.session.scalar(select(Listing.field).where(Listing.organization_id == org.id,
                                                          Listing.field.is_not(None)).limit(1))
    return field or _("Not recorded")
