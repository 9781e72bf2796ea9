"""One suite, run against every backend (see conftest.BACKENDS)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from search import Document, SearchBackend, SearchQuery
from search.text import tokens

from . import oracle
from .corpus import corpus

DOCS = corpus()
BY_ID = {d.id: d for d in DOCS}


def ids(results):
    return [h.id for h in results.hits]


def titles(results):
    return [h.title for h in results.hits]


def search(b, text="", **kw):
    return b.query(SearchQuery(text=text, per_page=kw.pop("per_page", 100), **kw))


def doc(id_, title="标题", body="", **kw):
    base = dict(kind="service", org_name="聊城某机构", field=None, county=None, transfer_modes=[],
                voucher_eligible=False, price_fen=None,
                published_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    base.update(kw)
    return Document(id=id_, title=title, body=body, **base)


def test_is_a_search_backend(loaded):
    assert isinstance(loaded, SearchBackend)
    assert loaded.count() == len(DOCS)


# ------------------------------------------------------------------ Chinese ----

def test_two_character_chinese_finds_substring(loaded):
    r = search(loaded, "检测")
    assert "高端液相色谱仪检测服务" in titles(r)
    assert r.total == oracle.search(DOCS, SearchQuery(text="检测", per_page=100))[1]
    assert r.total >= 15


def test_one_character_chinese(loaded):
    r = search(loaded, "药")
    assert "药品检验检测服务" in titles(r)
    assert "药用辅料羟丙甲纤维素制备方法" in titles(r)
    assert all("药" in BY_ID[h.id].title + BY_ID[h.id].body + BY_ID[h.id].org_name + BY_ID[h.id].tags for h in r.hits)
    assert r.total == oracle.search(DOCS, SearchQuery(text="药", per_page=100))[1]


def test_three_plus_character_chinese(loaded):
    assert titles(search(loaded, "色谱仪")) == ["高端液相色谱仪检测服务"]
    assert "扫描电镜（SEM）形貌分析" in titles(search(loaded, "扫描电镜"))
    assert "高端液相色谱仪检测服务" in titles(search(loaded, "液相色谱仪检测服务"))


def test_chinese_is_substring_not_scattered_characters(loaded):
    # 测 and 检 both occur in many listings, but "测检" as a run occurs in none
    assert search(loaded, "测检").total == 0
    assert search(loaded, "谱仪色").total == 0


def test_full_width_and_punctuation_in_query_are_normalised(loaded):
    assert ids(search(loaded, "ＨＰＬＣ")) == ids(search(loaded, "hplc"))
    # punctuation inside a Chinese term only separates tokens: 扫描电镜（SEM） ~ 电镜 sem
    assert "扫描电镜（SEM）形貌分析" in titles(search(loaded, "电镜（SEM）"))


# ------------------------------------------------------------------ English ----

def test_english_is_case_folded(loaded):
    lower, upper, mixed = (ids(search(loaded, t)) for t in ("hplc", "HPLC", "HpLc"))
    assert lower == upper == mixed
    assert {"instrument:1", "service:10"} <= set(lower)


def test_english_matches_whole_words_only(loaded):
    eds = ids(search(loaded, "eds"))  # a word without synonyms
    assert {"instrument:2", "instrument:8", "demand:6"} <= set(eds)
    for i in eds:
        d = BY_ID[i]
        assert "eds" in tokens(d.title) + tokens(d.body) + tokens(d.org_name)
    assert set(ids(search(loaded, "semiconductor"))) == {"instrument:8", "demand:14"}
    assert search(loaded, "semi").total == 0
    assert search(loaded, "microscop").total == 0
    # the whole word first; its synonyms (电镜, sem) bring the Chinese listings too
    microscope = ids(search(loaded, "microscope"))
    assert microscope[0] == "instrument:8" and "instrument:2" in microscope


def test_hyphenated_and_mixed_terms(loaded):
    assert "instrument:3" in ids(search(loaded, "GC-MS"))
    assert "instrument:3" in ids(search(loaded, "gc ms"))
    assert "service:10" in ids(search(loaded, "hplc-uv"))


# ------------------------------------------------------------------ AND, score ----

def test_every_term_must_match(loaded):
    both = set(ids(search(loaded, "检测 轴承")))
    assert both == set(ids(search(loaded, "检测"))) & set(ids(search(loaded, "轴承")))
    assert both and "instrument:6" in both
    assert search(loaded, "轴承 阿胶").total == 0
    assert set(ids(search(loaded, "sem eds"))) == {"instrument:2", "instrument:8", "demand:6"}


def test_title_match_outranks_body_match(loaded):
    r = search(loaded, "阿胶")
    first = r.hits[0]
    assert "阿胶" in first.title and "阿胶" in first.org_name
    assert first.score == 8  # the best tier: the typed word in the title
    body_only = [h for h in r.hits if "阿胶" not in h.title and "阿胶" not in h.org_name + h.county]
    assert all(h.score == 2 for h in body_only)
    assert [h.score for h in r.hits] == sorted((h.score for h in r.hits), reverse=True)


def test_scores_sum_over_terms(loaded):
    r = search(loaded, "轴承 检测")
    expected = oracle.search(DOCS, SearchQuery(text="轴承 检测", per_page=100))[0]
    assert [(h.id, h.score) for h in r.hits] == [(i, float(s)) for i, s in expected]


def test_relevance_ties_newest_first_then_id(loaded):
    r = search(loaded, "检测")
    keys = [(-h.score, -h.published_at.timestamp(), h.id) for h in r.hits]
    assert keys == sorted(keys)
    # the three oldest listings were published at the same moment: the id breaks the tie
    r = search(loaded, "", sort="newest")
    assert ids(r)[-3:] == ["achievement:19", "demand:14", "demand:15"]


# ------------------------------------------------------------------ filters ----

@pytest.mark.parametrize("filters", [
    dict(kind="instrument"),
    dict(kind="achievement", field="新材料"),
    dict(county="临清市"),
    dict(transfer_mode="co_development"),
    dict(transfer_mode="equity", kind="achievement"),
    dict(voucher_eligible=True),
    dict(voucher_eligible=False, county="东昌府区"),
    dict(price_min_fen=1_000_000),
    dict(price_max_fen=100_000),
    dict(price_min_fen=100_000, price_max_fen=1_000_000),
    dict(field="不存在的领域"),
    dict(transfer_mode="no_such_mode"),
])
@pytest.mark.parametrize("text", ["", "检测", "技术", "sem"])
def test_filters_match_the_rules(loaded, filters, text):
    q = SearchQuery(text=text, per_page=100, **filters)
    r = loaded.query(q)
    expected, total = oracle.search(DOCS, q)
    assert r.total == total
    assert [(h.id, h.score) for h in r.hits] == [(i, float(s)) for i, s in expected]


def test_price_bounds_are_inclusive_and_exclude_negotiable(loaded):
    r = search(loaded, price_min_fen=80_000, price_max_fen=80_000)  # 800 yuan exactly
    assert ids(r) == ["instrument:1"]
    r = search(loaded, price_min_fen=0)
    assert all(h.price_fen is not None for h in r.hits)
    assert r.total == sum(d.price_fen is not None for d in DOCS)


# ------------------------------------------------------------------ facets ----

@pytest.mark.parametrize("q", [
    SearchQuery(),
    SearchQuery(text="检测"),
    SearchQuery(text="药"),
    SearchQuery(text="专利", kind="achievement"),
    SearchQuery(county="东昌府区", voucher_eligible=True),
    SearchQuery(text="sem"),
    SearchQuery(price_min_fen=1_000_000),
])
def test_each_facet_counts(loaded, q):
    r = loaded.query(q)
    expected = oracle.facets(DOCS, q)
    for name, counts in expected.items():
        assert dict(r.facets[name]) == counts, name
        values = r.facets[name]
        if name != "price_range":
            assert values == sorted(values, key=lambda vn: (-vn[1], str(vn[0])))
    assert sum(n for _, n in r.facets["kind"]) == r.total


def test_price_range_buckets(loaded):
    r = search(loaded)
    buckets = dict(r.facets["price_range"])
    fen = [d.price_fen for d in DOCS]
    assert buckets["lt_1w"] == sum(p is not None and p < 1_000_000 for p in fen)
    assert buckets["1w_10w"] == sum(p is not None and 1_000_000 <= p < 10_000_000 for p in fen)
    assert buckets["10w_100w"] == sum(p is not None and 10_000_000 <= p < 100_000_000 for p in fen)
    assert buckets["gte_100w"] == sum(p is not None and p >= 100_000_000 for p in fen)
    assert buckets["negotiable"] == sum(p is None for p in fen)
    assert [k for k, _ in r.facets["price_range"]] == ["lt_1w", "1w_10w", "10w_100w", "gte_100w", "negotiable"]


def test_voucher_facet_values_are_booleans(loaded):
    r = search(loaded)
    assert {v for v, _ in r.facets["voucher_eligible"]} == {True, False}
    assert dict(r.facets["voucher_eligible"])[True] == sum(d.voucher_eligible for d in DOCS)


def test_facets_can_be_skipped(loaded):
    r = loaded.query(SearchQuery(text="检测", facets=False))
    assert r.facets == {}
    assert r.total == loaded.query(SearchQuery(text="检测")).total


# ------------------------------------------------------------------ sorts, paging ----

@pytest.mark.parametrize("sort", ["relevance", "price_asc", "price_desc", "newest"])
@pytest.mark.parametrize("text", ["", "检测", "技术 合作"])
def test_sorts(loaded, sort, text):
    q = SearchQuery(text=text, sort=sort, per_page=100)
    expected, _ = oracle.search(DOCS, q)
    assert ids(loaded.query(q)) == [i for i, _ in expected]


def test_price_sorts_put_negotiable_last(loaded):
    for sort in ("price_asc", "price_desc"):
        prices = [h.price_fen for h in search(loaded, sort=sort).hits]
        n = prices.index(None)
        assert all(p is None for p in prices[n:])
        assert prices[:n] == sorted(prices[:n], reverse=sort == "price_desc")


def test_empty_query_lists_everything_newest_first(loaded):
    r = search(loaded, "")
    assert r.total == len(DOCS)
    assert ids(r) == [d.id for d in sorted(DOCS, key=lambda d: (-d.published_at.timestamp(), d.id))]
    assert all(h.score == 0 for h in r.hits)
    assert ids(search(loaded, "   ")) == ids(r)


def test_paging(loaded):
    everything = ids(search(loaded, "检测", per_page=100))
    pages = []
    for page in range(1, 10):
        r = loaded.query(SearchQuery(text="检测", page=page, per_page=7))
        assert r.total == len(everything)
        pages += ids(r)
        if not r.hits:
            break
    assert pages == everything
    beyond = loaded.query(SearchQuery(text="检测", page=10_000, per_page=20))
    assert beyond.hits == [] and beyond.total == len(everything)


# ------------------------------------------------------------------ highlights ----

def test_highlights_are_escaped(loaded):
    r = search(loaded, "script")
    [hit] = r.hits
    assert hit.title.startswith("<script>")
    assert "<script>" not in hit.title_html
    assert hit.title_html.startswith("&lt;<mark>script</mark>&gt;alert(&#x27;x&#x27;)&lt;/<mark>script</mark>&gt;")
    assert "<b>" not in hit.snippet_html and "&lt;b&gt;HTML&lt;/b&gt;" in hit.snippet_html
    assert "&amp;" in hit.snippet_html


def test_highlight_marks_every_term(loaded):
    [hit] = search(loaded, "色谱仪 HPLC").hits
    assert hit.title_html == "高端<mark>液相色谱仪</mark>检测服务"  # HPLC's synonym 液相 marked too
    assert "<mark>HPLC</mark>" in hit.snippet_html
    assert hit.snippet_html.count("<mark>") >= 2


def test_empty_query_highlights_nothing(loaded):
    hit = search(loaded, "", per_page=1).hits[0]
    assert "<mark>" not in hit.title_html and "<mark>" not in hit.snippet_html


def test_hit_carries_the_listing(loaded):
    [hit] = search(loaded, "色谱仪").hits
    d = BY_ID["instrument:1"]
    assert (hit.kind, hit.org_name, hit.field, hit.county, hit.price_fen, hit.voucher_eligible) == (
        d.kind, d.org_name, d.field, d.county, d.price_fen, d.voucher_eligible)
    assert hit.published_at == d.published_at
    assert isinstance(hit.price_fen, int)


# ------------------------------------------------------------------ hostile text ----

@pytest.mark.parametrize("text", [
    "' OR 1=1 --", '"', "*", "NEAR(", "NEAR(检测 轴承, 5)", "检测*", '"检测"', "col:检测",
    "title:hplc", "^检测", "检测 OR 轴承", "AND", "NOT 检测", "(", ")", "-", "+检测", "{ct}: x",
    "'; DROP TABLE docs; --", "%", "_", "\\", "\x00", "检测\u3000轴承", "a" * 500, "检" * 300,
])
def test_hostile_text_neither_errors_nor_changes_anything(loaded, text):
    q = SearchQuery(text=text, per_page=100)
    r = loaded.query(q)
    assert r.total == oracle.search(DOCS, q)[1]
    assert loaded.count() == len(DOCS)


def test_operator_words_are_plain_words(loaded):
    assert search(loaded, "检测 OR 轴承").total == 0  # no listing contains the word "or"
    assert search(loaded, "*").total == len(DOCS)  # no tokens: like an empty query


# ------------------------------------------------------------------ writes ----

def test_index_replaces_by_id_and_delete_is_immediate(backend):
    backend.index([doc("service:1", "液相色谱检测"), doc("service:2", "扫描电镜")])
    assert ids(search(backend, "检测")) == ["service:1"]
    backend.index([doc("service:1", "气相色谱")])  # an edit replaces
    assert search(backend, "检测").total == 0
    assert ids(search(backend, "色谱")) == ["service:1"]
    assert backend.count() == 2
    backend.delete(["service:1", "never-indexed"])
    assert search(backend, "色谱").total == 0
    assert backend.count() == 1
    backend.delete([])
    backend.index([])


def test_reindex_replaces_everything(backend):
    backend.index([doc("service:1", "旧的检测服务"), doc("service:2", "旧的电镜")])
    seen = []
    n = backend.reindex((d for d in DOCS), progress=seen.append)  # a generator: streamed
    assert n == len(DOCS) and seen[-1] == len(DOCS)
    assert backend.count() == len(DOCS)
    assert search(backend, "旧的").total == 0
    assert "高端液相色谱仪检测服务" in titles(search(backend, "检测"))
    assert backend.reindex([]) == 0
    assert backend.count() == 0
    backend.index([doc("service:3", "新的")])  # still writable after a reindex
    assert ids(search(backend, "新的")) == ["service:3"]


def test_short_chinese_terms_at_run_ends_and_per_field(backend):
    """One character alone, at the end of a run, in each field; two characters only when adjacent."""
    docs = [
        doc("service:1", title="HPLC 药 检", body="中 x 药"),  # 药 a run of its own, in the title
        doc("service:2", title="标题", body="西洋中药。"),  # at the end of a run, in the body
        doc("service:3", title="标题", body="无", org_name="聊城制药"),  # in the org name
        doc("service:4", title="标题", body="约定"),  # neither
    ]
    backend.index(docs)
    for text in ("药", "中药", "检", "标题", "题", "洋", "聊城制药"):
        q = SearchQuery(text=text, per_page=100)
        r = backend.query(q)
        assert ids(r) == [i for i, _ in oracle.search(docs, q)[0]], text
    assert ids(search(backend, "药")) == ["service:1", "service:3", "service:2"]  # title, org, body
    assert ids(search(backend, "中药")) == ["service:2"]  # "中 x 药" is not adjacent
    backend.index([doc("service:2", title="标题", body="西洋参")])  # replaced: its old tokens go
    backend.delete(["service:1"])
    assert ids(search(backend, "药")) == ["service:3"]
    assert search(backend, "中药").total == 0 and search(backend, "检").total == 0
    assert ids(search(backend, "洋参")) == ["service:2"]


def test_big_reindex_then_edits(backend):
    """A reindex big enough to be prepared in chunks (by a helper process, embedded) is
    edited afterwards by this process: the removed rows leave nothing behind."""
    docs = [doc(f"service:{i}", title=f"标题{i}号", body="罕见" if i == 3001 else "常见",
                published_at=datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=i))
            for i in range(1, 4502)]
    assert backend.reindex(iter(docs)) == len(docs)
    assert ids(search(backend, "罕")) == ["service:3001"]
    assert search(backend, "号").total == len(docs)
    backend.delete(["service:3001", "service:4500", "service:1"])
    backend.index([doc("service:2", title="改了", body="常见")])
    assert search(backend, "罕").total == 0 and search(backend, "罕见").total == 0
    assert search(backend, "号").total == len(docs) - 4
    assert search(backend, "题").total == len(docs) - 4
    assert search(backend, "常见").total == len(docs) - 3  # not 3001 (罕见), 4500, 1
    assert ids(search(backend, "改")) == ["service:2"]


def test_reindex_rejects_duplicate_ids_and_keeps_the_old_index(backend):
    backend.index([doc("service:1", "旧的检测服务")])
    with pytest.raises(ValueError):
        backend.reindex([doc("service:2", "甲"), doc("service:2", "乙")])
    assert ids(search(backend, "旧的")) == ["service:1"]


def test_ensure_index_is_idempotent(backend):
    backend.index([doc("service:1", "检测")])
    backend.ensure_index()
    assert backend.count() == 1


def test_documents_reject_bad_values():
    with pytest.raises(ValueError):
        doc("x:1", price_fen=12.5)
    with pytest.raises(ValueError):
        doc("x:1", kind="other")
    with pytest.raises(ValueError):
        doc("x:1", transfer_modes=["sale"])
    with pytest.raises(ValueError):
        SearchQuery(sort="random")
    with pytest.raises(ValueError):
        SearchQuery(per_page=1000)


def test_naive_datetimes_are_utc_and_order_by_millisecond(backend):
    t = datetime(2026, 5, 1, 8, 0, 0)
    backend.index([
        doc("service:1", "检测", published_at=t),
        doc("service:2", "检测", published_at=(t + timedelta(milliseconds=1)).replace(tzinfo=timezone.utc)),
        doc("service:3", "检测", published_at=t + timedelta(microseconds=10)),  # same ms as 1
    ])
    assert ids(search(backend, "检测")) == ["service:2", "service:1", "service:3"]
    assert search(backend, "检测").hits[1].published_at == t.replace(tzinfo=timezone.utc)


def test_big_prices_are_exact(backend):
    big = 9_007_199_254_740_993  # 2**53 + 1: not representable as a double
    backend.index([doc("service:1", "大额", price_fen=big)])
    [hit] = search(backend, "大额").hits
    assert hit.price_fen == big
    assert ids(search(backend, price_min_fen=big)) == ["service:1"]
    assert search(backend, price_min_fen=big + 1).total == 0


def test_writes_during_a_reindex_are_not_lost(backend):
    """Another process edits, withdraws and publishes listings while a reindex streams
    older versions of them: after the reindex the live writes win.

    Elasticsearch applies them at once (to the old index and, through the
    ``-reindexing`` alias, to the one being loaded); the embedded backend makes the
    writer wait for the reindex transaction and applies them after it."""
    import threading

    from search.elastic import ElasticsearchBackend
    from search.fts5 import EmbeddedBackend

    if isinstance(backend, ElasticsearchBackend):
        other = ElasticsearchBackend(url=backend.url, index=backend.alias)  # "another process"
    else:
        other = EmbeddedBackend(backend.path)
    stale_a = doc("service:901", "旧的检测服务")
    stale_b = doc("service:902", "将被撤下的电镜")
    backend.index([stale_a, stale_b])

    def live_writes():
        other.index([doc("service:901", "新的检测服务")])  # an edit
        other.delete(["service:902"])  # a withdrawal
        other.index([doc("service:903", "新发布的色谱")])  # a new listing

    writer = threading.Thread(target=live_writes)

    def stream():
        yield from DOCS[:10]
        writer.start()
        writer.join(timeout=15)  # Elasticsearch: done now (each write waits for a refresh); embedded: waits for our COMMIT
        if isinstance(backend, ElasticsearchBackend):
            assert not writer.is_alive()
        yield stale_a  # read from the app database before the edit / withdrawal
        yield stale_b
        yield from DOCS[10:20]

    try:
        assert backend.reindex(stream()) == 22
    finally:
        writer.join(timeout=60)
        other.close()
    assert not writer.is_alive()
    assert ids(search(backend, "新的")) == ["service:901"]
    assert search(backend, "旧的").total == 0
    assert search(backend, "撤下").total == 0
    assert ids(search(backend, "新发布")) == ["service:903"]
    assert backend.count() == 22  # 20 from the corpus + service:901 + service:903
    backend.index([doc("service:902", "重新发布的电镜")])  # writable as usual afterwards
    assert ids(search(backend, "重新发布")) == ["service:902"]


# ------------------------------------------------------------------ what people mean ----

def test_kind_and_transfer_mode_words_find_their_listings(loaded):
    """仪器 finds every instrument, though most titles say 色谱仪 / 试验机 / 测量机;
    技术转让 finds the achievements offered for assignment; English words too."""
    instruments = {d.id for d in DOCS if d.kind == "instrument"}
    for text in ("仪器", "仪器设备", "instrument", "设备"):
        assert instruments <= set(ids(search(loaded, text))), text
    assigned = {d.id for d in DOCS if d.kind == "achievement" and "assignment" in d.transfer_modes}
    r = search(loaded, "技术转让", kind="achievement")
    assert set(ids(r)) == assigned
    assert set(ids(search(loaded, "assignment", kind="achievement"))) == assigned
    # typed word in the title (转让) outranks a listing found only through its mode's words
    assert search(loaded, "转让").hits[0].id == "demand:5"  # 需要专利转让：新型农机具


def test_field_county_and_english_organisation_words(loaded):
    field = {d.id for d in DOCS if d.field == "现代农业"}
    assert field <= set(ids(search(loaded, "agriculture")))
    linqing = {d.id for d in DOCS if d.county == "临清市"}
    assert set(ids(search(loaded, "linqing"))) >= linqing
    assert set(ids(search(loaded, "临清"))) >= linqing


def test_synonyms_find_the_same_listings(loaded):
    """检测 / 检验 / 测试 are one group: each finds the listings of the others."""
    group = [set(ids(search(loaded, t))) for t in ("检测", "检验", "测试", "testing")]
    assert group[0] == group[1] == group[2] == group[3]
    assert "service:1" in group[0]  # 药品检验检测服务
    assert "instrument:7" in set(ids(search(loaded, "检验")))  # ICP-MS：重金属元素检测, no 检验 in it
    # the word typed counts double: with 检验, titles saying 检验 come before those saying 检测
    r = search(loaded, "检验")
    first = r.hits[0]
    assert "检验" in first.title


def test_patent_finds_inventions(loaded):
    r = set(ids(search(loaded, "发明")))
    assert {"achievement:1", "achievement:3"} <= r  # say 发明专利
    assert "service:4" in set(ids(search(loaded, "发明")))  # 专利代理服务 via 专利
