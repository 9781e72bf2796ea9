"""What to offer when a search finds nothing: broader queries one step away (one filter
or one word fewer, or the words without any filter) that do find listings, and related
categories to browse. Works on any backend (only ``query`` is used)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .backend import SearchBackend
from .documents import SearchQuery
from .text import normalize, parse_terms

FILTERS = ("kind", "field", "county", "transfer_mode", "voucher_eligible", "price")
MAX_SUGGESTIONS = 6
RELATED_FACETS = ("kind", "field")
MAX_RELATED = 8


@dataclass
class Suggestion:
    query: SearchQuery  # the broader query (first page, facets off)
    total: int
    dropped_filter: str | None = None  # one of FILTERS, or "all" for every filter
    dropped_term: str | None = None  # the word left out


@dataclass
class Broader:
    suggestions: list[Suggestion] = field(default_factory=list)
    # (facet name, value, count): kinds and fields where listings are, to browse
    related: list[tuple[str, Any, int]] = field(default_factory=list)


def _active(q: SearchQuery) -> list[str]:
    out = [name for name in FILTERS[:-1] if getattr(q, name) is not None]
    if q.price_min_fen is not None or q.price_max_fen is not None:
        out.append("price")
    return out


def _without(q: SearchQuery, name: str) -> SearchQuery:
    if name == "price":
        return replace(q, price_min_fen=None, price_max_fen=None)
    return replace(q, **{name: None})


def _words(text: str) -> list[str]:
    """The user's words as typed (whitespace-separated, those that are real terms)."""
    return [w for w in (text or "").split() if parse_terms(w)]


def broader(backend: SearchBackend, q: SearchQuery) -> Broader:
    """Broader queries than ``q`` that find something (most results first) and the
    categories (kinds, fields) of the broadest one — or of the whole index when even
    that finds nothing."""
    base = replace(q, page=1, per_page=1, facets=False, sort=q.sort)
    candidates: list[Suggestion] = []
    active = _active(q)
    for name in active:
        candidates.append(Suggestion(_without(base, name), 0, dropped_filter=name))
    words = _words(q.text)
    if len(words) > 1:
        for i, word in enumerate(words):
            rest = " ".join(words[:i] + words[i + 1:])
            if normalize(rest) != normalize(q.text):
                candidates.append(Suggestion(replace(base, text=rest), 0, dropped_term=word))
    if len(active) > 1 and words:
        every = base
        for name in active:
            every = _without(every, name)
        candidates.append(Suggestion(every, 0, dropped_filter="all"))
    found = []
    for s in candidates:
        s.total = backend.query(s.query).total
        if s.total:
            found.append(s)
    found.sort(key=lambda s: -s.total)
    out = Broader(suggestions=found[:MAX_SUGGESTIONS])
    widest = found[0].query if found else SearchQuery(per_page=1)
    facets = backend.query(replace(widest, facets=True, per_page=1)).facets
    for name in RELATED_FACETS:
        for value, count in facets.get(name, []):
            if getattr(q, name) != value:
                out.related.append((name, value, count))
    out.related = out.related[:MAX_RELATED]
    return out
