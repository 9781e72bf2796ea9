"""Mail reaches a real SMTP server (aiosmtpd on loopback), after commit, once; a server that is
down delays a message, it does not lose it or send it twice."""
from __future__ import annotations

import base64
import re
import threading
import time

import pytest
from sqlalchemy import func, select

from marketplace import outbox
from marketplace.core.uow import unit_of_work
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


# --- a notification's mail: written and sent in one step, from the notification -----------------

def _told(factory, n: int, locale: str = "zh"):
    """``n`` members of one seller, each told of a payment: their notifications' mail waits in
    the outbox (``mail.compose``)."""
    from marketplace.notifications import services as notes

    seller = factory.provider()
    members = [seller] + [factory.user("provider", organization=seller.organization, owner=False)
                          for _ in range(n - 1)]
    for member in members:
        member.locale = locale
    db.session.commit()
    notes.tell([m.id for m in members], "order", "talk.paid", "/orders/7", org="买方企业", price="¥1,000.00",
               title="材料力学性能检测（拉伸、弯曲、冲击）" * 3)
    db.session.commit()
    return members


@pytest.fixture()
def worker_drains(app):
    app.config["OUTBOX_DRAIN"] = "worker"
    yield
    app.config["OUTBOX_DRAIN"] = "inline"


def test_a_notifications_mail_is_sent_once_and_recorded_as_sent(app, app_ctx, factory, smtp_server, worker_drains):
    inbox, _ = smtp_server
    members = _told(factory, 3)
    assert db.session.scalars(select(OutgoingMail)).all() == []  # nothing written before the outbox runs
    assert outbox.drain(["mail.compose"]) == 3
    assert outbox.drain() == 0  # nothing left for another topic: sent once
    assert sorted(r[0] for _, r, _m in inbox.messages) == sorted(m.email for m in members)
    sender, _rcpts, message = inbox.messages[0]
    assert sender == "noreply@localhost"  # the envelope: the address of "聊城创新服务平台 <noreply@localhost>"
    assert _subject(message).startswith("买方企业支付了") or "买方企业" in _subject(message), _subject(message)
    assert "材料力学性能检测（拉伸、弯曲、冲击）" * 3 in _body(message)
    rows = db.session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()
    assert sorted(r.recipient for r in rows) == sorted(m.email for m in members)
    assert all(r.sent_at is not None and r.subject == _subject(inbox.to(r.recipient)[0]) for r in rows)


def test_a_refused_notification_mail_is_retried_alone(app, app_ctx, factory, smtp_server, worker_drains):
    inbox, _ = smtp_server
    members = _told(factory, 3)
    inbox.refuse.add(members[1].email)
    assert outbox.drain(["mail.compose"]) == 2
    (left,) = db.session.scalars(select(OutboxEntry).where(OutboxEntry.topic == "mail.compose")).all()
    assert left.attempts == 1 and "550" in left.last_error
    assert sorted(db.session.scalars(select(OutgoingMail.recipient))) == sorted([members[0].email, members[2].email])
    inbox.refuse.clear()
    assert outbox.drain(["mail.compose"]) == 1  # the retry sends the refused one, and only it
    assert sorted(r[0] for _, r, _m in inbox.messages) == sorted(m.email for m in members)
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail)) == 3


def test_a_connection_lost_midway_leaves_the_rest_of_the_notifications_mail(app, app_ctx, factory, smtp_server,
                                                                             worker_drains):
    inbox, _ = smtp_server
    members = _told(factory, 4)
    inbox.hang_up_after = 1
    assert outbox.drain(["mail.compose"]) == 1
    assert len(db.session.scalars(select(OutboxEntry).where(OutboxEntry.topic == "mail.compose")).all()) == 3
    inbox.hang_up_after = None
    assert outbox.drain(["mail.compose"]) == 3
    assert sorted(r[0] for _, r, _m in inbox.messages) == sorted(m.email for m in members)  # each once


