"""Search through the platform: listings reach the index after commit, never stale."""
import json

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.outbox import OutboxEntry
from marketplace.search import indexing as search_index
from search.documents import SearchQuery
from tests.factories import login


def _ids(text, **filters):
    return [h.id for h in search_index.query(SearchQuery(text=text, **filters)).hits]


def _publish_via_web(client, user, title, price="50000"):
    login(client, user)
    response = client.post("/listings/new/service", data={"title": title, "description": "CMA认证 HPLC testing",
                                                         "price": price, "field": "检验检测"})
    listing_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/listings/{listing_id}/publish")
    return listing_id


def test_publish_and_withdraw_reach_the_index_at_once(client, factory):
    provider = factory.user("provider", kind="agency", service_agency=True)
    search_index.reindex()
    listing_id = _publish_via_web(client, provider, "高端液相色谱仪检测服务")
    assert _ids("检测") == [f"service:{listing_id}"]  # two Chinese characters
    assert _ids("色谱仪") == [f"service:{listing_id}"]
    assert _ids("hplc") == [f"service:{listing_id}"]  # English, case-folded
    page = client.get("/search?q=检测").get_data(as_text=True)
    assert "<mark>检测</mark>" in page and "检验检测" in page  # highlight and the field facet
    client.post(f"/listings/{listing_id}/withdraw")
    assert _ids("检测") == []
    assert db.session.scalar(select(func.count()).select_from(OutboxEntry)) == 0


def test_drafts_never_reach_the_index(client, factory):
    provider = factory.user("provider", kind="agency")
    search_index.reindex()
    login(client, provider)
    client.post("/listings/new/service", data={"title": "草稿检测服务", "price": "100"})
    assert _ids("草稿") == []


def test_a_crash_between_commit_and_index_is_caught_up_by_the_next_drain(app_ctx, factory):
    provider = factory.user("provider", kind="agency")
    search_index.reindex()
    listing = listings.create_listing(provider, "service", {"title": "扫描电镜测试服务", "price_fen": 100})
    listings.publish(provider, listing.id)  # committed; no request, so no drain ran: the "crash"
    assert _ids("电镜") == []
    assert db.session.scalar(select(func.count()).select_from(OutboxEntry)) == 1
    runner = app_ctx.test_cli_runner()
    assert "applied 1" in runner.invoke(args=["search", "drain"]).output
    assert _ids("电镜") == [f"service:{listing.id}"]


def test_reindex_and_query_cli(app_ctx, factory):
    provider = factory.user("provider", kind="agency")
    listing = listings.create_listing(provider, "service", {"title": "专利导航分析服务", "price_fen": 300_000})
    listings.publish(provider, listing.id)
    runner = app_ctx.test_cli_runner()
    assert "indexed 1" in runner.invoke(args=["search", "reindex"]).output
    result = runner.invoke(args=["search", "query", "专利", "--json"])
    assert json.loads(result.output)["hits"][0]["id"] == f"service:{listing.id}"


def test_search_page_survives_hostile_input(client):
    search_index.reindex()
    for q in ("' OR 1=1 --", '"', "*", "NEAR(", "<script>alert(1)</script>"):
        response = client.get("/search", query_string={"q": q, "page": "x", "price": "nope", "sort": "drop"})
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
