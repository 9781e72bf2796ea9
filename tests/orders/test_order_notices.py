"""An order tells every member of the seller as each chose (in the app, by mail, both or
neither), with one query for all their choices and one INSERT for all their notifications."""
from __future__ import annotations

from sqlalchemy import event, select

from marketplace.accounts.models import Membership
from marketplace.extensions import db
from marketplace.notifications import services as notes
from marketplace.notifications.models import Notification, OutgoingMail
from marketplace.outbox import OutboxEntry


def test_an_order_tells_each_seller_member_as_they_chose_in_one_query_and_one_insert(app_ctx, factory):
    app_ctx.config["OUTBOX_DRAIN"] = "worker"  # (the mail to write after commit stays in the outbox)
    try:
        seller = factory.provider()
        org = seller.organization
        app_only, mail_only, neither = (factory.user("provider", organization=org, owner=False) for _ in range(3))
        notes.set_preferences(app_only, {("order", "app")})
        notes.set_preferences(mail_only, {("order", "mail")})
        notes.set_preferences(neither, set())
        listing = factory.listing(seller, price_fen=1_000_00)
        buyer = factory.enterprise()
        statements: list[str] = []

        def listen(conn, cursor, statement, parameters, context, executemany):
            statements.append(" ".join(statement.split()))

        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            order = factory.order(buyer, listing)
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)

        told = {n.user_id: n for n in db.session.scalars(select(Notification).where(Notification.link == f"/orders/{order.id}"))}
        assert set(told) == {seller.id, app_only.id}
        assert all(n.kind == "order" and n.message == "talk.order" and "1,000.00" in n.params for n in told.values())
        compose = set(db.session.scalars(select(OutboxEntry.key).where(OutboxEntry.topic == notes.COMPOSE_TOPIC)))
        assert compose == {str(told[seller.id].id)}  # the default (both) only: app_only keeps no mail
        mailed = set(db.session.scalars(select(OutgoingMail.recipient)))
        assert mailed == {mail_only.email}  # no row to write it from: written at once
        assert len([s for s in statements if "FROM notification_preferences" in s]) == 1
        assert len([s for s in statements if s.startswith("INSERT INTO notifications")]) == 1
        assert db.session.scalar(select(Membership.user_id).where(Membership.user_id == neither.id))
    finally:
        app_ctx.config["OUTBOX_DRAIN"] = "inline"
