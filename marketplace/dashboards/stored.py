"""The year's turnover sums kept in the database, so that no web process aggregates a year.

A province year is ~800,000 ledger entries: aggregating it (``services._full_sums``) costs
8–9 s of CPU, and each web process used to do it on its first view of a year, after every
deploy or restart. Instead the sums live in ``dashboard_sums`` (one row per group) with a
head mark in ``dashboard_heads``: the ledger entry (seq and hash) they include, the last.

* **Kept after commit.** ``ledger.append`` enqueues ``("dashboards", year)``; the topic's
  handler (``keep_up``) brings every stored year forward from its head to the ledger's by the
  new entries only (``services._ref_deltas``: each touched ref's contribution moves from what
  it was to what it is). It never aggregates a year: in inline mode it runs at the end of a
  request. The worker's timed job stores every year of the ledger not stored yet (it runs
  when the worker starts, so after a deploy the years are stored without waiting for an
  entry), and ``flask dashboards rebuild`` does it by hand.
* **Read, then brought forward.** A web process's first view of a year reads the stored
  groups and their head in one statement and brings them forward in-process from there
  (``year_sums``); after that it keeps them per process as before (``services._year_sums``).
* **Never twice.** The head rows are locked (``FOR UPDATE`` on PostgreSQL) before the ledger
  head is read, and each head moves by a conditional UPDATE on the seq it was read at: a
  second worker that read the same head writes nothing and its batch is tried again
  (``StaleHead``). On SQLite the database serialises writers; the UPDATE is the backstop.
* **Audited.** ``flask dashboards rebuild [--year Y]`` aggregates afresh in SQL and replaces
  the stored sums, and says how many groups differed from the kept ones (it must be none).
  A head whose hash is not the ledger's at its seq (a restored or another database) is
  rebuilt, never brought forward.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, exists, func, insert, select, tuple_, update

from marketplace.core.timeutil import utcnow
from marketplace.dashboards import services
from marketplace.dashboards.models import TurnoverHead, TurnoverSum
from marketplace.extensions import db
from marketplace.ledger.models import GENESIS_HASH, LedgerEntry

TOPIC = "dashboards"
SUMS_EVERY_SECONDS = 300  # the timed job: every ledger year stored and brought forward
LEDGER_KINDS = services.TURNOVER_KINDS + ("refund", "cancellation")


class StaleHead(Exception):
    """Another worker moved a year's head first: this unit of work rolls back, and the outbox
    tries the batch again from the new head."""


def _encode(group: tuple) -> tuple[str, str, str]:
    tag = group[0]
    if tag == "month":
        return "month", group[1], str(group[2])
    if tag == "party":
        return ("party", group[1], group[2]) if group[2] is not None else ("noparty", group[1], "")
    if tag == "raw":
        return "raw", group[1], ""
    return "trades", "", ""


def _decode(tag: str, kind: str, bucket: str) -> tuple:
    if tag == "month":
        return ("month", kind, int(bucket))
    if tag == "party":
        return ("party", kind, bucket)
    if tag == "noparty":
        return ("party", kind, None)
    if tag == "raw":
        return ("raw", kind)
    return ("trades",)


def _ledger_has(seq: int, digest: str) -> bool:
    """Whether the ledger's entry ``seq`` has this hash (the chain: every entry before it too)."""
    if seq == 0:
        return digest == GENESIS_HASH
    return db.session.scalar(select(LedgerEntry.hash).where(LedgerEntry.seq == seq)) == digest


def _ledger_head() -> tuple[int, str]:
    from marketplace.ledger.services import head

    return head(db.session)


def load(year: int) -> tuple[int, str, dict] | None:
    """(seq, hash, groups) stored for ``year``, read in one statement (one snapshot: a worker
    committing meanwhile cannot give groups of another head); None when the year is not stored."""
    rows = db.session.execute(
        select(TurnoverHead.seq, TurnoverHead.hash, TurnoverSum.tag, TurnoverSum.kind, TurnoverSum.bucket,
               TurnoverSum.fen, TurnoverSum.trades)
        .outerjoin(TurnoverSum, TurnoverSum.year == TurnoverHead.year)
        .where(TurnoverHead.year == year)).all()
    if not rows:
        return None
    groups = {_decode(r.tag, r.kind, r.bucket): [int(r.fen), int(r.trades)] for r in rows if r.tag is not None}
    return int(rows[0].seq), rows[0].hash, groups


