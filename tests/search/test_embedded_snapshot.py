"""The embedded backend's per-process snapshot follows other processes' writes through
the change log — without a rebuild — and still answers exactly as the rules say."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from search import Document, SearchQuery
from search.fts5 import EmbeddedBackend

from . import oracle
from .corpus import corpus

QUERIES = [
    SearchQuery(text="", per_page=100),
    SearchQuery(text="检测", per_page=100),
    SearchQuery(text="药", per_page=100),
    SearchQuery(text="仪器", per_page=100, sort="newest"),
    SearchQuery(text="技术 合作", per_page=100),
    SearchQuery(text="", per_page=100, sort="price_asc"),
    SearchQuery(text="检测", per_page=100, sort="price_desc"),
    SearchQuery(text="", per_page=7, page=3, sort="newest"),
    SearchQuery(text="检测", per_page=5, page=2),
    SearchQuery(text="", per_page=100, price_min_fen=100_000, price_max_fen=5_000_000),
    SearchQuery(text="hplc", per_page=100, county="东昌府区"),
    SearchQuery(text="", per_page=100, kind="achievement", transfer_mode="assignment"),
]


def _check(backend: EmbeddedBackend, docs: dict[str, Document]) -> None:
    current = list(docs.values())
    for q in QUERIES:
        r = backend.query(q)
        expected, total = oracle.search(current, q)
        assert [(h.id, h.score) for h in r.hits] == [(i, float(s)) for i, s in expected], q
        assert r.total == total, q
        expected_facets = oracle.facets(current, q)
        assert {k: dict(v) for k, v in r.facets.items()} == expected_facets, q


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_writes_of_another_process_are_followed_without_a_rebuild(tmp_path, seed):
    rnd = random.Random(seed)
    path = tmp_path / "search.sqlite3"
    writer, reader = EmbeddedBackend(path), EmbeddedBackend(path)  # two "processes"
    writer.ensure_index()
    base = corpus()
    writer.reindex(base)
    docs = {d.id: d for d in base}
    reader.query(SearchQuery(text="检测"))  # the reader's snapshot, and a cached term
    for c in ("仪器", "药", "检测", "hplc"):
        reader.query(SearchQuery(text=c))
    assert reader.rebuilds == 1
    pool = list(base)
    for step in range(25):
        action = rnd.random()
        if action < 0.3 and docs:  # withdraw
            gone = rnd.sample(sorted(docs), k=min(len(docs), rnd.randint(1, 3)))
            writer.delete(gone)
            for i in gone:
                docs.pop(i)
        else:  # edit or publish: a copy of a corpus listing under an old or new id
            src = rnd.choice(pool)
            new_id = rnd.choice([src.id, f"{src.kind}:{1000 + step}"])
            published = src.published_at + timedelta(hours=rnd.randint(-48, 48))
            d = Document(id=new_id, kind=src.kind, title=src.title + rnd.choice(["", "检测", "（新）"]),
                         body=src.body, org_name=src.org_name, field=src.field, county=src.county,
                         transfer_modes=src.transfer_modes, voucher_eligible=src.voucher_eligible,
                         price_fen=rnd.choice([src.price_fen, None, 12_345]), published_at=published)
            writer.index([d])
            docs[d.id] = d
        if step % 5 == 4:
            _check(reader, docs)
    _check(reader, docs)
    assert reader.rebuilds == 1  # brought up to date from the change log, never rebuilt
    writer.reindex(list(docs.values()))  # a reindex is the one write that rebuilds
    _check(reader, docs)
    assert reader.rebuilds == 2
    writer.close()
    reader.close()


def test_a_stale_snapshot_past_the_kept_log_is_rebuilt(tmp_path, monkeypatch):
    import search.fts5 as fts5

    monkeypatch.setattr(fts5, "CHANGES_KEPT", 3)
    path = tmp_path / "search.sqlite3"
    writer, reader = EmbeddedBackend(path), EmbeddedBackend(path)
    writer.ensure_index()
    reader.query(SearchQuery())
    t = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(70):  # the log is pruned every 64 generations
        writer.index([Document(id=f"service:{i}", kind="service", title=f"检测{i}", body="", org_name="机构",
                               field=None, county=None, transfer_modes=[], voucher_eligible=False,
                               price_fen=None, published_at=t + timedelta(minutes=i))])
    r = reader.query(SearchQuery(text="检测", per_page=100))
    assert r.total == 70 and r.hits[0].id == "service:69"
    assert reader.rebuilds == 2
