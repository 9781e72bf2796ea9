"""Ledger entries: append-only, each chained to the previous one by a SHA-256 hash.

Immutability is enforced twice:

* in the ORM: a ``before_flush`` hook refuses to flush a modified or deleted
  ``LedgerEntry``, and a ``do_orm_execute`` hook refuses ORM bulk ``update()`` /
  ``delete()`` statements on it;
* in the database: triggers refuse ``UPDATE`` and ``DELETE`` (and ``TRUNCATE`` on
  PostgreSQL) on ``ledger_entries``. ``create_all`` installs them (``after_create``);
  Alembic migrations call :func:`install_guards` / :func:`remove_guards`.

Anyone able to drop the triggers can still rewrite rows; ``services.verify`` then
names the first entry whose hash or link no longer matches.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace.core.append_only import run_statements
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db

# Kinds of entry. ``refund`` and ``cancellation`` correct an earlier entry (``corrects_seq``).
KINDS = ("contract_registered", "payment", "refund", "cancellation", "voucher_redemption",
         "booking_completed", "lease_fee")
CORRECTION_KINDS = ("refund", "cancellation")
GENESIS_HASH = "0" * 64
APPEND_ONLY_MESSAGE = "ledger is append-only"


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class LedgerImmutableError(RuntimeError):
    """Raised when code tries to update or delete a ledger entry."""

    def __init__(self, what: str = ""):
        super().__init__(f"{APPEND_ONLY_MESSAGE}{': ' + what if what else ''}")


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        Index("ix_ledger_entries_kind_occurred_on", "kind", "occurred_on"),
        # What claims read per group (drafting recomputes only the groups an entry changes):
        Index("ix_ledger_entries_party_kind_occurred_on", "party", "kind", "occurred_on"),
        Index("ix_ledger_entries_counterparty_kind_occurred_on", "counterparty", "kind", "occurred_on"),
        Index("ix_ledger_entries_broker_occurred_on", "broker", "occurred_on"),
        Index("ix_ledger_entries_project_occurred_on", "project", "occurred_on"),
        Index("ix_ledger_entries_registration_no", "registration_no"),
        Index("ix_ledger_entries_order_ref", "order_ref"),
        Index("ix_ledger_entries_corrects_seq", "corrects_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)  # 1, 2, 3 … without gaps
    kind: Mapped[str] = mapped_column(String(30))
    ref: Mapped[str] = mapped_column(String(40), index=True)  # business transaction, e.g. "ORD-12"
    occurred_on: Mapped[date] = mapped_column(Date)  # business date; places the entry in a year
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # integer fen, never float
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON (see canonical_json)
    corrects_seq: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("ledger_entries.seq"))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Copies of payload fields, for the indexes above (not hashed: ``verify`` checks they match
    # the payload). See ``index_columns``.
    party: Mapped[str | None] = mapped_column(String(40))  # seller / provider / lessee
    counterparty: Mapped[str | None] = mapped_column(String(40))  # buyer / customer
    broker: Mapped[str | None] = mapped_column(String(40))
    project: Mapped[str | None] = mapped_column(String(60))
    registration_no: Mapped[str | None] = mapped_column(String(60))
    order_ref: Mapped[str | None] = mapped_column(String(40))  # a voucher redemption's order

    @property
    def data(self) -> dict:
        """The payload, parsed."""
        return json.loads(self.payload)

    def compute_hash(self) -> str:
        return entry_hash(self.seq, self.kind, self.ref, self.occurred_on, self.amount_fen, self.payload,
                          self.corrects_seq, self.prev_hash)

    def __repr__(self) -> str:
        return f"<LedgerEntry {self.seq} {self.kind} {self.ref} {self.amount_fen}>"


# Which payload field fills which index column, per kind.
INDEX_FIELDS = {
    "contract_registered": {"party": "seller", "counterparty": "buyer", "broker": "broker", "project": "project",
                            "registration_no": "registration_no"},
    "voucher_redemption": {"party": "provider", "counterparty": "buyer", "order_ref": "order_ref"},
    "booking_completed": {"party": "provider", "counterparty": "customer"},
    "lease_fee": {"party": "lessee"},
}
INDEX_COLUMNS = ("party", "counterparty", "broker", "project", "registration_no", "order_ref")


def index_columns(kind: str, payload: dict) -> dict:
    """The index columns of an entry of ``kind`` with ``payload`` (parsed): every one of
    ``INDEX_COLUMNS``, None where the kind has no such field."""
    fields = INDEX_FIELDS.get(kind, {})
    out = {}
    for column in INDEX_COLUMNS:
        value = payload.get(fields[column]) if column in fields else None
        out[column] = str(value) if value not in (None, "") else None
    return out


# --- canonical forms and the hash ----------------------------------------------------

def canonical_json(value) -> str:
    """Sorted keys, no spaces, UTF-8 kept as is (ensure_ascii=False). Floats are refused."""
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _refuse_floats(value, path="payload"):
    if isinstance(value, float):
        raise TypeError(f"{path}: floats are not allowed in the ledger (use a decimal string): {value!r}")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{path}: keys must be strings, not {k!r}")
            _refuse_floats(v, f"{path}.{k}")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _refuse_floats(v, f"{path}[{i}]")


def entry_hash(seq: int, kind: str, ref: str, occurred_on: date | str, amount_fen: int, payload: str,
               corrects_seq: int | None, prev_hash: str) -> str:
    """SHA-256 (hex) of the canonical JSON array
    ``[seq, kind, ref, occurred_on ISO, amount_fen, payload, corrects_seq, prev_hash]``."""
    day = occurred_on.isoformat() if isinstance(occurred_on, date) else str(occurred_on)
    material = json.dumps([int(seq), kind, ref, day, int(amount_fen), payload,
                           None if corrects_seq is None else int(corrects_seq), prev_hash],
                          separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


# --- the ORM guard -------------------------------------------------------------------

@event.listens_for(Session, "before_flush")
def _refuse_changes(session, flush_context, instances):
    for obj in session.deleted:
        if isinstance(obj, LedgerEntry):
            raise LedgerImmutableError(f"refusing to delete entry {obj.seq}")
    for obj in session.dirty:
        if isinstance(obj, LedgerEntry) and session.is_modified(obj, include_collections=False):
            raise LedgerImmutableError(f"refusing to update entry {obj.seq}")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state):
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ is LedgerEntry:
        raise LedgerImmutableError("refusing a bulk update or delete")


# --- the database guard --------------------------------------------------------------

_SQLITE_GUARDS = (
    "CREATE TRIGGER IF NOT EXISTS ledger_entries_no_update BEFORE UPDATE ON ledger_entries "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_entries_no_delete BEFORE DELETE ON ledger_entries "
    f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END",
)
_SQLITE_REMOVE = (
    "DROP TRIGGER IF EXISTS ledger_entries_no_update",
    "DROP TRIGGER IF EXISTS ledger_entries_no_delete",
)
_PG_GUARDS = (
    "CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION USING MESSAGE = '{APPEND_ONLY_MESSAGE} (' || TG_OP || ' refused)'; END $$",
    "DROP TRIGGER IF EXISTS ledger_entries_no_update_delete ON ledger_entries",
    "CREATE TRIGGER ledger_entries_no_update_delete BEFORE UPDATE OR DELETE ON ledger_entries "
    "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()",
    "DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries",
    "CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()",
)
_PG_REMOVE = (
    "DROP TRIGGER IF EXISTS ledger_entries_no_update_delete ON ledger_entries",
    "DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries",
    "DROP FUNCTION IF EXISTS ledger_entries_append_only()",
)


def _statements(bind, sqlite, postgresql):
    name = bind.dialect.name
    if name == "sqlite":
        return sqlite
    if name == "postgresql":
        return postgresql
    raise NotImplementedError(f"no append-only guard for the {name} dialect")


def install_guards(bind) -> None:
    """Create the triggers that refuse UPDATE and DELETE on ``ledger_entries``.
    ``bind``: a Connection (e.g. Alembic's ``op.get_bind()``) or an Engine. Idempotent."""
    run_statements(bind, _statements(bind, _SQLITE_GUARDS, _PG_GUARDS))


def remove_guards(bind) -> None:
    """Drop the triggers (and on PostgreSQL their function). Idempotent."""
    run_statements(bind, _statements(bind, _SQLITE_REMOVE, _PG_REMOVE))


@event.listens_for(LedgerEntry.__table__, "after_create")
def _after_create(target, connection, **kw):
    install_guards(connection)


@event.listens_for(LedgerEntry.__table__, "after_drop")
def _after_drop(target, connection, **kw):
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
