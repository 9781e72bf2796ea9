"""The embedded backend's bitmaps of common gram tokens: written by a reindex over rowids
in rank order, never updated (a changed listing gets a fresh rowid above them), and read
instead of FTS5 — with the answers the rules give, cold (no cached term), before and after
other processes' writes, in a process that starts after them, and once the rows written
since the reindex are too many to keep apart."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from search import SearchQuery, fts5
from search.fts5 import EmbeddedBackend

from . import oracle
from .corpus import corpus, reindexed

QUERIES = [
    SearchQuery(text="检测", per_page=100),
    SearchQuery(text="测", per_page=100),
    SearchQuery(text="液相色谱", per_page=100),  # a long term: trigram index, fields ruled out by bitmaps
    SearchQuery(text="轴承 检测", per_page=100),
    SearchQuery(text="聊城大学", per_page=100),
    SearchQuery(text="hplc", per_page=100, sort="newest"),
    SearchQuery(text="method development", per_page=100),
    SearchQuery(text="色谱仪", per_page=100, sort="price_asc"),
    SearchQuery(text="轴承疲劳", per_page=100),
    SearchQuery(text="技术", per_page=5, page=2),
    SearchQuery(text="", per_page=100, sort="newest"),
]


def _check_cold(backend: EmbeddedBackend, docs: dict) -> None:
    oracle.check_cold(backend, docs, QUERIES)


def _rowids(backend: EmbeddedBackend) -> dict[str, int]:
    return dict(backend._conn().execute("SELECT id, rowid FROM docs"))


def test_a_reindex_writes_rank_ordered_rowids_and_bitmaps(tmp_path):
    backend = EmbeddedBackend(tmp_path / "search.sqlite3")
    backend.ensure_index()
    docs = corpus()
    backend.reindex(list(reversed(docs)))
    conn = backend._conn()
    assert conn.execute("SELECT value FROM meta WHERE key = 'base_rows'").fetchone()[0] == len(docs)
    ranked = sorted(docs, key=lambda d: (-d.published_at.timestamp(), d.id))
    assert [i for (i,) in conn.execute("SELECT id FROM docs ORDER BY rowid")] == [d.id for d in ranked]
    tokens = {t for (t,) in conn.execute("SELECT token FROM bitmaps")}
    assert {"b检", "b检测", "t检测"} <= tokens  # common in bodies and titles
    backend.query(SearchQuery(text="检测"))
    assert backend._snap.bitmap_rows == len(docs)


def test_a_changed_listing_gets_a_fresh_rowid_above_the_bitmaps(tmp_path):
    backend = EmbeddedBackend(tmp_path / "search.sqlite3")
    backend.ensure_index()
    docs = corpus()
    backend.reindex(docs)
    before = _rowids(backend)
    edited = replace(docs[0], title=docs[0].title + "（更新）")
    backend.index([edited])
    backend.delete([docs[1].id])
    backend.index([replace(docs[2], id="service:new")])
    after = _rowids(backend)
    assert after[edited.id] > len(docs) and after["service:new"] > after[edited.id]
    assert docs[1].id not in after
    assert all(after[d.id] == before[d.id] for d in docs[3:])
    # a deleted top rowid is not handed out again: its bits still say what it held
    backend.delete(["service:new"])
    backend.index([replace(docs[3], id="service:newer")])
    assert _rowids(backend)["service:newer"] > after["service:new"]


@pytest.mark.parametrize("seed", [1, 2])
def test_cold_answers_follow_writes_in_this_and_a_new_process(tmp_path, seed):
    rnd = random.Random(seed)
    path, writer, base, docs = reindexed(tmp_path)
    reader = EmbeddedBackend(path)
    _check_cold(reader, docs)
    now = datetime(2026, 11, 2, tzinfo=timezone.utc)
    for step in range(12):
        action = rnd.random()
        if action < 0.3:
            gone = rnd.sample(sorted(docs), k=2)
            writer.delete(gone)
            for i in gone:
                docs.pop(i)
        else:
            doc = docs[rnd.choice(sorted(docs))] if action < 0.7 else replace(
                rnd.choice(base), id=f"service:added-{step}")
            doc = replace(doc, title=doc.title + rnd.choice(["液相色谱检测", " HPLC method", "轴承", ""]),
                          published_at=now + timedelta(minutes=rnd.randint(-5000, 50)))
            writer.index([doc])
            docs[doc.id] = doc
        _check_cold(reader, docs)
    assert reader._snap.bitmap_rows == len(base)  # still read from the bitmaps
    fresh = EmbeddedBackend(path)  # a process started after the writes: the tail is rebuilt
    _check_cold(fresh, docs)
    assert fresh._snap.bitmap_rows == len(base) and fresh._snap.tail


def test_too_many_rows_since_the_reindex_rank_everything_afresh(tmp_path, monkeypatch):
    monkeypatch.setattr(fts5, "_tail_limit", lambda base_n: 3)
    path, backend, base, docs = _reindexed(tmp_path)
    for d in base[:5]:
        edited = replace(d, title=d.title + " 检测")
        backend.index([edited])
        docs[d.id] = edited
    fresh = EmbeddedBackend(path)
    _check_cold(fresh, docs)
    assert fresh._snap.bitmap_rows == 0  # the FTS5 path, exact as ever


def _grow_tail(writer: EmbeddedBackend, base: list, docs: dict, count: int, seed: int) -> None:
    """``count`` writes since the reindex: edits (fresh rowids), new listings, deletions."""
    rnd = random.Random(seed)
    now = datetime(2026, 11, 2, tzinfo=timezone.utc)
    for step in range(count):
        if step % 4 == 3:
            gone = rnd.choice(sorted(docs))
            writer.delete([gone])
            docs.pop(gone)
            continue
        doc = docs[rnd.choice(sorted(docs))] if step % 2 else replace(rnd.choice(base), id=f"service:grown-{seed}-{step}")
        doc = replace(doc, title=doc.title + rnd.choice(["液相色谱检测", " HPLC method", "轴承", "检测"]),
                      published_at=now + timedelta(minutes=rnd.randint(-90_000, 50)))
        writer.index([doc])
        docs[doc.id] = doc


def _reindexed(tmp_path):
    """An index reindexed from the corpus: (path, backend, the corpus, its documents by id)."""
    return reindexed(tmp_path)


def _with_tail(tmp_path, count: int, seed: int):
    """An index reindexed from the corpus, then ``count`` writes: (path, writer, docs)."""
    path, writer, base, docs = _reindexed(tmp_path)
    _grow_tail(writer, base, docs, count, seed=seed)
    return path, writer, docs


def _compact_with(compactor: EmbeddedBackend, monkeypatch, meanwhile) -> bool:
    """``compactor.compact()``, with ``meanwhile()`` run once while its read transaction is
    open (at its first bitmap): what other connections do during a compaction."""
    real_pack = fts5._pack_bits
    ran = []

    def pack(mask_bytes):
        if not ran:
            ran.append(True)
            meanwhile()
        return real_pack(mask_bytes)

    monkeypatch.setattr(fts5, "_pack_bits", pack)
    try:
        return compactor.compact()
    finally:
        monkeypatch.setattr(fts5, "_pack_bits", real_pack)
        assert ran


def test_compaction_puts_the_rows_written_since_back_on_the_bitmaps(tmp_path, monkeypatch):
    """Past the tail limit a new process ranks everything afresh without the bitmaps;
    ``compact`` (run while another connection writes and a reader queries) brings every
    row back into the ranked part, and every process's answers stay exact."""
    monkeypatch.setattr(fts5, "_tail_limit", lambda base_n: 4)
    path = tmp_path / "search.sqlite3"
    writer, reader, compactor = EmbeddedBackend(path), EmbeddedBackend(path), EmbeddedBackend(path)
    writer.ensure_index()
    base = corpus()
    writer.reindex(base)
    docs = {d.id: d for d in base}
    _check_cold(reader, docs)
    _grow_tail(writer, base, docs, 8, seed=3)
    assert compactor.compact_due() and compactor.tail_rows() == 6
    late = EmbeddedBackend(path)
    _check_cold(late, docs)
    assert late._snap.bitmap_rows == 0  # the slow path, until a compaction or reindex

    during = []

    def write_and_read():
        during.append(len(docs))
        _grow_tail(writer, base, docs, 3, seed=4)
        _check_cold(reader, docs)

    assert _compact_with(compactor, monkeypatch, write_and_read) is True
    assert compactor.tail_rows() == 3  # the three written meanwhile
    for backend in (reader, late, EmbeddedBackend(path)):  # a process old, late and new
        _check_cold(backend, docs)
        assert backend._snap.bitmap_rows == during[0] and len(backend._snap.tail) == 3
    # bitmaps follow the new ranking: "检测" is read from one blob over the compacted rows
    conn = writer._conn()
    assert conn.execute("SELECT value FROM meta WHERE key = 'base_rows'").fetchone()[0] == during[0]
    assert conn.execute("SELECT count(*) FROM bitmaps WHERE token = 'b检测'").fetchone()[0] == 1
    _grow_tail(writer, base, docs, 1, seed=5)
    _check_cold(reader, docs)
    assert reader._snap.bitmap_rows == during[0]


