"""Enquiry, quote and acceptance; delivery; voucher eligibility and the price preview: the
orders rules a mutation run showed unguarded (issue 16). Through the public services."""
import pytest
from sqlalchemy import func, select

from marketplace import permissions as perm
from marketplace.core.errors import Conflict, ServiceError
from marketplace.core.money import MAX_FEN
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.notifications.models import Notification
from marketplace.orders import services as orders
from marketplace.orders.models import Enquiry, Order
from marketplace.payments import services as payments


@pytest.fixture(autouse=True)
def english(app_ctx):
    """The refusals are checked by their English words."""
    from flask_babel import force_locale

    with app_ctx.test_request_context(), force_locale("en"):
        yield


@pytest.fixture()
def seller(factory):
    return factory.user("provider", kind="agency", service_agency=True, name="聊城检测中心")


@pytest.fixture()
def university(factory):
    return factory.user("university")


@pytest.fixture()
def buyer(factory):
    return factory.user("enterprise", size="small")


def _listing(user, kind, **data):
    defaults = {"title": f"测试{kind}", "description": "", "price_fen": 5_000_000, "negotiable": False}
    if kind == "achievement":
        defaults.update(ip_kind="invention_patent", maturity="pilot",
                        transfer_modes=["non_exclusive_licence", "assignment", "co_development"])
    defaults.update(data)
    listing = listings.create_listing(user, kind, defaults)
    return listings.publish(user, listing.id)


def _notices(user):
    return [(n.message, n.link) for n in db.session.scalars(select(Notification).where(Notification.user_id == user.id))]


def _field(excinfo):
    return excinfo.value.field


def test_an_enquiry_reaches_the_sellers_members_and_refuses_what_cannot_be_asked(seller, buyer, university):
    service = _listing(seller, "service")
    with pytest.raises(ServiceError, match="own organisation"):
        orders.enquire(seller, service.id, "自己问自己")
    with pytest.raises(ServiceError) as blank:
        orders.enquire(buyer, service.id, "   ")
    assert _field(blank) == "message"
    achievement = _listing(university, "achievement")
    with pytest.raises(ServiceError) as mode:
        orders.enquire(buyer, achievement.id, "可以独占许可吗？", "exclusive_licence")
    assert _field(mode) == "transfer_mode"
    assert db.session.scalar(select(func.count()).select_from(Enquiry)) == 0
    enquiry = orders.enquire(buyer, achievement.id, "  可以转让吗？ ", "assignment")
    assert (enquiry.status, enquiry.message, enquiry.transfer_mode) == ("open", "可以转让吗？", "assignment")
    assert _notices(university) == [("talk.enquiry", f"/enquiries/{enquiry.id}")]
    assert [e.id for e in orders.enquiries_of(buyer).items] == [enquiry.id] == [e.id for e in orders.enquiries_of(university).items]
    assert orders.enquiries_of(seller).items == []


def test_only_the_seller_quotes_a_positive_bounded_amount_on_an_open_enquiry(seller, buyer):
    enquiry = orders.enquire(buyer, _listing(seller, "service", price_fen=None, negotiable=True).id, "多少钱？")
    with pytest.raises(perm.PermissionDenied):
        orders.quote(buyer, enquiry.id, 100_000)
    for bad in (0, -1, MAX_FEN + 1):
        with pytest.raises(ServiceError) as refused:
            orders.quote(seller, enquiry.id, bad)
        assert _field(refused) == "amount", bad
    quoted = orders.quote(seller, enquiry.id, MAX_FEN, "含税")
    assert (quoted.status, quoted.quote_fen, quoted.quote_note) == ("quoted", MAX_FEN, "含税")
    assert quoted.quoted_at is not None
    assert _notices(buyer) == [("talk.quoted", f"/enquiries/{enquiry.id}")]
    assert orders.quote(seller, enquiry.id, 80_000, "再议").quote_fen == 80_000  # a new quote replaces it
    orders.accept_quote(buyer, enquiry.id)
    with pytest.raises(ServiceError, match="closed"):
        orders.quote(seller, enquiry.id, 90_000)


