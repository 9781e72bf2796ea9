"""Negotiation and demands, both ways round; the agreed-price public notice."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.conversations import negotiation, pricenotice
from marketplace.conversations.models import PriceNotice, QuoteVersion
from marketplace.core.errors import NotFound, PermissionDenied, ServiceError
from marketplace.core.timeutil import beijing_today, frozen_at
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.notifications import services as notes
from marketplace.notifications.models import Notification, OutgoingMail
from marketplace.orders import services as orders
from marketplace.orders.models import Enquiry, Order, TechContract

# Yesterday 12:00 Beijing: always in the past. (Today's noon is still ahead from Beijing midnight
# to noon, 16:00–04:00 UTC, and rows stamped at it were not yet due for a drain run at the real clock.)
NOON = datetime.combine(beijing_today() - timedelta(days=1), datetime.min.time()).replace(hour=4)


def _published(user, kind, **data):
    defaults = {"title": f"测试{kind}", "description": "说明", "price_fen": 1_000_000_00, "negotiable": True}
    defaults.update(data)
    return listings.publish(user, listings.create_listing(user, kind, defaults).id)


def _texts(user) -> list[str]:
    db.session.expire_all()
    return [notes.text(n) for n in db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                                      .order_by(Notification.id))]


@pytest.fixture()
def parties(factory):
    enterprise = factory.user("enterprise", name="临清轴承（测试）")
    university = factory.user("university", kind="university", name="聊城大学（测试）")
    institute = factory.user("university", kind="institute", name="农科院（测试）")
    provider = factory.user("provider", kind="agency", name="检测中心（测试）")
    demand = _published(enterprise, "demand", title="高强度轴承钢热处理工艺攻关")
    return enterprise, university, institute, provider, demand


def test_on_a_demand_the_responder_sells_and_the_enterprise_that_posted_it_buys(app_ctx, parties):
    enterprise, university, institute, provider, demand = parties
    with frozen_at(NOON):
        first = negotiation.respond_to_demand(university, demand.id, "我校可承担", 900_000_00)
        second = negotiation.respond_to_demand(provider, demand.id, "我们也可以", 850_000_00)
        assert first.seller_org_id == university.organization.id
        assert first.buyer_org_id == enterprise.organization.id
        # The enterprise compares both proposals, and counters the university's.
        _listing, rows = negotiation.proposals(enterprise, demand.id)
        assert [(e.seller_org_id, v.price_fen) for e, v in rows] == [
            (university.organization.id, 900_000_00), (provider.organization.id, 850_000_00)]
        with pytest.raises(NotFound):
            negotiation.proposals(university, demand.id)  # only the poster compares
        counter = negotiation.offer(enterprise, first.id, 800_000_00, note="分两期")
        assert counter.side == "buyer"
        # The university revises; the enterprise accepts the revision (on notice: a university sells).
        revised = negotiation.offer(university, first.id, 820_000_00, instalments=2, notice_days=10)
        with pytest.raises(ServiceError):
            negotiation.accept(university, revised.id)  # not one's own offer
        notice = negotiation.accept(enterprise, revised.id)
    assert isinstance(notice, PriceNotice)
    assert [v.status for v in negotiation.versions(db.session.get(Enquiry, first.id))] == [
        "countered", "countered", "accepted"]
    assert db.session.get(Enquiry, second.id).status == "closed"  # the other proposal was not chosen
    assert notice.notice_until == NOON.date() + timedelta(days=10)  # (04:00 UTC is noon of the same Beijing day)
    assert _count(Order) == 0  # nothing is signed while the notice runs
    with frozen_at(NOON):
        with pytest.raises(ServiceError):
            pricenotice.sign(enterprise, notice.id)
    with frozen_at(NOON + timedelta(days=10)):
        order = pricenotice.sign(enterprise, notice.id)
    assert (order.seller_org_id, order.buyer_org_id, order.amount_fen) == (
        university.organization.id, enterprise.organization.id, 820_000_00)
    contract = db.session.scalar(select(TechContract).where(TechContract.order_id == order.id))
    assert (contract.seller_org_id, contract.buyer_org_id, contract.contract_type) == (
        university.organization.id, enterprise.organization.id, "development")
    # Each step told the other side, with names and amounts.
    assert "聊城大学（测试）" in " ".join(_texts(enterprise)) and "¥900,000.00" in " ".join(_texts(enterprise))
    assert any("¥800,000.00" in t and "临清轴承（测试）" in t for t in _texts(university))
    assert any("临清轴承（测试）" in t and "¥820,000.00" in t for t in _texts(university))
    assert any("临清轴承（测试）" in t and "高强度轴承钢" in t for t in _texts(provider))  # another was chosen


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_old_way_round_is_refused(app_ctx, parties):
    """An enterprise cannot answer a demand, and an enquiry on a demand is not how one answers."""
    enterprise, university, _institute, _provider, demand = parties
    with pytest.raises(ServiceError):
        orders.enquire(university, demand.id, "报价？")
    with pytest.raises(PermissionDenied):
        negotiation.respond_to_demand(enterprise, demand.id, "我们自己做", 100_00)
    with pytest.raises(ServiceError) as refused:
        negotiation.respond_to_demand(university, demand.id, "  ", 100_00)
    assert refused.value.field == "message"
    assert _count(Enquiry) == 0


def test_an_enterprise_seller_is_not_put_on_notice_and_the_buyer_buys(app_ctx, factory):
    seller = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise")
    service = _published(seller, "service", price_fen=None)
    enquiry = orders.enquire(buyer, service.id, "多少钱？")
    with frozen_at(NOON):
        orders.quote(seller, enquiry.id, 60_000_00, "两周交付")
        order = orders.accept_quote(buyer, enquiry.id)
    assert order is not None and order.seller_org_id == seller.organization.id
    assert order.buyer_org_id == buyer.organization.id
    assert _count(PriceNotice) == 0


def test_a_declined_offer_needs_a_reason_and_an_expired_one_cannot_be_accepted(app_ctx, factory):
    seller = factory.user("university", kind="university")
    buyer = factory.user("enterprise")
    achievement = _published(seller, "achievement", transfer_modes=["assignment"], ip_kind="invention_patent",
                             maturity="pilot")
    enquiry = orders.enquire(buyer, achievement.id, "请报价", "assignment")
    with frozen_at(NOON):
        version = negotiation.offer(seller, enquiry.id, 300_000_00, valid_until=beijing_today())
        with pytest.raises(ServiceError) as refused:
            negotiation.decline(buyer, version.id, "  ")
        assert refused.value.field == "reason"
    with frozen_at(NOON + timedelta(days=1)):
        with pytest.raises(ServiceError):
            negotiation.accept(buyer, version.id)
        assert negotiation.expire_versions() == 1
    assert db.session.get(QuoteVersion, version.id).status == "expired"
    with frozen_at(NOON + timedelta(days=1)):
        again = negotiation.offer(seller, enquiry.id, 280_000_00)
        declined = negotiation.decline(buyer, again.id, "价格仍偏高")
    assert (declined.status, declined.reason) == ("declined", "价格仍偏高")


def test_an_upheld_objection_withdraws_the_agreed_price_and_nothing_is_signed(app_ctx, factory, parties):
    enterprise, university, _institute, _provider, demand = parties
    neighbour = factory.user("enterprise")
    with frozen_at(NOON):
        enquiry = negotiation.respond_to_demand(university, demand.id, "方案", 500_000_00)
        notice = negotiation.accept(enterprise, negotiation.open_version(enquiry).id)
        assert notice in pricenotice.on_notice()
        objection = pricenotice.object_to(neighbour, notice.id, "该价格明显低于评估价值")
        assert any("该价格明显低于评估价值" in t for t in _texts(university))  # it reaches the seller
        with pytest.raises(PermissionDenied):
            pricenotice.decide_objection(enterprise, objection.id, True, "不行")
        pricenotice.decide_objection(university, objection.id, True, "重新评估")
    with frozen_at(NOON + timedelta(days=20)):
        with pytest.raises(ServiceError):
            pricenotice.sign(enterprise, notice.id)
        assert pricenotice.clear_due() == 0
    assert _count(Order) == 0
    assert db.session.get(Enquiry, enquiry.id).status == "closed"


def test_the_sweep_clears_an_ended_notice_once(app_ctx, parties):
    enterprise, _university, institute, _provider, demand = parties
    with frozen_at(NOON):
        enquiry = negotiation.respond_to_demand(institute, demand.id, "方案", 300_000_00, notice_days=3)
        notice = negotiation.accept(enterprise, negotiation.open_version(enquiry).id)
    with frozen_at(NOON + timedelta(days=3)):
        assert pricenotice.clear_due() == 1
        assert pricenotice.clear_due() == 0
        order = pricenotice.sign(enterprise, notice.id)  # the order the sweep made
    assert _count(Order, Order.enquiry_id == enquiry.id) == 1
    assert order.seller_org_id == institute.organization.id


def test_notifications_follow_each_users_preferences(app_ctx, parties):
    enterprise, university, _institute, _provider, demand = parties
    notes.set_preferences(enterprise, {("quote", "app")})  # quotes in the app only, no mail
    with frozen_at(NOON):
        negotiation.respond_to_demand(university, demand.id, "方案", 300_000_00)
    db.session.expire_all()
    assert any("¥300,000.00" in t for t in _texts(enterprise))
    assert not db.session.scalar(select(OutgoingMail).where(OutgoingMail.recipient == enterprise.email))
    assert notes.unread_count(enterprise) == 1
    notes.mark_all_read(enterprise)
    assert notes.unread_count(enterprise) == 0


def test_a_closed_demand_takes_no_proposal_and_its_poster_still_sees_them(app_ctx, parties):
    enterprise, university, institute, _provider, demand = parties
    with frozen_at(NOON):
        first = negotiation.respond_to_demand(university, demand.id, "方案一", 400_000_00)
        with pytest.raises(PermissionDenied):
            negotiation.close_demand(university, demand.id)
        negotiation.close_demand(enterprise, demand.id)
        with pytest.raises(NotFound):
            negotiation.respond_to_demand(institute, demand.id, "方案二", 300_000_00)
    _listing, rows = negotiation.proposals(enterprise, demand.id)
    assert [(e.id, e.status, v.status) for e, v in rows] == [(first.id, "closed", "withdrawn")]
    assert any("关闭" in t or "closed" in t for t in _texts(university))