def test_a_compaction_overtaken_by_a_reindex_writes_nothing(tmp_path, monkeypatch):
    path, writer, docs = _with_tail(tmp_path, 6, seed=6)
    compactor = EmbeddedBackend(path)
    assert _compact_with(compactor, monkeypatch, lambda: writer.reindex(list(docs.values()))) is False
    fresh = EmbeddedBackend(path)
    _check_cold(fresh, docs)
    assert fresh._snap.bitmap_rows == len(docs) and not fresh._snap.tail


def test_a_compaction_in_another_process_keeps_this_ones_answers_exact(tmp_path):
    """A real second process compacts (as the worker does) while this one queries: every
    answer, during and after, is the oracle's; afterwards this process reads every row
    from the new bitmaps."""
    import subprocess
    import sys
    from pathlib import Path

    path, _writer, docs = _with_tail(tmp_path, 12, seed=7)
    reader = EmbeddedBackend(path)
    _check_cold(reader, docs)
    assert reader._snap.tail
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from search.fts5 import EmbeddedBackend;"
                             " sys.exit(0 if EmbeddedBackend(sys.argv[1]).compact() else 3)", str(path)], cwd=root)
    while proc.poll() is None:
        _check_cold(reader, docs)
    assert proc.returncode == 0
    _check_cold(reader, docs)
    assert reader._snap.bitmap_rows == len(docs) and not reader._snap.tail


