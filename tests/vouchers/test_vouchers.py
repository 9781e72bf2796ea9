"""Innovation vouchers through their services: applications and the city's decisions, the
yearly cap, admission, reservation and release, delivery, acceptance, dispute, automatic
acceptance, lapse, batches, ratings, and the city's A3 budget charged its 30 % only."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.core.errors import Conflict, PermissionDenied, ServiceError
from marketplace.core.timeutil import beijing_today, frozen_at, utcnow
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.payments import services as payments
from marketplace.payments.models import VoucherReceivable
from marketplace.vouchers import services as vouchers
from marketplace.vouchers.models import Delivery, Voucher, VoucherApplication, VoucherReservation
from tests.voucher_helpers import REPORT, give_voucher


@pytest.fixture()
def provider(factory):
    return factory.user("provider", kind="agency", service_agency=True, name="聊城检测中心")


@pytest.fixture()
def enterprise(factory):
    return factory.user("enterprise", size="small")


@pytest.fixture()
def reviewer(factory):
    return factory.user("reviewer")


def _service(provider, price_fen=5_000_000):
    return listings.publish(provider, listings.create_listing(provider, "service", {
        "title": "液相色谱检测", "description": "", "price_fen": price_fen, "negotiable": False}).id)


def _kinds():
    db.session.expire_all()
    return [e.kind for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]


def _paid_voucher_order(provider, enterprise, amount_fen=10_000_000):
    voucher = give_voucher(enterprise.organization, amount_fen)
    order = orders.order_service(enterprise, _service(provider).id, with_voucher=True)
    payments.checkout(enterprise, order.id)
    return voucher, order


# --- applications ----------------------------------------------------------------------------------

def test_apply_approve_issues_a_voucher_with_its_dates(enterprise, reviewer):
    year = beijing_today().year
    application = vouchers.apply(enterprise, year, 10_000_000, "检测费用")
    assert application.status == "pending"
    vouchers.decide_application(reviewer, application.id, "approve", 8_000_000)
    voucher = db.session.scalar(select(Voucher))
    assert (voucher.amount_fen, voucher.balance_fen, voucher.year) == (8_000_000, 8_000_000, year)
    assert voucher.number == f"LCCXQ{year}{application.id:06d}"
    assert voucher.use_by > beijing_today() and voucher.redeem_by > voucher.use_by
    with pytest.raises(Conflict):  # decided once
        vouchers.decide_application(reviewer, application.id, "reject", None, "重复")


def test_the_city_asks_for_material_rejects_with_a_reason_and_nobody_else_decides(enterprise, reviewer, factory):
    year = beijing_today().year
    application = vouchers.apply(enterprise, year, 10_000_000, "检测费用")
    with pytest.raises(ServiceError) as refused:
        vouchers.decide_application(reviewer, application.id, "reject", None, "")
    assert refused.value.field == "note"
    with pytest.raises(PermissionDenied):
        vouchers.decide_application(factory.user("finance"), application.id, "approve", 100)
    with pytest.raises(PermissionDenied):
        vouchers.decide_application(enterprise, application.id, "approve", 100)
    vouchers.decide_application(reviewer, application.id, "material", None, "请补充报价单")
    vouchers.resubmit(enterprise, application.id, "检测费用，附报价单")
    assert db.session.get(VoucherApplication, application.id).status == "pending"
    vouchers.decide_application(reviewer, application.id, "reject", None, "不属于科技服务")
    assert db.session.get(VoucherApplication, application.id).note == "不属于科技服务"
    assert db.session.scalar(select(func.count()).select_from(Voucher)) == 0


def test_only_eligible_organisations_apply(factory):
    large = factory.user("enterprise", size="large")
    with pytest.raises(ServiceError, match="大型企业|Large"):
        vouchers.apply(large, beijing_today().year, 100, "x")
    with pytest.raises(PermissionDenied):
        vouchers.apply(factory.user("provider", kind="agency"), beijing_today().year, 100, "x")
    assert db.session.scalar(select(func.count()).select_from(VoucherApplication)) == 0


def test_the_yearly_cap_is_a_dated_parameter_and_none_unless_set(enterprise, reviewer):
    year = beijing_today().year
    first = vouchers.apply(enterprise, year, 30_000_000, "一")
    vouchers.decide_application(reviewer, first.id, "approve", 30_000_000)  # no cap: any amount
    vouchers.set_setting(reviewer, "yearly_cap_fen", 50_000_000, date(year, 1, 1))
    assert vouchers.setting("yearly_cap_fen") == 50_000_000
    assert vouchers.setting("yearly_cap_fen", date(year - 1, 6, 1)) is None  # before it was set
    second = vouchers.apply(enterprise, year, 30_000_000, "二")
    with pytest.raises(ServiceError) as refused:
        vouchers.decide_application(reviewer, second.id, "approve", 30_000_000)
    assert refused.value.field == "amount"
    assert db.session.get(VoucherApplication, second.id).status == "pending"  # a refusal writes nothing
    vouchers.decide_application(reviewer, second.id, "approve", 20_000_000)
    assert vouchers.issued_in_year(enterprise.organization.id, year) == 50_000_000


# --- admission ---------------------------------------------------------------------------------------

def test_admission_sets_what_the_engine_reads_and_suspension_stops_voucher_use(factory, reviewer, enterprise):
    lab = factory.user("provider", kind="agency", name="新检测所")
    service = _service(lab)
    assert orders.voucher_eligible(enterprise.organization, service)[0] is False
    admission = vouchers.apply_admission(lab, "理化检测", ["CMA", "CNAS", "bogus"])
    assert admission.qualifications == "CMA,CNAS"
    with pytest.raises(Conflict):
        vouchers.apply_admission(lab, "再申请", [])
    vouchers.decide_admission(reviewer, admission.id, "admit")
    db.session.expire_all()
    assert lab.organization.service_agency is True
    assert orders.voucher_eligible(enterprise.organization, listings.get_listing(enterprise, service.id))[0]
    with pytest.raises(ServiceError):
        vouchers.decide_admission(reviewer, admission.id, "suspend", "")  # a reason
    vouchers.decide_admission(reviewer, admission.id, "suspend", "资质过期")
    db.session.expire_all()
    assert lab.organization.service_agency is False
    give_voucher(enterprise.organization)
    with pytest.raises(ServiceError):
        orders.order_service(enterprise, service.id, with_voucher=True)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


# --- reservation, delivery, acceptance -------------------------------------------------------------------

def test_paid_is_not_redeemed_accepted_is(provider, enterprise):
    voucher, order = _paid_voucher_order(provider, enterprise)
    assert _kinds() == ["payment"]
    db.session.refresh(voucher)
    assert (voucher.reserved_fen, voucher.used_fen) == (4_500_000, 0)
    with pytest.raises(ServiceError):
        vouchers.deliver(provider, order.id, "无报告")  # a voucher order is delivered with its report
    with pytest.raises(PermissionDenied):
        vouchers.deliver(enterprise, order.id, "x", REPORT)
    vouchers.deliver(provider, order.id, "见报告", REPORT)
    assert _kinds() == ["payment"]
    with pytest.raises(PermissionDenied):
        vouchers.accept(provider, order.id)
    with pytest.raises(Conflict):
        vouchers.rate(enterprise, order.id, 5)  # not before acceptance
    vouchers.accept(enterprise, order.id)
    assert _kinds() == ["payment", "voucher_redemption"]
    db.session.expire_all()
    voucher = db.session.get(Voucher, voucher.id)
    assert (voucher.reserved_fen, voucher.used_fen, voucher.balance_fen) == (0, 4_500_000, 5_500_000)
    assert {(r.payer, r.amount_fen) for r in db.session.scalars(select(VoucherReceivable))} == {
        ("province", 3_000_000), ("city", 1_500_000)}
    reservation = db.session.scalar(select(VoucherReservation))
    assert reservation.status == "redeemed" and reservation.batch_id is not None
    vouchers.rate(enterprise, order.id, 4, "及时")
    with pytest.raises(Conflict):
        vouchers.rate(enterprise, order.id, 5)
    stats = vouchers.provider_stats(provider.organization.id)
    assert (stats["average"], stats["on_time"], stats["disputes"]) == (4, 100, 0)


def test_never_more_than_the_balance(provider, enterprise):
    give_voucher(enterprise.organization, 4_000_000)  # less than the 45,000 public share
    with pytest.raises(ServiceError, match="40000.00"):
        orders.order_service(enterprise, _service(provider).id, with_voucher=True)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert db.session.scalar(select(Voucher.reserved_fen)) == 0


def test_a_refund_before_acceptance_releases_the_reservation(provider, enterprise):
    voucher, order = _paid_voucher_order(provider, enterprise)
    vouchers.deliver(provider, order.id, "见报告", REPORT)
    payments.refund(provider, order.id, "客户撤回")
    db.session.expire_all()
    assert db.session.get(Voucher, voucher.id).balance_fen == 10_000_000
    assert db.session.scalar(select(VoucherReservation.status)) == "released"
    with pytest.raises(Conflict):
        vouchers.accept(enterprise, order.id)  # nothing left to accept
    assert _kinds() == ["payment", "refund"]


def test_a_disputed_delivery_is_accepted_later_and_no_answer_is_accepted_automatically(app, provider, enterprise):
    voucher, order = _paid_voucher_order(provider, enterprise, 20_000_000)
    vouchers.deliver(provider, order.id, "见报告", REPORT)
    with pytest.raises(ServiceError):
        vouchers.dispute(enterprise, order.id, " ")
    vouchers.dispute(enterprise, order.id, "报告缺页")
    assert vouchers.auto_accept(utcnow() + timedelta(days=100)) == 0  # a dispute is never accepted by itself
    vouchers.accept(enterprise, order.id)
    assert db.session.scalar(select(Delivery.status).where(Delivery.order_id == order.id)) == "accepted"

    second = orders.order_service(enterprise, _service(provider).id, with_voucher=True)
    payments.checkout(enterprise, second.id)
    vouchers.deliver(provider, second.id, "见报告", REPORT)
    days = app.config["VOUCHER_AUTO_ACCEPT_DAYS"]
    assert vouchers.auto_accept(utcnow() + timedelta(days=days - 1)) == 0
    assert vouchers.auto_accept(utcnow() + timedelta(days=days, minutes=1)) == 1
    assert db.session.scalar(select(Delivery.status).where(Delivery.order_id == second.id)) == "auto_accepted"
    assert _kinds().count("voucher_redemption") == 2
    stats = vouchers.provider_stats(provider.organization.id)
    assert stats["disputes"] == 50


def test_an_expired_voucher_lapses_visibly_and_cannot_be_used(provider, enterprise):
    yesterday = beijing_today() - timedelta(days=1)
    voucher = give_voucher(enterprise.organization, 10_000_000, use_by=yesterday)
    with pytest.raises(ServiceError):
        orders.order_service(enterprise, _service(provider).id, with_voucher=True)
    assert vouchers.lapse_expired() == 1
    db.session.expire_all()
    voucher = db.session.get(Voucher, voucher.id)
    assert (voucher.status, voucher.lapsed_fen, voucher.balance_fen) == ("lapsed", 10_000_000, 0)
    assert vouchers.lapse_expired() == 0  # once


def test_a_booking_is_redeemed_when_the_customer_accepts_it(provider, enterprise):
    instrument = listings.publish(provider, listings.create_listing(provider, "instrument", {
        "title": "扫描电镜", "description": "", "price_fen": 50_000, "price_unit": "hour", "negotiable": False,
        "open_from_hour": 8, "open_to_hour": 18}).id)
    give_voucher(enterprise.organization)
    day = beijing_today() + timedelta(days=2)
    booking = orders.book_instrument(enterprise, instrument.id, datetime.combine(day, datetime.min.time())
                                     .replace(hour=9), 2, with_voucher=True)
    payments.checkout(enterprise, booking.order_id)
    with pytest.raises(ServiceError, match="2"):  # before it ends (its end time is named)
        orders.complete_booking(provider, booking.id)
    with frozen_at(datetime.combine(day, datetime.min.time()).replace(hour=3)):  # 11:00 Beijing: ended
        orders.complete_booking(provider, booking.id)
    assert _kinds() == ["payment"]
    vouchers.accept(enterprise, booking.order_id)
    assert sorted(_kinds()) == ["booking_completed", "payment", "voucher_redemption"]


def test_a_batch_is_paid_after_its_month_and_settles_the_city_share_only(factory, provider, enterprise):
    finance = factory.user("finance")
    with frozen_at(utcnow() - timedelta(days=40)):
        voucher, order = _paid_voucher_order(provider, enterprise)
        vouchers.deliver(provider, order.id, "见报告", REPORT)
        vouchers.accept(enterprise, order.id)
    batch = vouchers.batches(finance)[0]
    with pytest.raises(PermissionDenied):
        vouchers.pay_batch(provider, batch.id)
    vouchers.pay_batch(finance, batch.id)
    with pytest.raises(Conflict):
        vouchers.pay_batch(finance, batch.id)
    statuses = {r.payer: r.status for r in db.session.scalars(select(VoucherReceivable))}
    assert statuses == {"city": "settled", "province": "owed"}
    owed = vouchers.province_owed(finance)
    assert [r["amount_fen"] for r in owed] == [3_000_000]


def test_declaring_a_service_agency_at_registration_is_an_admission_application(app_ctx, reviewer):
    from marketplace.accounts import credit_code
    from marketplace.accounts.services import Registration, register
    from marketplace.vouchers.models import ProviderAdmission

    user = register(Registration(org_name="新设检测所", kind="agency", role="provider",
                                 credit_code=credit_code.make("91371502MA9999991"), county="东昌府区",
                                 email="lab-new@example.com", name="新所长", password="Zq8!-voucher-admission",
                                 service_agency=True))
    db.session.expire_all()
    org = user.memberships[0].organization
    assert org.service_agency is False  # not eligible by saying so
    admission = db.session.scalar(select(ProviderAdmission).where(ProviderAdmission.organization_id == org.id))
    assert admission.status == "pending" and admission.applicant_id == user.id
    vouchers.decide_admission(reviewer, admission.id, "admit")
    db.session.expire_all()
    assert db.session.get(type(org), org.id).service_agency is True
