"""Threads with attachments and read receipts; notifications that open their record; the
reminders the worker sends once; mail in the reader's language with links on the base URL."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace import outbox
from marketplace.conversations import jobs, negotiation, threads
from marketplace.conversations.models import ReminderSent, ThreadMessage
from marketplace.core.errors import NotFound, PermissionDenied, ServiceError
from marketplace.core.timeutil import beijing_today, frozen_at
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.notifications.models import Notification, OutgoingMail
from marketplace.orders import services as orders
from tests.factories import login

# Yesterday 12:00 Beijing: always in the past. (Today's noon is still ahead from Beijing midnight
# to noon, 16:00–04:00 UTC, and rows stamped at it were not yet due for a drain run at the real clock.)
NOON = datetime.combine(beijing_today() - timedelta(days=1), datetime.min.time()).replace(hour=4)


def _enquiry(factory):
    seller = factory.user("provider", kind="agency", name="检测中心（线程）")
    buyer = factory.user("enterprise", name="企业（线程）")
    service = listings.publish(seller, listings.create_listing(seller, "service", {
        "title": "金属材料疲劳检测", "price_fen": None, "negotiable": True}).id)
    return seller, buyer, orders.enquire(buyer, service.id, "周期多长？")


def test_a_thread_keeps_messages_files_and_who_read_them(app_ctx, factory):
    seller, buyer, enquiry = _enquiry(factory)
    stranger = factory.user("enterprise")
    threads.post(buyer, "enquiry", enquiry.id, "附上样品照片", [("样品.png", b"\x89PNG\r\n\x1a\nxx")])
    with pytest.raises(ServiceError) as refused:
        threads.post(buyer, "enquiry", enquiry.id, "附件", [("evil.pdf", b"MZ\x90 not a pdf")])
    assert refused.value.field == "files"
    with pytest.raises(NotFound):
        threads.post(stranger, "enquiry", enquiry.id, "我也想说")
    with pytest.raises(NotFound):
        threads.view(stranger, "enquiry", enquiry.id)
    assert db.session.scalar(select(func.count()).select_from(ThreadMessage)) == 1
    _subject, _thread, receipts = threads.view(buyer, "enquiry", enquiry.id)
    (message_id,) = receipts
    assert receipts[message_id] == []  # the seller has not read it yet
    _subject, thread, receipts = threads.view(seller, "enquiry", enquiry.id)
    assert receipts[message_id] == [seller.name]
    attachment = thread.messages[0].attachments[0]
    item, data = threads.attachment_file(seller, attachment.id)
    assert data.read() == b"\x89PNG\r\n\x1a\nxx"
    with pytest.raises(NotFound):
        threads.attachment_file(stranger, attachment.id)
    # The seller was told, with the buyer's name and the words.
    note = db.session.scalars(select(Notification).where(Notification.user_id == seller.id,
                                                         Notification.message == "talk.message")).one()
    assert json.loads(note.params)["excerpt"] == "附上样品照片" and note.link == f"/enquiries/{enquiry.id}"


def test_a_claim_thread_is_between_the_claimant_and_the_reviewers(app_ctx, factory):
    from marketplace.claims import services as claims

    applicant = factory.user("enterprise")
    reviewer = factory.user("reviewer")
    finance = factory.user("finance")
    claim = claims.file_claim(applicant, applicant.organization.id, "B1", {
        "project": "联合项目", "city_county_joint": True, "requested_amount": "10000"}, beijing_today().year - 1)
    threads.post(reviewer, "claim", claim.id, "请补充合同扫描件")
    threads.post(applicant, "claim", claim.id, "已上传")
    with pytest.raises(NotFound):
        threads.view(finance, "claim", claim.id)
    told = db.session.scalars(select(Notification.user_id).where(Notification.message == "talk.message")).all()
    assert set(told) == {applicant.id, reviewer.id}


def test_the_enquiry_page_shows_versions_and_keeps_bad_input_beside_its_field(app_ctx, client, factory):
    seller, buyer, enquiry = _enquiry(factory)
    login(client, seller)
    page = client.post(f"/enquiries/{enquiry.id}/offer", data={"amount": "12,00", "note": "含报告"})
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "含报告" in html and 'aria-invalid="true"' in html
    past = (beijing_today() - timedelta(days=2)).isoformat()
    page = client.post(f"/enquiries/{enquiry.id}/offer", data={"amount": "12000", "delivery_on": past})
    assert page.status_code == 400 and past in page.get_data(as_text=True)
    assert client.post(f"/enquiries/{enquiry.id}/offer", data={"amount": "12000", "instalments": "2"}
                       ).status_code == 302
    client.post("/logout")
    login(client, buyer)
    html = client.get(f"/enquiries/{enquiry.id}").get_data(as_text=True)
    assert "¥12,000.00" in html and "/accept" in html
    version = negotiation.open_version(enquiry)
    page = client.post(f"/offers/{version.id}/decline", data={"reason": ""})
    assert page.status_code == 400


def test_a_notification_opens_its_record_and_is_read(app_ctx, client, factory):
    seller, buyer, enquiry = _enquiry(factory)
    login(client, seller)
    page = client.get("/notifications").get_data(as_text=True)
    assert "企业（线程）" in page and "金属材料疲劳检测" in page
    assert 'class="badge"' in client.get("/").get_data(as_text=True)
    note = db.session.scalars(select(Notification).where(Notification.user_id == seller.id)).one()
    response = client.get(f"/notifications/{note.id}")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/enquiries/{enquiry.id}")
    db.session.expire_all()
    assert db.session.get(Notification, note.id).read is True
    client.post("/logout")
    login(client, buyer)
    assert client.get(f"/notifications/{note.id}").status_code == 404  # somebody else's


def test_preferences_switch_a_kind_off_per_channel(app_ctx, client, factory):
    seller, buyer, enquiry = _enquiry(factory)
    login(client, buyer)
    assert client.post("/notifications/preferences", data={"keep": ["quote:mail"]}).status_code == 302
    before = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == buyer.id))
    with frozen_at(NOON):
        orders.quote(seller, enquiry.id, 9_000_00)
    db.session.expire_all()
    after = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == buyer.id))
    assert after == before  # not in the app …
    mail = db.session.scalars(select(OutgoingMail).where(OutgoingMail.recipient == buyer.email)).one()
    assert "¥9,000.00" in mail.subject and "http://marketplace.test/enquiries/" in mail.body  # … but by mail


def test_mail_is_written_in_the_readers_language(app_ctx, factory):
    seller, buyer, enquiry = _enquiry(factory)
    buyer.locale = "en"
    db.session.commit()
    with frozen_at(NOON):
        orders.quote(seller, enquiry.id, 9_000_00)
    # The service wrote the notification; its mail is written from that row after commit, by
    # the outbox (the worker), not in the request.
    assert db.session.scalars(select(OutgoingMail).where(OutgoingMail.recipient == buyer.email)).all() == []
    outbox.drain(["mail.compose"])
    english = db.session.scalars(select(OutgoingMail).where(OutgoingMail.recipient == buyer.email)).one()
    assert english.subject.startswith("检测中心（线程） quoted ¥9,000.00"), english.subject
    chinese = db.session.scalars(select(OutgoingMail).where(OutgoingMail.recipient == seller.email)).one()
    assert "发来询价" in chinese.subject and "您好" in chinese.body


def test_reminders_go_out_once(app_ctx, factory):
    seller, buyer, enquiry = _enquiry(factory)
    with frozen_at(NOON):
        version = negotiation.offer(seller, enquiry.id, 5_000_00, valid_until=beijing_today() + timedelta(days=1))
        assert jobs.offers_expiring() == 1
        assert jobs.offers_expiring() == 0
    told = db.session.scalars(select(Notification).where(Notification.user_id == buyer.id,
                                                         Notification.message == "talk.quote_expiring")).all()
    assert len(told) == 1
    with frozen_at(NOON + timedelta(days=2)):
        jobs.offers_expiring()
    db.session.expire_all()
    assert negotiation.open_version(enquiry) is None and version.status == "expired"
    assert db.session.get(ReminderSent, ("quote_expiring", version.id)) is not None


def test_a_booking_tomorrow_is_reminded_and_vouchers_can_hook_in(app_ctx, factory):
    provider = factory.user("provider", kind="agency")
    customer = factory.user("enterprise")
    instrument = listings.publish(provider, listings.create_listing(provider, "instrument", {
        "title": "扫描电镜", "price_fen": 50_000, "price_unit": "hour", "open_from_hour": 8, "open_to_hour": 18}).id)
    with frozen_at(NOON):
        start = datetime.combine(beijing_today() + timedelta(days=1), datetime.min.time()).replace(hour=9)
        booking = orders.book_instrument(customer, instrument.id, start, 2)
        booking.order.status = "paid"
        db.session.commit()
        assert jobs.bookings_tomorrow() == 1
        assert jobs.bookings_tomorrow() == 0
        jobs.register_voucher_source(lambda by: [(99, customer.organization.id, "VCH-99", by)])
        try:
            assert jobs.vouchers_expiring() == 1
        finally:
            jobs._voucher_sources.clear()
    texts = db.session.scalars(select(Notification.message).where(Notification.user_id == customer.id)).all()
    assert "talk.booking_tomorrow" in texts and "talk.voucher_expiring" in texts


def test_confidential_files_are_shown_to_an_enquirer_only_once_the_seller_grants_them(app_ctx, client, factory):
    from marketplace.conversations import confidential
    from marketplace.listings.models import ListingAttachment

    seller = factory.user("university", kind="university")
    buyer, other = factory.user("enterprise"), factory.user("enterprise")
    achievement = listings.publish(seller, listings.create_listing(seller, "achievement", {
        "title": "保密工艺", "price_fen": 100_000_00, "negotiable": True, "ip_kind": "know_how", "maturity": "pilot",
        "transfer_modes": ["assignment"]}).id)
    listings.attach_files(seller, achievement.id, [("摘要.pdf", b"%PDF-1.4 summary"), ("工艺.pdf", b"%PDF-1.4 secret")])
    summary, secret = db.session.scalars(select(ListingAttachment).order_by(ListingAttachment.id)).all()
    confidential.set_confidential(seller, secret.id, True)
    enquiry = orders.enquire(buyer, achievement.id, "想看工艺文件", "assignment")
    login(client, buyer)
    assert client.get(f"/attachments/{summary.id}").status_code == 200  # the summary first
    assert client.get(f"/attachments/{secret.id}").status_code == 404
    with pytest.raises(PermissionDenied):
        confidential.grant(buyer, enquiry.id)  # the buyer cannot grant itself
    confidential.grant(seller, enquiry.id)
    assert client.get(f"/attachments/{secret.id}").status_code == 200
    client.post("/logout")
    login(client, other)
    assert client.get(f"/attachments/{secret.id}").status_code == 404  # per enquirer
