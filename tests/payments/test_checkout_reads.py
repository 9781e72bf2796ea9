"""A card checkout (the order POST and the pay POST with its relayed webhook) reads each row
it needs once: the pay request loads the order with its contract and booking in one query and
the order's payments in another, and the webhook loads the payment with its order, parties and
listing in one, instead of reading them again after each commit and lazily one by one."""
from collections import Counter

import pytest
from sqlalchemy import event, select

from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.orders.models import Order
from marketplace.payments.models import Payment
from tests.factories import login

# Statements of one card checkout in the test configuration, both requests (the sign-in's user
# query included): 50 before the reads were merged, 33 before the mail was written after commit,
# 29 after; 30 since the ledger entry also asks the worker to bring the stored dashboard sums
# forward (one outbox row); 26 since a unit of work that is the outermost one takes no SAVEPOINT
# for its unique key (the payment row, the webhook event): its rollback is the whole of it; 25
# since the relayed event, whose id was made a moment before, is not looked for first; 24 since
# the payment's notice reads the seller's members with their notification choices in one query;
# 23 since the order's listing read says whether buyer and seller share a member (no members read).
BUDGET = 23


@pytest.fixture()
def statements(app):
    """The SQL of every statement run while the fixture's list is being filled."""
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    # (after-commit work is the worker's, as in production: only the requests are counted)
    saved = app.config["OUTBOX_DRAIN"]
    app.config["OUTBOX_DRAIN"] = "worker"
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
        app.config["OUTBOX_DRAIN"] = saved


def _repeated_reads(seen: list[str]) -> dict[str, int]:
    counts = Counter(s for s in seen if s.startswith("SELECT"))
    return {s[:120]: n for s, n in counts.items() if n > 1}


def test_a_card_checkout_reads_each_row_once(client, provider, enterprise, statements):
    listing = listings.create_listing(provider, "service", {"title": "检测服务", "description": "",
                                                            "price_fen": 120_000, "negotiable": False})
    listing_id = listings.publish(provider, listing.id).id
    login(client, enterprise)
    statements.clear()
    response = client.post(f"/listings/{listing_id}/order", data={})
    assert response.status_code == 302
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    ordering = list(statements)
    statements.clear()
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    paying = list(statements)

    assert db.session.get(Order, order_id).status == "paid"
    assert db.session.scalars(select(Payment.status).where(Payment.order_id == order_id)).all() == ["succeeded"]
    assert _repeated_reads(ordering) == {} and _repeated_reads(paying) == {}
    budget = BUDGET + (db.engine.dialect.name == "postgresql")  # (the ledger's advisory lock there)
    assert len(ordering) + len(paying) <= budget, [s[:50] for s in ordering + paying]


def test_a_checkout_reads_who_to_tell_before_it_takes_the_write_lock(app, client, provider, enterprise):
    """The seller's members and their choices, read for the order's and the payment's notices,
    are read before each unit of work takes the write lock (SQLite's one lock, which every
    other writer waits for), and still tell the seller's members."""
    from marketplace.core.uow import current
    from marketplace.notifications.models import Notification

    listing = listings.create_listing(provider, "service", {"title": "检测服务", "description": "",
                                                            "price_fen": 120_000, "negotiable": False})
    listing_id = listings.publish(provider, listing.id).id
    login(client, enterprise)
    reads: list[bool] = []  # for each read of members with their choices: was the write lock held?

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT") and "notification_preferences" in statement:
            uow = current()
            reads.append(uow is not None and uow._locked)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        order_id = int(client.post(f"/listings/{listing_id}/order").headers["Location"].rsplit("/", 1)[1])
        assert client.post(f"/orders/{order_id}/pay").status_code == 302
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert reads == [False, False]  # the order's notice, then the payment's: both outside
    told = db.session.scalars(select(Notification.message).where(Notification.user_id == provider.id,
                                                                  Notification.link == f"/orders/{order_id}"))
    assert sorted(told) == ["talk.order", "talk.paid"]
