"""Times on the pages are Beijing time (issue 21): a stored UTC timestamp is shown converted,
and a booking's hours (written in Beijing wall-clock, as the calendar offers them) are shown as
booked, never shifted twice.

Everything happens at 01:30 Beijing time, when the UTC date is still the day before, so a page
that prints a UTC time shows the wrong day.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from marketplace.core.timeutil import beijing_today, frozen_at
from marketplace.extensions import db
from tests.factories import login

DAY = beijing_today()
AT_0130_BEIJING = datetime.combine(DAY, time(1, 30)) - timedelta(hours=8)  # 17:30 UTC the day before


@pytest.fixture()
def world(factory):
    from marketplace.accounts import services as accounts

    buyer = factory.enterprise(name="聊城精工机械有限公司")
    with frozen_at(AT_0130_BEIJING):
        accounts.create_token(buyer, "财务系统对接")
        booking = factory.booking(buyer, days_ahead=2, hour=8, hours=2)  # 08:00–10:00 Beijing, two days on
        claim = factory.claim(buyer, project="联合攻关")
        db.session.commit()
    return {"buyer": buyer, "order": booking.order_id, "claim": claim.id}


def test_a_timestamp_stored_in_utc_is_shown_on_the_beijing_day(client, world):
    assert AT_0130_BEIJING.date() != DAY  # the point of the hour chosen
    login(client, world["buyer"])
    utc_shown = AT_0130_BEIJING.strftime("%Y-%m-%d %H:%M")
    for page in ("/account/tokens", f"/claims/{world['claim']}"):
        html = client.get(page).get_data(as_text=True)
        assert f"{DAY.isoformat()} 01:30" in html, page
        assert utc_shown not in html, page


def test_a_booking_is_shown_at_the_hours_booked(client, world):
    login(client, world["buyer"])
    on = (DAY + timedelta(days=2)).isoformat()
    for page in ("/bookings", f"/orders/{world['order']}"):
        html = client.get(page).get_data(as_text=True)
        assert f"{on} 08:00–10:00" in html, page
        assert f"{on} 00:00" not in html and f"{on} 16:00" not in html, page  # not shifted back nor forward


def test_no_template_formats_a_timestamp_itself():
    """A ``*_at`` column printed with ``strftime``/``isoformat`` skips the conversion: templates use
    ``|beijing`` (stored UTC) or ``|wallclock`` (a booking's Beijing hours)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    found = [f"{p.relative_to(root)}: {m.group(0)}" for p in sorted(root.rglob("*.html"))
             for m in re.finditer(r"\w+_(?:at|start|from)\.(?:strftime|isoformat)\(", p.read_text(encoding="utf-8"))
             if not m.group(0).startswith(("notice_from", "effective_from"))]
    assert found == []
