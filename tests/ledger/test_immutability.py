"""No code path updates or deletes a ledger row; the database refuses too; verify finds tampering."""
import re
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError

from marketplace.extensions import db
from marketplace.ledger import services
from marketplace.ledger.models import LedgerEntry, LedgerImmutableError, install_guards, remove_guards
from tests.ledger.helpers import append_payments

ROOT = Path(__file__).resolve().parents[2]


def _amounts():
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT seq, amount_fen FROM ledger_entries ORDER BY seq")).all()


@pytest.fixture()
def three(ledger):
    entries = append_payments(3)
    db.session.commit()
    return entries


def test_orm_update_is_refused_and_writes_nothing(three):
    before = _amounts()
    three[1].amount_fen = 1
    with pytest.raises(LedgerImmutableError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert _amounts() == before
    assert services.verify().ok


def test_orm_delete_is_refused_and_writes_nothing(three):
    before = _amounts()
    db.session.delete(three[1])
    with pytest.raises(LedgerImmutableError):
        db.session.flush()
    db.session.rollback()
    assert _amounts() == before


@pytest.mark.parametrize("statement", [
    update(LedgerEntry).where(LedgerEntry.seq == 2).values(amount_fen=1),
    delete(LedgerEntry).where(LedgerEntry.seq == 2),
])
def test_orm_bulk_statements_are_refused(three, statement):
    before = _amounts()
    with pytest.raises(LedgerImmutableError):
        db.session.execute(statement)
    db.session.rollback()
    assert _amounts() == before


@pytest.mark.parametrize("sql", [
    "UPDATE ledger_entries SET amount_fen = 1 WHERE seq = 2",
    "DELETE FROM ledger_entries WHERE seq = 2",
    "DELETE FROM ledger_entries",
])
def test_database_refuses_raw_update_and_delete(three, sql):
    before = _amounts()
    with pytest.raises(DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text(sql))
    assert _amounts() == before


def test_database_refuses_truncate_on_postgresql(three, dialect):
    if dialect != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's")
    with pytest.raises(DBAPIError, match="append-only"):
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE ledger_entries"))
    assert len(_amounts()) == 3


def _as_attacker(sql: str):
    """Someone with database access drops the guard, rewrites, and puts the guard back."""
    db.session.rollback()  # end the test's own transaction: DROP TRIGGER waits for its locks
    with db.engine.begin() as conn:
        remove_guards(conn)
        conn.execute(text(sql))
        install_guards(conn)


def test_verify_names_an_edited_entry(three, app):
    _as_attacker("UPDATE ledger_entries SET amount_fen = amount_fen + 1 WHERE seq = 2")
    result = services.verify()
    assert (result.ok, result.checked, result.first_broken_seq) == (False, 1, 2)
    assert "hash" in result.reason

    out = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert out.exit_code == 1
    assert "ledger broken at entry 2:" in out.output


def test_verify_names_an_edited_payload(three):
    _as_attacker("UPDATE ledger_entries SET payload = replace(payload, '\"payee\":\"Q\"', '\"payee\":\"Z\"') "
                 "WHERE seq = 3")
    assert services.verify().first_broken_seq == 3


def test_verify_detects_a_rehashed_entry_by_the_next_link(three):
    e = three[1]
    from marketplace.ledger.models import entry_hash

    forged = entry_hash(e.seq, e.kind, e.ref, e.occurred_on, 1, e.payload, e.corrects_seq, e.prev_hash)
    _as_attacker(f"UPDATE ledger_entries SET amount_fen = 1, hash = '{forged}' WHERE seq = 2")
    result = services.verify()
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "prev_hash" in result.reason


def test_verify_detects_a_deleted_middle_entry(three, app):
    _as_attacker("DELETE FROM ledger_entries WHERE seq = 2")
    result = services.verify()
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert "missing" in result.reason
    out = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert out.exit_code == 1 and "entry 2" in out.output


def test_cli_verify_intact(three, app):
    out = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert out.exit_code == 0, out.output
    assert out.output.strip() == "ledger intact: 3 entries"


def test_cli_list(three, app):
    out = app.test_cli_runner().invoke(args=["ledger", "list", "--ref", "ORD-2"])
    assert out.exit_code == 0, out.output
    assert "ORD-2" in out.output and "ORD-1" not in out.output
    out = app.test_cli_runner().invoke(args=["ledger", "list", "--limit", "2"])
    assert [line.split()[0] for line in out.output.splitlines()] == ["2", "3"]


# Statements that would change ledger rows, anywhere in the application's code.
_FORBIDDEN = [
    re.compile(r"\bupdate\(\s*LedgerEntry\b"),
    re.compile(r"\bdelete\(\s*LedgerEntry\b"),
    re.compile(r"UPDATE\s+ledger_entries\s+SET", re.I),
    re.compile(r"DELETE\s+FROM\s+ledger_entries", re.I),
    re.compile(r"TRUNCATE\s+(TABLE\s+)?ledger_entries", re.I),
    re.compile(r"ledger_entries\.(update|delete)\(", re.I),
]


def test_no_code_path_updates_or_deletes_ledger_rows():
    offenders = []
    for path in sorted((ROOT / "marketplace").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for pattern in _FORBIDDEN:
            for match in pattern.finditer(source):
                line = source.count("\n", 0, match.start()) + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)}")
    assert offenders == []
