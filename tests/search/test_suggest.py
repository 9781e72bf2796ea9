"""Zero results: broader queries one step away that find something, and categories to
browse — the same on both backends (only ``query`` is used)."""
from __future__ import annotations

from search import SearchQuery
from search.suggest import broader


def test_each_active_filter_dropped_on_its_own(loaded):
    q = SearchQuery(text="阿胶", kind="service", county="临清市")
    assert loaded.query(q).total == 0
    b = broader(loaded, q)
    by_filter = {s.dropped_filter: s.total for s in b.suggestions}
    assert "kind" not in by_filter  # 阿胶 in 临清市 finds nothing either: not offered
    assert by_filter["county"] == loaded.query(SearchQuery(text="阿胶", kind="service")).total > 0
    assert by_filter["all"] == loaded.query(SearchQuery(text="阿胶")).total > by_filter["county"]
    for s in b.suggestions:
        assert s.total == loaded.query(s.query).total > 0
    assert [s.dropped_filter for s in b.suggestions] == ["all", "county"]  # most results first


def test_a_word_dropped(loaded):
    q = SearchQuery(text="轴承 阿胶")
    assert loaded.query(q).total == 0
    b = broader(loaded, q)
    assert {(s.dropped_term, s.query.text) for s in b.suggestions} == {("轴承", "阿胶"), ("阿胶", "轴承")}
    assert all(s.total == loaded.query(SearchQuery(text=s.query.text)).total for s in b.suggestions)


def test_related_categories_come_from_the_broadest_suggestion(loaded):
    q = SearchQuery(text="轴承", kind="demand", county="东阿县")
    assert loaded.query(q).total == 0
    b = broader(loaded, q)
    widest = b.suggestions[0].query
    facets = loaded.query(SearchQuery(text=widest.text, kind=widest.kind, county=widest.county)).facets
    expected = [("kind", v, n) for v, n in facets["kind"] if v != "demand"] + [("field", v, n) for v, n in facets["field"]]
    assert b.related == expected[: len(b.related)] and b.related


def test_nothing_at_all_offers_the_categories_of_the_whole_index(loaded):
    q = SearchQuery(text="量子计算")
    assert loaded.query(q).total == 0
    b = broader(loaded, q)
    assert b.suggestions == []
    kinds = {v for name, v, _ in b.related if name == "kind"}
    assert kinds == {"achievement", "instrument", "service", "demand"}
