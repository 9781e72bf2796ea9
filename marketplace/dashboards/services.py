"""The city's dashboards: turnover from the ledger, awards and budgets by clause, and the
county R&D indicator (C, section 6.2).

Every function takes the acting user first and checks ``VIEW_DASHBOARD`` (or
``EDIT_COUNTY_RD``). Turnover is aggregated in SQL (``GROUP BY``), amounts stay integer fen.
Claims, budgets and payouts come from ``marketplace.claims.services`` when that module is
installed; until then the awards are the ones the rules engine computes from the ledger,
which is exactly what drafted claims will equal.
"""
from __future__ import annotations

import functools
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    String,
    case,
    cast,
    distinct,
    exists,
    extract,
    func,
    literal,
    select,
    true,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import aliased

from marketplace import permissions as perm
from marketplace.accounts.models import Organization
from marketplace.audit.models import record
from marketplace.core.errors import NotFound, ServiceError
from marketplace.core.money import fen_to_yuan
from marketplace.core.timeutil import beijing_today, utcnow
from marketplace.core.uow import transactional
from marketplace.dashboards.models import INDICATOR_COUNTIES, CountyRD
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry

# The ledger kinds that make up turnover (交易额), and the party each one is counted for:
# the organisation that earns the money or, for lease fees, the institution that pays them.
TURNOVER_KINDS = ("payment", "contract_registered", "booking_completed", "lease_fee", "voucher_redemption")
PARTY_KEY = {"payment": "payee", "contract_registered": "seller", "booking_completed": "provider",
             "lease_fee": "lessee", "voucher_redemption": "provider"}
COUNTERPARTY_KEY = {"payment": "payer", "contract_registered": "buyer", "booking_completed": "customer",
                    "voucher_redemption": "buyer"}
# One trade stands in the ledger under one ref (CTR-7, BKG-3, VCH-12, ORD-5, LEASE-2) and
# often under several kinds: a contract's payment and its registration, a booking's payment,
# completion and voucher redemption. Turnover counts each trade once, as the entry of the
# kind that states it most fully (the first of these present for the ref, whatever its
# year): a payment counts only for a trade that has none of the others.
COUNTED_AS = ("contract_registered", "booking_completed", "voucher_redemption", "lease_fee", "payment")
OUTSIDE = "outside"  # county bucket: an organisation outside the city, or none on record
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_FEN = 10 ** 17  # far beyond any county's GDP; keeps BIGINT safe


def _view(actor) -> None:
    perm.require(actor, perm.VIEW_DASHBOARD)


def default_year() -> int:
    """The last complete calendar year, in Beijing."""
    return beijing_today().year - 1


def parse_year(value) -> int:
    """The year a request asks for; the last complete year when it asks for none."""
    if value is None or str(value).strip() == "":
        return default_year()
    text = str(value).strip()
    if not text.isdigit() or not MIN_YEAR <= int(text) <= MAX_YEAR:
        raise ServiceError(_("Enter a year between %(low)d and %(high)d.", low=MIN_YEAR, high=MAX_YEAR), "year")
    return int(text)


def year_for(actor, value, action: str = perm.VIEW_DASHBOARD) -> int:
    """The year a request asks for, once the actor may see (or edit) the dashboards: a
    market user gets 403, not a complaint about the year."""
    perm.require(actor, action)
    return parse_year(value)


def _bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def _json_text(key: str, payload=None):
    """``payload ->> key`` in the dialect of the session (the payload column is JSON text)."""
    payload = LedgerEntry.payload if payload is None else payload
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(payload, JSON)[key].as_string()
    return type_coerce(payload, JSON)[key].as_string()


def _party_expr(kind=None, payload=None):
    kind = LedgerEntry.kind if kind is None else kind
    return case(*[(kind == k, _json_text(key, payload)) for k, key in PARTY_KEY.items()])


# --- turnover -----------------------------------------------------------------------------

def _rank(column):
    return case(*[(column == kind, i) for i, kind in enumerate(COUNTED_AS)], else_=len(COUNTED_AS))


def counted_once():
    """The condition that keeps, of the entries of one trade (one ref), only those of the kind
    it is counted as: no entry of the same ref has a kind ranked before this one's."""
    other = aliased(LedgerEntry)
    return ~exists().where(other.ref == LedgerEntry.ref, other.kind.in_(COUNTED_AS),
                           _rank(other.kind) < _rank(LedgerEntry.kind))


