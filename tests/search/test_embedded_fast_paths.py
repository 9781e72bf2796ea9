"""The embedded backend's C-speed paths give the answers the rules give: organisation
names found by translating code layers (one byte string per byte of a value's code,
two layers past 255 distinct names), FTS rowids turned into positions through the
reindex's identity order, and a price-sorted page of a few selected listings found and
sorted instead of walking the whole price order — cold, after another process's writes
(new names past the coded ones, changed listings in the tail) and after a compaction
that reshuffles the order."""
from __future__ import annotations

import json
import os
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from search import SearchQuery, fts5
from search.fts5 import EmbeddedBackend, _identity_prefix

from . import oracle
from .corpus import corpus, reindexed

QUERIES = [
    SearchQuery(text="聊城大学", per_page=100),
    SearchQuery(text="测试中心", per_page=100),
    SearchQuery(text="检测", per_page=100),  # synonyms: many names, both code groups
    SearchQuery(text="3分部", per_page=100),
    SearchQuery(text="分部 色谱", per_page=30, page=2),
    SearchQuery(text="聊城大学", per_page=5, sort="price_asc", county="临清市"),
    SearchQuery(text="色谱", per_page=3, page=2, sort="price_desc"),
    SearchQuery(text="", per_page=4, sort="price_asc", field="新材料"),
    SearchQuery(text="", per_page=100, sort="price_desc", kind="demand"),
    SearchQuery(text="轴承", per_page=2, page=3, sort="price_asc"),
    # few selected (12 of 354): found and sorted, not walked over the price order
    SearchQuery(text="专利", per_page=3, page=2, sort="price_desc", county="冠县"),
    SearchQuery(text="专利", per_page=3, page=2, sort="price_asc", county="临清市"),
]


def _many_names() -> list:
    """The corpus six times over, each copy under its own organisation names: 288
    distinct names, so codes take two layers."""
    docs = []
    for k in range(6):
        for d in corpus():
            docs.append(replace(d, id=f"{d.id}.{k}", org_name=f"{d.org_name}{k}分部",
                                published_at=d.published_at - timedelta(minutes=k)))
    return docs


def _check(backend: EmbeddedBackend, docs: dict) -> None:
    oracle.check_cold(backend, docs, QUERIES)


@pytest.mark.parametrize("translate_from", [1, 10**9])  # every code group translated / none
def test_names_ranks_and_price_pages_follow_writes_and_compaction(tmp_path, monkeypatch, translate_from):
    monkeypatch.setattr(fts5, "_TRANSLATE_FROM", translate_from)
    monkeypatch.setattr(fts5, "_tail_limit", lambda base_n: 40)
    rnd = random.Random(7)
    path, writer, base, docs = reindexed(tmp_path, _many_names())
    reader = EmbeddedBackend(path)
    _check(reader, docs)
    snap = reader._snap
    values = snap.values[fts5._COLUMNS.index("co")]
    assert len(values.layers) == 2 and values.coded == len(base)
    assert snap.identity == len(base)  # a reindex writes rowids in rank order

    now = datetime(2026, 11, 2, tzinfo=timezone.utc)
    for step in range(10):  # another process writes: new names, changed and removed listings
        if step % 4 == 3:
            gone = rnd.choice(sorted(docs))
            writer.delete([gone])
            docs.pop(gone)
        else:
            doc = docs[rnd.choice(sorted(docs))]
            if step % 2:
                doc = replace(doc, id=f"service:new-{step}", org_name=f"聊城大学新建{step}分部")
            doc = replace(doc, title=doc.title + rnd.choice(["液相色谱", "轴承检测", ""]),
                          price_fen=rnd.choice([None, 5_000, 90_000_000]),
                          published_at=now + timedelta(minutes=rnd.randint(-5000, 50)))
            writer.index([doc])
            docs[doc.id] = doc
        _check(reader, docs)
    assert reader.rebuilds == 1 and reader._snap.tail  # brought forward, not rebuilt

    assert writer.compact()  # ranks the written rows in: rowids no longer in rank order
    fresh = EmbeddedBackend(path)
    _check(fresh, docs)
    _check(reader, docs)
    assert fresh._snap.identity < fresh._snap.n


def test_identity_prefix():
    assert _identity_prefix([]) == 0
    assert _identity_prefix([1, 2, 3]) == 3
    assert _identity_prefix([2, 1, 3]) == 0
    assert _identity_prefix([1, 2, 3, 9, 5, 6]) == 3
    assert _identity_prefix(list(range(1, 1001)) + [5000] + list(range(1002, 1100))) == 1000


def test_a_snapshot_warmed_before_a_fork_serves_the_child(tmp_path):
    """``warm`` (a preloading server's master, before it forks its workers) builds the
    snapshot and closes its connections; a forked child queries with the inherited
    snapshot — brought forward past a write made meanwhile, not rebuilt."""
    path, writer, base, _ = reindexed(tmp_path)
    master = EmbeddedBackend(path)
    master.warm()
    assert master._all == [] and master._snap is not None and master.rebuilds == 1
    changed = replace(base[0], title=base[0].title + " 液相色谱检测")
    writer.index([changed])
    docs = {d.id: d for d in base} | {changed.id: changed}
    q = SearchQuery(text="检测", per_page=100)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        try:
            r = master.query(q)
            os.write(write_end, json.dumps([master.rebuilds, [[h.id, h.score] for h in r.hits], r.total]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        rebuilds, hits, total = json.loads(f.read())
    os.waitpid(pid, 0)
    expected, expected_total = oracle.search(list(docs.values()), q)
    assert rebuilds == 1  # inherited, not built again
    assert hits == [[i, float(s)] for i, s in expected] and total == expected_total
