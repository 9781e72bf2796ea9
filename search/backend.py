"""The search interface the app talks to, the factory, and helpers both backends share.

Semantics (identical on both backends, checked by tests/search/test_parity.py):

* Matching: see ``search.text`` — whitespace-separated terms, all must match; CJK
  substring, Latin/number whole word, case-folded. A term also matches through its
  synonyms (``search.vocabulary``): a listing matches the term when the term or any of
  its alternatives occurs in its title, organisation name, tags or body.
* Fields: title, organisation name (with its English name), tags (``Document.tags``: the words of the listing's
  kind, transfer modes, field and county, and the app's keywords), body.
* Relevance: per term, the best *tier* it reaches (``TIERS``): the typed word in the
  title 8, in the tags 7, a synonym in the title 6, the typed word in the organisation
  name 5, a synonym in the tags 4, the typed word in the body 3, a synonym in the
  organisation name 2 or in the body 1; summed over terms. So the word the user typed
  and the field say most (a listing *about* the thing first); mentioning a word in
  several fields adds nothing. Ties: newest first, then id.
  Without query text every score is 0, so "relevance" lists newest first.
* Sorts ``price_asc`` / ``price_desc``: listings without a price (面议) last; ties newest
  first, then id. ``newest``: published_at descending, then id.
* Filters are exact (kind, field, county, voucher_eligible), "has this mode"
  (transfer_mode) and inclusive price bounds (which exclude listings without a price).
* Facets count the listings matching text *and* all filters.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Protocol, runtime_checkable

from .documents import (
    FACET_LIMIT,
    PRICE_BUCKETS,
    PRICE_NEGOTIABLE,
    Document,
    Hit,
    SearchQuery,
    SearchResults,
    from_epoch_ms,
)
from .text import Term, highlight, snippet

# The tiers of the score, best first: (field, typed word only?, score). A term scores the
# first tier it matches; the embedded backend and Elasticsearch (dis_max) both read this.
TIERS = (
    ("title", True, 8), ("tags", True, 7), ("title", False, 6), ("org", True, 5),
    ("tags", False, 4), ("body", True, 3), ("org", False, 2), ("body", False, 1),
)
MAX_TERM_SCORE = TIERS[0][2]

ProgressCallback = Callable[[int], None]


@runtime_checkable
class SearchBackend(Protocol):
    def ensure_index(self) -> None:
        """Create the index (and its storage) if missing. Idempotent."""

    def index(self, docs: Iterable[Document]) -> None:
        """Add or replace documents (by id). Visible to the next query on return."""

    def delete(self, ids: Iterable[str]) -> None:
        """Remove documents by id; unknown ids are ignored. Visible at once."""

    def reindex(self, docs: Iterable[Document], progress: ProgressCallback | None = None) -> int:
        """Replace the whole index with ``docs`` (streamed, in bulk); queries keep seeing
        the old index until the new one is complete. Returns the number indexed."""

    def query(self, q: SearchQuery) -> SearchResults: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


def make_backend(kind: str, **options: Any) -> SearchBackend:
    """``make_backend("embedded", path="instance/search.sqlite3")`` or
    ``make_backend("elasticsearch", url="http://127.0.0.1:9200", index="listings")``."""
    if kind in ("embedded", "fts5", "sqlite"):
        from .fts5 import EmbeddedBackend

        return EmbeddedBackend(**options)
    if kind in ("elasticsearch", "es"):
        from .elastic import ElasticsearchBackend

        return ElasticsearchBackend(**options)
    raise ValueError(f"unknown search backend {kind!r} (embedded | elasticsearch)")


# ------------------------------------------------------------- shared helpers ----

_BUCKET_ORDER = [key for key, *_ in PRICE_BUCKETS] + [PRICE_NEGOTIABLE]


def finish_facets(raw: dict[str, dict[Any, int]]) -> dict[str, list[tuple[Any, int]]]:
    """Order raw counts the one way both backends report them."""
    out: dict[str, list[tuple[Any, int]]] = {}
    for name, counts in raw.items():
        items = [(v, n) for v, n in counts.items() if n > 0 and v is not None]
        if name == "price_range":
            items.sort(key=lambda vn: _BUCKET_ORDER.index(vn[0]))
        else:
            items.sort(key=lambda vn: (-vn[1], str(vn[0])))
            items = items[:FACET_LIMIT]
        out[name] = items
    return out


def make_hit(src: dict[str, Any], score: float, terms: list[Term]) -> Hit:
    """A Hit from stored fields (title, body, org_name, ..., published_ms)."""
    return Hit(
        id=src["id"],
        kind=src["kind"],
        title=src["title"],
        score=float(score),
        title_html=highlight(src["title"], terms),
        snippet_html=snippet(src["body"], terms),
        price_fen=src["price_fen"],
        org_name=src["org_name"],
        field=src["field"],
        county=src["county"],
        transfer_modes=list(src["transfer_modes"]),
        voucher_eligible=bool(src["voucher_eligible"]),
        published_at=from_epoch_ms(src["published_ms"]),
    )
