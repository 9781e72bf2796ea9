"""The portal's front page, the market's words and orders, and the site's icon, over HTTP."""
import re
from datetime import date, datetime

from marketplace.core.timeutil import beijing_today, frozen_at
from marketplace.favourites import services as favourites
from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.payments import services as payments
from tests.factories import login


def _section(html, section_id):
    match = re.search(rf'id="{section_id}".*?</section>', html, re.S)
    assert match, section_id
    return match.group(0)


def test_the_front_page_has_search_categories_featured_newest_notices_and_figures(client, factory, provider):
    uni = factory.university()
    services_ = [factory.listing(provider, title=f"检测服务{i}") for i in range(3)]
    instrument = factory.listing(provider, "instrument", title="场发射扫描电镜")
    loved = factory.listing(uni, "achievement", title="受欢迎的成果")
    other = factory.listing(uni, "achievement", title="较新的成果")
    factory.listing(uni, "achievement", title="草稿成果", publish=False)
    for _ in range(2):
        favourites.star(factory.enterprise(), loved.id)
    html = client.get("/").get_data(as_text=True)  # anonymous
    assert re.search(r'<form method="get" action="/search"[^>]*role="search"', html)
    cats = _section(html, "categories")
    for kind, n in (("achievement", 2), ("instrument", 1), ("service", 3), ("demand", 0)):
        assert f'data-kind="{kind}" data-count="{n}"' in cats, kind  # drafts are not counted
    featured = _section(html, "featured-achievement")
    assert featured.index("受欢迎的成果") < featured.index("较新的成果")  # most starred first
    assert "场发射扫描电镜" in _section(html, "featured-instrument")
    newest = _section(html, "newest")
    assert newest.index("较新的成果") < newest.index("检测服务0")  # newest first
    notices = _section(html, "latest-notices")
    assert "目前没有公示中的补助。" in notices and "目前没有公示中的协议价格。" in notices
    assert 'href="/notice"' in notices
    assert 'id="figures"' in html and str(beijing_today().year) in _section(html, "figures")
    assert 'id="my-actions"' not in html  # anonymous: no role actions
    del services_, instrument, other


def test_the_front_page_shows_claims_on_public_notice(client, factory, monkeypatch):
    from types import SimpleNamespace as NS

    from marketplace.core import paging
    from marketplace.review import services as review

    claim = NS(id=7, clause="A3", amount_fen=1_234_500, notice_until=date(2026, 12, 1),
               organization=NS(name="聊城鲁西精密机械有限公司"))
    monkeypatch.setattr(review, "on_notice", lambda page=1, per_page=50: paging.from_list([claim], 1, per_page))
    notices = _section(client.get("/").get_data(as_text=True), "latest-notices")
    assert 'data-claim="7"' in notices and "聊城鲁西精密机械有限公司" in notices and "¥12,345.00" in notices
    assert "截至 2026-12-01" in notices


def test_a_logged_in_user_keeps_the_role_actions_on_the_front_page(client, factory, enterprise):
    login(client, enterprise)
    actions = _section(client.get("/").get_data(as_text=True), "my-actions")
    for path in ("/listings", "/orders", "/favourites", "/home"):
        assert f'href="{path}"' in actions, path


def test_the_years_figures_count_a_paid_and_registered_contract_once(client, factory, enterprise):
    uni = factory.university()
    year = beijing_today().year
    patent = factory.listing(uni, "achievement", title="一项专利", price_fen=80_000_000,
                             transfer_modes=["assignment"])
    with frozen_at(datetime(year, 1, 1, 4)):  # noon in Beijing, 1 January: in this year
        order = orders.buy_achievement(enterprise, patent.id, "assignment")
        payments.checkout(enterprise, order.id)
        orders.register_contract(uni, order.contract.id, "2026370015000999", date(year, 1, 1), "transfer")
    html = client.get("/").get_data(as_text=True)
    figures = _section(html, "figures")
    assert re.search(r'id="figure-turnover">¥800,000.00<', figures), figures  # not ¥1,600,000.00
    assert re.search(r'id="figure-trades">1<', figures)
    assert 'id="figure-contracts" data-fen="80000000">1 ·' in figures


def test_the_favicon_is_served_and_linked_from_every_page(client, factory, provider, enterprise):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert response.mimetype == "image/vnd.microsoft.icon"
    service = factory.listing(provider)
    pages = ["/", "/listings", f"/listings/{service.id}", "/search?q=检测", "/notice", "/compare", "/login",
             "/no-such-page"]
    for path in pages:
        assert '<link rel="icon" href="/favicon.ico"' in client.get(path).get_data(as_text=True), path
    login(client, enterprise)
    for path in ("/home", "/favourites", "/orders"):
        assert '<link rel="icon" href="/favicon.ico"' in client.get(path).get_data(as_text=True), path


# --- the market: words, orders, pages ---------------------------------------------------------

def _ids(html):
    return [int(i) for i in re.findall(r'<tr data-listing="(\d+)"', html)]


def test_the_market_sorts_by_relevance_newest_and_price_in_a_stable_order(client, factory, provider):
    with frozen_at(datetime(2026, 3, 1, 4)):  # the same instant for all: the id breaks ties
        in_title = factory.listing(provider, title="液相色谱检测", price_fen=300_000)
        in_text = factory.listing(provider, title="成分分析", description="采用液相色谱法", price_fen=100_000)
        cheap = factory.listing(provider, title="热分析", price_fen=50_000)
        talk = factory.listing(provider, title="面议服务", negotiable=True, price_fen=None)
    html = client.get("/listings?q=液相色谱").get_data(as_text=True)
    assert _ids(html) == [in_title.id, in_text.id]  # relevance: the title match first
    assert 'data-sort="relevance" class="active"' in html
    assert _ids(client.get("/listings?q=液相色谱&sort=price_asc").get_data(as_text=True)) == [in_text.id, in_title.id]
    assert _ids(client.get("/listings?sort=price_asc").get_data(as_text=True))[:3] == [cheap.id, in_text.id,
                                                                                        in_title.id]
    assert _ids(client.get("/listings?sort=price_desc").get_data(as_text=True))[-1] == talk.id  # 面议 last
    assert _ids(client.get("/listings").get_data(as_text=True)) == [talk.id, cheap.id, in_text.id, in_title.id]
    # relevance without words is the newest order; odd input never errors
    assert client.get("/listings?sort=relevance").status_code == 200
    assert client.get("/listings?q=%25_%5C&sort=bogus&page=x").status_code == 200
    html = client.get("/listings?q=没有这个词").get_data(as_text=True)
    assert "没有包含“没有这个词”的项目" in html and 'href="/search?q=' in html
    # pages: no repeat, no gap
    seen = [x.id for n in (1, 2, 3) for x in listings.browse(None, sort="price_asc", page=n, per_page=2).items]
    assert seen == [cheap.id, in_text.id, in_title.id, talk.id]