def year_sums(year: int, seq: int, digest: str):
    """The stored sums of ``year`` brought forward in-process to the ledger head ``seq`` (a
    ``services._YearSums``), or None when the year is not stored, its head is not this
    ledger's, or it lags by more than a view brings forward."""
    found = load(year)
    if found is None:
        return None
    stored_seq, stored_hash, groups = found
    if not _ledger_has(stored_seq, stored_hash):
        return None
    sums = services._YearSums(stored_seq, stored_hash, groups)
    if stored_seq < seq:
        if not services._bring_forward(year, sums, seq):
            return None
        sums.hash = digest
    # stored_seq > seq: the worker committed after this request read the head; the stored
    # sums are the newer ones, and the next view starts from them.
    return sums


# --- the worker's side --------------------------------------------------------------------------

def _lock_heads() -> dict[int, tuple[int, str]]:
    stmt = select(TurnoverHead.year, TurnoverHead.seq, TurnoverHead.hash).order_by(TurnoverHead.year)
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return {r.year: (int(r.seq), r.hash) for r in db.session.execute(stmt)}


def _move_heads(years: list[int], old_seq: int, seq: int, digest: str) -> None:
    """Move the heads of ``years``, all read at ``old_seq``, to ``seq``: one UPDATE (through the
    table: the ORM's bulk UPDATE path cost more than the statement), all of them or none."""
    table = TurnoverHead.__table__
    moved = db.session.execute(update(table).where(table.c.year.in_(years), table.c.seq == old_seq)
                               .values(seq=seq, hash=digest, updated_at=utcnow())).rowcount
    if moved != len(years):
        raise StaleHead(f"dashboards: a head of {years} moved from {old_seq} meanwhile")


@functools.cache
def _sum_statements():
    """The UPDATE, INSERT and DELETE of one stored group, by its key (Core, executemany)."""
    table = TurnoverSum.__table__
    c = table.c
    key = ((c.year == bindparam("k_year")) & (c.tag == bindparam("k_tag")) & (c.kind == bindparam("k_kind"))
           & (c.bucket == bindparam("k_bucket")))
    return (update(table).where(key).values(fen=bindparam("fen"), trades=bindparam("trades")),
            insert(table), delete(table).where(key))


def _apply(year: int, delta: dict) -> None:
    """Add ``delta`` (group -> [fen, trades]) to the stored rows of ``year`` (the rows it
    touches read in one query: the worker applies a few entries' delta after each checkout,
    and a read for each group was most of its cost; then one UPDATE for the changed groups,
    one INSERT for the new, one DELETE for those that came to nothing, through the table)."""
    changes = sorted(((_encode(group), fen, n) for group, (fen, n) in delta.items() if (fen, n) != (0, 0)))
    if not changes:
        return
    keys = [key for key, _fen, _n in changes]
    stored = {}
    for i in range(0, len(keys), 500):  # (a bulk import's delta: within any database's parameter limit)
        stored.update({(r.tag, r.kind, r.bucket): (r.fen, r.trades) for r in db.session.execute(
            select(TurnoverSum.tag, TurnoverSum.kind, TurnoverSum.bucket, TurnoverSum.fen, TurnoverSum.trades)
            .where(TurnoverSum.year == year,
                   tuple_(TurnoverSum.tag, TurnoverSum.kind, TurnoverSum.bucket).in_(keys[i:i + 500])))})
    changed, added, gone = [], [], []
    for (tag, kind, bucket), fen, n in changes:
        found = stored.get((tag, kind, bucket))
        if found is None:
            added.append({"year": year, "tag": tag, "kind": kind, "bucket": bucket, "fen": fen, "trades": n})
            continue
        key = {"k_year": year, "k_tag": tag, "k_kind": kind, "k_bucket": bucket}
        total = (found[0] + fen, found[1] + n)
        if total == (0, 0):
            gone.append(key)
        else:
            changed.append({**key, "fen": total[0], "trades": total[1]})
    change, add, remove = _sum_statements()
    for stmt, rows in ((change, changed), (add, added), (remove, gone)):
        if rows:
            db.session.execute(stmt, rows)


