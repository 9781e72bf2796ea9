"""Append to the ledger, verify its chain, list its entries.

``append`` adds an entry to the caller's unit of work and flushes it; it never commits —
the trade service that records the payment, refund or registration commits once, so the
business change and its ledger entry land together or not at all.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Iterator

from sqlalchemy import select, text

from marketplace.core.money import FEN, MoneyError, yuan_to_fen
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.ledger.affects import claim_keys
from marketplace.ledger.models import (
    CORRECTION_KINDS,
    GENESIS_HASH,
    KINDS,
    LedgerEntry,
    canonical_json,
    entry_hash,
    index_columns,
)
from marketplace.outbox import enqueue

# pg_advisory_xact_lock key that serialises appends ("Ledger" in ASCII).
ADVISORY_LOCK_KEY = 0x4C6564676572

CONTRACT_TYPES = ("development", "transfer", "consulting", "service")
PAYMENT_METHODS = ("card", "bank_transfer", "voucher_share")
# The kinds a refund or cancellation may correct.
CORRECTABLE_KINDS = ("payment", "contract_registered", "voucher_redemption", "booking_completed", "lease_fee")

# Keys each kind's payload must carry (more are allowed). Amounts are decimal yuan strings,
# organisations are credit codes (统一社会信用代码 = the scenario organisation id), dates ISO.
REQUIRED_KEYS = {
    "contract_registered": ("contract_type", "seller", "buyer", "amount", "registration_no", "registered_on",
                            "project", "broker", "transformed_in_city"),
    "payment": ("payer", "payee", "amount", "method", "gateway_id"),
    "refund": ("reason", "amount"),
    "cancellation": ("reason", "amount"),
    "voucher_redemption": ("buyer", "provider", "amount", "province", "city", "enterprise", "order_ref"),
    "booking_completed": ("provider", "customer", "instrument", "amount"),
    "lease_fee": ("lessee", "instrument", "amount", "financing_lease", "on_sharing_platform"),
}
_BOOL_KEYS = {"contract_registered": ("transformed_in_city",),
              "lease_fee": ("financing_lease", "on_sharing_platform")}
_ORG_KEYS = {"contract_registered": ("seller", "buyer"), "payment": ("payer", "payee"),
             "voucher_redemption": ("buyer", "provider"), "booking_completed": ("provider", "customer"),
             "lease_fee": ("lessee",)}


class LedgerError(ValueError):
    """An entry the ledger refuses (a programming error in the caller, not user input)."""


def _plain(value):
    """Decimals become two-decimal strings and dates ISO strings; everything else is kept."""
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.quantize(FEN):
            raise LedgerError(f"amount {value!r} is not a whole number of fen")
        return str(value.quantize(FEN))
    if isinstance(value, datetime):
        raise LedgerError(f"use a date, not a datetime: {value!r}")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _fen(payload: dict, key: str, kind: str) -> int:
    value = payload.get(key)
    if not isinstance(value, str):
        raise LedgerError(f"{kind}: payload {key} must be a decimal yuan string, not {value!r}")
    try:
        return yuan_to_fen(value)
    except MoneyError as exc:
        raise LedgerError(f"{kind}: payload {key}: {exc}") from None


def validate(kind: str, ref: str, occurred_on: date, amount_fen: int, payload: dict,
             corrects_seq: int | None) -> None:
    if kind not in KINDS:
        raise LedgerError(f"unknown kind {kind!r} (one of {', '.join(KINDS)})")
    if not isinstance(ref, str) or not ref or len(ref) > 40:
        raise LedgerError(f"ref must be a non-empty string of at most 40 characters, not {ref!r}")
    if not isinstance(occurred_on, date) or isinstance(occurred_on, datetime):
        raise LedgerError(f"occurred_on must be a date, not {occurred_on!r}")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen < 0:
        raise LedgerError(f"amount_fen must be a non-negative integer (fen), not {amount_fen!r}")
    if not isinstance(payload, dict):
        raise LedgerError("payload must be a dict")
    missing = [k for k in REQUIRED_KEYS[kind] if k not in payload]
    if missing:
        raise LedgerError(f"{kind}: payload is missing {', '.join(missing)}")
    if _fen(payload, "amount", kind) != amount_fen:
        raise LedgerError(f"{kind}: payload amount {payload['amount']} differs from amount_fen {amount_fen}")
    for key in _BOOL_KEYS.get(kind, ()):
        if not isinstance(payload[key], bool):
            raise LedgerError(f"{kind}: payload {key} must be true or false, not {payload[key]!r}")
    for key in _ORG_KEYS.get(kind, ()):
        if not isinstance(payload[key], str) or not payload[key]:
            raise LedgerError(f"{kind}: payload {key} must be an organisation credit code, not {payload[key]!r}")
    if kind == "contract_registered":
        if payload["contract_type"] not in CONTRACT_TYPES:
            raise LedgerError(f"contract_registered: unknown contract_type {payload['contract_type']!r}")
        if payload["registered_on"] != occurred_on.isoformat():
            raise LedgerError("contract_registered: occurred_on must be the registration date (registered_on)")
        if not payload["registration_no"]:
            raise LedgerError("contract_registered: registration_no is required")
    elif kind == "payment":
        if payload["method"] not in PAYMENT_METHODS:
            raise LedgerError(f"payment: unknown method {payload['method']!r} (card, bank_transfer or voucher_share)")
        parts = (payload.get("instalment", 1), payload.get("instalments", 1))
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in parts) or not 1 <= parts[0] <= parts[1]:
            raise LedgerError(f"payment: instalment {parts[0]!r} of {parts[1]!r} is not a part of a plan")
    elif kind == "voucher_redemption":
        shares = sum(_fen(payload, k, kind) for k in ("province", "city", "enterprise"))
        if shares != amount_fen:
            raise LedgerError("voucher_redemption: province + city + enterprise shares must equal the amount")
    if kind in CORRECTION_KINDS:
        if corrects_seq is None:
            raise LedgerError(f"{kind}: corrects_seq (the entry corrected) is required")
    elif corrects_seq is not None:
        raise LedgerError(f"{kind}: only refunds and cancellations correct an entry")


def _lock_head(session) -> None:
    """Serialise appenders. PostgreSQL: a transaction-level advisory lock, released at commit
    or rollback. SQLite serialises writers itself; the unique ``seq`` is the backstop."""
    if session.get_bind(mapper=LedgerEntry).dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


@functools.cache
def _head_statement():
    # (built once: building a statement costs more CPU than SQLite takes to answer it)
    return select(LedgerEntry.seq, LedgerEntry.hash).order_by(LedgerEntry.seq.desc()).limit(1)


def head(session=None) -> tuple[int, str]:
    """(seq, hash) of the last entry; (0, genesis) for an empty ledger."""
    session = session or db.session
    row = session.execute(_head_statement()).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)


def append(kind: str, ref: str, occurred_on: date, amount_fen: int, payload: dict,
           corrects_seq: int | None = None, *, session=None, flush: bool = True) -> LedgerEntry:
    """Append one entry to the caller's unit of work (flushed, not committed) and return it.
    ``flush=False``: left pending, for the caller's commit to write with the rest of its unit
    of work in one flush (the entry's seq and hash are set already; the next append of the
    same unit of work chains after it, flushed or not)."""
    session = session or db.session
    payload = _plain(payload)
    validate(kind, ref, occurred_on, amount_fen, payload, corrects_seq)
    stored = canonical_json(payload)

    _lock_head(session)
    seq, prev_hash = head(session)  # autoflush puts earlier entries of this unit of work first
    # Entries of this unit of work not flushed yet (autoflush off): chain after them.
    pending = [o for o in session.new if isinstance(o, LedgerEntry) and o.seq is not None]
    if pending:
        last = max(pending, key=lambda o: o.seq)
        if last.seq > seq:
            seq, prev_hash = last.seq, last.hash

    if corrects_seq is not None:
        corrected = session.execute(select(LedgerEntry.kind).where(LedgerEntry.seq == corrects_seq)).scalar()
        if corrected is None:
            raise LedgerError(f"{kind}: corrects_seq {corrects_seq} is not an entry")
        if corrected not in CORRECTABLE_KINDS:
            raise LedgerError(f"{kind}: entry {corrects_seq} ({corrected}) cannot be corrected")

    keys = claim_keys(session, kind, ref, occurred_on, payload, corrects_seq)
    entry = LedgerEntry(seq=seq + 1, kind=kind, ref=ref, occurred_on=occurred_on, amount_fen=amount_fen,
                        payload=stored, corrects_seq=corrects_seq, prev_hash=prev_hash,
                        **index_columns(kind, payload))
    entry.hash = entry.compute_hash()
    session.add(entry)
    for key in sorted(keys):
        enqueue("claims", key)  # recompute the claim groups it can change, after commit
    enqueue("dashboards", str(occurred_on.year))  # bring the stored turnover sums forward
    if flush:
        session.flush()
    return entry


def append_many(entries, *, session=None, chunk: int = 2000, progress=None) -> int:
    """The bulk path: append many entries ``(kind, ref, occurred_on, amount_fen, payload,
    corrects_seq)`` in order, validated and chained exactly as ``append`` does, inserted in
    chunks inside the caller's unit of work (never committed here). A correction may point at
    an entry of the same batch. Instead of a claim group per entry it asks, once, for the
    whole of every year touched (``flask claims draft`` is the same work). ``progress(n)``
    after each chunk. Returns how many entries were appended."""
    session = session or db.session
    _lock_head(session)
    seq, prev_hash = head(session)
    kinds_by_seq: dict[int, str] = {}
    years: set[int] = set()
    appended_years: set[int] = set()
    batch = _Batch()
    rows: list[dict] = []
    done = 0
    table = LedgerEntry.__table__

    def flush():
        nonlocal done
        if rows:
            session.execute(table.insert(), rows)
            done += len(rows)
            if progress:
                progress(len(rows))
            rows.clear()

    for kind, ref, occurred_on, amount_fen, payload, corrects_seq in entries:
        payload = _plain(payload)
        validate(kind, ref, occurred_on, amount_fen, payload, corrects_seq)
        if corrects_seq is not None:
            corrected = kinds_by_seq.get(corrects_seq) or session.execute(
                select(LedgerEntry.kind).where(LedgerEntry.seq == corrects_seq)).scalar()
            if corrected not in CORRECTABLE_KINDS:
                raise LedgerError(f"{kind}: entry {corrects_seq} ({corrected}) cannot be corrected")
        stored = canonical_json(payload)
        seq += 1
        digest = entry_hash(seq, kind, ref, occurred_on, amount_fen, stored, corrects_seq, prev_hash)
        batch.add(seq, kind, ref, occurred_on, payload)
        rows.append({"seq": seq, "kind": kind, "ref": ref, "occurred_on": occurred_on, "amount_fen": amount_fen,
                     "payload": stored, "corrects_seq": corrects_seq, "prev_hash": prev_hash, "hash": digest,
                     "created_at": utcnow(), **index_columns(kind, payload)})
        kinds_by_seq[seq] = kind
        appended_years.add(occurred_on.year)
        prev_hash = digest
        years.update(_years_of(session, kind, ref, occurred_on, payload, corrects_seq, batch))
        if len(rows) >= chunk:
            flush()
    flush()
    for year in sorted(years):
        enqueue("claims", str(year))  # the whole year: many groups at once
    for year in sorted(appended_years):
        enqueue("dashboards", str(year))  # bring the stored turnover sums forward
    return done


class _Batch:
    """What ``append_many`` has appended so far, to find the years a payment or correction
    reaches without asking the database for entries of the same batch."""

    def __init__(self):
        self.seq: dict[int, tuple[str, str, int]] = {}  # seq -> (kind, ref, year)
        self.subject_years: dict[str, set[int]] = {}  # ref or voucher order ref -> years of its subjects
        self.contract_years: dict[str, set[int]] = {}

    def add(self, seq, kind, ref, occurred_on, payload):
        self.seq[seq] = (kind, ref, occurred_on.year)
        if kind in ("contract_registered", "voucher_redemption", "booking_completed", "lease_fee"):
            self.subject_years.setdefault(ref, set()).add(occurred_on.year)
            if kind == "voucher_redemption" and payload.get("order_ref"):
                self.subject_years.setdefault(payload["order_ref"], set()).add(occurred_on.year)
        if kind == "contract_registered":
            self.contract_years.setdefault(ref, set()).add(occurred_on.year)


def _years_of(session, kind, ref, occurred_on, payload, corrects_seq, batch: _Batch) -> set[int]:
    """The years whose claims an entry can change (``affects.claim_keys``, by year only)."""
    if kind == "payment":
        found = set(batch.contract_years.get(ref, ()))
        found.update(d.year for d in session.scalars(select(LedgerEntry.occurred_on).where(
            LedgerEntry.kind == "contract_registered", LedgerEntry.ref == ref)))
        return found
    if kind in CORRECTION_KINDS:
        target = batch.seq.get(corrects_seq)
        if target is None:
            row = session.execute(select(LedgerEntry.kind, LedgerEntry.ref, LedgerEntry.occurred_on)
                                  .where(LedgerEntry.seq == corrects_seq)).first()
            target = (row.kind, row.ref, row.occurred_on.year)
        t_kind, t_ref, t_year = target
        if t_kind != "payment":
            return {t_year}
        found = set(batch.subject_years.get(t_ref, ()))
        found.update(d.year for d in session.scalars(select(LedgerEntry.occurred_on).where(
            LedgerEntry.ref == t_ref, LedgerEntry.kind != "payment")))
        found.update(d.year for d in session.scalars(select(LedgerEntry.occurred_on).where(
            LedgerEntry.order_ref == t_ref)))
        return found
    if kind == "contract_registered" and payload.get("project"):  # later years read it as history
        return {occurred_on.year} | {d.year for d in session.scalars(select(LedgerEntry.occurred_on).where(
            LedgerEntry.kind == "contract_registered", LedgerEntry.project == payload["project"],
            LedgerEntry.occurred_on > date(occurred_on.year, 12, 31)))}
    return {occurred_on.year}


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None


_COLUMNS = (LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.ref, LedgerEntry.occurred_on, LedgerEntry.amount_fen,
            LedgerEntry.payload, LedgerEntry.corrects_seq, LedgerEntry.prev_hash, LedgerEntry.hash)


def verify(session=None, *, batch: int = 1000) -> VerifyResult:
    """Walk the ledger in seq order, recomputing every hash and checking every link.

    Streams rows (``yield_per``) and reads columns, not ORM objects, so that what is checked
    is what the database holds now. A missing entry is named by its seq; an altered one by
    its own seq when its hash no longer matches, or by the next seq when the hash was
    recomputed too (the next entry's ``prev_hash`` no longer matches).
    """
    session = session or db.session
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    rows = session.execute(select(*_COLUMNS).order_by(LedgerEntry.seq).execution_options(yield_per=batch))
    try:
        for row in rows:
            if row.seq != expected_seq:
                if row.seq > expected_seq:
                    gap = (f"entry {expected_seq} is missing" if row.seq == expected_seq + 1
                           else f"entries {expected_seq}..{row.seq - 1} are missing")
                    return VerifyResult(False, checked, expected_seq, f"{gap} (seq jumps to {row.seq})")
                return VerifyResult(False, checked, row.seq, f"seq {row.seq} out of order")
            if row.prev_hash != prev_hash:
                return VerifyResult(False, checked, row.seq,
                                    f"prev_hash does not match the hash of entry {row.seq - 1}")
            computed = entry_hash(row.seq, row.kind, row.ref, row.occurred_on, row.amount_fen, row.payload,
                                  row.corrects_seq, row.prev_hash)
            if computed != row.hash:
                return VerifyResult(False, checked, row.seq, "hash mismatch: the entry was altered")
            checked += 1
            expected_seq, prev_hash = row.seq + 1, row.hash
    finally:
        rows.close()
    return VerifyResult(True, checked)


def verify_business(session=None, *, batch: int = 1000) -> VerifyResult:
    """Walk the ledger in seq order and check that the money it records adds up; name the
    first entry that breaks a rule:

    * at most one ``payment`` per business ref and instalment (an order, or each agreed part
      of it, is paid once);
    * the ``refund`` entries of a ref never exceed its payments;
    * every ``booking_completed`` of a customer's booking (provider and customer differ: not
      the owner's own use) comes after a payment under the same ref (the order was paid).
    """
    session = session or db.session
    paid: dict[str, tuple[int, int]] = {}  # ref -> (seq of its first payment, amount of all its payments)
    parts: dict[tuple[str, int], int] = {}  # (ref, instalment) -> seq of its payment
    refunded: dict[str, int] = {}
    checked = 0
    rows = session.execute(select(LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.ref, LedgerEntry.amount_fen,
                                  LedgerEntry.payload).order_by(LedgerEntry.seq)
                           .execution_options(yield_per=batch))
    try:
        for row in rows:
            if row.kind == "payment":
                part = json.loads(row.payload).get("instalment", 1)
                if (row.ref, part) in parts:
                    return VerifyResult(False, checked, row.seq, f"a second payment under {row.ref} "
                                        f"(the first is entry {parts[row.ref, part]}): an order is paid once")
                parts[row.ref, part] = row.seq
                first, total = paid.get(row.ref, (row.seq, 0))
                paid[row.ref] = (first, total + row.amount_fen)
            elif row.kind == "refund":
                total = refunded.get(row.ref, 0) + row.amount_fen
                payments = paid.get(row.ref, (None, 0))[1]
                if total > payments:
                    return VerifyResult(False, checked, row.seq, f"refunds under {row.ref} ({total} fen) exceed "
                                        f"its payments ({payments} fen)")
                refunded[row.ref] = total
            elif row.kind == "booking_completed":
                payload = json.loads(row.payload)
                if payload.get("provider") != payload.get("customer") and row.ref not in paid:
                    return VerifyResult(False, checked, row.seq, f"booking_completed under {row.ref} without a "
                                        "paid order (no payment before it)")
            checked += 1
    finally:
        rows.close()
    return VerifyResult(True, checked)


def entries(session=None, *, ref: str | None = None, kind: str | None = None, limit: int | None = None,
            newest_first: bool = False) -> list[LedgerEntry]:
    """Entries in seq order (newest first on request), filtered by ref and/or kind."""
    session = session or db.session
    stmt = select(LedgerEntry)
    if ref is not None:
        stmt = stmt.where(LedgerEntry.ref == ref)
    if kind is not None:
        stmt = stmt.where(LedgerEntry.kind == kind)
    stmt = stmt.order_by(LedgerEntry.seq.desc() if newest_first else LedgerEntry.seq)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def iter_entries(session=None, *, batch: int = 1000) -> Iterator[LedgerEntry]:
    """Every entry in seq order, streamed."""
    session = session or db.session
    yield from session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)
                               .execution_options(yield_per=batch))
