"""Timed reminders and sweeps, run by the worker (``marketplace.worker.schedule``).

Each reminder goes out once per record (a ``reminders_sent`` row, written in the same
transaction as the notification). Jobs: a booking tomorrow, an offer expiring tomorrow
(then the sweep of expired offers), a public notice ending tomorrow (then the sweep that
clears ended notices and makes their contracts), evidence asked for and not given after
EVIDENCE_REMINDER_DAYS, and vouchers expiring (the vouchers domain registers where they are
with ``register_voucher_source``). Unpaid bookings expire in ``bookings.expire``
(marketplace/orders/cli.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterable

from flask import Flask
from sqlalchemy import func, select

from marketplace.conversations.models import PriceNotice, QuoteVersion, ReminderSent
from marketplace.core.money import format_yuan
from marketplace.core.timeutil import beijing_today, utcnow
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.notifications.services import Everyone, tell

EVIDENCE_REMINDER_DAYS = 7
VOUCHER_REMINDER_DAYS = 7

# (voucher id, organisation id, reference, expiry date) of vouchers expiring by the given day
_voucher_sources: list[Callable[[object], Iterable[tuple[int, int, str, object]]]] = []


def register_voucher_source(source: Callable[[object], Iterable[tuple[int, int, str, object]]]) -> None:
    _voucher_sources.append(source)


def _once(kind: str, subject_id: int) -> bool:
    """True the first time (and records it, in the caller's transaction)."""
    if db.session.get(ReminderSent, (kind, subject_id)) is not None:
        return False
    db.session.add(ReminderSent(kind=kind, subject_id=subject_id))
    return True


def bookings_tomorrow(now: datetime | None = None) -> int:
    from marketplace.orders.models import Booking

    tomorrow = beijing_today() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time())
    sent = 0
    with unit_of_work():
        for booking in db.session.scalars(select(Booking).where(Booking.status == "booked",
                                                                Booking.start_at >= start,
                                                                Booking.start_at < start + timedelta(days=1))):
            if booking.order is not None and booking.order.status == "pending_payment":
                continue
            if _once("booking_tomorrow", booking.id):
                sent += 1
                tell(Everyone(booking.customer_org_id), "reminder", "talk.booking_tomorrow", "/bookings",
                     title=booking.instrument.title, time=booking.start_at.strftime("%H:%M"))
    return sent


def offers_expiring(now: datetime | None = None) -> int:
    from marketplace.conversations import negotiation
    from marketplace.orders.models import Enquiry

    tomorrow = beijing_today() + timedelta(days=1)
    sent = 0
    with unit_of_work():
        for version in db.session.scalars(select(QuoteVersion).where(QuoteVersion.status == "open",
                                                                     QuoteVersion.valid_until == tomorrow)):
            enquiry = db.session.get(Enquiry, version.enquiry_id)
            decider = enquiry.buyer_org_id if version.side == "seller" else enquiry.seller_org_id
            if _once("quote_expiring", version.id):
                sent += 1
                tell(Everyone(decider), "reminder", "talk.quote_expiring", f"/enquiries/{enquiry.id}",
                     price=format_yuan(version.price_fen), title=enquiry.listing.title,
                     until=version.valid_until.isoformat())
    negotiation.expire_versions()
    return sent


def notices_ending(now: datetime | None = None) -> int:
    from marketplace.conversations import pricenotice

    tomorrow = beijing_today() + timedelta(days=1)
    sent = 0
    with unit_of_work():
        for notice in db.session.scalars(select(PriceNotice).where(PriceNotice.status == "on_notice",
                                                                   PriceNotice.notice_until == tomorrow)):
            if _once("notice_ending", notice.id):
                sent += 1
                for org_id in (notice.seller_org_id, notice.buyer_org_id):
                    tell(Everyone(org_id), "reminder", "talk.notice_ending", f"/enquiries/{notice.enquiry_id}",
                         price=format_yuan(notice.price_fen), title=notice.title,
                         until=notice.notice_until.isoformat())
    pricenotice.clear_due()
    return sent


def evidence_waiting(now: datetime | None = None) -> int:
    from marketplace.claims import models as cm

    asked_before = utcnow() - timedelta(days=EVIDENCE_REMINDER_DAYS)
    last_ask = (select(cm.ClaimDecision.claim_id, func.max(cm.ClaimDecision.created_at).label("asked"))
                .where(cm.ClaimDecision.action == "evidence_requested").group_by(cm.ClaimDecision.claim_id)
                .subquery())
    sent = 0
    with unit_of_work():
        for claim in db.session.scalars(select(cm.Claim).join(last_ask, last_ask.c.claim_id == cm.Claim.id)
                                        .where(cm.Claim.status == cm.EVIDENCE_REQUESTED,
                                               last_ask.c.asked < asked_before)):
            if _once("evidence_waiting", claim.id):
                sent += 1
                tell(Everyone(claim.organization_id), "reminder", "talk.evidence_waiting", f"/claims/{claim.id}",
                     ref=f"{claim.clause}-{claim.id}")
    return sent


def vouchers_expiring(now: datetime | None = None) -> int:
    by = beijing_today() + timedelta(days=VOUCHER_REMINDER_DAYS)
    sent = 0
    with unit_of_work():
        for source in _voucher_sources:
            for voucher_id, org_id, ref, until in source(by):
                if _once("voucher_expiring", voucher_id):
                    sent += 1
                    tell(Everyone(org_id), "reminder", "talk.voucher_expiring", "/", ref=ref, until=str(until))
    return sent


JOBS = {
    "talk.booking_tomorrow": (3600, bookings_tomorrow),
    "talk.offers_expiring": (3600, offers_expiring),
    "talk.notices_ending": (3600, notices_ending),
    "talk.evidence_waiting": (6 * 3600, evidence_waiting),
    "talk.vouchers_expiring": (6 * 3600, vouchers_expiring),
}


def init_app(app: Flask) -> None:
    from marketplace import worker

    for name, (every, run) in JOBS.items():
        worker.schedule(app, name, every, run)
