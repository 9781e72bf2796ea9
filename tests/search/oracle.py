"""The search rules written the slow, obvious way, to check both backends against."""
from __future__ import annotations

from search import Document, SearchQuery
from search.backend import TIERS
from search.documents import price_bucket, to_epoch_ms
from search.text import tokens
from search.vocabulary import parse_query


def _contains(haystack: list[str], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return any(tuple(haystack[i : i + n]) == needle for i in range(len(haystack) - n + 1))


def score(doc: Document, text: str) -> int | None:
    """Tier score, or None when some term does not match: per term, the best tier of
    search.backend.TIERS it reaches, summed over terms."""
    fields = {"title": tokens(doc.title), "org": tokens(doc.org_text), "tags": tokens(doc.tags),
              "body": tokens(doc.body)}
    total = 0
    # The terms as the backends read them (search.vocabulary.parse_query): a typed term that
    # is not a known word but splits into known words is those words (检测服务 -> 检测 服务),
    # each with its synonyms, the split word itself counting as typed.
    for alternatives in parse_query(text):
        term = alternatives[0]
        best = 0
        for field, typed_only, value in TIERS:
            words = (term,) if typed_only else alternatives
            if any(_contains(fields[field], t.tokens) for t in words):
                best = value
                break
        if not best:
            return None
        total += best
    return total


def passes_filters(doc: Document, q: SearchQuery) -> bool:
    if q.kind is not None and doc.kind != q.kind:
        return False
    if q.field is not None and doc.field != q.field:
        return False
    if q.county is not None and doc.county != q.county:
        return False
    if q.transfer_mode is not None and q.transfer_mode not in doc.transfer_modes:
        return False
    if q.voucher_eligible is not None and doc.voucher_eligible != q.voucher_eligible:
        return False
    if q.price_min_fen is not None and (doc.price_fen is None or doc.price_fen < q.price_min_fen):
        return False
    if q.price_max_fen is not None and (doc.price_fen is None or doc.price_fen > q.price_max_fen):
        return False
    return True


def search(docs: list[Document], q: SearchQuery) -> tuple[list[tuple[str, int]], int]:
    """([(id, score)] of the requested page, total)."""
    matched = []
    for d in docs:
        s = score(d, q.text)
        if s is not None and passes_filters(d, q):
            matched.append((d, s))

    def newest(ds):
        return (-to_epoch_ms(ds[0].published_at), ds[0].id)

    if q.sort in ("relevance",):
        key = lambda ds: (-ds[1],) + newest(ds)  # noqa: E731
    elif q.sort == "newest":
        key = newest
    elif q.sort == "price_asc":
        key = lambda ds: (ds[0].price_fen is None, ds[0].price_fen or 0) + newest(ds)  # noqa: E731
    else:
        key = lambda ds: (ds[0].price_fen is None, -(ds[0].price_fen or 0)) + newest(ds)  # noqa: E731
    matched.sort(key=key)
    start = (q.page - 1) * q.per_page
    return [(d.id, s) for d, s in matched[start : start + q.per_page]], len(matched)


def facets(docs: list[Document], q: SearchQuery) -> dict[str, dict]:
    out: dict[str, dict] = {k: {} for k in ("kind", "field", "county", "transfer_mode",
                                             "voucher_eligible", "price_range")}
    for d in docs:
        if score(d, q.text) is None or not passes_filters(d, q):
            continue
        values = {"kind": [d.kind], "field": [d.field], "county": [d.county],
                  "transfer_mode": d.transfer_modes, "voucher_eligible": [d.voucher_eligible],
                  "price_range": [price_bucket(d.price_fen)]}
        for name, vs in values.items():
            for v in vs:
                if v is not None:
                    out[name][v] = out[name].get(v, 0) + 1
    return out


def check_cold(backend, docs: dict[str, Document], queries: list[SearchQuery]) -> None:
    """Each of ``queries`` on an embedded ``backend`` with its term cache emptied first:
    the hits (id, score), total and facets the rules give over ``docs`` (id -> document)."""
    current = list(docs.values())
    for q in queries:
        if backend._snap is not None:
            backend._snap.clear_term_cache()
        r = backend.query(q)
        expected, total = search(current, q)
        assert [(h.id, h.score) for h in r.hits] == [(i, float(s)) for i, s in expected], q
        assert r.total == total, q
        assert {k: dict(v) for k, v in r.facets.items()} == facets(current, q), q
