"""The worker keeps the embedded index on its fast path: once the listings written since the
last reindex pass half the number a snapshot keeps apart (its tail), the timed job
``search.compact`` ranks them into the bitmaps, and a reader in another process answers the
same, now from the bitmaps again."""
from __future__ import annotations

from datetime import timedelta

from marketplace import worker
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.search import indexing as search_index
from marketplace.worker import ScheduledJob
from search import SearchQuery, fts5
from search.fts5 import EmbeddedBackend


def _ids(backend, text):
    """The ids found, cold (no cached term), as a set: the order is the oracle tests' job."""
    if backend._snap is not None:
        backend._snap.clear_term_cache()
    return {h.id for h in backend.query(SearchQuery(text=text, per_page=100)).hits}


def test_the_worker_compacts_the_index_once_writes_pass_half_the_tail_limit(app_ctx, factory, monkeypatch):
    monkeypatch.setattr(fts5, "_tail_limit", lambda base_n: 4)
    provider = factory.provider()
    first = [factory.listing(provider, "service", title=f"氘灯光谱校准{i}") for i in range(3)]
    factory.listing(provider, "service", title="万能材料试验机")
    search_index.reindex()
    reader = EmbeddedBackend(app_ctx.config["SEARCH_SQLITE_PATH"])  # a web node's process
    assert len(_ids(reader, "氘灯")) == 3 and reader._snap.bitmap_rows == 4
    later = [factory.listing(provider, "service", title=f"轴承氘灯检测{i}") for i in range(5)]
    search_index.drain()
    index = search_index.backend()
    assert index.tail_rows() == 5 and index.compact_due()
    expected = {f"service:{x.id}" for x in first + later}
    assert _ids(reader, "氘灯") == expected
    assert reader._snap.bitmap_rows == 0  # past the tail limit: the slow path

    t0 = utcnow()
    worker.run_due_jobs("w1", now=t0)
    job = db.session.get(ScheduledJob, "search.compact")
    assert job is not None and job.last_error is None
    assert index.tail_rows() == 0 and not index.compact_due()
    assert _ids(reader, "氘灯") == expected
    assert reader._snap.bitmap_rows == 9 and not reader._snap.tail  # the fast path again
    assert _ids(EmbeddedBackend(app_ctx.config["SEARCH_SQLITE_PATH"]), "氘灯") == expected

    # below the threshold the job leaves the index alone
    extra = factory.listing(provider, "service", title="氘灯新服务")
    search_index.drain()
    worker.run_due_jobs("w1", now=t0 + timedelta(seconds=61))
    assert index.tail_rows() == 1
    assert _ids(reader, "氘灯") == expected | {f"service:{extra.id}"}
    reader.close()


def test_the_worker_fills_an_embedded_index_left_empty_by_a_format_upgrade(app_ctx, factory):
    """An upgrade that changes the index's format drops its tables (the index is derived):
    the timed job ``search.fill`` reindexes, so search does not answer nothing until someone
    runs ``flask search reindex``; a filled index, or one with nothing to hold, is left alone."""
    t0 = utcnow()
    index = search_index.backend()
    index.drop()
    index.ensure_index()
    worker.run_due_jobs("w1", now=t0)
    assert index.count() == 0  # nothing published: nothing to fill, and no error
    assert db.session.get(ScheduledJob, "search.fill").last_error is None

    provider = factory.provider()
    listings = [factory.listing(provider, "service", title=f"氘灯光谱校准{i}") for i in range(3)]
    search_index.drain()
    assert index.count() == 3
    conn = index._conn()  # an older format: what ensure_index finds after the upgrade
    conn.execute("PRAGMA user_version = 10")
    index.close()
    upgraded = EmbeddedBackend(app_ctx.config["SEARCH_SQLITE_PATH"])
    upgraded.ensure_index()
    assert upgraded.count() == 0 and _ids(upgraded, "氘灯") == set()

    worker.run_due_jobs("w1", now=t0 + timedelta(seconds=61))
    assert db.session.get(ScheduledJob, "search.fill").last_error is None
    assert _ids(upgraded, "氘灯") == {f"service:{x.id}" for x in listings}
    assert not search_index.fill_if_empty()  # filled: the next round reads a count and stops
    upgraded.close()
