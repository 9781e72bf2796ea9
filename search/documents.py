"""What the search index holds and answers: plain dataclasses, no Flask, no models."""
from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime, timezone
from typing import Any, Literal

KINDS = ("achievement", "instrument", "service", "demand")
TRANSFER_MODES = (
    "assignment",  # 转让
    "exclusive_licence",  # 独占许可
    "non_exclusive_licence",  # 普通许可
    "co_development",  # 合作开发
    "equity",  # 作价入股
)
SORTS = ("relevance", "price_asc", "price_desc", "newest")
MAX_PER_PAGE = 100
MAX_WINDOW = 10_000  # page * per_page beyond this returns no hits (Elasticsearch's window)
FACET_LIMIT = 50  # values kept per facet (most frequent first)

# Price range facet buckets, in integer fen: (key, from inclusive, to exclusive, label).
# 1万元 = 10,000 yuan = 1,000,000 fen.
PRICE_BUCKETS = (
    ("lt_1w", None, 1_000_000, "1万元以下"),
    ("1w_10w", 1_000_000, 10_000_000, "1万–10万元"),
    ("10w_100w", 10_000_000, 100_000_000, "10万–100万元"),
    ("gte_100w", 100_000_000, None, "100万元及以上"),
)
PRICE_NEGOTIABLE = "negotiable"  # 面议: no price
FACETS = ("kind", "field", "county", "transfer_mode", "voucher_eligible", "price_range")


def price_bucket(price_fen: int | None) -> str:
    if price_fen is None:
        return PRICE_NEGOTIABLE
    for key, lo, hi, _ in PRICE_BUCKETS:
        if (lo is None or price_fen >= lo) and (hi is None or price_fen < hi):
            return key
    raise AssertionError(price_fen)


def to_epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch; naive datetimes are taken as UTC. Both backends sort
    on this integer, so sub-millisecond differences do not order results."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_epoch_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _optional_int(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"{name} must be an integer number of fen or None, not {value!r}")


@dataclass
class Document:
    """One published listing as the index sees it. Withdrawn listings are deleted."""

    id: str  # "achievement:12"
    kind: str  # achievement | instrument | service | demand
    title: str
    body: str
    org_name: str
    field: str | None  # technology field, e.g. 新材料
    county: str | None  # e.g. 东昌府区
    transfer_modes: list[str]
    voucher_eligible: bool  # 创新券可用
    price_fen: int | None  # integer fen; None = 面议
    published_at: datetime
    # more searchable words the app knows (the labels of its own codes): indexed with the
    # tags text, never shown
    keywords: str = ""
    org_name_en: str = ""  # searched with the organisation name, never shown

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id or len(self.id) > 200:
            raise ValueError(f"bad document id {self.id!r}")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        unknown = set(self.transfer_modes) - set(TRANSFER_MODES)
        if unknown:
            raise ValueError(f"unknown transfer modes {sorted(unknown)}")
        _optional_int("price_fen", self.price_fen)
        if self.price_fen is not None and self.price_fen < 0:
            raise ValueError("price_fen must not be negative")
        if not isinstance(self.published_at, datetime):
            raise ValueError("published_at must be a datetime")
        self.transfer_modes = sorted(set(self.transfer_modes), key=TRANSFER_MODES.index)
        self.voucher_eligible = bool(self.voucher_eligible)
        self.title = self.title or ""
        self.body = self.body or ""
        self.org_name = self.org_name or ""
        self.field = self.field or None
        self.county = self.county or None
        self.keywords = self.keywords or ""
        self.org_name_en = self.org_name_en or ""

    @property
    def org_text(self) -> str:
        """The organisation's names as searched: Chinese, and English if known."""
        return f"{self.org_name} / {self.org_name_en}" if self.org_name_en else self.org_name

    @property
    def tags(self) -> str:
        """The searchable words of the listing's codes and classes (search/vocabulary.yaml)."""
        from .vocabulary import tag_text

        return tag_text(self.kind, self.transfer_modes, self.field, self.county, self.keywords)


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    kind: str | None = None
    field: str | None = None
    county: str | None = None
    transfer_mode: str | None = None
    voucher_eligible: bool | None = None
    price_min_fen: int | None = None  # inclusive; a price filter excludes 面议 listings
    price_max_fen: int | None = None  # inclusive
    sort: Literal["relevance", "price_asc", "price_desc", "newest"] = "relevance"
    page: int = 1
    per_page: int = 20
    facets: bool = True  # False skips facet counting (cheaper, e.g. for page 2+)

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, not {self.sort!r}")
        if not isinstance(self.page, int) or self.page < 1:
            raise ValueError("page must be an integer >= 1")
        if not isinstance(self.per_page, int) or not 1 <= self.per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be an integer in 1..{MAX_PER_PAGE}")
        _optional_int("price_min_fen", self.price_min_fen)
        _optional_int("price_max_fen", self.price_max_fen)
        if self.voucher_eligible is not None and not isinstance(self.voucher_eligible, bool):
            raise ValueError("voucher_eligible must be True, False or None")
        for name in ("kind", "field", "county", "transfer_mode"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} must be a string or None")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def window(self) -> tuple[int, int]:
        """(offset, limit) clamped to MAX_WINDOW; limit 0 means no hits on this page."""
        start = self.offset
        if start >= MAX_WINDOW:
            return start, 0
        return start, min(self.per_page, MAX_WINDOW - start)


@dataclass
class Hit:
    id: str
    kind: str
    title: str
    score: float  # field-weighted tier score (search/backend.py); 0.0 without query text
    title_html: str  # escaped title, matches in <mark>
    snippet_html: str  # escaped excerpt of the body around the first match
    price_fen: int | None
    org_name: str
    field: str | None
    county: str | None
    transfer_modes: list[str]
    voucher_eligible: bool
    published_at: datetime  # UTC, millisecond precision


@dataclass
class SearchResults:
    total: int
    hits: list[Hit]
    # facet name -> [(value, count)], most frequent first (ties by value); zero counts
    # omitted; "price_range" values are PRICE_BUCKETS keys or "negotiable", in bucket order.
    facets: dict[str, list[tuple[Any, int]]] = dc_field(default_factory=dict)