def _store(year: int, groups: dict, seq: int, digest: str, before: tuple[int, str] | None) -> None:
    db.session.execute(delete(TurnoverSum).where(TurnoverSum.year == year))
    if before is None:
        db.session.add(TurnoverHead(year=year, seq=seq, hash=digest, updated_at=utcnow()))
        db.session.flush()
    else:
        _move_heads([year], before[0], seq, digest)
    rows = [dict(zip(("tag", "kind", "bucket"), _encode(g)), year=year, fen=fen, trades=n)
            for g, (fen, n) in groups.items()]
    for i in range(0, len(rows), 2000):
        db.session.execute(insert(TurnoverSum), rows[i:i + 2000])


@dataclass(frozen=True)
class Rebuilt:
    year: int
    seq: int
    groups: int
    differed: int | None  # groups the kept sums (brought forward) had otherwise; None: none were kept


def _rebuild(year: int, seq: int, digest: str, before: tuple[int, str] | None) -> Rebuilt:
    fresh = services._full_sums(year, upto=seq)
    differed = None
    if before is not None and _ledger_has(*before) and before[0] <= seq:
        found = load(year)
        kept = found[2] if found else {}
        if before[0] < seq:
            kept = services._add_deltas(kept, services._ref_deltas([year], before[0], seq)[year])
        differed = sum(1 for g in kept.keys() | fresh.keys() if kept.get(g) != fresh.get(g))
    _store(year, fresh, seq, digest, before)
    return Rebuilt(year, seq, len(fresh), differed)


def rebuild(year: int) -> Rebuilt:
    """Aggregate ``year`` afresh at the ledger's head and store it (the audit: ``differed``
    says how many groups the kept sums had otherwise). Joins the caller's unit of work."""
    heads = _lock_heads()
    seq, digest = _ledger_head()
    return _rebuild(year, seq, digest, heads.get(year))


def has_entries(year: int) -> bool:
    start, end = services._bounds(year)
    return db.session.scalar(select(exists().where(LedgerEntry.kind.in_(LEDGER_KINDS),
                                                   LedgerEntry.occurred_on.between(start, end)))) or False


def ledger_years() -> list[int]:
    """The years with turnover or corrections on the ledger (each kind's first and last date
    through the (kind, occurred_on) index, then the years between that hold any)."""
    lows, highs = [], []
    for kind in LEDGER_KINDS:
        low, high = db.session.execute(select(func.min(LedgerEntry.occurred_on), func.max(LedgerEntry.occurred_on))
                                       .where(LedgerEntry.kind == kind)).one()
        if low is not None:
            lows.append(low.year)
            highs.append(high.year)
    if not lows:
        return []
    return [y for y in range(min(lows), max(highs) + 1) if has_entries(y)]


def keep_up(years=()) -> dict[int, str]:
    """Bring every stored year forward to the ledger's head by the new entries, rebuild one
    whose head is not this ledger's, and store each of ``years`` not stored yet that has
    entries. Joins the caller's unit of work; returns year -> "moved" / "rebuilt" / "stored"."""
    heads = _lock_heads()  # before the ledger head: a head read here is never past it
    seq, digest = _ledger_head()
    done: dict[int, str] = {}
    behind: dict[int, list[int]] = {}
    # (the years' heads are mostly one and the same: each is looked up in the ledger once; the
    # ledger's own head needs no look-up)
    ours = {(seq, digest): True}
    for year, (since, since_hash) in heads.items():
        if (since, since_hash) not in ours:
            ours[(since, since_hash)] = _ledger_has(since, since_hash)
        if not ours[(since, since_hash)]:
            _rebuild(year, seq, digest, (since, since_hash))
            done[year] = "rebuilt"
        elif since < seq:
            behind.setdefault(since, []).append(year)
    for since, group_years in sorted(behind.items()):
        deltas = services._ref_deltas(group_years, since, seq)
        for year in group_years:
            _apply(year, deltas[year])
            done[year] = "moved"
        _move_heads(group_years, since, seq, digest)
    for year in sorted(set(years) - heads.keys()):
        if services.MIN_YEAR <= year <= services.MAX_YEAR and has_entries(year):
            _rebuild(year, seq, digest, None)
            done[year] = "stored"
    return done


def handle(keys: list[str]) -> None:
    """The outbox topic's handler (keys: the years of the new entries): bring the stored years
    forward. A year not stored yet is left to the timed job: storing it aggregates the year,
    which must not happen at the end of a request (inline mode)."""
    keep_up()


def store_every_year(now=None) -> dict[int, str]:
    """The worker's timed job: every year of the ledger stored, and brought forward."""
    return keep_up(ledger_years())