@dataclass(frozen=True)
class Headline:
    year: int
    trades: int  # distinct trades (refs), each once
    turnover_fen: int
    contracts: int  # technology contracts registered (认定登记)
    contracts_fen: int
    voucher_orders: int  # services and instrument time paid partly with innovation vouchers
    voucher_fen: int


def headline(year: int) -> Headline:
    """The year's public headline figures (the portal's home page), from the year's ledger
    sums (SQL aggregates, brought forward per new entry: ``_year_sums``): turnover with each
    trade counted once, registered contracts, voucher redemptions. Aggregates only: no party
    is named, so no permission is asked."""
    groups = _year_sums(year)
    turnover_fen, trades = groups.get(("trades",), [0, 0])
    contracts_fen, contracts = groups.get(("raw", "contract_registered"), [0, 0])
    voucher_fen, vouchers = groups.get(("raw", "voucher_redemption"), [0, 0])
    return Headline(year, trades, turnover_fen, contracts, contracts_fen, vouchers, voucher_fen)


@dataclass
class TurnoverRow:
    key: object  # month number, or county name / OUTSIDE
    by_kind: dict[str, int] = field(default_factory=dict)
    count: int = 0

    @property
    def total_fen(self) -> int:
        return sum(self.by_kind.values())


@dataclass
class Turnover:
    year: int
    by_month: list[TurnoverRow]
    by_county: list[TurnoverRow]
    by_kind: dict[str, int]  # the kind each trade is counted as (COUNTED_AS)
    corrections_fen: dict[str, int]  # refunds and cancellations in the year (shown, not subtracted)
    trades: int = 0  # distinct trades of the year, each once

    @property
    def total_fen(self) -> int:
        return sum(self.by_kind.values())

    @property
    def count(self) -> int:
        return self.trades


# The ledger's sums of a year, kept per process and brought forward entry by entry.
#
# A province year is ~800,000 entries: the GROUP BY with the counted-once rule costs ~20 s in
# SQLite, so it runs once per process and year (``_full_sums``). After that, a view whose
# ledger head moved on reads only the new entries and every entry of their refs (the ref
# index), and moves each touched ref's contribution from what it was to what it is now: a
# trade's contribution (its counted entries' sums, and 1 to the count of each group it is in)
# depends on its ref's entries alone, so the sums of a year are a sum over refs.
# ``tests/dashboards/test_sums_incremental.py`` checks the two ways agree on random ledgers.
#
# A process serves several requests at once (gthread): one lock lets one thread at a time bring
# the kept sums forward (two doing it from the same head would count the new entries twice),
# and a brought-forward year is a new dict, so a thread still reading the old one is not
# disturbed (the published dict is never changed in place).
_SUMS: dict[tuple, "_YearSums"] = {}
_SUMS_LOCK = threading.Lock()
_SUMS_KEPT = 16
_DELTA_MAX = 20_000  # more new entries than this: aggregate afresh in SQL


@dataclass
class _YearSums:
    seq: int
    hash: str
    groups: dict  # ("month", kind, month) / ("party", kind, party) / ("raw", kind) / ("trades",) -> [fen, trades]


def _party_of(kind: str, payload: str) -> str | None:
    value = json.loads(payload).get(PARTY_KEY[kind])
    return None if value is None else str(value)


def _ref_groups(year: int, entries) -> dict[tuple, int]:
    """One ref's contribution to the sums of ``year``: group -> fen, from its ledger entries
    ``(kind, occurred_on, amount_fen, payload)`` (every year's). The rule of ``counted_once``."""
    ranks = [COUNTED_AS.index(e[0]) for e in entries if e[0] in COUNTED_AS]
    best = min(ranks) if ranks else None
    out: dict[tuple, int] = {}

    def add(group, fen):
        out[group] = out.get(group, 0) + fen

    for kind, occurred_on, amount_fen, payload in entries:
        if occurred_on.year != year:
            continue
        if kind in ("refund", "cancellation"):
            add(("month", kind, occurred_on.month), amount_fen)
        if kind in ("contract_registered", "voucher_redemption"):
            add(("raw", kind), amount_fen)
        if kind in TURNOVER_KINDS and COUNTED_AS.index(kind) == best:
            add(("month", kind, occurred_on.month), amount_fen)
            add(("party", kind, _party_of(kind, payload)), amount_fen)
            add(("trades",), amount_fen)
    return out


