"""Pages at volume (marketplace.core.paging): a page holds N rows, the next page continues
without repeats or gaps, the order is stable when dates are equal, and the lists' queries
use the indexes of migration 0018."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from marketplace.audit.models import AuditEvent
from marketplace.core import paging
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.listings.models import Listing
from marketplace.notifications.models import Notification
from tests.factories import login

NOON = datetime(2026, 11, 20, 4, 0)  # noon in Beijing


def _listings(org, n, *, same_date=True, prices=None, kind="service"):
    rows = []
    for i in range(n):
        at = NOON if same_date else NOON - timedelta(minutes=i % 5)  # many equal dates either way
        price = prices[i] if prices is not None else None
        rows.append(Listing(kind=kind, organization_id=org.id, title=f"检测服务{i:03d}", status="published",
                            published_at=at, price_fen=price, negotiable=price is None))
    rows.append(Listing(kind=kind, organization_id=org.id, title="草稿", status="draft"))  # never listed
    db.session.add_all(rows)
    db.session.commit()
    return [r for r in rows if r.status == "published"]


def _walk(fetch, per_page):
    """Every page from the first until has_next is False: the ids in order, the page sizes."""
    ids, sizes, number = [], [], 1
    while True:
        page = fetch(number, per_page)
        assert page.number == number and page.per_page == per_page
        ids += [row.id for row in page.items]
        sizes.append(len(page.items))
        if not page.has_next:
            return ids, sizes
        number += 1
        assert number < 100


def test_pages_continue_without_repeats_or_gaps_under_equal_dates(factory):
    org = factory.organization(kind="agency")
    made = _listings(org, 23)  # every one published at the same instant
    ids, sizes = _walk(lambda n, pp: listings.browse(None, page=n, per_page=pp), 10)
    assert sizes == [10, 10, 3]
    assert len(ids) == len(set(ids)) == 23
    assert sorted(ids) == sorted(r.id for r in made)
    # equal dates fall to the id, newest id first, the same way on every request
    assert ids == sorted(ids, reverse=True)
    assert _walk(lambda n, pp: listings.browse(None, page=n, per_page=pp), 10)[0] == ids
    # a page size that divides the list exactly ends without an empty page
    assert _walk(lambda n, pp: listings.browse(None, page=n, per_page=pp), 23)[1] == [23]


def test_price_order_puts_negotiable_last_and_breaks_ties_newest_then_id(factory):
    org = factory.organization(kind="agency")
    prices = [500, None, 100, 500, 100, None, 300, 500]
    _listings(org, len(prices), same_date=False, prices=prices)
    for sort, key in (("price_asc", lambda r: r.price_fen), ("price_desc", lambda r: -r.price_fen)):
        ids, _sizes = _walk(lambda n, pp, sort=sort: listings.browse(None, sort=sort, page=n, per_page=pp), 3)
        rows = [db.session.get(Listing, i) for i in ids]
        priced = [r for r in rows if r.price_fen is not None]
        assert rows[len(priced):] == [r for r in rows if r.price_fen is None]  # 面议 last
        expected = sorted(priced, key=lambda r: (key(r), -r.published_at.timestamp(), -r.id))
        assert priced == expected


def test_page_numbers_typed_by_hand_mean_the_first_page():
    for raw in (None, "", "x", "0", "-3", "1.5", str(paging.MAX_PAGE + 1), "99999999999999999999"):
        assert paging.page_number(raw) == 1
    assert paging.page_number("7") == 7


def test_market_page_links_to_the_next_page_keeping_kind_and_sort(client, factory):
    org = factory.organization(kind="agency")
    _listings(org, paging.PER_PAGE + 5, prices=list(range(1000, 1000 + paging.PER_PAGE + 5)))
    first = client.get("/listings?kind=service&sort=price_desc").get_data(as_text=True)
    assert first.count("检测服务") == paging.PER_PAGE
    link = re.search(r'<a class="button" rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "kind=service" in link and "sort=price_desc" in link and "page=2" in link
    second = client.get(link).get_data(as_text=True)
    assert second.count("检测服务") == 5 and 'rel="next"' not in second and 'rel="prev"' in second
    # the cheapest five are on the second page, dearest first on the first
    assert "检测服务004" in second and "检测服务054" in first
    assert first.index("检测服务054") < first.index("检测服务053")
    assert client.get("/listings?page=abc").status_code == 200


def test_notifications_page_lists_every_notification_a_page_at_a_time(client, factory):
    user = factory.user("enterprise")
    other = factory.user("enterprise")
    for i in range(paging.PER_PAGE + 2):
        db.session.add(Notification(user_id=user.id, message=f"note-{i:03d}", created_at=NOON))
    db.session.add(Notification(user_id=other.id, message="not-yours", created_at=NOON))
    db.session.commit()
    login(client, user)
    first = client.get("/notifications").get_data(as_text=True)
    second = client.get("/notifications?page=2").get_data(as_text=True)
    seen = re.findall(r"note-\d{3}", first) + re.findall(r"note-\d{3}", second)
    assert len(seen) == len(set(seen)) == paging.PER_PAGE + 2
    assert "not-yours" not in first + second


def test_audit_log_pages_newest_first(factory):
    admin = factory.user("admin")
    for i in range(7):
        db.session.add(AuditEvent(action=f"test.{i}", target_type="test", target_id=str(i), created_at=NOON))
    db.session.commit()
    from marketplace.admin.services import audit_events

    ids, sizes = _walk(lambda n, pp: audit_events(admin, page=n, per_page=pp), 3)
    assert sizes[:2] == [3, 3] and ids == sorted(ids, reverse=True) and len(ids) == len(set(ids))


PLANS = {
    # (the statement as the service builds it, the index it must use)
    "listings by date": (lambda: select(Listing.id).where(Listing.status == "published")
                         .order_by(Listing.published_at.desc(), Listing.id.desc()).limit(51),
                         "ix_listings_status_published"),
    "listings of a kind": (lambda: select(Listing.id).where(Listing.status == "published", Listing.kind == "service")
                           .order_by(Listing.published_at.desc(), Listing.id.desc()).limit(51),
                           "ix_listings_status_kind_published"),
    "notifications": (lambda: select(Notification.id).where(Notification.user_id == 1)
                      .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(51),
                      "ix_notifications_user_created"),
}


@pytest.mark.parametrize("name", sorted(PLANS))
def test_paged_queries_use_their_index(app_ctx, name):
    build, index = PLANS[name]
    stmt = build()
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # An empty table would be scanned and sorted whatever its indexes: ask for a plan that
            # neither scans nor sorts, which only an index serving the order can give.
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
                conn.exec_driver_sql(f"SET {setting} = off")
            plan = "\n".join(r[0] for r in conn.execute(text("EXPLAIN " + sql)))
        else:
            plan = "\n".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
    if db.engine.dialect.name == "postgresql":
        # the planner of an empty table may take the wider listings index, filtered: either
        # serves the order; what matters is that no row is sorted
        paged = (index, "ix_listings_status_published", "ix_listings_status_kind_published")
        assert any(name in plan for name in paged) and "Sort" not in plan, plan
    else:
        assert index in plan and "TEMP B-TREE" not in plan, plan
