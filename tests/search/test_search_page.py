"""The search page as people use it: codes found by their names, each active filter
removable on its own, and a zero-result page that offers a way on."""
from __future__ import annotations

import re
from html import unescape

from marketplace.listings import services as listings
from marketplace.search import indexing as search_index


def _publish(user, kind, **data):
    listing = listings.create_listing(user, kind, data)
    listings.publish(user, listing.id)
    return listing


def _links(page: str) -> list[tuple[str, str]]:
    return [(unescape(href), re.sub(r"<[^>]+>", "", text).strip())
            for href, text in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>(.*?)</a>', page, re.S)]


def _setup(factory):
    provider = factory.user("provider", kind="agency", service_agency=True, name="聊城大学分析测试中心",
                            name_en="Liaocheng University Analysis Center")
    university = factory.user("university", kind="university")
    hplc = _publish(provider, "instrument", title="高效液相色谱仪", price_fen=80_000, price_unit="sample",
                    field="生物医药", county="东昌府区")
    press = _publish(provider, "instrument", title="万能材料试验机", price_fen=50_000, price_unit="hour",
                     field="新材料", county="临清市")
    patent = _publish(university, "achievement", title="一种聚丙烯复合材料", ip_kind="invention_patent",
                      transfer_modes=["assignment"], field="新材料", price_fen=5_000_000)
    search_index.reindex()
    return hplc, press, patent


def test_codes_and_english_names_are_searchable(client, factory):
    hplc, press, patent = _setup(factory)
    page = client.get("/search?q=仪器").get_data(as_text=True)
    assert "高效液相色谱仪" in page and "万能材料试验机" in page and "聚丙烯" not in page
    page = client.get("/search?q=技术转让").get_data(as_text=True)
    assert "一种聚丙烯复合材料" in page and "色谱仪" not in page
    page = client.get("/search?q=专利").get_data(as_text=True)  # IP kind: 发明专利
    assert "一种聚丙烯复合材料" in page
    page = client.get("/search?q=analysis").get_data(as_text=True)  # the organisation's English name
    assert "高效液相色谱仪" in page and "一种聚丙烯复合材料" not in page


def test_each_active_filter_is_removed_on_its_own(client, factory):
    _setup(factory)
    page = client.get("/search", query_string={"q": "仪器", "kind": "instrument", "county": "临清市",
                                               "sort": "price_asc"}).get_data(as_text=True)
    assert "万能材料试验机" in page and "高效液相色谱仪" not in page
    chips = {text: href for href, text in _links(page) if "×" in text}
    assert len(chips) == 2
    [kind_chip] = [h for t, h in chips.items() if "仪器" in t or "Instrument" in t]
    [county_chip] = [h for t, h in chips.items() if "临清市" in t]
    assert "kind=" not in kind_chip and "county=" in kind_chip and "sort=price_asc" in kind_chip and "q=" in kind_chip
    assert "county=" not in county_chip and "kind=instrument" in county_chip
    page = client.get(county_chip).get_data(as_text=True)
    assert "万能材料试验机" in page and "高效液相色谱仪" in page


def test_zero_results_suggest_a_broader_query_and_categories(client, factory):
    _setup(factory)
    response = client.get("/search", query_string={"q": "色谱仪", "county": "临清市"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    links = _links(page)
    broader = [href for href, text in links if "临清市" in text and "county=" not in href and "q=" in href]
    assert broader, links  # "without the filter 临清市 (1 result)"
    assert "高效液相<mark>色谱仪</mark>" in client.get(broader[0]).get_data(as_text=True)
    page = client.get("/search", query_string={"q": "色谱仪 轴承"}).get_data(as_text=True)
    assert any("q=%E8%89%B2%E8%B0%B1%E4%BB%AA" in href or "q=色谱仪" in href for href, _ in _links(page))
    page = client.get("/search", query_string={"q": "量子计算"}).get_data(as_text=True)
    related = [href for href, _ in _links(page) if "kind=instrument" in href or "field=" in href]
    assert related  # categories to browse instead of a blank page
