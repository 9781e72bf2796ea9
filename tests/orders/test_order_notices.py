"""An order tells every member of the seller as each chose (in the app, by mail, both or
neither), with one query for all their choices and one INSERT for all their notifications."""
from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, select

from marketplace.accounts.models import Membership
from marketplace.extensions import db
from marketplace.notifications import services as notes
from marketplace.notifications.models import Notification, OutgoingMail
from marketplace.outbox import OutboxEntry


@pytest.fixture
def team(app_ctx, factory):
    """A seller with three more members who chose differently for orders: in the app only, by
    mail only, neither; the mail to write after commit stays in the outbox."""
    app_ctx.config["OUTBOX_DRAIN"] = "worker"
    seller = factory.provider()
    org = seller.organization
    app_only, mail_only, neither = (factory.user("provider", organization=org, owner=False) for _ in range(3))
    notes.set_preferences(app_only, {("order", "app")})
    notes.set_preferences(mail_only, {("order", "mail")})
    notes.set_preferences(neither, set())
    yield seller, app_only, mail_only, neither
    app_ctx.config["OUTBOX_DRAIN"] = "inline"


@contextlib.contextmanager
def statements():
    """The SQL run inside the block, one line each."""
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)


def test_an_order_tells_each_seller_member_as_they_chose_in_one_query_and_one_insert(team, factory):
    seller, app_only, mail_only, neither = team
    listing = factory.listing(seller, price_fen=1_000_00)
    buyer = factory.enterprise()
    with statements() as run:
        order = factory.order(buyer, listing)
    told = {n.user_id: n for n in db.session.scalars(select(Notification).where(Notification.link == f"/orders/{order.id}"))}
    assert set(told) == {seller.id, app_only.id}
    assert all(n.kind == "order" and n.message == "talk.order" and "1,000.00" in n.params for n in told.values())
    compose = set(db.session.scalars(select(OutboxEntry.key).where(OutboxEntry.topic == notes.COMPOSE_TOPIC)))
    assert compose == {str(told[seller.id].id)}  # the default (both) only: app_only keeps no mail
    mailed = set(db.session.scalars(select(OutgoingMail.recipient)))
    assert mailed == {mail_only.email}  # no row to write it from: written at once
    # the seller's members and their choices in one statement (not the members, then the choices)
    reads = [s for s in run if s.startswith("SELECT") and "notification_preferences" in s]
    assert len(reads) == 1 and "FROM memberships" in reads[0], reads
    # (and no other read of an organisation's members: related parties are an EXISTS)
    assert [s for s in run if s.startswith("SELECT") and "WHERE memberships.organization_id" in s] == reads
    assert len([s for s in run if s.startswith("INSERT INTO notifications")]) == 1
    assert db.session.scalar(select(Membership.user_id).where(Membership.user_id == neither.id))


def test_a_payment_tells_each_seller_member_as_they_chose_reading_members_and_choices_at_once(team, factory):
    seller, app_only, mail_only, _neither = team
    notes.set_preferences(seller, {("order", "app"), ("order", "mail"), ("quote", "app")})  # another kind's row
    buyer = factory.enterprise()
    order = factory.order(buyer, factory.listing(seller, price_fen=1_000_00))
    org_id, order_id = seller.organization.id, order.id
    db.session.execute(OutboxEntry.__table__.delete())
    db.session.execute(OutgoingMail.__table__.delete())
    db.session.commit()
    with statements() as run:
        assert notes.tell(notes.Everyone(org_id), "order", "talk.paid", f"/orders/{order_id}",
                          org="买方", price="¥1,000.00", title="检测") == 2
    told = {n.user_id: n for n in db.session.scalars(select(Notification).where(
        Notification.message == "talk.paid", Notification.link == f"/orders/{order_id}"))}
    assert set(told) == {seller.id, app_only.id}
    assert set(db.session.scalars(select(OutboxEntry.key).where(OutboxEntry.topic == notes.COMPOSE_TOPIC))) \
        == {str(told[seller.id].id)}
    assert set(db.session.scalars(select(OutgoingMail.recipient))) == {mail_only.email}
    reads = [s for s in run if s.startswith("SELECT") and ("memberships" in s or "preferences" in s)]
    assert len(reads) == 1 and "notification_preferences" in reads[0], reads  # members and choices at once
    assert notes.tell(notes.Everyone(org_id), "order", "talk.paid", "/x", exclude=seller.id,
                      org="买方", price="¥1", title="检测") == 1  # the one who acted is not told
    assert notes.tell(notes.Everyone(None), "order", "talk.paid", "/x", org="买方", price="¥1", title="检测") == 0