@pytest.mark.parametrize("subject", [
    "短", "A short plain subject", "x" * 69, "x" * 70 + " folded by Flask-Mailman", "é" * 100, "a😀" * 40,
    "买方企业 paid ¥1,000.00 for 材料力学性能检测（拉伸、弯曲、冲击）" * 2
])
def test_a_mail_formatted_here_reads_as_flask_mailmans_does(app_ctx, subject):
    """The headers encoded here (RFC 2047 words, no character split, lines within 78) decode
    to what Flask-Mailman's own message gives, and the body is the same bytes."""
    import email
    from email.header import decode_header, make_header

    from flask_mailman import EmailMessage

    from marketplace.notifications.mail import TextMail

    body = "您好 张三，\n\n第二行\r\n-- \n聊城\n"
    kw = dict(subject=subject, body=body, from_email=app_ctx.config["MAIL_DEFAULT_SENDER"], to=["a@example.org"])
    theirs = email.message_from_bytes(EmailMessage(**kw).message().as_bytes(linesep="\r\n"))
    raw = TextMail(**kw).message().as_bytes(linesep="\r\n")
    ours = email.message_from_bytes(raw)
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(len(line) for line in head) <= 78, head
    for word in re.findall(r"=\?utf-8\?b\?([^?]*)\?=", ours["Subject"]):  # each word whole characters (RFC 2047)
        base64.b64decode(word).decode("utf-8")
    assert list(ours.keys()) == list(theirs.keys())
    for name in ("Subject", "From", "To", "Content-Type", "MIME-Version", "Content-Transfer-Encoding"):
        assert str(make_header(decode_header(ours[name]))) == str(make_header(decode_header(theirs[name]))), name
    if not (subject.isascii() and len(subject) > 69):  # (a long plain one: Flask-Mailman's, folded)
        assert str(make_header(decode_header(ours["Subject"]))) == subject
    assert ours.get_payload(decode=True) == theirs.get_payload(decode=True) == body.replace("\r\n", "\n").replace(
        "\n", "\r\n").encode()


def test_a_subject_with_a_line_break_is_refused_as_before(app_ctx):
    from flask_mailman.message import BadHeaderError

    from marketplace.notifications.mail import TextMail

    with pytest.raises(BadHeaderError):
        TextMail(subject="two\nlines", body="b", to=["a@example.org"]).message()


def test_a_plain_subject_that_looks_encoded_reads_as_written(app_ctx):
    """A title such as "=?utf-8?b?5Lmw?=" is encoded itself, so a reader sees it as written
    (sent as it is, a mail client would decode it to 买)."""
    import email
    from email.header import decode_header, make_header

    from marketplace.notifications.mail import TextMail

    raw = TextMail(subject="Order =?utf-8?b?5Lmw?= paid", body="b", to=["a@example.org"]).message().as_bytes()
    assert str(make_header(decode_header(email.message_from_bytes(raw)["Subject"]))) == "Order =?utf-8?b?5Lmw?= paid"


@pytest.mark.parametrize("topic", ["mail", "mail.compose"])
def test_no_other_writer_waits_while_the_worker_talks_to_a_slow_mail_server(app, app_ctx, factory, smtp_server,
                                                                           worker_drains, topic):
    """Both mail topics send before they write (``sends=True``): while the server is slow to
    answer, the worker holds no write lock, and a request's write goes through at once (on
    SQLite, where one writer writes at a time, it would otherwise wait for the mail)."""
    inbox, _ = smtp_server
    if topic == "mail":
        queue_mail("slow@example.org", "慢", "服务器迟迟不答")
        db.session.commit()
    else:
        _told(factory, 1)
    inbox.stall = threading.Event()
    drained: list[int] = []

    def work():
        with app.app_context():
            drained.append(outbox.drain([topic]))

    worker = threading.Thread(target=work)
    worker.start()
    try:
        assert inbox.stalled.wait(10), "the worker never reached the mail server"
        with unit_of_work():  # a request's write, while the mail server has not answered yet
            queue_mail("other@example.org", "另一封", "与慢邮件无关")
        assert worker.is_alive() and inbox.messages == [], "the write waited for the mail to be sent"
    finally:
        inbox.stall.set()
        worker.join(30)
    assert drained == [1] and len(inbox.messages) == 1
    db.session.expire_all()
    # what is left of the topic is the other write's own mail (queued for the "mail" topic)
    left = db.session.scalars(select(OutboxEntry.key).where(OutboxEntry.topic == topic)).all()
    other = db.session.scalars(select(OutgoingMail.id).where(OutgoingMail.recipient == "other@example.org")).one()
    assert left == ([str(other)] if topic == "mail" else [])
