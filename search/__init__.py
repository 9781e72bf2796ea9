"""Listing search: one interface (``SearchBackend``), two implementations.

    from search import make_backend, Document, SearchQuery
    backend = make_backend("embedded", path="instance/search.sqlite3")
    backend = make_backend("elasticsearch", url="http://127.0.0.1:9200", index="listings")

No Flask, no app models: the app turns listings into ``Document`` s, writes outbox rows in
its transaction and calls ``index`` / ``delete`` after commit.
"""
from .backend import SearchBackend, make_backend
from .documents import (
    FACETS,
    KINDS,
    PRICE_BUCKETS,
    PRICE_NEGOTIABLE,
    SORTS,
    TRANSFER_MODES,
    Document,
    Hit,
    SearchQuery,
    SearchResults,
)

__all__ = [
    "FACETS", "KINDS", "PRICE_BUCKETS", "PRICE_NEGOTIABLE", "SORTS", "TRANSFER_MODES",
    "Document", "Hit", "SearchBackend", "SearchQuery", "SearchResults", "make_backend",
]
