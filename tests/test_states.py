"""The named states and their tables of moves, written out literally, and the services
refusing a move the table does not have (with a clear error, writing nothing).

Each table is checked pair by pair: every move listed here is allowed, every other pair
(the same state twice included) is refused.
"""
from itertools import product

import pytest
from sqlalchemy import text

from marketplace.core.errors import Conflict, ServiceError
from marketplace.core.states import TransitionRefused, Transitions
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.listings.models import LISTING, Listing, ListingStatus
from marketplace.orders import services as orders
from marketplace.orders.models import BOOKING, ENQUIRY, ORDER, Booking, BookingStatus, EnquiryStatus, Order, OrderStatus
from marketplace.payments import services as payments
from marketplace.payments.models import PAYMENT, PaymentStatus

MOVES = {
    "order": (ORDER, OrderStatus, {
        ("pending_payment", "paid"), ("pending_payment", "cancelled"),
        ("paid", "delivered"), ("paid", "refunded"), ("delivered", "refunded"),
    }),
    "payment": (PAYMENT, PaymentStatus, {
        ("processing", "succeeded"), ("processing", "failed"), ("succeeded", "refunded"),
    }),
    "booking": (BOOKING, BookingStatus, {
        ("booked", "completed"), ("booked", "cancelled"), ("booked", "expired"),
    }),
    "listing": (LISTING, ListingStatus, {
        ("draft", "published"), ("draft", "rejected"),
        ("published", "withdrawn"), ("published", "rejected"),
        ("withdrawn", "published"), ("withdrawn", "rejected"),
        ("rejected", "pending"), ("rejected", "draft"),
        ("pending", "published"), ("pending", "rejected"), ("pending", "draft"),
    }),
    "enquiry": (ENQUIRY, EnquiryStatus, {
        ("open", "quoted"), ("quoted", "quoted"), ("quoted", "ordered"),
        # demands and agreed prices (issue 19): closed when another proposal is chosen or the
        # demand closes; a university's accepted price stands on notice before the order
        ("open", "closed"), ("quoted", "closed"), ("quoted", "on_notice"),
        ("on_notice", "ordered"), ("on_notice", "closed"),
    }),
}
VALUES = {  # the strings in the database: unchanged by naming them
    "order": {"pending_payment", "paid", "delivered", "refunded", "cancelled"},
    "payment": {"processing", "succeeded", "failed", "refunded"},
    "booking": {"booked", "completed", "cancelled", "expired"},
    "listing": {"draft", "published", "withdrawn", "rejected", "pending"},
    "enquiry": {"open", "quoted", "on_notice", "ordered", "closed"},
}


@pytest.mark.parametrize("name", sorted(MOVES))
def test_every_listed_move_is_allowed_and_every_other_refused(name, app_ctx):
    table, enum, allowed = MOVES[name]
    assert {s.value for s in enum} == VALUES[name]
    for current, target in product(VALUES[name], repeat=2):
        expected = (current, target) in allowed
        assert table.allows(current, target) is expected, (name, current, target)
        if expected:
            table.require(current, target)
        else:
            with pytest.raises(TransitionRefused) as refused:
                table.require(current, target)
            assert refused.value.status == 409 and refused.value.message, (name, current, target)


@pytest.mark.parametrize("name", sorted(MOVES))
def test_sources_are_the_states_a_move_may_come_from(name):
    table, enum, allowed = MOVES[name]
    for target in VALUES[name]:
        assert set(table.sources(target)) == {c for c, t in allowed if t == target}, (name, target)


def test_a_state_unknown_to_the_table_moves_nowhere(app_ctx):
    assert not ORDER.allows("shipped", "paid") and not ORDER.allows("paid", "shipped")
    assert not ORDER.allows(None, "paid")
    with pytest.raises(TransitionRefused):
        ORDER.require(None, "paid")


def test_the_refusal_names_both_states_in_the_users_language(app):
    from flask_babel import force_locale

    with app.test_request_context():
        with force_locale("en"), pytest.raises(TransitionRefused) as refused:
            ORDER.require("refunded", "paid")
        assert refused.value.message == "This cannot move from “Refunded” to “Paid”."
        with force_locale("zh"), pytest.raises(TransitionRefused) as refused:
            ORDER.require("refunded", "paid")
        assert refused.value.message == "无法从“已退款”变为“已付款”。"


def test_a_table_names_every_state_of_its_enum():
    from enum import StrEnum

    class Light(StrEnum):
        RED = "red"
        GREEN = "green"
        AMBER = "amber"

    with pytest.raises(ValueError, match="amber"):
        Transitions("light", {Light.RED: {Light.GREEN}, Light.GREEN: {Light.RED}})


# --- the services ask the tables ------------------------------------------------

@pytest.fixture(autouse=True)
def english(request, fresh_gateway):
    if "factory" not in request.fixturenames:
        yield
        return
    from flask_babel import force_locale

    request.getfixturevalue("factory")
    with force_locale("en"):
        yield


def _status(table: str, row_id: int) -> str:
    return db.session.execute(text(f"SELECT status FROM {table} WHERE id = :id"), {"id": row_id}).scalar_one()


