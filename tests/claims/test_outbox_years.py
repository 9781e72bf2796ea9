"""Which years a ledger event asks to recompute: exactly those whose claims it can change."""
from datetime import datetime

from sqlalchemy import select

from marketplace.claims import drafting
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.outbox import OutboxEntry
from marketplace.payments import services as payments
from marketplace.core.timeutil import frozen_at
from tests.claims.helpers import claim_of


def _claims_rows() -> list[str]:
    # keys name a year's claim group ("2024|TC|<seller>"); the year is what these tests check
    return [r.key.split("|", 1)[0] for r in db.session.scalars(
        select(OutboxEntry).where(OutboxEntry.topic == "claims"))]


def test_a_contract_registered_in_december_and_paid_in_january_updates_decembers_claims(app_ctx, factory):
    university = factory.user("university", kind="university")
    buyer = factory.user("enterprise", size="small")
    with frozen_at(datetime(2024, 12, 1, 10)):
        patent = listings.create_listing(university, "achievement", {
            "title": "一种轴承钢热处理方法", "price_fen": 100_000_000, "ip_kind": "invention_patent",
            "transfer_modes": ["assignment"]})
        listings.publish(university, patent.id)
        order = orders.buy_achievement(buyer, patent.id, "assignment")
    with frozen_at(datetime(2024, 12, 20, 10)):
        orders.register_contract(university, order.contract.id, "2024370015009999", datetime(2024, 12, 20).date())
    drafting.drain()
    assert claim_of(university.organization, "A1.DT", 2024) is None  # registered, not yet paid
    with frozen_at(datetime(2025, 1, 6, 10)):
        payments.checkout(buyer, order.id)
    assert "2024" in _claims_rows()  # the payment asks for the registration year
    drafting.drain()
    claim = claim_of(university.organization, "A1.DT", 2024)
    assert claim is not None and claim.amount_fen == 1_500_000  # 1.5 % of 1,000,000


def test_a_plain_service_payment_asks_for_no_recompute(app_ctx, factory):
    provider = factory.user("provider", kind="agency")
    buyer = factory.user("enterprise", size="large")
    service = listings.create_listing(provider, "service", {"title": "材料检测", "price_fen": 100_000})
    listings.publish(provider, service.id)
    order = orders.order_service(buyer, service.id)
    drafting.drain()
    payments.checkout(buyer, order.id)
    assert _claims_rows() == []