def _full_sums(year: int, upto: int | None = None) -> dict:
    """The year's sums from SQL aggregates over the ledger (its entries up to seq ``upto``, all
    when None), each trade once (the rule of ``counted_once``). One statement: the year's
    counted entries are found once with a window (the best rank among each ref's entries,
    whatever their year) instead of a correlated lookup per entry (10 s a query at province
    volume), and grouped three ways from there."""
    start, end = _bounds(year)
    upto_seq = LedgerEntry.seq <= upto if upto is not None else true()
    rank = _rank(LedgerEntry.kind)
    ranked = (select(LedgerEntry.ref, LedgerEntry.kind, LedgerEntry.occurred_on, LedgerEntry.amount_fen,
                     LedgerEntry.payload, rank.label("rk"),
                     func.min(rank).over(partition_by=LedgerEntry.ref).label("best"))
              .where(LedgerEntry.kind.in_(COUNTED_AS), upto_seq).subquery("ranked"))
    counted = (select(ranked.c.ref, ranked.c.kind, extract("month", ranked.c.occurred_on).label("month"),
                      ranked.c.amount_fen, _party_expr(ranked.c.kind, ranked.c.payload).label("party"))
               .where(ranked.c.rk == ranked.c.best, ranked.c.occurred_on.between(start, end),
                      ranked.c.kind.in_(TURNOVER_KINDS))
               .cte("counted").prefix_with("MATERIALIZED"))
    fen, trades = func.sum(counted.c.amount_fen), func.count(distinct(counted.c.ref))
    none = literal(None, String)
    stmt = union_all(
        select(literal("month"), counted.c.kind, cast(counted.c.month, String), none, fen, trades)
        .group_by(counted.c.kind, counted.c.month),
        select(literal("party"), counted.c.kind, none, counted.c.party, fen, trades)
        .group_by(counted.c.kind, counted.c.party),
        select(literal("trades"), none, none, none, fen, trades))
    groups: dict[tuple, list] = {}
    for tag, kind, m, party, total, n in db.session.execute(stmt):
        if not n:
            continue  # the trades row of a year without any
        key = ("month", kind, int(m)) if tag == "month" else ("party", kind, party) if tag == "party" else ("trades",)
        groups[key] = [int(total or 0), int(n)]
    in_year = LedgerEntry.occurred_on.between(start, end) & upto_seq
    month = extract("month", LedgerEntry.occurred_on)
    for kind, m, total, n in db.session.execute(
            select(LedgerEntry.kind, month, func.sum(LedgerEntry.amount_fen), func.count(distinct(LedgerEntry.ref)))
            .where(in_year, LedgerEntry.kind.in_(("refund", "cancellation"))).group_by(LedgerEntry.kind, month)):
        groups[("month", kind, int(m))] = [int(total or 0), int(n)]
    for kind, total, n in db.session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.amount_fen), func.count(distinct(LedgerEntry.ref)))
            .where(in_year, LedgerEntry.kind.in_(("contract_registered", "voucher_redemption")))
            .group_by(LedgerEntry.kind)):
        groups[("raw", kind)] = [int(total or 0), int(n)]
    return groups


def _ref_deltas(years, since: int, upto: int, limit: int | None = None) -> dict[int, dict] | None:
    """What the entries after seq ``since`` up to ``upto`` change in the sums of each of
    ``years``: year -> group -> [fen, trades] to add. Reads the new entries' refs and every
    entry of those refs, and moves each ref's contribution from what it was at ``since`` to
    what it is at ``upto``. None when more than ``limit`` entries are new."""
    from marketplace.ledger.scenario import _chunks

    stmt = select(LedgerEntry.ref).where(LedgerEntry.seq > since, LedgerEntry.seq <= upto)
    if limit is not None:
        stmt = stmt.limit(limit + 1)
    new = db.session.execute(stmt).scalars().all()
    if limit is not None and len(new) > limit:
        return None
    years = set(years)
    out: dict[int, dict] = {year: {} for year in years}
    for chunk in _chunks(sorted(set(new))):
        by_ref: dict[str, list] = {}
        for row in db.session.execute(select(LedgerEntry.ref, LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.occurred_on,
                                             LedgerEntry.amount_fen, LedgerEntry.payload)
                                      .where(LedgerEntry.ref.in_(chunk), LedgerEntry.seq <= upto)):
            by_ref.setdefault(row.ref, []).append(row)
        for rows in by_ref.values():
            for year in years & {r.occurred_on.year for r in rows}:
                before = _ref_groups(year, [r[2:] for r in rows if r.seq <= since])
                after = _ref_groups(year, [r[2:] for r in rows])
                delta = out[year]
                for group in before.keys() | after.keys():
                    cell = delta.setdefault(group, [0, 0])
                    cell[0] += after.get(group, 0) - before.get(group, 0)
                    cell[1] += (group in after) - (group in before)
    return out