def test_a_common_word_of_organisation_names_is_read_from_its_bitmap(tmp_path, monkeypatch):
    """A one- or two-character word many listings' organisations hold (检测, 中心: the
    "o" gram tokens with a bitmap) is one blob, not every distinct name searched and every
    listing of the matched names set (at province volume, thousands of names: ~20 ms a
    cold query). Only what has no bitmap (a long term, a rare word) is matched against the
    names. Listings written since the reindex whose organisation alone holds the word (the
    tail) are found too, and ranked by that field's tier."""
    from .test_embedded_fast_paths import _many_names

    asked: list[str] = []
    real = fts5._Values.matching

    def spy(self, patterns):
        asked.extend(patterns)
        return real(self, patterns)

    monkeypatch.setattr(fts5._Values, "matching", spy)
    monkeypatch.setattr(fts5, "BITMAP_SHARE", 40)  # a word of one name's six listings: no bitmap
    path, writer, base, docs = reindexed(tmp_path, _many_names())
    conn = writer._conn()
    assert conn.execute("SELECT count(*) FROM bitmaps WHERE token IN ('o检测', 'o中心')").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM bitmaps WHERE token = 'o药学'").fetchone()[0] == 0  # rare
    queries = [SearchQuery(text=t, per_page=100) for t in ("检测", "中心 服务", "中心", "药学", "检测中心")]
    reader = EmbeddedBackend(path)
    oracle.check_cold(reader, docs, queries)
    assert "检测" not in asked and "中心" not in asked  # read from their bitmaps
    assert "药学" in asked and "检测中心" in asked  # a rare word, a long term: the names
    # the organisation alone holds them: tail listings found by their text, org tier
    now = datetime(2026, 11, 2, tzinfo=timezone.utc)
    for k, d in enumerate(base[:3]):
        moved = replace(d, id=f"service:moved-{k}", title="万能材料试验机", body="拉伸试验",
                        org_name=f"冠县{k}号检测中心", published_at=now + timedelta(minutes=k))
        writer.index([moved])
        docs[moved.id] = moved
    oracle.check_cold(reader, docs, queries)
    assert reader._snap.tail and reader._snap.bitmap_rows == len(base)
