"""The instrument's week calendar (issue 21): each opening hour of each day is free, booked by
someone else, the viewer's own booking, blocked by an outage, or closed (past or beyond the
booking horizon). Frozen at noon Beijing on a Monday, so it passes whatever the clock says."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from marketplace.core.timeutil import frozen_at
from marketplace.instruments import services as instruments
from tests.instruments.test_instruments import _at, _instrument

NOON_MONDAY = datetime(2030, 3, 4, 4, 0)  # 12:00 Beijing, Monday 4 March 2030
TODAY, TOMORROW = date(2030, 3, 4), date(2030, 3, 5)


@pytest.fixture(autouse=True)
def _clock():
    with frozen_at(NOON_MONDAY):
        yield


def test_each_hour_of_the_week_says_what_it_is_to_whom(app_ctx, factory):
    provider = factory.user("provider", kind="agency", service_agency=True, name="聊城检测中心")
    engineer = factory.user("enterprise", size="small")
    other = factory.user("enterprise", size="medium")
    listing = _instrument(provider, requires_training=False, approval="instant")
    instruments.book(engineer, listing.id, _at(TOMORROW, 9), 2)
    instruments.block(provider, listing.id, _at(TOMORROW, 14), _at(TOMORROW, 15) + timedelta(minutes=30),
                      "maintenance", "更换灯丝")

    mine = instruments.calendar_week(engineer, listing, TODAY)
    theirs = instruments.calendar_week(other, listing, TODAY)
    assert mine["days"] == [TODAY + timedelta(days=i) for i in range(7)] and mine["hours"] == list(range(8, 18))
    assert [mine["cells"][(TOMORROW, h)] for h in (8, 9, 10, 11, 14, 15, 16)] == \
        ["free", "mine", "mine", "free", "outage", "outage", "free"]  # 15:00-15:30 blocks the hour
    assert [theirs["cells"][(TOMORROW, h)] for h in (9, 10)] == ["booked", "booked"]
    assert [mine["cells"][(TODAY, h)] for h in (8, 11, 12, 13)] == ["closed", "closed", "closed", "free"]
    assert mine["previous"] is None and mine["next"] == TODAY + timedelta(days=7)

    later = instruments.calendar_week(engineer, listing, TODAY + timedelta(days=14))
    assert later["previous"] == TODAY + timedelta(days=7)
    assert set(later["cells"].values()) == {"free"}
    beyond = instruments.calendar_week(engineer, listing, TODAY + timedelta(days=400))
    assert set(beyond["cells"].values()) == {"closed"}  # past the booking horizon
