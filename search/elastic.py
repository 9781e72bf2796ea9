"""Elasticsearch backend (official client 9.x, a real 9.x server).

Works on the *minimal* distribution (no analysis-common, no mapper-extras):

* text is indexed as our own token string (``search.text.token_string``) with the
  built-in ``whitespace`` analyzer, so matching is decided by ``search.text`` exactly as
  in the embedded backend; a term is a ``match_phrase`` of its tokens;
* the tier score (``search.backend.TIERS``) is a ``dis_max`` of ``constant_score``
  clauses per term (the best tier it reaches), summed over terms by ``bool`` — small
  integers, exact in floating point;
* prices are ``long`` fen (no scaled_float); ``published_ms`` is a ``long``;
* one shard (exact facet counts, deterministic order), no replicas (a single node stays
  green); readiness via ``cluster.health`` (``GET /`` answers 405 there).

The name given as ``index`` is an alias; each reindex builds a new concrete index
``<index>-<ms>``, switches the alias atomically and deletes the old one.

Writes during a reindex are not lost. While the new index is loading it also carries the
alias ``<index>-reindexing``; ``index`` / ``delete`` (in any process) look that alias up
and send their change to the new index as well, with external version 2 (a delete leaves a
tombstone, kept for ``index.gc_deletes``). The bulk load writes with external version 1
and ``external_gte``, so it never overwrites or resurrects what a live write did; its
version conflicts are expected and skipped. The reindex must read its documents *after*
it starts (pass a generator, as ``marketplace.search.indexing.reindex`` does): a listing
committed before that is in the stream, one committed later arrives as a live write.
"""
from __future__ import annotations

import time
from typing import Any, Iterable, Iterator

from elasticsearch import Elasticsearch, NotFoundError, helpers

from .backend import TIERS, ProgressCallback, finish_facets, make_hit
from .documents import (
    FACET_LIMIT,
    PRICE_BUCKETS,
    Document,
    SearchQuery,
    SearchResults,
    price_bucket,
    to_epoch_ms,
)
from .text import Term, token_string
from .vocabulary import all_terms, parse_query

_TOKENS = {"type": "text", "analyzer": "whitespace", "norms": False, "index_options": "positions"}
_STORED_ONLY = {"type": "keyword", "index": False, "doc_values": False}

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "_source": {"excludes": ["title_t", "body_t", "org_t", "tags_t"]},
    "properties": {
        "id": {"type": "keyword"},
        "kind": {"type": "keyword"},
        "field": {"type": "keyword"},
        "county": {"type": "keyword"},
        "transfer_modes": {"type": "keyword"},
        "voucher_eligible": {"type": "boolean"},
        "price_fen": {"type": "long"},
        "price_bucket": {"type": "keyword"},
        "published_ms": {"type": "long"},
        "title": _STORED_ONLY,
        "body": {"type": "text", "index": False},
        "org_name": _STORED_ONLY,
        "title_t": _TOKENS,
        "body_t": _TOKENS,
        "org_t": _TOKENS,
        "tags_t": _TOKENS,
    },
}
SETTINGS: dict[str, Any] = {"number_of_shards": 1, "number_of_replicas": 0}
PENDING_SUFFIX = "-reindexing"  # alias of the index a reindex is loading
LOAD_VERSION = 1  # external version of documents written by the bulk load
LIVE_VERSION = 2  # external version of live writes reaching the loading index
TOMBSTONE_TTL = "12h"  # index.gc_deletes while loading: a reindex must finish within it

_SORT = {
    "newest": [{"published_ms": "desc"}, {"id": "asc"}],
    "price_asc": [{"price_fen": {"order": "asc", "missing": "_last"}}, {"published_ms": "desc"}, {"id": "asc"}],
    "price_desc": [{"price_fen": {"order": "desc", "missing": "_last"}}, {"published_ms": "desc"}, {"id": "asc"}],
}
_SORT["relevance"] = [{"_score": "desc"}] + _SORT["newest"]


def to_source(doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id,
        "kind": doc.kind,
        "field": doc.field,
        "county": doc.county,
        "transfer_modes": doc.transfer_modes,
        "voucher_eligible": doc.voucher_eligible,
        "price_fen": doc.price_fen,
        "price_bucket": price_bucket(doc.price_fen),
        "published_ms": to_epoch_ms(doc.published_at),
        "title": doc.title,
        "body": doc.body,
        "org_name": doc.org_name,
        "title_t": token_string(doc.title),
        "body_t": token_string(doc.body),
        "org_t": token_string(doc.org_text),
        "tags_t": token_string(doc.tags),
    }


_FIELDS = {"title": "title_t", "org": "org_t", "tags": "tags_t", "body": "body_t"}


