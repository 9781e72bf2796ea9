"""Shared instruments as a facility runs them: qualification, approval, outages, waiting lists,
cancellations and no-shows, samples, iCal feeds and the utilisation report.

The clock is frozen at noon Beijing on a Monday (04:00 UTC), so the tests pass whatever
time CI runs them."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from marketplace.core.errors import Conflict, PermissionDenied, ServiceError
from marketplace.core.timeutil import frozen_at
from marketplace.extensions import db
from marketplace.instruments import reports
from marketplace.instruments import services as instruments
from marketplace.instruments.models import BookingTerms, Qualification, SampleOrder, WaitlistEntry
from marketplace.listings import services as listings
from marketplace.notifications.models import Notification
from marketplace.orders.models import Booking, BookingSlot
from tests.factories import login

NOON_MONDAY = datetime(2030, 3, 4, 4, 0)  # 12:00 Beijing, Monday 4 March 2030
TOMORROW = date(2030, 3, 5)


@pytest.fixture(autouse=True)
def _clock():
    with frozen_at(NOON_MONDAY):
        yield


@pytest.fixture()
def provider(factory):
    return factory.user("provider", kind="agency", service_agency=True, name="聊城检测中心")


@pytest.fixture()
def engineer(factory):
    return factory.user("enterprise", size="small")


@pytest.fixture()
def other(factory):
    return factory.user("enterprise", size="medium")


def _instrument(provider, **settings):
    listing = listings.create_listing(provider, "instrument", {
        "title": "场发射扫描电镜", "description": "", "price_fen": 60_000, "negotiable": False, "price_unit": "hour",
        "internal_price_fen": 30_000, "open_from_hour": 8, "open_to_hour": 18})
    listing = listings.publish(provider, listing.id)
    values = {"self_mode": True, "requires_training": True, "approval": "manager", "hold_hours": 24,
              "late_rule": "fee", "late_fee_fen": 20_000, "cancel_window_hours": 24}
    values.update(settings)
    instruments.save_settings(provider, listing.id, **values)
    return listing


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time()).replace(hour=hour)


def _qualified(provider, listing, user):
    return instruments.qualify(provider, listing.id, user.id)


def test_an_unqualified_user_sees_why_books_training_and_once_qualified_books_with_approval(
        app_ctx, provider, engineer):
    listing = _instrument(provider)
    reasons = instruments.self_booking_reasons(engineer, listing.id)
    assert len(reasons) == 1 and "培训" in reasons[0]  # needs training (the interface is Chinese)
    with pytest.raises(ServiceError) as refused:
        instruments.book(engineer, listing.id, _at(TOMORROW, 9), 2)
    assert "培训" in refused.value.message
    assert db.session.scalar(select(func.count(Booking.id))) == 0  # a refusal writes nothing

    [training] = instruments.book(engineer, listing.id, _at(TOMORROW, 14), 1, purpose="training")
    assert training.end_at == _at(TOMORROW, 16)  # the instrument's training session is 2 hours
    assert instruments.terms_of(training.id).approval == "pending"  # training goes through the manager too
    instruments.decide(provider, training.id, approve=True)
    assert training.order_id is None  # free training: nothing to pay

    _qualified(provider, listing, engineer)
    assert instruments.self_booking_reasons(engineer, listing.id) == []
    [booking] = instruments.book(engineer, listing.id, _at(TOMORROW, 9), 2)
    terms = instruments.terms_of(booking.id)
    assert terms.approval == "pending" and booking.order_id is None
    assert db.session.scalar(select(func.count(BookingSlot.id)).where(BookingSlot.booking_id == booking.id)) == 2
    instruments.decide(provider, booking.id, approve=True)
    assert booking.order is not None and booking.order.amount_fen == 120_000
    with pytest.raises(Conflict):
        instruments.decide(provider, booking.id, approve=False, reason="too late")  # decided once

    found = instruments.feed(engineer)
    cal = Calendar.from_ical(_feed(app_ctx, found.token))
    summaries = [str(e["summary"]) for e in cal.walk("VEVENT")]
    assert summaries.count("场发射扫描电镜") == 1 and len(summaries) == 2
    old = found.token
    instruments.reset_feed(engineer)
    assert app_ctx.test_client().get(f"/ical/{old}.ics").status_code == 404  # the old secret no longer works


def _feed(app, token) -> bytes:
    response = app.test_client().get(f"/ical/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    return response.data


def test_a_lapsed_qualification_is_explained(app_ctx, provider, engineer):
    listing = _instrument(provider)
    instruments.qualify(provider, listing.id, engineer.id, until=TOMORROW)
    assert instruments.self_booking_reasons(engineer, listing.id) == []
    with pytest.raises(ServiceError, match="2030-03-05 到期"):
        instruments.book(engineer, listing.id, _at(TOMORROW + timedelta(days=1), 9), 1)


def test_refusal_needs_a_reason_and_frees_the_hours_for_the_waiting_list(app_ctx, provider, engineer, other):
    listing = _instrument(provider, requires_training=False)
    [booking] = instruments.book(engineer, listing.id, _at(TOMORROW, 9), 3)
    instruments.join_waitlist(other, listing.id, TOMORROW, 2)
    with pytest.raises(ServiceError):
        instruments.decide(provider, booking.id, approve=False, reason=" ")
    instruments.decide(provider, booking.id, approve=False, reason="该时段需校准")
    assert booking.status == "cancelled" and instruments.terms_of(booking.id).refusal_reason == "该时段需校准"
    entry = db.session.scalar(select(WaitlistEntry))
    assert entry.status == "offered" and entry.offered_start == _at(TOMORROW, 9)
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == other.id, Notification.message == "notice.instrument_slot_offered")) == 1
    instruments.book(other, listing.id, _at(TOMORROW, 9), 2)  # the freed hours can be booked


def test_a_pending_request_holds_its_hours_until_the_hold_runs_out(app_ctx, provider, engineer, other):
    listing = _instrument(provider, requires_training=False, hold_hours=2)
    [held] = instruments.book(engineer, listing.id, _at(TOMORROW, 9), 2)
    with pytest.raises(Conflict):
        instruments.book(other, listing.id, _at(TOMORROW, 10), 1)
    with frozen_at(NOON_MONDAY + timedelta(hours=3)):
        [mine] = instruments.book(other, listing.id, _at(TOMORROW, 10), 1)  # the request lapsed on the way
    assert held.status == "cancelled" and instruments.terms_of(held.id).approval == "lapsed"
    assert mine.start_at == _at(TOMORROW, 10)


def test_instant_bookings_merge_recur_and_respect_quota_and_opening_hours(app_ctx, provider, engineer):
    listing = _instrument(provider, requires_training=False, approval="instant", weekly_quota_hours=6)
    [first] = instruments.book(engineer, listing.id, _at(TOMORROW, 9), 2)
    assert first.order is not None and first.order.amount_fen == 120_000
    [grown] = instruments.book(engineer, listing.id, _at(TOMORROW, 11), 1)  # adjacent: one booking
    assert grown.id == first.id and first.end_at == _at(TOMORROW, 12)
    assert first.amount_fen == 180_000 and first.order.amount_fen == 180_000
    with pytest.raises(ServiceError, match="限额"):
        instruments.book(engineer, listing.id, _at(TOMORROW, 14), 4)  # 3 + 4 > 6 this week
    with pytest.raises(ServiceError, match="18:00"):
        instruments.book(engineer, listing.id, _at(TOMORROW, 17), 2)  # no overnight runs here
    series = instruments.book(engineer, listing.id, _at(TOMORROW, 14), 2, repeat_weeks=3)
    assert [b.start_at for b in series] == [_at(TOMORROW + timedelta(weeks=w), 14) for w in range(3)]
    assert len({instruments.terms_of(b.id).series for b in series}) == 1


def test_overnight_runs_where_the_instrument_allows(app_ctx, provider, engineer):
    listing = _instrument(provider, requires_training=False, approval="instant", overnight=True, max_hours=48)
    [run] = instruments.book(engineer, listing.id, _at(TOMORROW, 16), 30)
    assert run.end_at == _at(TOMORROW + timedelta(days=1), 22)


def test_maintenance_moves_affected_bookings_with_a_notice(app_ctx, provider, engineer):
    listing = _instrument(provider, requires_training=False, approval="instant")
    [booking] = instruments.book(engineer, listing.id, _at(TOMORROW, 10), 2)
    result = instruments.block(provider, listing.id, _at(TOMORROW, 0), _at(TOMORROW + timedelta(days=1), 0),
                               "maintenance", "年度保养")
    assert result["moved"] == [booking]
    assert booking.start_at == _at(TOMORROW + timedelta(days=1), 10)  # the same hours, the next free day
    assert instruments.terms_of(booking.id).moved_from == _at(TOMORROW, 10)
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == engineer.id, Notification.message == "notice.instrument_moved")) == 1
    with pytest.raises(ServiceError, match="停用"):
        instruments.book(engineer, listing.id, _at(TOMORROW, 14), 1)


def test_late_cancellation_and_no_show_are_recorded_with_the_fee(app_ctx, provider, engineer):
    listing = _instrument(provider, requires_training=False, approval="instant")
    [late] = instruments.book(engineer, listing.id, _at(TOMORROW, 9), 1)  # 21 hours ahead: inside the window
    instruments.cancel(engineer, late.id)
    terms = instruments.terms_of(late.id)
    assert terms.attendance == "late_cancel" and terms.penalty_fen == 20_000
    [early] = instruments.book(engineer, listing.id, _at(TOMORROW + timedelta(days=3), 9), 1)
    instruments.cancel(engineer, early.id)
    assert instruments.terms_of(early.id).attendance == ""

    [booking] = instruments.book(engineer, listing.id, _at(TOMORROW, 10), 2)
    with pytest.raises(ServiceError):
        instruments.record_no_show(provider, booking.id)  # not started yet
    with pytest.raises(PermissionDenied):
        instruments.record_no_show(engineer, booking.id)
    with frozen_at(NOON_MONDAY + timedelta(days=1)):
        instruments.record_no_show(provider, booking.id)
        with pytest.raises(Conflict):
            instruments.record_no_show(provider, booking.id)
    assert instruments.terms_of(booking.id).attendance == "no_show"


def test_use_is_recorded_and_billed_by_the_providers_rule(app_ctx, provider, engineer):
    listing = _instrument(provider, requires_training=False, approval="instant", billing="greater")
    [booking] = instruments.book(engineer, listing.id, _at(TOMORROW, 9), 2)
    settings = instruments.settings_of(listing.id)
    with frozen_at(NOON_MONDAY + timedelta(days=1)):
        terms = instruments.record_use(provider, booking.id, _at(TOMORROW, 9), _at(TOMORROW, 12))
    assert terms.used_hours == 3.0
    assert instruments.billable_fen(booking, terms, settings) == 180_000  # used 3 h > booked 2 h
    settings.billing = "booked"
    assert instruments.billable_fen(booking, terms, settings) == 120_000


def test_samples_move_from_receipt_to_report_once(app_ctx, provider, other):
    listing = _instrument(provider, sample_mode=True, sample_price_fen=35_000)
    sample = instruments.send_samples(other, listing.id, 4, "4 个合金试样，测断口形貌")
    assert sample.amount_fen == 140_000 and sample.order.amount_fen == 140_000
    with pytest.raises(Conflict):
        instruments.advance_samples(provider, sample.id, "testing")  # not received yet
    with pytest.raises(PermissionDenied):
        instruments.advance_samples(other, sample.id, "received")
    instruments.advance_samples(provider, sample.id, "received")
    instruments.advance_samples(provider, sample.id, "testing")
    with pytest.raises(ServiceError):
        instruments.advance_samples(provider, sample.id, "reported", samples_done=5, report="x")
    instruments.advance_samples(provider, sample.id, "reported", samples_done=4, report="断口呈韧窝状。")
    assert db.session.get(SampleOrder, sample.id).status == "reported"
    assert db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == other.id, Notification.message == "notice.sample_reported")) == 1


def test_utilisation_report_counts_hours_use_no_shows_and_samples(app_ctx, provider, engineer, other):
    listing = _instrument(provider, requires_training=False, approval="instant", sample_mode=True,
                          sample_price_fen=35_000)
    [a] = instruments.book(engineer, listing.id, _at(TOMORROW, 9), 2)
    [b] = instruments.book(provider, listing.id, _at(TOMORROW, 14), 1)  # own use
    instruments.block(provider, listing.id, _at(TOMORROW + timedelta(days=2), 8), _at(TOMORROW + timedelta(days=2), 12),
                      "outage", "真空泵故障")
    sample = instruments.send_samples(other, listing.id, 3, "三个样品")
    for step in ("received", "testing"):
        instruments.advance_samples(provider, sample.id, step)
    instruments.advance_samples(provider, sample.id, "reported", samples_done=3, report="完成")
    with frozen_at(NOON_MONDAY + timedelta(days=1, hours=6)):
        instruments.record_use(provider, a.id, _at(TOMORROW, 9), _at(TOMORROW, 10, ) + timedelta(minutes=30))
        instruments.record_no_show(provider, b.id)
    data = reports.report(provider, listing.id, date(2030, 3, 1), date(2030, 3, 31))
    [march] = data["rows"]
    assert march.available == 31 * 10 - 4  # ten opening hours a day, less the four-hour outage
    assert (march.booked, march.external, march.used, march.no_shows) == (3, 2, 1.5, 1)
    assert (march.sample_orders, march.samples_done) == (1, 3)
    assert march.external_share == 66.7
    body, mimetype = reports.export(data, "xlsx")
    assert mimetype.endswith("sheet") and body[:2] == b"PK"
    csv_text = reports.export(data, "csv")[0].decode("utf-8-sig")
    assert "2030-03,306,3,2,66.7,1.5,0,1,0,1,3" in csv_text
    with pytest.raises(PermissionDenied):
        reports.report(engineer, listing.id)


def test_pages_refuse_with_the_reason_beside_the_form(client, provider, engineer):
    listing = _instrument(provider)
    login(client, engineer)
    page = client.get(f"/instruments/{listing.id}").get_data(as_text=True)
    assert 'id="why-not"' in page and 'id="book-form"' not in page and 'id="training-form"' in page
    response = client.post(f"/instruments/{listing.id}/training", data={"day": "2030-3-5x", "hour": "9"})
    assert response.status_code == 400
    assert "2030-3-5x" in response.get_data(as_text=True)  # the form keeps what was typed
    response = client.post(f"/instruments/{listing.id}/training", data={"day": "2030-03-05", "hour": "9"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(BookingTerms.booking_id))) == 1


def test_the_manager_qualifies_by_e_mail_on_the_desk(client, provider, engineer):
    listing = _instrument(provider)
    login(client, provider)
    assert client.get(f"/instruments/{listing.id}/manage").status_code == 200
    response = client.post(f"/instruments/{listing.id}/qualify", data={"email": "nobody@example.com"})
    assert response.status_code == 400 and "nobody@example.com" in response.get_data(as_text=True)
    response = client.post(f"/instruments/{listing.id}/qualify", data={"email": engineer.email})
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert db.session.scalar(select(Qualification.user_id)) == engineer.id


def test_the_api_books_sends_samples_lists_qualifications_and_gives_the_feed(client, provider, engineer):
    from tests.api.conftest import bearer

    listing = _instrument(provider, approval="instant", sample_mode=True, sample_price_fen=35_000)
    headers = bearer(engineer)
    refused = client.post(f"/api/v1/instruments/{listing.id}/bookings", headers=headers,
                          json={"start_at": "2030-03-05T09:00:00", "hours": 2})
    assert refused.status_code == 400 and refused.json["field"] == "start_at"  # not qualified yet
    instruments.qualify(provider, listing.id, engineer.id)
    made = client.post(f"/api/v1/instruments/{listing.id}/bookings", headers=headers,
                       json={"start_at": "2030-03-05T09:00:00", "hours": 2, "repeat_weeks": 2})
    assert made.status_code == 201
    assert [b["start_at"] for b in made.json["items"]] == ["2030-03-05T09:00:00", "2030-03-12T09:00:00"]
    assert made.json["items"][0]["amount"] == "1200.00" and made.json["items"][0]["approval"] == "instant"
    assert len(client.get("/api/v1/instruments/bookings", headers=headers).json["items"]) == 2
    sent = client.post(f"/api/v1/instruments/{listing.id}/samples", headers=headers,
                       json={"samples": 2, "description": "两个试样"})
    assert sent.status_code == 201 and sent.json["amount"] == "700.00" and sent.json["status"] == "submitted"
    assert client.get("/api/v1/instruments/samples", headers=headers).json["items"][0]["id"] == sent.json["id"]
    [q] = client.get("/api/v1/instruments/qualifications", headers=headers).json["items"]
    assert q["valid"] is True and q["expires_on"] == "2031-03-04"
    url = client.get("/api/v1/instruments/feed", headers=headers).json["url"]
    feed = client.get(url.split("marketplace.test", 1)[1])
    assert feed.status_code == 200 and feed.data.count(b"BEGIN:VEVENT") == 2
