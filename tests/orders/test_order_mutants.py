"""Orders rules a mutation run (issue 16, session 5) showed unguarded: what a missing enquiry
says, what kind of order an accepted quote on an achievement makes, the order list's order,
what a voucher may not pay for, and the sweep that frees unpaid bookings. Through the public
services; the clock is frozen at noon Beijing time (04:00 UTC)."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.core.errors import NotFound, ServiceError
from marketplace.core.money import MAX_FEN
from marketplace.core.timeutil import frozen_at
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.orders.models import Booking, Order
from marketplace.payments import services as payments
from tests.orders.conftest import NOON_BEIJING, TODAY

pytestmark = pytest.mark.usefixtures("noon_in_english")


@pytest.fixture()
def seller(factory):
    return factory.user("provider", kind="agency", service_agency=True)


@pytest.fixture()
def buyer(factory):
    return factory.user("enterprise", size="small")


def _listing(user, kind, **data):
    fields = {"title": f"测试{kind}", "description": "", "price_fen": 5_000_000, "negotiable": False}
    if kind == "achievement":
        fields.update(ip_kind="invention_patent", maturity="pilot", transfer_modes=["assignment", "co_development"])
    if kind == "instrument":
        fields.update(price_unit="hour", open_from_hour=8, open_to_hour=18)
    fields.update(data)
    return listings.publish(user, listings.create_listing(user, kind, fields).id)


def test_an_enquiry_that_does_not_exist_is_not_found_in_words(seller, buyer):
    for act in (lambda: orders.quote(seller, 999_999, 100_000), lambda: orders.accept_quote(buyer, 999_999)):
        with pytest.raises(NotFound) as missing:
            act()
        assert missing.value.message == "This enquiry does not exist."


def test_an_accepted_quote_on_an_achievement_orders_a_licence_with_its_contract(seller, factory):
    maker = factory.user("enterprise", size="medium", name="聊城某装备公司")  # not a university: no price notice
    achievement = _listing(maker, "achievement", price_fen=None, negotiable=True)
    enquiry = orders.enquire(seller, achievement.id, "可以转让吗？", "assignment")
    orders.quote(maker, enquiry.id, 3_000_000)
    order = orders.accept_quote(seller, enquiry.id)
    assert (order.kind, order.transfer_mode, order.amount_fen) == ("licence", "assignment", 3_000_000)
    assert order.contract is not None and order.contract.contract_type == "transfer"


def test_the_orders_list_shows_the_newest_first(seller, buyer):
    service = _listing(seller, "service")
    first = orders.order_service(buyer, service.id)
    second = orders.order_service(buyer, service.id)
    third = orders.order_service(buyer, service.id)
    assert [o.id for o in orders.orders_of(buyer).items] == [third.id, second.id, first.id]
    assert [o.id for o in orders.orders_of(seller).items] == [third.id, second.id, first.id]


def test_a_voucher_pays_only_services_and_instrument_time_and_says_so(seller, buyer, factory):
    maker = factory.user("enterprise", size="medium")
    achievement = _listing(maker, "achievement")
    assert orders.voucher_eligible(buyer.organization, achievement) == (
        False, "Only services and instrument time can be paid with an innovation voucher.")


def test_the_sweep_frees_every_unpaid_booking_past_its_time_but_spares_one_being_paid(app, seller, buyer):
    instrument = _listing(seller, "instrument", price_fen=50_000)
    hour = datetime.combine(TODAY + timedelta(days=1), datetime.min.time())
    paying = orders.book_instrument(buyer, instrument.id, hour.replace(hour=9), 1)  # booked first
    unpaid = [orders.book_instrument(buyer, instrument.id, hour.replace(hour=h), 1) for h in (11, 14)]
    app.config["STRIPE_RELAY_WEBHOOKS"] = False  # the gateway's confirmation has not arrived yet
    try:
        payments.checkout(buyer, paying.order_id)
    finally:
        app.config["STRIPE_RELAY_WEBHOOKS"] = True
    with frozen_at(NOON_BEIJING + timedelta(minutes=app.config["BOOKING_PAYMENT_MINUTES"] + 1)):
        assert orders.expire_unpaid_bookings() == 2
    db.session.expire_all()
    status = {b.id: (b.status, db.session.get(Order, b.order_id).status) for b in db.session.scalars(select(Booking))}
    assert status == {paying.id: ("booked", "pending_payment"),
                      unpaid[0].id: ("expired", "cancelled"), unpaid[1].id: ("expired", "cancelled")}
    assert orders.calendar(instrument.id, TODAY) == {TODAY + timedelta(days=1): {9}}


def test_an_organisation_cannot_buy_its_own_service(seller):
    service = _listing(seller, "service")
    with pytest.raises(ServiceError) as refused:
        orders.order_service(seller, service.id)
    assert (refused.value.message, refused.value.field) == ("You cannot buy from your own organisation.", None)
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_a_free_service_cannot_be_ordered(seller, buyer):
    free = _listing(seller, "service", price_fen=0)
    with pytest.raises(ServiceError) as refused:
        orders.order_service(buyer, free.id)
    assert (refused.value.message, refused.value.field) == ("The amount must be more than zero.", "amount")
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_a_booking_dearer_than_the_largest_amount_is_refused_beside_the_amount(seller, buyer):
    dear = _listing(seller, "instrument", price_fen=MAX_FEN)
    start = datetime.combine(TODAY + timedelta(days=1), datetime.min.time()).replace(hour=9)
    orders.book_instrument(buyer, dear.id, start, 1)  # the largest amount itself is accepted
    with pytest.raises(ServiceError) as refused:
        orders.book_instrument(buyer, dear.id, start.replace(hour=10), 2)
    assert (refused.value.message, refused.value.field) == ("The amount is too large.", "amount")
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_a_refused_quote_or_acceptance_comes_back_on_the_enquirys_page(client, seller, buyer, factory):
    from tests.factories import login

    enquiry = orders.enquire(buyer, _listing(seller, "service", price_fen=None, negotiable=True).id, "多少钱？")
    db.session.commit()
    login(client, seller)
    page = client.post(f"/enquiries/{enquiry.id}/quote", data={"amount": "八八", "note": "含上门服务"})
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "<form" in html
    assert 'value="八八"' in html and "含上门服务" in html and "多少钱？" in html
    login(client, buyer)
    assert client.get(f"/enquiries/{enquiry.id}").status_code == 200
    page = client.post(f"/enquiries/{enquiry.id}/accept", data={})  # nothing quoted yet
    assert page.status_code == 400 and "多少钱？" in page.get_data(as_text=True)
    login(client, factory.user("enterprise", size="small"))  # another organisation
    assert client.get(f"/enquiries/{enquiry.id}").status_code == 404


def test_an_order_on_a_withdrawn_listing_is_refused_without_waiting_for_the_writers(app, seller, buyer):
    # The listing is read before the unit of work queues for SQLite's write lock: while another
    # request holds it (here a thread in a unit of work), a refused order is told at once and
    # writes nothing, instead of queueing behind the writers first.
    from tests.writelock import write_lock_held

    listing = _listing(seller, "service", price_fen=100_000)
    listings.withdraw(seller, listing.id)
    with write_lock_held(app) as holder:
        with pytest.raises(NotFound):
            orders.order_service(buyer, listing.id)
        assert holder.is_alive()  # refused while the other still held the lock
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0