def _add_deltas(groups: dict, delta: dict) -> dict:
    """``groups`` with ``delta`` added, as a new dict (the one given is never changed: a thread
    may still be reading it); a group that comes to nothing is left out."""
    out = {group: list(cell) for group, cell in groups.items()}
    for group, (fen, n) in delta.items():
        cell = out.setdefault(group, [0, 0])
        cell[0] += fen
        cell[1] += n
        if cell == [0, 0]:
            del out[group]
    return out


def _bring_forward(year: int, sums: _YearSums, seq: int) -> bool:
    """Move ``sums`` from its head to ``seq``; False when that is more work than aggregating afresh."""
    deltas = _ref_deltas([year], sums.seq, seq, _DELTA_MAX)
    if deltas is None:
        return False
    sums.groups, sums.seq = _add_deltas(sums.groups, deltas[year]), seq  # copy on write
    return True


def _year_sums(year: int) -> dict:
    """The sums of ``year`` at the ledger's head: group -> [fen, trades]."""
    from marketplace.ledger.services import head

    seq, digest = head(db.session)
    key = (str(db.session.get_bind().url), year)
    with _SUMS_LOCK:
        return _year_sums_at(key, year, seq, digest)


def _year_sums_at(key: tuple, year: int, seq: int, digest: str) -> dict:
    sums = _SUMS.get(key)
    if sums is not None and (sums.seq > seq or (sums.seq == seq and sums.hash != digest)):
        # A shorter or another ledger behind the address (a restore, a test's fresh database),
        # or a request reading an older snapshot than the kept sums: aggregate afresh at this
        # head and keep that (a newer request then brings it forward by a few entries).
        sums = None
    if sums is not None and sums.seq != seq:
        # the ledger only grows and its hashes chain: the kept head must still be in it
        kept = db.session.scalar(select(LedgerEntry.hash).where(LedgerEntry.seq == sums.seq)) if sums.seq else None
        if (sums.seq and kept != sums.hash) or not _bring_forward(year, sums, seq):
            sums = None
        else:
            sums.hash = digest
    if sums is None:
        if len(_SUMS) >= _SUMS_KEPT:
            _SUMS.clear()
        # The sums the worker keeps in the database (``dashboards.stored``), brought forward
        # from their head; aggregated afresh only when there are none (or they do not fit).
        from marketplace.dashboards import stored

        sums = stored.year_sums(year, seq, digest)
        if sums is None:
            sums = _YearSums(seq, digest, _full_sums(year))
        _SUMS[key] = sums
    return sums.groups


# The by-county rollup of a year's party sums, per process. It is made again when the kept sums
# move on (a brought-forward year is a new dict), when organisations are added (the highest
# id), and when the counties it read are older than DASHBOARD_COUNTIES_MAX_AGE_SECONDS:
# reading the county of thousands of parties was most of a view at province volume, and no
# page changes an organisation's county (it is given at registration).
_ROLLUPS: dict[tuple, tuple] = {}


