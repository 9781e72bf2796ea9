"""The embedded backend's selections are bit sets (one bit per listing) and its scores bit
planes: the hits, scores, totals and facets they give are the rules' (the oracle's), cold
— sums of several terms whose tiers carry across planes, pages deep into a score level
and past whole bytes, positions set bit by bit or packed from a byte mask, and changed
listings in the tail merged into every kind of page."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from search import SearchQuery, fts5
from search.fts5 import EmbeddedBackend, _add_planes, _bits_at, _positions, _scores_at

from . import oracle
from .corpus import reindexed
from .test_embedded_fast_paths import _many_names

QUERIES = [
    # two and three terms: per-term tiers 1..8 summed, carries into higher planes
    SearchQuery(text="检测 聊城大学", per_page=100),
    SearchQuery(text="色谱 检测 分部", per_page=50),
    SearchQuery(text="液相色谱 检测 中心", per_page=7, page=3),
    SearchQuery(text="检测", per_page=9, page=11),  # deep: whole score levels and bytes skipped
    SearchQuery(text="检测 分部", per_page=13, page=5, county="东昌府区"),
    SearchQuery(text="轴承 检测", per_page=4, page=2, sort="newest"),  # scores of a page not by score
    SearchQuery(text="专利 服务", per_page=5, sort="price_asc"),
    SearchQuery(text="", per_page=17, page=6),  # newest first, past many bytes
    SearchQuery(text="", per_page=3, page=40, sort="price_desc", voucher_eligible=True),
    SearchQuery(text="HPLC method", per_page=20),
    SearchQuery(text="3分部 色谱", per_page=100, price_min_fen=100_000, price_max_fen=5_000_000),
    # long terms: three characters (one trigram: its bitmap is the answer), longer ones
    # whose trigrams also occur apart ("检测中心" vs "检测" ... "中心"), Latin
    SearchQuery(text="液相色谱仪", per_page=100),
    SearchQuery(text="检测中心", per_page=100),
    SearchQuery(text="测试中心 服务", per_page=100),
    SearchQuery(text="聊城大学 检测服务", per_page=100),
    SearchQuery(text="failure analysis", per_page=100),
    SearchQuery(text="质量检验", per_page=100),
]


# positions packed from a byte mask / set bit by bit; every token and trigram with a bitmap
# (long terms from trigram bitmaps, less the listings holding their trigrams apart) / only
# those of half the listings (most long terms asked of FTS5's phrase query)
@pytest.mark.parametrize(("loop_below", "share"), [(1, 64), (10**9, 64), (1, 2), (10**9, 2)])
def test_bit_sets_and_score_planes_give_the_rules_answers(tmp_path, monkeypatch, loop_below, share):
    monkeypatch.setattr(fts5, "_LOOP_BELOW", loop_below)
    monkeypatch.setattr(fts5, "BITMAP_SHARE", share)
    monkeypatch.setattr(fts5, "_tail_limit", lambda base_n: 40)
    rnd = random.Random(11)
    path, writer, base, docs = reindexed(tmp_path, _many_names())
    reader = EmbeddedBackend(path)
    oracle.check_cold(reader, docs, QUERIES)
    now = datetime(2026, 11, 2, tzinfo=timezone.utc)
    for step in range(8):  # another process writes: the reader's tail grows
        if step % 3 == 2:
            gone = rnd.choice(sorted(docs))
            writer.delete([gone])
            docs.pop(gone)
        else:
            doc = docs[rnd.choice(sorted(docs))]
            doc = replace(doc, title=doc.title + rnd.choice(["液相色谱检测", "轴承", "专利服务", "检测中心"]),
                          price_fen=rnd.choice([None, 5_000, 90_000_000]),
                          published_at=now + timedelta(minutes=rnd.randint(-50_000, 50)))
            writer.index([doc])
            docs[doc.id] = doc
        oracle.check_cold(reader, docs, QUERIES)
    assert reader.rebuilds == 1 and reader._snap.tail
    assert writer.compact()
    oracle.check_cold(EmbeddedBackend(path), docs, QUERIES)


def test_bit_helpers_agree_with_plain_python():
    rnd = random.Random(5)
    for n in (1, 7, 8, 9, 64, 1000, 5003):
        chosen = sorted(rnd.sample(range(n), rnd.randint(0, n)))
        for count in (0, 10**9):  # both ways of setting them
            bits = _bits_at(iter(chosen), n, count)
            assert bits == sum(1 << p for p in chosen)
        for skip, limit, end in ((0, None, None), (3, 5, None), (0, 4, n // 2), (len(chosen), 2, None),
                                 (rnd.randint(0, n), rnd.randint(1, 50), rnd.randint(0, n))):
            want = [p for p in chosen if end is None or p < end][skip:]
            assert _positions(bits, skip, limit, end) == (want if limit is None else want[:limit])
        a = [rnd.randrange(200) for _ in range(n)]
        b = [rnd.randrange(16) for _ in range(n)]
        pa = [sum(1 << p for p in range(n) if a[p] >> j & 1) for j in range(8)]
        pb = [sum(1 << p for p in range(n) if b[p] >> j & 1) for j in range(4)]
        total = _add_planes(pa, pb)
        sums = [x + y for x, y in zip(a, b)]
        assert _scores_at(total, list(range(n))) == (sums if any(sums) else [])
        assert len(total) == max(sums).bit_length()  # no empty plane on top


def test_a_long_term_is_not_found_where_its_trigrams_stand_apart(tmp_path, monkeypatch):
    """Listings that hold every trigram of a long term but not the term itself (液相色谱
    and 气相色谱仪 hold 液相色, 相色谱 and 色谱仪, never 液相色谱仪) are taken out of the
    AND of the trigrams' bitmaps: the hits are the rules'."""
    calls = []
    real = EmbeddedBackend._trigram_mask

    def spy(conn, snap, column, pattern, blobs):
        calls.append(pattern)
        return real(conn, snap, column, pattern, blobs)

    monkeypatch.setattr(EmbeddedBackend, "_trigram_mask", staticmethod(spy))
    base = [replace(d, id=f"{d.id}.x{k}", title=title, body=body)
            for k, (d, title, body) in enumerate(zip(_many_names(), [
                "液相色谱检测与气相色谱仪维护", "高效液相色谱仪检测", "气相色谱仪，液相色谱法", "检测服务中心",
                "中心实验室检测", "HPLC failure analysis", "analysis of failure modes"],
                ["气相色谱仪与液相色谱", "", "液相色谱仪", "检测中心", "", "", "failure analysis"]))]
    path, writer, base, docs = reindexed(tmp_path, base + _many_names()[:60])
    queries = [SearchQuery(text=t, per_page=100) for t in ("液相色谱仪", "检测中心", "failure analysis", "相色谱")]
    oracle.check_cold(EmbeddedBackend(path), docs, queries)
    assert "液相色谱仪" in calls  # read from the trigram bitmaps, not FTS5's phrase answer
