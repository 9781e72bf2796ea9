"""Pages of a list that grows: a stable order and a window of it.

Every list a page shows (listings, orders, bookings, claims, the review queue, the ledger,
the audit log, notifications, the programmes' registries ...) is read one page at a time
with ``paginate``: the statement's own order plus a unique tie-breaker (the row id), so two
rows with the same date never swap places between requests and the next page continues
the previous one without repeats or gaps. One row more than the page is read to know
whether a next page exists; no ``count(*)`` over the whole list is needed.

Offset paging: the order's columns are indexed (migration 0018), so a page costs the rows
it skips in an index, not a sort of the table. Page numbers beyond ``MAX_PAGE`` or that
are not numbers mean the first page (a link typed by hand never errors).

In a view::

    page = services.orders_of(current_user, page=page_arg())
    render_template("orders/orders.html", orders=page.items, page=page)

and in the template ``{{ pager(page) }}`` (templates/macros.html) draws 上一页 / 下一页,
keeping the other query parameters.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from flask import request

from marketplace.extensions import db

T = TypeVar("T")

PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int  # 1-based
    per_page: int
    has_next: bool
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def page_number(raw) -> int:
    """A page number from 1 to ``MAX_PAGE``; anything else (text, 0, -3, huge) is 1."""
    try:
        n = int(raw)
    except (TypeError, ValueError):
        return 1
    return n if 1 <= n <= MAX_PAGE else 1


def page_arg(name: str = "page") -> int:
    """The page number of the current request's ``?page=``."""
    return page_number(request.args.get(name))


def paginate(stmt, *, order_by: Sequence, tiebreak, page: int = 1, per_page: int = PER_PAGE,
             session=None, scalars: bool = True) -> Page:
    """Page ``page`` of ``stmt`` ordered by ``order_by`` then ``tiebreak`` (a unique column,
    ascending or descending: the id). ``scalars=False`` for statements of several columns."""
    session = session or db.session
    page = page_number(page)
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    stmt = stmt.order_by(None).order_by(*order_by, tiebreak).offset((page - 1) * per_page).limit(per_page + 1)
    rows = list(session.scalars(stmt) if scalars else session.execute(stmt).all())
    return Page(rows[:per_page], page, per_page, len(rows) > per_page)


def from_list(items: list[T], page: int = 1, per_page: int = PER_PAGE) -> Page[T]:
    """A page of a list already in memory (short lists made of several sources)."""
    page = page_number(page)
    start = (page - 1) * per_page
    return Page(items[start:start + per_page], page, per_page, len(items) > start + per_page)