def _by_county(year: int) -> dict[str, tuple[dict[str, int], int]]:
    """county (or OUTSIDE) -> ({kind: fen}, trades) of ``year``, each party in its county as it
    stands (at most DASHBOARD_COUNTIES_MAX_AGE_SECONDS ago)."""
    groups = _year_sums(year)
    organizations = db.session.scalar(select(func.max(Organization.id)))  # an index seek (a count scans 48k rows)
    key = (str(db.session.get_bind().url), year)
    kept = _ROLLUPS.get(key)
    max_age = current_app.config["DASHBOARD_COUNTIES_MAX_AGE_SECONDS"]
    if (kept is not None and kept[0] is groups and kept[1] == organizations
            and time.monotonic() - kept[3] < max_age):
        return kept[2]
    read_at = time.monotonic()
    codes = sorted({group[2] for group in groups if group[0] == "party" and group[2]})
    county_of: dict[str, str | None] = {}
    for i in range(0, len(codes), 500):
        for code, in_city, county in db.session.execute(
                select(Organization.credit_code, Organization.in_city, Organization.county)
                .where(Organization.credit_code.in_(codes[i:i + 500]))):
            county_of[code] = county if in_city else None
    out: dict[str, tuple[dict[str, int], int]] = {}
    for group, (fen, n) in groups.items():
        if group[0] != "party":
            continue
        county = county_of.get(group[2]) or OUTSIDE
        by_kind, count = out.get(county, ({}, 0))
        by_kind[group[1]] = by_kind.get(group[1], 0) + fen
        out[county] = (by_kind, count + n)
    if len(_ROLLUPS) >= _SUMS_KEPT:
        _ROLLUPS.clear()
    _ROLLUPS[key] = (groups, organizations, out, read_at)
    return out


def turnover(actor, year: int) -> Turnover:
    """Turnover of ``year`` by month and by county, summed in SQL from the ledger (fen), each
    trade counted once (``counted_once``); a row's count is the trades in it; the county is
    each party's as it stands today."""
    _view(actor)
    groups = _year_sums(year)
    # the month groups by key (84 lookups), not a walk over the year's ~13,000 party groups
    month_rows = [(kind, m, *groups[("month", kind, m)]) for kind in TURNOVER_KINDS + ("refund", "cancellation")
                  for m in range(1, 13) if ("month", kind, m) in groups]
    trades = groups.get(("trades",), [0, 0])[1]
    by_month = {m: TurnoverRow(m) for m in range(1, 13)}
    by_kind = {k: 0 for k in TURNOVER_KINDS}
    corrections = {"refund": 0, "cancellation": 0}
    for kind, m, total, n in month_rows:
        total = int(total or 0)
        if kind in corrections:
            corrections[kind] += total
            continue
        row = by_month[int(m)]
        row.by_kind[kind] = row.by_kind.get(kind, 0) + total
        row.count += n
        by_kind[kind] += total

    counties = {key: TurnoverRow(key, dict(by_kind), n) for key, (by_kind, n) in _by_county(year).items()}
    from marketplace.accounts.models import COUNTIES

    order = {c: i for i, c in enumerate(COUNTIES)}
    by_county = sorted(counties.values(), key=lambda r: (order.get(r.key, len(order)), str(r.key)))
    return Turnover(year, [by_month[m] for m in range(1, 13)], by_county, by_kind, corrections, trades)


# --- awards and budgets (from the claims) ----------------------------------------------------


def clause_title(cid: str, locale: str) -> str:
    from marketplace.subsidies import ParameterError, default_parameters

    try:
        c = default_parameters().clause(cid)
    except ParameterError:
        return cid
    return c.title_zh if locale == "zh" else c.title_en


@dataclass
class ClauseAwards:
    clause: str
    drafted_fen: int = 0
    approved_fen: int | None = None
    paid_fen: int | None = None
    clawed_back_fen: int | None = None
    count: int = 0


@dataclass
class Awards:
    year: int
    rows: list[ClauseAwards]

    @property
    def drafted_fen(self) -> int:
        return sum(r.drafted_fen for r in self.rows)

    @property
    def approved_fen(self) -> int:
        return sum(r.approved_fen or 0 for r in self.rows)

    @property
    def paid_fen(self) -> int:
        return sum(r.paid_fen or 0 for r in self.rows)


def _clause_order(cid: str):
    from marketplace.subsidies.result import CLAUSE_ORDER

    return (CLAUSE_ORDER.index(cid) if cid in CLAUSE_ORDER else len(CLAUSE_ORDER), cid)


def awards(actor, year: int) -> Awards:
    from marketplace.claims import services as claims

    _view(actor)
    rows = [ClauseAwards(cid, int(d.get("drafted_fen") or 0), int(d.get("approved_fen") or 0),
                         int(d.get("paid_fen") or 0), int(d.get("clawed_back_fen") or 0), int(d.get("count") or 0))
            for cid, d in claims.awards_by_clause(year).items()]
    return Awards(year, sorted(rows, key=lambda r: _clause_order(r.clause)))


