"""Appending builds a SHA-256 chain; verify walks it."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger import services
from marketplace.ledger.models import GENESIS_HASH, LedgerEntry, canonical_json, entry_hash
from tests.ledger.helpers import append_payments, payment


def test_append_chains_entries_from_genesis(ledger):
    entries = append_payments(3)
    db.session.commit()
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == GENESIS_HASH
    assert entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash
    for e in entries:
        assert len(e.hash) == 64 and int(e.hash, 16) >= 0
        assert e.hash == entry_hash(e.seq, e.kind, e.ref, e.occurred_on, e.amount_fen, e.payload,
                                    e.corrects_seq, e.prev_hash)
    assert services.verify() == services.VerifyResult(True, 3)


def test_empty_ledger_is_intact(ledger):
    assert services.verify() == services.VerifyResult(True, 0)


def test_payload_is_stored_as_canonical_json_and_hashed_as_stored(ledger):
    e = services.append("booking_completed", "BKG-5", date(2024, 6, 1), 8_000_000,
                        {"provider": "91370000X", "customer": "客户", "instrument": "INS-3",
                         "amount": Decimal("80000.00")})
    assert e.payload == ('{"amount":"80000.00","customer":"客户","instrument":"INS-3",'
                         '"provider":"91370000X"}')
    assert e.payload == canonical_json(e.data)
    assert e.hash == e.compute_hash()


def test_append_joins_the_callers_unit_of_work(ledger):
    payment("ORD-1", "10.00")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    assert payment("ORD-2", "10.00").seq == 1


def test_corrections_point_at_what_they_correct(ledger):
    paid = payment("ORD-1", "100.00")
    refund = services.append("refund", "ORD-1", date(2024, 2, 1), 10000, {"reason": "不满意", "amount": "100.00"},
                             corrects_seq=paid.seq)
    db.session.commit()
    assert refund.corrects_seq == paid.seq
    assert services.verify().ok


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "gift"}, "unknown kind"),
    ({"amount_fen": 10.0}, "amount_fen"),
    ({"amount_fen": -1}, "amount_fen"),
    ({"payload": {"payer": "a", "payee": "b", "amount": 10.0, "method": "card", "gateway_id": "x"}},
     "decimal yuan string"),
    ({"payload": {"payer": "a", "payee": "b", "amount": "2.00", "method": "card", "gateway_id": "x"}},
     "differs"),
    ({"payload": {"payer": "a", "amount": "1.00", "method": "card", "gateway_id": "x"}}, "missing payee"),
    ({"occurred_on": "2024-01-01"}, "occurred_on"),
    ({"corrects_seq": 1}, "only refunds"),
])
def test_bad_entries_are_refused(ledger, kwargs, message):
    args = {"kind": "payment", "ref": "ORD-1", "occurred_on": date(2024, 1, 1), "amount_fen": 100,
            "payload": {"payer": "a", "payee": "b", "amount": "1.00", "method": "card", "gateway_id": "x"}}
    args.update(kwargs)
    with pytest.raises(services.LedgerError, match=message):
        services.append(**args)


def test_refund_must_correct_an_existing_entry(ledger):
    with pytest.raises(services.LedgerError, match="not an entry"):
        services.append("refund", "ORD-1", date(2024, 1, 1), 100, {"reason": "x", "amount": "1.00"},
                        corrects_seq=42)
    with pytest.raises(services.LedgerError, match="corrects_seq"):
        services.append("refund", "ORD-1", date(2024, 1, 1), 100, {"reason": "x", "amount": "1.00"})


def test_voucher_shares_must_add_up(ledger):
    payload = {"buyer": "a", "provider": "b", "amount": "50000.00", "province": "30000.00",
               "city": "15000.00", "enterprise": "4000.00", "order_ref": "ORD-1"}
    with pytest.raises(services.LedgerError, match="shares"):
        services.append("voucher_redemption", "VCH-1", date(2024, 5, 2), 5_000_000, payload)
    payload["enterprise"] = "5000.00"
    assert services.append("voucher_redemption", "VCH-1", date(2024, 5, 2), 5_000_000, payload).seq == 1


def test_entries_lists_by_ref(ledger):
    append_payments(3)
    payment("ORD-2", "5.00")
    assert [e.seq for e in services.entries(ref="ORD-2")] == [2, 4]
    assert [e.seq for e in services.entries(limit=2, newest_first=True)] == [4, 3]


def test_entries_left_unflushed_chain_after_each_other_and_land_at_commit(ledger):
    # (book() appends with flush=False and autoflush off: its commit writes the entry with the
    # notices in one flush; a second append of the same unit of work must still chain after it)
    first = payment("ORD-1", "100.00")
    with db.session.no_autoflush:
        second = payment("ORD-2", "200.00", flush=False)
        third = payment("ORD-3", "300.00", flush=False)
        assert second in db.session.new and third in db.session.new  # nothing written yet
    assert (second.seq, third.seq) == (first.seq + 1, first.seq + 2)
    assert (second.prev_hash, third.prev_hash) == (first.hash, second.hash)
    db.session.commit()
    assert services.verify() == services.VerifyResult(True, 3)
