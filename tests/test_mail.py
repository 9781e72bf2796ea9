"""Mail reaches a real SMTP server (aiosmtpd on loopback), after commit, once; a server that is
down delays a message, it does not lose it or send it twice."""
from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from marketplace import outbox
from marketplace.extensions import db
from marketplace.notifications.models import OutgoingMail, queue_mail
from marketplace.outbox import OutboxEntry
from tests.mailbox import Inbox, start
from tests.mailbox import body as _body
from tests.mailbox import free_port as _free_port
from tests.mailbox import subject as _subject


@pytest.fixture()
def smtp_server(app):
    inbox = Inbox()
    controller, port = start(inbox)
    saved = {k: app.config[k] for k in ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        yield inbox, port
    finally:
        controller.stop()
        app.config.update(saved)


def test_a_password_reset_mail_arrives_and_its_link_works(app, client, factory, smtp_server):
    inbox, _ = smtp_server
    user = factory.user("enterprise")
    response = client.post("/password/forgot", data={"email": user.email})
    assert response.status_code in (200, 302)
    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(inbox.messages) == 1
    sender, recipients, message = inbox.messages[0]
    assert recipients == [user.email]
    assert "noreply" in sender
    body = _body(message)
    links = re.findall(r"https?://\S+/password/reset/\S+", body)
    assert links, body
    path = "/" + links[0].split("/", 3)[3]
    assert client.get(path).status_code == 200  # the link opens the reset form
    db.session.expire_all()
    row = db.session.scalars(select(OutgoingMail).where(OutgoingMail.recipient == user.email)).one()
    assert row.sent_at is not None
    assert _subject(message) == row.subject


def test_mail_is_sent_only_after_commit(app_ctx, smtp_server):
    inbox, _ = smtp_server
    queue_mail("nobody@example.org", "rolled back", "this transaction never commits")
    db.session.rollback()
    outbox.drain(["mail"])
    assert inbox.messages == []


def test_a_server_that_is_down_delays_the_message_and_it_is_sent_once(app, app_ctx, smtp_server):
    inbox, port = smtp_server
    queue_mail("first@example.org", "第一封", "正文一")
    db.session.commit()
    app.config["MAIL_PORT"] = _free_port()  # nothing listens there: refused
    assert outbox.drain(["mail"]) == 0
    row = db.session.scalars(select(OutboxEntry).where(OutboxEntry.topic == "mail")).one()
    assert row.attempts == 1 and row.last_error
    assert db.session.scalars(select(OutgoingMail)).one().sent_at is None
    app.config["MAIL_PORT"] = port  # the server is back
    assert outbox.drain(["mail"]) == 1
    assert outbox.drain(["mail"]) == 0
    assert [(r, _subject(m)) for _, r, m in inbox.messages] == [(["first@example.org"], "第一封")]
    db.session.expire_all()
    assert db.session.scalars(select(OutgoingMail)).one().sent_at is not None


def test_one_refused_message_does_not_hold_back_or_resend_the_others(app, app_ctx, smtp_server):
    inbox, _ = smtp_server
    inbox.refuse.add("user1@example.org")
    for n in range(3):
        queue_mail(f"user{n}@example.org", f"消息{n}", "正文")
    db.session.commit()
    outbox.drain(["mail"])
    assert sorted(r[0] for _, r, _m in inbox.messages) == ["user0@example.org", "user2@example.org"]
    (left,) = db.session.scalars(select(OutboxEntry).where(OutboxEntry.topic == "mail")).all()
    assert left.attempts == 1 and "550" in left.last_error
    inbox.refuse.clear()
    outbox.drain(["mail"])  # the retry sends the refused one, and only it
    assert sorted(r[0] for _, r, _m in inbox.messages) == [f"user{n}@example.org" for n in range(3)]


def test_a_batch_of_mail_goes_over_one_connection(app, app_ctx, smtp_server):
    inbox, _ = smtp_server
    for n in range(5):
        queue_mail(f"batch{n}@example.org", f"批量{n}", "正文")
    db.session.commit()
    assert outbox.drain(["mail"]) == 5
    assert sorted(r[0] for _, r, _m in inbox.messages) == [f"batch{n}@example.org" for n in range(5)]
    assert len(set(inbox.peers)) == 1  # one SMTP connection for the five
    db.session.expire_all()
    assert all(m.sent_at is not None for m in db.session.scalars(select(OutgoingMail)))


def test_a_connection_lost_midway_leaves_the_rest_for_a_retry_and_sends_nothing_twice(app, app_ctx, smtp_server):
    inbox, _ = smtp_server
    inbox.hang_up_after = 2  # the third message is answered 421 and the server hangs up
    for n in range(5):
        queue_mail(f"cut{n}@example.org", f"中断{n}", "正文")
    db.session.commit()
    assert outbox.drain(["mail"]) == 2
    left = db.session.scalars(select(OutboxEntry).where(OutboxEntry.topic == "mail").order_by(OutboxEntry.id)).all()
    assert len(left) == 3 and all(row.attempts == 1 and row.last_error for row in left)
    db.session.expire_all()
    assert [m.sent_at is not None for m in db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id))] == [
        True, True, False, False, False]
    inbox.hang_up_after = None
    assert outbox.drain(["mail"]) == 3
    assert sorted(r[0] for _, r, _m in inbox.messages) == [f"cut{n}@example.org" for n in range(5)]  # each once