@dataclass
class BudgetRow:
    clause: str
    budget_fen: int
    committed_fen: int
    paid_fen: int
    remaining_fen: int
    waiting: int

    @property
    def used_fen(self) -> int:
        """What counts against the budget: committed (on notice and paid; paid is part of it)."""
        return self.committed_fen


def budgets(actor, year: int) -> list[BudgetRow]:
    """Budget used against budget per clause."""
    from marketplace.claims import services as claims

    _view(actor)
    rows = [BudgetRow(str(d["clause"]), int(d.get("budget_fen") or 0), int(d.get("committed_fen") or 0),
                      int(d.get("paid_fen") or 0), int(d.get("remaining_fen") or 0), int(d.get("waiting") or 0))
            for d in claims.budget_status(year)]
    return sorted(rows, key=lambda r: _clause_order(r.clause))


# --- the C indicator ------------------------------------------------------------------------

TARGETS_FILE = Path(__file__).with_name("rd_targets.yaml")


@dataclass(frozen=True)
class RDTarget:
    """The indicator's target the city set for ``year`` (rd_targets.yaml)."""

    year: int
    rd_intensity: Decimal  # a county reaches it when R&D spending >= this share of GDP
    county_share: Decimal  # the city meets the indicator when this share of counties reach it
    source_zh: str
    source_en: str

    def source(self, locale: str) -> str:
        return self.source_en if locale == "en" else self.source_zh


def _share(where: str, value) -> Decimal:
    if not isinstance(value, str):
        raise ValueError(f"{where}: a share written as a quoted decimal ('0.022'), not {value!r}")
    try:
        d = Decimal(value)
    except ArithmeticError:
        raise ValueError(f"{where}: not a decimal: {value!r}") from None
    if not d.is_finite() or not 0 < d < 1:
        raise ValueError(f"{where}: a share between 0 and 1, not {value!r}")
    return d


@functools.cache
def rd_targets() -> tuple[RDTarget, ...]:
    """The yearly targets, by year, checked as they are read (a bad file fails loudly)."""
    import yaml

    raw = yaml.safe_load(TARGETS_FILE.read_text(encoding="utf-8"))  # shares are quoted: exact decimals
    out: dict[int, RDTarget] = {}
    for i, entry in enumerate(raw["targets"]):
        where = f"{TARGETS_FILE.name}, entry {i + 1}"
        year = entry["year"]
        if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR or year in out:
            raise ValueError(f"{where}: a year between {MIN_YEAR} and {MAX_YEAR}, once: {year!r}")
        out[year] = RDTarget(year, _share(where, entry["rd_intensity"]), _share(where, entry["county_share"]),
                             str(entry["source_zh"]), str(entry["source_en"]))
    return tuple(out[y] for y in sorted(out))


@dataclass(frozen=True)
class TargetFor:
    target: RDTarget | None
    kind: str  # "own": the year's own target; "ahead": the next one, worked towards; "latest": none newer is set


def target_for(year: int) -> TargetFor:
    targets = rd_targets()
    for t in targets:
        if t.year == year:
            return TargetFor(t, "own")
    later = [t for t in targets if t.year > year]
    if later:
        return TargetFor(later[0], "ahead")
    return TargetFor(targets[-1] if targets else None, "latest")


@dataclass
class IndicatorView:
    year: int
    figures: dict[str, CountyRD]
    missing: list[str]
    result: object | None  # marketplace.subsidies.Indicator, None when no figures
    error: str | None = None
    target: TargetFor | None = None


def county_figures(actor, year: int) -> dict[str, CountyRD]:
    _view(actor)
    rows = db.session.scalars(select(CountyRD).where(CountyRD.year == year))
    return {r.county: r for r in rows}


def indicator_parameters(year: int, target: RDTarget | None):
    """The parameters in force (the measures', amended by published reforms), with the year's
    target from rd_targets.yaml put in for that year: the engine then measures against it."""
    from marketplace.reforms.parameters import in_force

    params = in_force()
    if target is None:
        return params
    on = date(year, 1, 1)
    return (params.amended("c.rd_intensity", on, target.rd_intensity)
            .amended("c.county_share", on, target.county_share)
            .amended("c.target_year", on, target.year))