def test_accepting_a_quote_orders_it_once_at_the_quoted_amount(seller, buyer):
    enquiry = orders.enquire(buyer, _listing(seller, "service", price_fen=None, negotiable=True).id, "多少钱？")
    with pytest.raises(ServiceError, match="no quote to accept"):
        orders.accept_quote(buyer, enquiry.id)
    orders.quote(seller, enquiry.id, 800_000)
    with pytest.raises(perm.PermissionDenied):
        orders.accept_quote(seller, enquiry.id)
    order = orders.accept_quote(buyer, enquiry.id)
    assert (order.kind, order.amount_fen, order.enterprise_fen, order.enquiry_id, order.status) == \
        ("service", 800_000, 800_000, enquiry.id, "pending_payment")
    assert db.session.get(Enquiry, enquiry.id).status == "ordered"
    with pytest.raises(Conflict):
        orders.accept_quote(buyer, enquiry.id)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_a_refused_voucher_on_acceptance_writes_nothing_and_the_quote_stands(seller, factory):
    large = factory.user("enterprise", size="large")
    enquiry = orders.enquire(large, _listing(seller, "service", price_fen=None, negotiable=True).id, "多少钱？")
    orders.quote(seller, enquiry.id, 800_000)
    with pytest.raises(ServiceError, match="Large enterprises") as refused:
        orders.accept_quote(large, enquiry.id, with_voucher=True)
    assert _field(refused) == "with_voucher"
    assert db.session.get(Enquiry, enquiry.id).status == "quoted"
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
    assert orders.accept_quote(large, enquiry.id).amount_fen == 800_000


def test_only_the_buyer_confirms_delivery_and_only_of_a_paid_order(seller, buyer):
    order = orders.order_service(buyer, _listing(seller, "service").id)
    with pytest.raises(ServiceError, match="paid order"):
        orders.confirm_delivery(buyer, order.id)
    payments.checkout(buyer, order.id)
    with pytest.raises(perm.PermissionDenied):
        orders.confirm_delivery(seller, order.id)
    delivered = orders.confirm_delivery(buyer, order.id)
    assert delivered.status == "delivered" and delivered.delivered_at is not None
    assert [o.id for o in orders.orders_of(buyer).items] == [order.id] == [o.id for o in orders.orders_of(seller).items]


def test_who_may_pay_with_a_voucher(seller, factory):
    service = _listing(seller, "service")
    plain = _listing(factory.user("provider", kind="agency", service_agency=False), "service")
    cases = {
        ("enterprise", "micro", None, True): True,
        ("enterprise", "medium", None, True): True,
        ("enterprise", "small", None, False): False,  # outside the city
        ("enterprise", "large", None, True): False,
        ("maker_team", None, "provincial", True): True,
        ("maker_team", None, "national", True): True,
        ("maker_team", None, "city", True): False,
    }
    for (kind, size, host, in_city), eligible in cases.items():
        org = factory.organization(kind=kind, size=size, host_level=host, in_city=in_city)
        ok, why = orders.voucher_eligible(org, service)
        assert ok is eligible and (why == "") is eligible, (kind, size, host, in_city, why)
    small = factory.organization(kind="enterprise", size="small")
    ok, why = orders.voucher_eligible(small, plain)
    assert not ok and "admitted by the city" in why
    large = factory.organization(kind="enterprise", size="large")
    assert "Large enterprises" in orders.voucher_eligible(large, service)[1]
    assert "maker teams" in orders.voucher_eligible(factory.organization(kind="maker_team", host_level="city"), service)[1]


def test_the_price_preview_shows_each_payers_share_before_buying(seller, factory):
    service = _listing(seller, "service")
    small = factory.organization(kind="enterprise", size="small")
    assert orders.price_preview(small, service, 5_000_000) == {
        "eligible": True, "reason": "", "amount_fen": 5_000_000, "enterprise_fen": 500_000,
        "province_fen": 3_000_000, "city_fen": 1_500_000}
    large = factory.organization(kind="enterprise", size="large")
    preview = orders.price_preview(large, service, 5_000_000)
    assert {k: v for k, v in preview.items() if k != "reason"} == {
        "eligible": False, "amount_fen": 5_000_000, "enterprise_fen": 5_000_000, "province_fen": 0, "city_fen": 0}
    assert "Large enterprises" in preview["reason"]
    assert orders.price_preview(None, service, 100)["enterprise_fen"] == 100  # not logged in: the full price
