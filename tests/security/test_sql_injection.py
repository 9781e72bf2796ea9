"""SQL (and FTS query) injection: hostile text in the search box and in every filter, sort and
page parameter changes nothing — the same rows, a page or a clear 400, never a 500."""
from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.listings import services as listings
from tests.factories import login

INJECTIONS = (
    "' OR 1=1 --",
    "' OR '1'='1",
    '" OR ""="',
    "1; DROP TABLE listings; --",
    "') OR ('1'='1",
    "1 UNION SELECT id, email, password_hash FROM users --",
    "%' --",
    "液相色谱' OR 1=1 --",
    '液相色谱" OR "a"="a',
    "title:* OR body:*",
    "NEAR(a b) AND *",
    '"unbalanced',
    "*",
    "\\",
    "'; SELECT pg_sleep(5); --",
    "%00",
    "-1",
    "2147483648",
    "99999999999999999999999",
)
SEARCH_PARAMS = ("kind", "field", "county", "mode", "voucher", "price", "sort", "page")


def _publish(user, kind, title, **data):
    defaults = {"title": title, "description": "液相色谱检测", "price_fen": 500_000, "negotiable": False,
                "field": "检验检测", "county": "东昌府区"}
    if kind == "instrument":
        defaults.update(price_unit="hour", internal_price_fen=10_000, open_from_hour=8, open_to_hour=18)
    defaults.update(data)
    return listings.publish(user, listings.create_listing(user, kind, defaults).id)


@pytest.fixture()
def market(factory):
    provider = factory.user("provider")
    for i in range(3):
        _publish(provider, "service", f"高端液相色谱仪检测服务{i}")
    _publish(provider, "instrument", "扫描电子显微镜")
    listings.create_listing(provider, "service", {"title": "草稿液相色谱", "description": "液相色谱", "price_fen": 100})
    withdrawn = _publish(provider, "service", "撤回液相色谱")
    listings.withdraw(provider, withdrawn.id)
    from marketplace.search.indexing import reindex

    reindex()  # the index holds exactly these four (and nothing left by other tests)
    return provider


def _row_counts():
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _total(html: str) -> int | None:
    # "N results" / "N 条结果": the count the page states.
    match = re.search(r'<p class="lead">\D*(\d+)', html)
    return int(match.group(1)) if match else None


def _hits(html: str) -> list[str]:
    return re.findall(r'<article class="hit">\s*<h2><a href="([^"]+)"', html)


def test_injections_in_search_text_find_nothing_extra_and_never_fail(client, market):
    before = _row_counts()
    plain = client.get("/search?q=液相色谱").get_data(as_text=True)
    published = set(_hits(plain))
    assert len(published) == 4
    for text in INJECTIONS:
        response = client.get("/search?" + urlencode({"q": text}))
        assert response.status_code in (200, 400), (text, response.status_code)
        if response.status_code == 200:
            html = response.get_data(as_text=True)
            # Only published listings, whatever the text: no "OR 1=1" reaches the draft and the
            # withdrawn listing (which also say 液相色谱), nor anything that is not a listing.
            assert set(_hits(html)) <= published, (text, _hits(html))
            if any(word in text for word in ("DROP", "UNION", "pg_sleep", "title:", "NEAR")):
                assert _hits(html) == [], (text, _hits(html))  # words no listing contains
    for path in ("/listings", "/listings?kind=service", "/search?q=液相色谱&kind=service"):
        html = client.get(path).get_data(as_text=True)
        assert "草稿液相色谱" not in html and "撤回液相色谱" not in html
    assert _row_counts() == before


@pytest.mark.parametrize("param", SEARCH_PARAMS)
def test_injections_in_every_filter_sort_and_page_parameter_change_nothing(client, market, param):
    before = _row_counts()
    baseline = client.get("/search?q=液相色谱").get_data(as_text=True)
    assert len(_hits(baseline)) == 4
    for text in INJECTIONS:
        response = client.get("/search?" + urlencode({"q": "液相色谱", param: text}))
        assert response.status_code in (200, 400), (param, text, response.status_code)
        if response.status_code != 200:
            continue
        html = response.get_data(as_text=True)
        if param in ("field", "county", "mode"):
            # A value no listing has: it narrows to nothing, never widens.
            assert set(_hits(html)) <= set(_hits(baseline)), (param, text)
            assert _hits(html) == [], (param, text)
        elif param == "page" and text == "-1":
            assert _hits(html) == _hits(baseline)
        else:
            # Not one of the allowed values: ignored, the same results as without it.
            assert sorted(_hits(html)) == sorted(_hits(baseline)), (param, text)
    assert _row_counts() == before


def test_injections_in_listing_browse_login_and_ids_never_fail(client, factory, market):
    before = _row_counts()
    for text in INJECTIONS:
        response = client.get("/listings?" + urlencode({"kind": text}))
        assert response.status_code in (200, 400, 404), (text, response.status_code)
        response = client.post("/login", data={"email": text, "password": text})
        assert response.status_code == 400, text  # a clear form error, nobody logged in
        response = client.post("/login", data={"email": f"a{text}@example.com", "password": text})
        assert response.status_code in (400,), text
        assert client.get("/home").status_code == 302  # still anonymous
        for path in ("/listings/{}", "/orders/{}", "/enquiries/{}"):
            response = client.get(path.format(text.replace("/", "%2F")))
            assert response.status_code in (302, 400, 404), (path, text, response.status_code)
    user = factory.user("enterprise")
    login(client, user)
    for text in INJECTIONS:
        response = client.get("/search?" + urlencode({"q": text, "sort": text, "kind": text}))
        assert response.status_code in (200, 400)
    after = _row_counts()
    after.pop("login_throttles")  # failed logins are counted (per e-mail and address), by design
    before.pop("login_throttles")
    assert after == {**before, "users": before["users"] + 1, "organizations": before["organizations"] + 1,
                     "memberships": before["memberships"] + 1}
