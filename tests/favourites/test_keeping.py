"""Favourites (收藏) and the comparison (对比), over HTTP as a visitor uses them."""
import re
from datetime import datetime

from sqlalchemy import func, select

from marketplace.core.timeutil import frozen_at
from marketplace.extensions import db
from marketplace.favourites import services
from marketplace.favourites.models import Favourite
from tests.factories import login


def _stars():
    return db.session.scalar(select(func.count()).select_from(Favourite))


def test_a_user_stars_a_listing_once_and_finds_it_on_the_favourites_page(client, factory, provider, enterprise):
    service = factory.listing(provider, title="液相色谱检测")
    login(client, enterprise)
    response = client.post(f"/favourites/{service.id}", data={"next": "/listings"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/listings")
    client.post(f"/favourites/{service.id}")  # twice is still one star
    assert _stars() == 1
    html = client.get("/favourites").get_data(as_text=True)
    assert "液相色谱检测" in html and f'data-listing="{service.id}"' in html
    assert f'action="/favourites/{service.id}/remove"' in html  # shown as starred, can be removed
    client.post(f"/favourites/{service.id}/remove")
    assert _stars() == 0
    assert "液相色谱检测" not in client.get("/favourites").get_data(as_text=True)


def test_favourites_are_paged_newest_first_in_a_stable_order(client, factory, provider, enterprise):
    listings = [factory.listing(provider, title=f"服务{i}") for i in range(5)]
    with frozen_at(datetime(2026, 3, 1, 4)):  # all starred in the same instant: the id breaks the tie
        for x in listings:
            services.star(enterprise, x.id)
    pages = [services.favourites_of(enterprise, page=n, per_page=2) for n in (1, 2, 3)]
    seen = [f.listing_id for p in pages for f in p.items]
    assert seen == [x.id for x in reversed(listings)]  # no repeat, no gap
    assert pages[0].has_next and pages[1].has_next and not pages[2].has_next
    login(client, enterprise)
    assert client.get("/favourites?page=2").status_code == 200


def test_nobody_stars_what_they_cannot_see_and_anonymous_visitors_log_in_first(client, factory, provider, enterprise):
    draft = factory.listing(provider, publish=False, title="未发布的草稿")
    published = factory.listing(provider)
    response = client.post(f"/favourites/{published.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, enterprise)
    assert client.post(f"/favourites/{draft.id}").status_code == 404
    assert _stars() == 0


def test_a_withdrawn_favourite_stays_listed_as_no_longer_on_the_market(client, factory, provider, enterprise):
    from marketplace.listings import services as listings

    service = factory.listing(provider, title="将下架的服务")
    services.star(enterprise, service.id)
    listings.withdraw(provider, service.id)
    login(client, enterprise)
    html = client.get("/favourites").get_data(as_text=True)
    assert "将下架的服务" in html and "已下架" in html
    assert f'href="/listings/{service.id}"' not in html


# --- the comparison ----------------------------------------------------------------------

def _compared(html) -> list[int]:
    """The listings in the comparison table's head, left to right."""
    head = re.search(r"<thead>(.*?)</thead>", html, re.S)
    return [int(i) for i in re.findall(r'data-listing="(\d+)"', head.group(1))] if head else []


def test_compare_up_to_four_and_a_fifth_is_refused_with_a_clear_message(client, factory, provider):
    uni = factory.university()
    items = [factory.listing(provider, title=f"检测服务{i}", price_fen=100_000 * (i + 1)) for i in range(2)]
    items.append(factory.listing(provider, "instrument", title="扫描电镜", open_from_hour=8, open_to_hour=18))
    items.append(factory.listing(uni, "achievement", title="轴承钢热处理", maturity="industrial"))
    fifth = factory.listing(provider, title="第五项")
    for x in items:  # anonymous visitors compare too: the list lives in the session
        response = client.post(f"/compare/{x.id}", data={"next": f"/listings/{x.id}"})
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/listings/{x.id}")
    response = client.post(f"/compare/{fifth.id}", data={"next": "/listings"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/listings")
    assert "最多可同时对比 4 项" in client.get("/listings").get_data(as_text=True)  # said where the visitor is
    html = client.get("/compare").get_data(as_text=True)
    assert _compared(html) == [x.id for x in items]  # the fifth was not added
    for row in ("价格", "创新券", "成熟度", "每日可预约时段", "纳入大型科学仪器共享平台", "发布单位"):
        assert f"<th scope=\"row\">{row}" in html, row
    assert "08:00–18:00" in html and "¥1,000.00" in html and "¥2,000.00" in html
    assert 'class="differs"' in html  # the prices differ
    # removing one makes room for the fifth
    client.post(f"/compare/{items[0].id}/remove")
    assert client.post(f"/compare/{fifth.id}").status_code == 302
    assert _compared(client.get("/compare").get_data(as_text=True)) == [x.id for x in items[1:]] + [fifth.id]
    client.post("/compare/clear")
    assert "还没有加入对比的项目" in client.get("/compare").get_data(as_text=True)


def test_only_visible_listings_are_compared(client, factory, provider):
    draft = factory.listing(provider, publish=False)
    assert client.post(f"/compare/{draft.id}").status_code == 404
    assert _compared(client.get("/compare").get_data(as_text=True)) == []


def test_the_buttons_appear_on_the_market_and_the_listing_page(client, factory, provider, enterprise):
    service = factory.listing(provider, title="热分析检测")
    login(client, enterprise)
    for path in ("/listings", f"/listings/{service.id}"):
        html = client.get(path).get_data(as_text=True)
        assert f'action="/favourites/{service.id}"' in html and f'action="/compare/{service.id}"' in html, path
    client.post(f"/compare/{service.id}")
    html = client.get(f"/listings/{service.id}").get_data(as_text=True)
    assert f'action="/compare/{service.id}/remove"' in html  # shown as already in the comparison
    assert re.search(r'id="compare-link">对比 <span class="badge">1</span>', html)


def test_each_row_of_the_market_carries_its_own_listings_buttons(client, factory, provider, enterprise):
    """The buttons' addresses are built once a page and filled in per row: every row's forms
    name that row's listing, the starred one shows as starred, and every form has the token."""
    a, b, c = (factory.listing(provider, title=f"检测服务{i}") for i in range(3))
    login(client, enterprise)
    client.post(f"/favourites/{b.id}")
    client.post(f"/compare/{c.id}")
    html = client.get("/listings").get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-listing="(\d+)">(.*?)</tr>', html, re.S))
    assert {str(a.id), str(b.id), str(c.id)} <= set(rows)
    assert f'href="/listings/{a.id}"' in rows[str(a.id)]
    assert f'action="/favourites/{a.id}"' in rows[str(a.id)] and f'action="/compare/{a.id}"' in rows[str(a.id)]
    assert f'action="/favourites/{b.id}/remove"' in rows[str(b.id)]  # starred
    assert f'action="/compare/{c.id}/remove"' in rows[str(c.id)]  # in the comparison
    for listing_id, row in rows.items():
        actions = re.findall(r'action="/(?:favourites|compare)/(\d+)', row)
        assert actions and set(actions) == {listing_id}
        assert row.count('name="csrf_token"') == len(actions)
        assert 'name="next" value="/listings?"' in row
