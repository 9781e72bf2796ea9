"""The search page: text, facets (each removable on its own), highlights, sort, paging,
and on zero results broader queries and related categories."""
from flask import Blueprint, render_template, request

from marketplace.listings.services import KINDS
from marketplace.search.indexing import backend, query
from search.documents import PRICE_BUCKETS, SORTS, SearchQuery
from search.suggest import broader

bp = Blueprint("search", __name__)

# URL parameter of each filter (search.suggest.FILTERS names) and of each facet
FILTER_PARAMS = {"kind": "kind", "field": "field", "county": "county", "transfer_mode": "mode",
                 "voucher_eligible": "voucher", "price": "price"}
FACET_PARAMS = {**FILTER_PARAMS, "price_range": "price"}


def _int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def parse_query(args) -> SearchQuery:
    kind = args.get("kind") if args.get("kind") in KINDS else None
    voucher = {"1": True, "0": False}.get(args.get("voucher", ""))
    price_min = price_max = None
    for key, lo, hi, _ in PRICE_BUCKETS:
        if args.get("price") == key:
            price_min, price_max = lo, (hi - 1 if hi else None)
    sort = args.get("sort") if args.get("sort") in SORTS else "relevance"
    return SearchQuery(text=(args.get("q") or "")[:200], kind=kind, field=args.get("field") or None,
                       county=args.get("county") or None, transfer_mode=args.get("mode") or None,
                       voucher_eligible=voucher, price_min_fen=price_min, price_max_fen=price_max, sort=sort,
                       page=_page(args.get("page")), per_page=20)


def _page(raw) -> int:
    """A page number from 1 to 500; anything else (text, 0, -1, huge) means the first page."""
    page = _int(raw, 1)
    return page if 1 <= page <= 500 else 1


def active_filters(q: SearchQuery) -> list[tuple[str, str, object]]:
    """(filter name, URL parameter, value) of each filter in effect, in facet order."""
    out = []
    for name, param in FILTER_PARAMS.items():
        if name == "price":
            if q.price_min_fen is not None or q.price_max_fen is not None:
                out.append((name, param, request.args.get("price")))
        elif getattr(q, name) is not None:
            out.append((name, param, getattr(q, name)))
    return out


@bp.route("/search")
def search():
    q = parse_query(request.args)
    results = query(q)
    filters = active_filters(q)
    help_ = broader(backend(), q) if results.total == 0 and q.page == 1 else None
    return render_template("search/search.html", q=q, results=results, args=request.args,
                           buckets=PRICE_BUCKETS, sorts=SORTS, filters=filters, broader=help_,
                           filter_params=FILTER_PARAMS, facet_params=FACET_PARAMS)
