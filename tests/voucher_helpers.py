"""Helpers for tests that trade with innovation vouchers: a voucher issued to an
organisation (as the city would after approving its application), and the delivery and
acceptance that redeem a voucher order (only accepted service reaches the ledger)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from marketplace.accounts.models import Membership, User
from marketplace.core.timeutil import beijing_today
from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.vouchers import services as vouchers
from marketplace.vouchers.models import Voucher, VoucherApplication

REPORT = [("检测报告.pdf", b"%PDF-1.4 test report")]


def give_voucher(org, amount_fen: int = 100_000_000_00, mode: str = "exchange",
                 use_by: date | None = None, year: int | None = None) -> Voucher:
    """An approved application and its voucher for ``org`` (committed), usable from 1 January
    of ``year`` (this year) to the end of the next."""
    org_id = getattr(org, "id", org)
    today = beijing_today().replace(year=year) if year else beijing_today()
    applicant = db.session.scalar(select(Membership.user_id).where(Membership.organization_id == org_id).limit(1))
    application = VoucherApplication(organization_id=org_id, applicant_id=applicant, year=today.year,
                                     planned_fen=amount_fen, purpose="测试", mode=mode, status="approved",
                                     approved_fen=amount_fen)
    db.session.add(application)
    db.session.flush()
    voucher = Voucher(number=f"T{application.id:08d}", application_id=application.id, organization_id=org_id,
                      year=today.year, mode=mode, amount_fen=amount_fen, issued_on=date(today.year, 1, 1),
                      use_by=use_by or date(today.year + 1, 12, 31), redeem_by=date(today.year + 2, 3, 31))
    db.session.add(voucher)
    db.session.commit()
    return voucher


def ensure_voucher(org, amount_fen: int = 100_000_000_00) -> None:
    """Give ``org`` a voucher unless it has a usable one."""
    org_id = getattr(org, "id", org)
    if not vouchers.usable_vouchers(org_id):
        give_voucher(org_id, amount_fen)


def _member(org_id: int) -> User:
    """A member who acts for ``org_id``: one whose organisation it is (a person may belong to
    two, and acts for the first), the oldest membership first, in a stable order."""
    members = db.session.scalars(select(User).join(Membership, Membership.user_id == User.id)
                                 .where(Membership.organization_id == org_id).order_by(Membership.id)).all()
    return next((u for u in members if u.organization and u.organization.id == org_id), members[0])


def deliver_and_accept(order_id: int, accept: bool = True):
    """The seller delivers the paid service (or completes nothing: a booking is completed by
    the caller) with a report; the buyer accepts it."""
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    if order.booking is None:
        vouchers.deliver(_member(order.seller_org_id), order.id, "完成", REPORT)
    if accept:
        vouchers.accept(_member(order.buyer_org_id), order.id)
    from marketplace import outbox

    outbox.drain()  # what the request would do after answering (claims are drafted from the ledger)
    db.session.expire_all()
    return db.session.get(Order, order_id)
