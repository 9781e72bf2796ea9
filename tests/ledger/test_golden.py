"""The ledger hash, pinned: fixed entries and their SHA-256 digests written out here, computed
once by hand from the documented material (not by the function under test). A change to what
is hashed — a field left out, reordered, or formatted differently — breaks these digests and
every ledger already written; verify must notice a change to any hashed column."""
from datetime import date

import pytest
from sqlalchemy import text

from marketplace.extensions import db
from marketplace.ledger import services
from marketplace.ledger.models import GENESIS_HASH, entry_hash, install_guards, remove_guards

PAYLOAD = '{"amount":"1234.00","gateway_id":"pi_7","method":"card","payee":"乙","payer":"甲"}'

# sha256 of the UTF-8 bytes of (64 zeros at the end)
# [1,"payment","ORD-7","2024-03-15",123400,"{\"amount\":\"1234.00\",\"gateway_id\":\"pi_7\",\"method\":\"card\",\"payee\":\"乙\",\"payer\":\"甲\"}",null,"000…0"]
GOLDEN_PAYMENT = "386382c106070bde5e9125c7112e8b406dd67929c94f967f0e4c2b2a32da3f6c"
# sha256 of  [2,"refund","ORD-7","2024-03-20",123400,"{}",1,"aaa…a"]
GOLDEN_REFUND = "6a8df63f87a0dacd16ca7aef34d4016b85c0b4c2aec1e2093f39a7049291607f"


def test_golden_hash_of_a_fixed_payment_entry():
    assert GENESIS_HASH == "0" * 64
    assert entry_hash(1, "payment", "ORD-7", date(2024, 3, 15), 123400, PAYLOAD, None, GENESIS_HASH) == GOLDEN_PAYMENT
    # a date given as its ISO string hashes the same
    assert entry_hash(1, "payment", "ORD-7", "2024-03-15", 123400, PAYLOAD, None, GENESIS_HASH) == GOLDEN_PAYMENT


def test_golden_hash_of_a_fixed_correction_entry():
    assert entry_hash(2, "refund", "ORD-7", date(2024, 3, 20), 123400, "{}", 1, "a" * 64) == GOLDEN_REFUND


def test_a_stored_entry_hashes_to_the_golden_digest(ledger):
    e = services.append("payment", "ORD-7", date(2024, 3, 15), 123400, {"payer": "甲", "payee": "乙", "amount": "1234.00",
                                                                           "method": "card", "gateway_id": "pi_7"})
    db.session.commit()
    assert (e.seq, e.prev_hash, e.payload, e.hash) == (1, GENESIS_HASH, PAYLOAD, GOLDEN_PAYMENT)


@pytest.mark.parametrize("field, value", [
    ("seq", 2), ("kind", "refund"), ("ref", "ORD-8"), ("occurred_on", date(2024, 3, 16)), ("amount_fen", 123401),
    ("payload", PAYLOAD.replace("甲", "丙")), ("corrects_seq", 1), ("prev_hash", "f" * 64),
])
def test_every_field_enters_the_hash(field, value):
    fields = {"seq": 1, "kind": "payment", "ref": "ORD-7", "occurred_on": date(2024, 3, 15), "amount_fen": 123400,
              "payload": PAYLOAD, "corrects_seq": None, "prev_hash": GENESIS_HASH}
    fields[field] = value
    assert entry_hash(**fields) != GOLDEN_PAYMENT


def _tamper(sql: str) -> None:
    with db.engine.begin() as conn:
        remove_guards(conn)
        conn.execute(text(sql))
        install_guards(conn)


@pytest.mark.parametrize("sql", [
    "UPDATE ledger_entries SET occurred_on = '2023-12-31' WHERE seq = 2",  # moves it into another subsidy year
    "UPDATE ledger_entries SET kind = 'refund' WHERE seq = 2",
    "UPDATE ledger_entries SET ref = 'ORD-99' WHERE seq = 2",
    "UPDATE ledger_entries SET corrects_seq = 1 WHERE seq = 2",
])
def test_verify_notices_a_changed_column(ledger, sql):
    for i in (1, 2, 3):
        services.append("payment", f"ORD-{i}", date(2024, 1, i), i * 100,
                        {"payer": "P", "payee": "Q", "amount": f"{i}.00", "method": "card", "gateway_id": f"pi_{i}"})
    db.session.commit()
    assert services.verify().ok
    db.session.rollback()  # end the read, as a request would, before the attacker's DDL
    _tamper(sql)
    db.session.expire_all()
    result = services.verify()
    assert (result.ok, result.checked, result.first_broken_seq) == (False, 1, 2)
    assert "hash mismatch" in result.reason


def test_verify_notices_a_changed_date_through_the_cli(ledger, app):
    services.append("payment", "ORD-1", date(2024, 1, 1), 100,
                    {"payer": "P", "payee": "Q", "amount": "1.00", "method": "card", "gateway_id": "pi_1"})
    db.session.commit()
    _tamper("UPDATE ledger_entries SET occurred_on = '2025-01-01' WHERE seq = 1")
    out = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert out.exit_code == 1 and "ledger broken at entry 1:" in out.output