def test_listing_moves_through_the_services(factory):
    provider, admin = factory.provider(), factory.user("admin")
    listing = factory.listing(provider, publish=False)
    assert _status("listings", listing.id) == "draft"  # the plain string, as before
    with pytest.raises(Conflict, match="Only a published listing can be withdrawn"):
        listings.withdraw(provider, listing.id)  # draft -> withdrawn is not a move
    assert _status("listings", listing.id) == "draft"
    listings.publish(provider, listing.id)
    listings.withdraw(provider, listing.id)
    assert _status("listings", listing.id) == "withdrawn"
    listings.moderate(admin, listing.id, "reject", "虚假信息")
    with pytest.raises(Conflict, match="already rejected"):
        listings.moderate(admin, listing.id, "reject", "again")
    listings.update_listing(provider, listing.id, {"title": "改过的", "price_fen": 100})
    assert _status("listings", listing.id) == "pending"
    listings.moderate(admin, listing.id, "approve")
    assert _status("listings", listing.id) == "published"
    with pytest.raises(Conflict, match="Only a rejected listing can be restored"):
        listings.moderate(admin, listing.id, "restore")  # published -> draft is not a move
    assert isinstance(db.session.get(Listing, listing.id).status, str)


def test_order_and_payment_moves_through_the_services(factory):
    provider, buyer = factory.provider(), factory.enterprise()
    order = factory.order(buyer, factory.listing(provider))
    with pytest.raises(ServiceError, match="Only a paid order can be confirmed"):
        orders.confirm_delivery(buyer, order.id)  # pending_payment -> delivered is not a move
    with pytest.raises(Conflict, match="Only a paid order can be refunded"):
        payments.refund(provider, order.id, "不想要了")
    assert _status("orders", order.id) == "pending_payment"
    factory.paid(buyer, order)
    assert (_status("orders", order.id), _status("payments", order.id and _payment_id(order))) == ("paid", "succeeded")
    with pytest.raises(Conflict, match="not waiting for payment"):
        payments.checkout(buyer, order.id)  # paid -> paid is not a move
    orders.confirm_delivery(buyer, order.id)
    payments.refund(provider, order.id, "服务未完成")
    assert (_status("orders", order.id), _status("payments", _payment_id(order))) == ("refunded", "refunded")
    with pytest.raises(Conflict):
        payments.refund(provider, order.id, "再退一次")  # refunded is final


def _payment_id(order: Order) -> int:
    return db.session.execute(text("SELECT id FROM payments WHERE order_id = :o"), {"o": order.id}).scalar_one()


def test_booking_moves_through_the_services(factory):
    provider, customer = factory.provider(), factory.enterprise()
    instrument = factory.listing(provider, "instrument")
    booking = factory.booking(customer, instrument)
    with pytest.raises(ServiceError, match="not paid yet"):
        orders.complete_booking(provider, booking.id)
    orders.cancel_booking(customer, booking.id)
    assert (_status("bookings", booking.id), _status("orders", booking.order_id)) == ("cancelled", "cancelled")
    with pytest.raises(ServiceError, match="This booking is not open"):
        orders.complete_booking(provider, booking.id)  # cancelled is final
    with pytest.raises(ServiceError, match="This booking is not open"):
        orders.cancel_booking(customer, booking.id)
    second = factory.booking(customer, instrument, hour=10)
    factory.paid(customer, second.order)
    with pytest.raises(ServiceError, match="A paid booking is cancelled by a refund"):
        orders.cancel_booking(customer, second.id)  # its order: paid -> cancelled is not a move
    with pytest.raises(ServiceError, match="only after it ends"):
        orders.complete_booking(provider, second.id)  # issue 17: not before the booking ends
    from datetime import timedelta

    from marketplace.core.timeutil import frozen_at, utcnow

    with frozen_at(utcnow() + timedelta(days=30)):
        orders.complete_booking(provider, second.id)
    # completed, and its order delivered: the customer accepts it next (marketplace.vouchers)
    assert (_status("bookings", second.id), _status("orders", second.order_id)) == ("completed", "delivered")
    assert db.session.get(Booking, second.id).status == BookingStatus.COMPLETED


def test_enquiry_moves_through_the_services(factory):
    provider, buyer = factory.provider(), factory.enterprise()
    listing = factory.listing(provider, price_fen=None, negotiable=True)
    enquiry = orders.enquire(buyer, listing.id, "能否加急？")
    with pytest.raises(ServiceError, match="There is no quote to accept"):
        orders.accept_quote(buyer, enquiry.id)  # open -> ordered is not a move
    orders.quote(provider, enquiry.id, 100_000)
    orders.quote(provider, enquiry.id, 90_000)  # a new quote replaces the last
    orders.accept_quote(buyer, enquiry.id)
    assert _status("enquiries", enquiry.id) == "ordered"
    with pytest.raises(ServiceError, match="This enquiry is closed"):
        orders.quote(provider, enquiry.id, 80_000)  # ordered is final
    with pytest.raises(Conflict, match="accepted already"):
        orders.accept_quote(buyer, enquiry.id)