def _term_clause(alternatives: tuple[Term, ...]) -> dict[str, Any]:
    """A term (the typed word first, then its synonyms): its best tier."""
    clauses = []
    for field, typed_only, score in TIERS:
        words = alternatives[:1] if typed_only else alternatives
        if not typed_only and len(alternatives) == 1:
            continue  # the same as the typed tier above it
        phrases = [{"match_phrase": {_FIELDS[field]: t.phrase}} for t in words]
        match = phrases[0] if len(phrases) == 1 else {"bool": {"should": phrases, "minimum_should_match": 1}}
        clauses.append({"constant_score": {"filter": match, "boost": score}})
    return {"dis_max": {"queries": clauses, "tie_breaker": 0}}


class ElasticsearchBackend:
    def __init__(self, url: str = "http://127.0.0.1:9200", index: str = "listings",
                 client: Elasticsearch | None = None, refresh: bool | str = "wait_for",
                 request_timeout: float = 30.0) -> None:
        self.url = url
        self.alias = index
        self.refresh = refresh  # "wait_for": a write is visible to queries when it returns
        self.es = client or Elasticsearch(url, request_timeout=request_timeout,
                                          retry_on_timeout=True, max_retries=2)

    @property
    def pending_alias(self) -> str:
        return self.alias + PENDING_SUFFIX

    # ---------------------------------------------------------------- index ----

    def _wait_ready(self) -> None:
        self.es.cluster.health(wait_for_status="yellow", timeout="30s")

    def _new_index(self, **settings: Any) -> str:
        name = f"{self.alias}-{time.time_ns() // 1_000_000}"
        self.es.indices.create(index=name, settings={**SETTINGS, **settings}, mappings=MAPPINGS)
        return name

    def _loading(self) -> list[str]:
        """Concrete indexes a reindex is loading right now (normally none or one)."""
        try:
            return sorted(self.es.indices.get_alias(name=self.pending_alias).body)
        except NotFoundError:
            return []

    def _concrete(self) -> list[str]:
        try:
            return sorted(self.es.indices.get_alias(name=self.alias).body)
        except NotFoundError:
            return []

    def ensure_index(self) -> None:
        self._wait_ready()
        if self.es.indices.exists_alias(name=self.alias):
            return
        if self.es.indices.exists(index=self.alias):
            raise RuntimeError(f"{self.alias!r} is a concrete index, expected an alias; delete it and reindex")
        name = self._new_index()
        self.es.indices.put_alias(index=name, name=self.alias)

    # --------------------------------------------------------------- writes ----

    def _bulk(self, actions: list[dict[str, Any]], refresh: bool | str | None = None,
              ignore_conflicts: bool = False) -> None:
        if not actions:
            return
        _, errors = helpers.bulk(self.es, actions, refresh=self.refresh if refresh is None else refresh,
                                 raise_on_error=False, chunk_size=500)
        real = []
        for e in errors:
            (op, info), = e.items()
            if op == "delete" and info.get("status") == 404:
                continue  # unknown ids are ignored (with external versions: a tombstone is kept)
            if ignore_conflicts and info.get("status") == 409:
                continue  # a newer write got there first
            real.append(e)
        if real:
            raise RuntimeError(f"{len(real)} bulk errors, first: {real[0]}")

    def _write(self, make: Any, items: list[Any]) -> None:
        """Send ``make(target, item)`` actions to the alias and to any index being loaded."""
        if not items:
            return
        self._bulk([make(self.alias, item) for item in items])
        for name in self._loading():
            # no refresh=wait_for: the loading index does not refresh until the swap
            self._bulk([{**make(name, item), "version": LIVE_VERSION, "version_type": "external_gte"}
                        for item in items], refresh=False, ignore_conflicts=True)

    def index(self, docs: Iterable[Document]) -> None:
        latest = {d.id: d for d in docs}  # the last version of an id wins
        self._write(lambda target, d: {"_op_type": "index", "_index": target, "_id": d.id,
                                       "_source": to_source(d)}, list(latest.values()))

    def delete(self, ids: Iterable[str]) -> None:
        self._write(lambda target, i: {"_op_type": "delete", "_index": target, "_id": i},
                    list(dict.fromkeys(ids)))

    def reindex(self, docs: Iterable[Document], progress: ProgressCallback | None = None) -> int:
        """Bulk-load a new index, then move the alias to it in one atomic step.

        ``index``/``delete`` calls made meanwhile (here or in other processes) reach the
        new index too (see the module docstring), so nothing written during a reindex is
        lost at the swap. Start reading ``docs`` lazily: this method marks the new index
        as loading before it takes the first document."""
        self._wait_ready()
        old = self._concrete()
        if self.es.indices.exists(index=self.alias) and not old:
            raise RuntimeError(f"{self.alias!r} is a concrete index, expected an alias")
        stale = [s for s in self._loading() if s not in old]  # left by a crashed reindex
        name = self._new_index(refresh_interval="-1", gc_deletes=TOMBSTONE_TTL)
        try:
            self.es.indices.update_aliases(actions=[{"add": {"index": name, "alias": self.pending_alias}}]
                                           + [{"remove": {"index": s, "alias": self.pending_alias}}
                                              for s in stale])
            n = 0
            seen: set[str] = set()

            def actions() -> Iterator[dict[str, Any]]:
                nonlocal n
                for doc in docs:
                    if doc.id in seen:
                        raise ValueError(f"duplicate document id in reindex: {doc.id}")
                    seen.add(doc.id)
                    n += 1
                    if progress and n % 2000 == 0:
                        progress(n)
                    yield {"_op_type": "index", "_index": name, "_id": doc.id, "_source": to_source(doc),
                           "version": LOAD_VERSION, "version_type": "external_gte"}

            for ok, item in helpers.streaming_bulk(self.es, actions(), chunk_size=2000,
                                                   max_chunk_bytes=20 * 1024 * 1024,
                                                   raise_on_error=False):
                if not ok and item.get("index", {}).get("status") != 409:  # 409: a live write won
                    raise RuntimeError(f"bulk error during reindex: {item}")
            self.es.indices.put_settings(index=name, settings={"refresh_interval": None})
            self.es.indices.refresh(index=name)
            swap = [{"add": {"index": name, "alias": self.alias}},
                    {"remove": {"index": name, "alias": self.pending_alias}}]
            swap += [{"remove": {"index": o, "alias": self.alias}} for o in old]
            self.es.indices.update_aliases(actions=swap)
        except BaseException:
            self.es.indices.delete(index=name, ignore_unavailable=True)
            raise
        self.es.indices.put_settings(index=name, settings={"gc_deletes": None})
        for o in old + stale:
            self.es.indices.delete(index=o, ignore_unavailable=True)
        if progress:
            progress(n)
        return n

    # ---------------------------------------------------------------- reads ----

    def count(self) -> int:
        return int(self.es.count(index=self.alias)["count"])

    def _filters(self, q: SearchQuery) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for name, es_field in (("kind", "kind"), ("field", "field"), ("county", "county"),
                               ("transfer_mode", "transfer_modes"), ("voucher_eligible", "voucher_eligible")):
            value = getattr(q, name)
            if value is not None:
                out.append({"term": {es_field: value}})
        if q.price_min_fen is not None or q.price_max_fen is not None:
            rng: dict[str, int] = {}
            if q.price_min_fen is not None:
                rng["gte"] = q.price_min_fen
            if q.price_max_fen is not None:
                rng["lte"] = q.price_max_fen
            out.append({"range": {"price_fen": rng}})
        return out

    def query(self, q: SearchQuery) -> SearchResults:
        terms = parse_query(q.text)
        # filter-only clauses score 0 (an empty bool would score every listing 1.0)
        filters = self._filters(q) or [{"match_all": {}}]
        query = {"bool": {"must": [_term_clause(t) for t in terms], "filter": filters}}
        offset, limit = q.window
        body: dict[str, Any] = {
            "query": query,
            "sort": _SORT[q.sort],
            "track_scores": True,
            "track_total_hits": True,
            "from": min(offset, 10_000 - limit) if limit else 0,
            "size": limit,
            "_source": ["id", "kind", "field", "county", "transfer_modes", "voucher_eligible",
                        "price_fen", "published_ms", "title", "body", "org_name"],
        }
        if q.facets:
            terms_agg = {"size": FACET_LIMIT, "order": [{"_count": "desc"}, {"_key": "asc"}]}
            body["aggs"] = {
                "kind": {"terms": {"field": "kind", **terms_agg}},
                "field": {"terms": {"field": "field", **terms_agg}},
                "county": {"terms": {"field": "county", **terms_agg}},
                "transfer_mode": {"terms": {"field": "transfer_modes", **terms_agg}},
                "voucher_eligible": {"terms": {"field": "voucher_eligible", **terms_agg}},
                "price_range": {"terms": {"field": "price_bucket", "size": len(PRICE_BUCKETS) + 1}},
            }
        resp = self.es.search(index=self.alias, **body).body
        total = resp["hits"]["total"]["value"]
        marked = all_terms(terms)
        hits = [make_hit(h["_source"], h.get("_score") or 0.0, marked) for h in resp["hits"]["hits"]]
        if not limit:
            hits = []
        facets: dict[str, list[tuple[Any, int]]] = {}
        if q.facets:
            raw: dict[str, dict[Any, int]] = {}
            for name, agg in resp["aggregations"].items():
                counts: dict[Any, int] = {}
                for b in agg["buckets"]:
                    key = b["key"]
                    if name == "voucher_eligible":
                        key = b.get("key_as_string") == "true"
                    counts[key] = b["doc_count"]
                raw[name] = counts
            facets = finish_facets(raw)
        return SearchResults(total=total, hits=hits, facets=facets)

    # ----------------------------------------------------------------- misc ----

    def drop(self) -> None:
        """Delete the alias's indexes (tests)."""
        for name in self._concrete() + self._loading():
            self.es.indices.delete(index=name, ignore_unavailable=True)

    def close(self) -> None:
        self.es.close()
