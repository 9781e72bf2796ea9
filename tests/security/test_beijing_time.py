"""Times are Beijing times: "in the past" for a booking and the business date of a payment
or refund are judged in Asia/Shanghai (one helper, ``marketplace.core.timeutil``), and bookings
are taken at most ``BOOKING_HORIZON_DAYS`` ahead.

Before: a booking's Beijing wall-clock hour was compared with UTC (at 00:30 Beijing time an
hour of the evening before could still be booked), a payment at 00:30 Beijing time on
1 January went into the old year, and a booking on 9999-12-31 at 23:00 answered 500."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.core.errors import ServiceError
from marketplace.core.timeutil import beijing_today, business_date, frozen_at, to_beijing
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.orders import services as orders
from marketplace.orders.models import Booking
from marketplace.payments import services as payments
from marketplace.vouchers import services as vouchers
from tests.api.conftest import published
from tests.factories import login
from tests.voucher_helpers import REPORT, give_voucher

# 00:30 on 1 January 2027 in Beijing is 16:30 on 31 December 2026 in UTC.
NEW_YEAR_UTC = datetime(2026, 12, 31, 16, 30)


@pytest.fixture(autouse=True)
def fresh_memory_gateway():
    """The in-memory gateway lives as long as the process and remembers idempotency keys
    (``order-1-pay-1``), while order ids start again in each test: forget what this test paid."""
    yield
    from marketplace.payments import services as payment_services

    payment_services._memory_gateway = None


def test_the_helpers_turn_utc_into_beijing_time():
    assert to_beijing(NEW_YEAR_UTC) == datetime(2027, 1, 1, 0, 30)
    assert business_date(NEW_YEAR_UTC) == date(2027, 1, 1)
    assert business_date(datetime(2026, 12, 31, 15, 59)) == date(2026, 12, 31)
    with frozen_at(NEW_YEAR_UTC):
        assert beijing_today() == date(2027, 1, 1)


@pytest.fixture()
def round_the_clock(factory):
    provider = factory.user("provider", kind="agency", service_agency=True)
    instrument = published(provider, "instrument", open_from_hour=0, open_to_hour=24)
    return provider, instrument, factory.user("enterprise", size="small")


def test_in_the_past_is_judged_in_beijing(round_the_clock):
    _, instrument, customer = round_the_clock
    with frozen_at(NEW_YEAR_UTC):  # 00:30 on 1 January in Beijing
        with pytest.raises(ServiceError) as past:
            orders.book_instrument(customer, instrument.id, datetime(2026, 12, 31, 23), 1)  # 23:00 yesterday
        assert past.value.field == "start_at"
        assert orders.book_instrument(customer, instrument.id, datetime(2027, 1, 1, 1), 1).id  # 01:00 today
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 1


def test_bookings_are_taken_at_most_the_horizon_ahead(client, round_the_clock, app):
    _, instrument, customer = round_the_clock
    horizon = app.config["BOOKING_HORIZON_DAYS"]
    login(client, customer)

    def book(day, hour=10):
        return client.post(f"/listings/{instrument.id}/book", data={"day": day.isoformat(), "hour": hour, "hours": 1})

    assert book(date(9999, 12, 31), hour=23).status_code == 400  # was a 500 (the end overflowed)
    too_far = book(beijing_today() + timedelta(days=horizon + 1))
    assert too_far.status_code == 400
    assert str(horizon) in too_far.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
    assert book(beijing_today() + timedelta(days=horizon - 1)).status_code == 302


def test_a_payment_and_a_refund_at_half_past_midnight_on_new_year_belong_to_the_new_year(factory):
    seller = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    service = published(seller, "service")
    give_voucher(buyer.organization, year=2027)
    with frozen_at(NEW_YEAR_UTC):
        order = orders.order_service(buyer, service.id, with_voucher=True)
        payments.checkout(buyer, order.id)  # the test gateway relays the signed webhook at once
        vouchers.deliver(seller, order.id, "完成", REPORT)
        vouchers.accept(buyer, order.id)  # the redemption is written at acceptance
        payments.refund(seller, order.id, "客户撤回")
    db.session.expire_all()
    dates = {e.kind: e.occurred_on for e in db.session.scalars(select(LedgerEntry))}
    assert dates == {"payment": date(2027, 1, 1), "voucher_redemption": date(2027, 1, 1), "refund": date(2027, 1, 1)}


def test_a_contract_is_signed_on_the_beijing_date(factory):
    seller = factory.user("university", kind="university")
    buyer = factory.user("enterprise", size="small")
    achievement = published(seller, "achievement")
    with frozen_at(NEW_YEAR_UTC):
        order = orders.buy_achievement(buyer, achievement.id, "assignment")
    assert order.contract.signed_on == date(2027, 1, 1)