def county_indicator(actor, year: int) -> IndicatorView:
    """Each county against the year's target (``target_for``), computed by the rules engine
    (``county_rd_indicator``)."""
    from marketplace.subsidies import IndicatorError, ParameterError, county_rd_indicator

    figures = county_figures(actor, year)
    missing = [c for c in INDICATOR_COUNTIES if c not in figures]
    view = IndicatorView(year, figures, missing, None, target=target_for(year))
    if not figures:
        return view
    try:
        view.result = county_rd_indicator(
            [{"county": r.county, "rd_spending": fen_to_yuan(r.rd_spending_fen), "gdp": fen_to_yuan(r.gdp_fen)}
             for r in figures.values()], year, parameters=indicator_parameters(year, view.target.target))
    except ParameterError:
        view.error = _("The indicator has no target in force in %(year)d.", year=year)
    except IndicatorError as exc:  # cannot happen with checked figures; say so rather than fail
        view.error = str(exc)
    return view


@dataclass(frozen=True)
class TargetProgress:
    target: RDTarget
    reaching: int | None  # None: no figures entered for that year
    total: int | None
    met: bool | None


def targets_progress(actor) -> list[TargetProgress]:
    """Every yearly target with how the city stood against it that year (when figures exist)."""
    out = []
    for t in rd_targets():
        result = county_indicator(actor, t.year).result
        out.append(TargetProgress(t, result.reaching if result else None, result.total if result else None,
                                  result.met if result else None))
    return out


def require_edit(actor) -> None:
    perm.require(actor, perm.EDIT_COUNTY_RD)


def county_rd_for_edit(actor, year: int, county: str) -> CountyRD | None:
    """The figures the edit form starts from (None: not entered yet)."""
    require_edit(actor)
    if county not in INDICATOR_COUNTIES:
        raise NotFound(_("This county is not one of the counties of the indicator."))
    return db.session.scalar(select(CountyRD).where(CountyRD.year == year, CountyRD.county == county))


@transactional
def save_county_rd(actor, year: int, county: str, rd_spending_fen: int, gdp_fen: int) -> CountyRD:
    """Enter (or correct) one county's R&D spending and GDP for a year; audited."""
    perm.require(actor, perm.EDIT_COUNTY_RD)
    if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ServiceError(_("Enter a year between %(low)d and %(high)d.", low=MIN_YEAR, high=MAX_YEAR), "year")
    if county not in INDICATOR_COUNTIES:
        raise ServiceError(_("Choose one of the counties, districts and county-level cities."), "county")
    for name, value in (("rd_spending", rd_spending_fen), ("gdp", gdp_fen)):
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ServiceError(_("Enter an amount greater than 0."), name)
        if value >= MAX_FEN:
            raise ServiceError(_("This amount is too large."), name)
    if rd_spending_fen >= gdp_fen:
        raise ServiceError(_("R&D spending must be less than the GDP."), "rd_spending")
    row = db.session.scalar(select(CountyRD).where(CountyRD.year == year, CountyRD.county == county))
    before = None
    if row is None:
        row = CountyRD(year=year, county=county)
        db.session.add(row)
    else:
        before = {"rd_spending_fen": row.rd_spending_fen, "gdp_fen": row.gdp_fen}
    row.rd_spending_fen, row.gdp_fen = rd_spending_fen, gdp_fen
    row.entered_by_id, row.entered_at = actor.id, utcnow()
    db.session.flush()
    record(actor, "county_rd.save", "county_rd", row.id, before,
           {"year": year, "county": county, "rd_spending_fen": rd_spending_fen, "gdp_fen": gdp_fen})
    return row


# --- organisations by credit code (exports and award tables) --------------------------------

def organizations_by_code(codes) -> dict[str, Organization]:
    codes = sorted({c for c in codes if c})
    found: dict[str, Organization] = {}
    for i in range(0, len(codes), 500):
        for org in db.session.scalars(select(Organization).where(Organization.credit_code.in_(codes[i:i + 500]))):
            found[org.credit_code] = org
    return found


def claim_for_notice(actor, claim_id: int):
    """The claim a printable decision notice is about (city roles only)."""
    _view(actor)
    from marketplace.claims.services import load_claim

    return load_claim(claim_id)
