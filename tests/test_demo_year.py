"""The demo city-year: exported from the ledger it evaluates with the engine, every clause
family appears, and the same queries give the same top ten on both search backends."""
import uuid

import pytest

from marketplace.demo import loader
from marketplace.demo.year import demo_year
from marketplace.extensions import db
from marketplace.ledger.scenario import build_scenario
from marketplace.ledger.services import verify, verify_business
from marketplace.search import indexing as search_index
from marketplace.subsidies import Scenario, evaluate
from search.backend import make_backend
from search.documents import SearchQuery

QUERIES = ["检测", "仪器", "专利", "色谱", "药", "小麦新品种", "HPLC", "testing", "bearing", "聊城大学", "SEM", "软件"]


@pytest.fixture()
def demo(app_ctx):
    return loader.load_all()


def test_demo_year_ledger_is_intact_and_evaluates(demo):
    assert verify(db.session).ok
    assert verify_business(db.session).ok, verify_business(db.session)
    scenario = build_scenario(db.session, demo_year())
    result = evaluate(Scenario.from_dict(scenario)).to_dict()
    clauses = {a["clause"] for a in result["awards"]}
    assert {"A1.DT", "A1.CS", "A2.city", "A3", "A4", "A4.match", "A5"} <= clauses
    reasons = " ".join(e["reason"] for e in result["excluded"])
    assert "self-use" in reasons
    # The voucher order refunded before delivery never reached the ledger's redemptions: paid
    # is not redeemed, only accepted service counts (issue 17).
    vouchers = [t for t in scenario["transactions"] if t["type"] == "voucher_service"]
    assert len(vouchers) == 3 and all(t["status"] == "paid" for t in vouchers)
    assert any(f["kind"] == "overlap" for f in result["flags"])


def test_demo_search_finds_the_right_listings(demo):
    search_index.reindex()
    titles = lambda text: [h.title for h in search_index.query(SearchQuery(text=text)).hits]  # noqa: E731
    assert "高端液相色谱仪检测服务" in titles("检测")
    assert "阿胶品质快速检测方法" in titles("检测")
    assert titles("专利")[0] == "专利导航分析服务"  # the title says 专利; patented achievements follow
    assert "一种高强度轴承钢热处理工艺" in titles("bearing")
    results = search_index.query(SearchQuery(text="检测"))
    assert "<mark>检测</mark>" in results.hits[0].title_html
    assert dict(results.facets["kind"])["service"] >= 3


def test_same_top_ten_on_both_backends_over_the_demo(demo, elasticsearch_url, tmp_path):
    docs = [search_index.to_document(x) for x in search_index.published_listings()]
    embedded = make_backend("embedded", path=str(tmp_path / "parity.sqlite"))
    elastic = make_backend("elasticsearch", url=elasticsearch_url, index=f"demo-parity-{uuid.uuid4().hex[:8]}")
    try:
        for backend in (embedded, elastic):
            backend.ensure_index()
            backend.reindex(docs)
        for text in QUERIES:
            q = SearchQuery(text=text, per_page=10)
            assert [h.id for h in embedded.query(q).hits] == [h.id for h in elastic.query(q).hits], text
    finally:
        if hasattr(elastic, "drop"):
            elastic.drop()
        embedded.close()
        elastic.close()
