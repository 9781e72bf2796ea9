"""The ledger's edges, each named: what verify says for each kind of damage (gap, several
missing, a broken link, a duplicate), the error's words, filters, streaming; and what the
scenario export reads from each payload field, with its default when the field is absent.
(Written against the mutants that survived the rest of tests/ledger: bench/mutation.sh.)"""
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from marketplace.extensions import db
from marketplace.ledger import services
from marketplace.ledger.models import LedgerImmutableError, _in, install_guards, remove_guards
from marketplace.ledger.scenario import ScenarioExportError, build_scenario
from tests.ledger.helpers import append_payments, payment
from tests.ledger.test_scenario import city, contract, pay  # noqa: F401 - the fixture

# --- verify: the exact finding ------------------------------------------------------------


def _as_attacker(sql):
    with db.engine.begin() as conn:
        remove_guards(conn)
        conn.execute(text(sql))
        install_guards(conn)


@pytest.fixture()
def five(ledger):
    entries = append_payments(5)
    db.session.commit()
    return entries


def test_verify_names_one_missing_entry(five):
    _as_attacker("DELETE FROM ledger_entries WHERE seq = 3")
    assert services.verify() == services.VerifyResult(False, 2, 3, "entry 3 is missing (seq jumps to 4)")


def test_verify_names_a_run_of_missing_entries(five):
    _as_attacker("DELETE FROM ledger_entries WHERE seq IN (2, 3, 4)")
    assert services.verify() == services.VerifyResult(False, 1, 2, "entries 2..4 are missing (seq jumps to 5)")


def test_verify_names_a_missing_first_entry(five):
    _as_attacker("DELETE FROM ledger_entries WHERE seq = 1")
    assert services.verify() == services.VerifyResult(False, 0, 1, "entry 1 is missing (seq jumps to 2)")


def test_verify_names_a_broken_link_and_an_altered_entry(five):
    _as_attacker(f"UPDATE ledger_entries SET prev_hash = '{'e' * 64}' WHERE seq = 4")
    assert services.verify() == services.VerifyResult(False, 3, 4, "prev_hash does not match the hash of entry 3")


def test_verify_names_an_altered_entry_exactly(five):
    _as_attacker("UPDATE ledger_entries SET amount_fen = 1 WHERE seq = 5")
    assert services.verify() == services.VerifyResult(False, 4, 5, "hash mismatch: the entry was altered")


class _Rows(list):
    closed = False

    def close(self):
        self.closed = True


def test_verify_names_a_repeated_seq(five):
    """Rows out of order cannot come from the table (seq is unique and ordered); verify still says so."""
    cols = ("seq", "kind", "ref", "occurred_on", "amount_fen", "payload", "corrects_seq", "prev_hash", "hash")
    rows = [SimpleNamespace(**{c: getattr(e, c) for c in cols}) for e in five]
    feed = _Rows(rows[:3] + [rows[1]])
    session = SimpleNamespace(execute=lambda stmt: feed)
    assert services.verify(session) == services.VerifyResult(False, 3, 2, "seq 2 out of order")
    assert feed.closed
    intact = _Rows(rows)
    assert services.verify(SimpleNamespace(execute=lambda stmt: intact)) == services.VerifyResult(True, 5)


def test_verify_streams_in_batches(five):
    assert services.verify(batch=2) == services.VerifyResult(True, 5)


def test_the_append_only_error_says_what_was_refused():
    assert str(LedgerImmutableError()) == "ledger is append-only"
    assert str(LedgerImmutableError("refusing to delete entry 3")) == "ledger is append-only: refusing to delete entry 3"


def test_check_constraint_lists_are_quoted_sql():
    assert _in("kind", ("payment", "refund")) == "kind IN ('payment', 'refund')"


def test_entries_filter_by_kind_and_ref(ledger):
    paid = payment("ORD-1", "10.00")
    payment("ORD-2", "20.00")
    services.append("refund", "ORD-1", date(2024, 2, 1), 1000, {"reason": "r", "amount": "10.00"},
                    corrects_seq=paid.seq)
    db.session.commit()
    assert [(e.kind, e.ref) for e in services.entries(kind="refund")] == [("refund", "ORD-1")]
    assert [(e.kind, e.ref) for e in services.entries(kind="payment")] == [("payment", "ORD-1"), ("payment", "ORD-2")]
    assert [e.seq for e in services.entries(ref="ORD-1", kind="payment")] == [1]
    assert [e.seq for e in services.entries(newest_first=True, limit=2)] == [3, 2]


def test_iter_entries_streams_every_entry_in_seq_order(ledger):
    append_payments(5)
    db.session.commit()
    assert [e.seq for e in services.iter_entries(batch=2)] == [1, 2, 3, 4, 5]
    assert [e.ref for e in services.iter_entries()] == ["ORD-1", "ORD-2", "ORD-3", "ORD-4", "ORD-5"]


# --- the scenario export: each field and its default -------------------------------------------

@pytest.mark.parametrize("year", [1899, 10000, True, "2024", 2024.0, None])
def test_the_scenario_year_is_a_four_digit_integer(ledger, year):
    with pytest.raises(ScenarioExportError, match="four-digit"):
        build_scenario(db.session, year)


@pytest.mark.parametrize("year", [1900, 9999])
def test_the_scenario_years_at_the_bounds_are_accepted(ledger, year):
    assert build_scenario(db.session, year) == {"year": year, "organizations": [], "transactions": []}


def test_earlier_contracts_of_the_same_project_are_history_but_not_other_kinds(city):
    c = city
    contract("CTR-1", c["lcu"], c["acme"], "100.00", date(2023, 12, 31), project="P-9")  # the day before the year
    pay("CTR-1", c["acme"], c["lcu"], "100.00", date(2023, 12, 31))
    services.append("booking_completed", "BKG-0", date(2023, 6, 1), 100, {
        "provider": c["ag1"], "customer": c["acme"], "instrument": "INS-3", "amount": "1.00", "project": "P-9"})
    contract("CTR-2", c["lcu"], c["acme"], "200.00", date(2024, 1, 1), project="P-9")
    pay("CTR-2", c["acme"], c["lcu"], "200.00", date(2024, 1, 2))
    contract("CTR-3", c["lcu"], c["acme"], "300.00", date(2024, 1, 1), project="P-OTHER")  # not paid: left out
    db.session.commit()
    ids = [t["id"] for t in build_scenario(db.session, 2024)["transactions"]]
    assert ids == ["CTR-1", "CTR-2"]


def test_a_provincial_reward_and_a_host_level_reach_the_organisations(city, factory):
    from marketplace.accounts.models import Organization, ProvincialServiceReward

    c = city
    ag1 = db.session.query(Organization).filter_by(credit_code=c["ag1"]).one()
    db.session.add(ProvincialServiceReward(organization_id=ag1.id, year=2024, amount_fen=12_345_600))
    db.session.add(ProvincialServiceReward(organization_id=ag1.id, year=2023, amount_fen=1))
    services.append("lease_fee", "LSE-3", date(2024, 2, 1), 100, {
        "lessee": c["team1"], "instrument": "INS-5", "amount": "1.00", "financing_lease": True,
        "on_sharing_platform": True})
    db.session.commit()
    orgs = {o["id"]: o for o in build_scenario(db.session, 2024)["organizations"]}
    assert orgs[c["ag1"]]["provincial_service_reward"] == "123456.00"
    assert orgs[c["team1"]]["host_level"] == "provincial"
    assert "provincial_service_reward" not in orgs[c["team1"]] and "host_level" not in orgs[c["ag1"]]


def test_a_later_contract_of_the_same_project_is_not_history(city):
    c = city
    contract("CTR-1", c["lcu"], c["acme"], "100.00", date(2024, 5, 1), project="P-9")
    pay("CTR-1", c["acme"], c["lcu"], "100.00", date(2024, 5, 2))
    contract("CTR-2", c["lcu"], c["acme"], "200.00", date(2025, 1, 1), project="P-9")  # next year's
    pay("CTR-2", c["acme"], c["lcu"], "200.00", date(2025, 1, 2))
    db.session.commit()
    assert [t["id"] for t in build_scenario(db.session, 2024)["transactions"]] == ["CTR-1"]
    assert [t["id"] for t in build_scenario(db.session, 2025)["transactions"]] == ["CTR-1", "CTR-2"]


def _recompute_years() -> list[str]:
    from marketplace.outbox import OutboxEntry

    # keys name a year's claim group ("2023|TC|<seller>"): the year is what is checked here
    return sorted({r.key.split("|", 1)[0] for r in db.session.scalars(
        select(OutboxEntry).where(OutboxEntry.topic == "claims"))})


def test_a_payment_asks_to_recompute_the_year_its_contract_was_registered_in(city):
    from marketplace.outbox import OutboxEntry

    c = city
    contract("CTR-1", c["lcu"], c["acme"], "100.00", date(2023, 12, 20))
    contract("CTR-2", c["lcu"], c["acme"], "100.00", date(2022, 5, 1))  # another contract, another year
    db.session.execute(OutboxEntry.__table__.delete())
    pay("CTR-1", c["acme"], c["lcu"], "100.00", date(2024, 1, 5))
    assert _recompute_years() == ["2023"]  # not 2024 (the payment's), not 2022 (another ref's)
    db.session.execute(OutboxEntry.__table__.delete())
    pay("ORD-7", c["acme"], c["lcu"], "1.00", date(2024, 1, 6))  # a payment of no contract
    assert _recompute_years() == []
    services.append("lease_fee", "LSE-1", date(2021, 3, 1), 100, {
        "lessee": c["ag1"], "instrument": "INS-3", "amount": "1.00", "financing_lease": True,
        "on_sharing_platform": True})
    assert _recompute_years() == ["2021"]  # any other entry: its own year


def test_same_ref_entries_get_unique_scenario_ids(city):
    for month in (1, 2, 3):
        services.append("lease_fee", "LSE-1", date(2024, month, 10), 100, {
            "lessee": city["ag1"], "instrument": "INS-3", "amount": "1.00", "financing_lease": True,
            "on_sharing_platform": True})
    db.session.commit()
    assert [t["id"] for t in build_scenario(db.session, 2024)["transactions"]] == ["LSE-1", "LSE-1#2", "LSE-1#3"]


def test_an_entry_naming_an_unknown_organisation_is_an_export_error(city):
    services.append("lease_fee", "LSE-9", date(2024, 1, 10), 100, {
        "lessee": "91370000NOSUCHORG", "instrument": "INS-3", "amount": "1.00", "financing_lease": True,
        "on_sharing_platform": True})
    db.session.commit()
    with pytest.raises(ScenarioExportError, match="91370000NOSUCHORG"):
        build_scenario(db.session, 2024)


@pytest.mark.parametrize("value, where", [
    (1.5, "payload: floats"),
    ({"amount": 1.5}, "payload.amount: floats"),
    ({"a": {"b": [1, 2.0]}}, r"payload.a.b\[1\]: floats"),
    ([{"x": "1"}, {"y": float("nan")}], r"payload\[1\].y: floats"),
    ({"a": {1: "x"}}, "payload.a: keys must be strings, not 1"),
])
def test_canonical_json_refuses_floats_and_non_string_keys_and_says_where(value, where):
    from marketplace.ledger.models import canonical_json

    with pytest.raises(TypeError, match=where):
        canonical_json(value)


def test_canonical_json_is_sorted_compact_and_keeps_chinese():
    from marketplace.ledger.models import canonical_json

    assert canonical_json({"b": ["乙", 2], "a": {"d": None, "c": True}}) == '{"a":{"c":true,"d":null},"b":["乙",2]}'


# --- what append refuses, with its exact words -------------------------------------------------

PAYMENT = {"payer": "甲", "payee": "乙", "amount": "1.00", "method": "card", "gateway_id": "pi_1"}
CONTRACT = {"contract_type": "transfer", "seller": "91A", "buyer": "91B", "amount": "1.00",
            "registration_no": "2024370015000001", "registered_on": "2024-01-01", "project": None, "broker": None,
            "transformed_in_city": True}


def _append(kind="payment", ref="ORD-1", amount_fen=100, payload=None):
    return services.append(kind, ref, date(2024, 1, 1), amount_fen, dict(PAYMENT if payload is None else payload))


@pytest.mark.parametrize("call, words", [
    (lambda: _append(kind="gift"), "unknown kind 'gift' (one of contract_registered, payment, refund,"),
    (lambda: _append(ref=""), "ref must be a non-empty string of at most 40 characters, not ''"),
    (lambda: _append(ref="R" * 41), "ref must be a non-empty string of at most 40 characters"),
    (lambda: _append(amount_fen=True), "amount_fen must be a non-negative integer (fen), not True"),
    (lambda: services.append("payment", "ORD-1", date(2024, 1, 1), 100, ["amount", "1.00"]), "payload must be a dict"),
    (lambda: _append(payload={"amount": "1.00"}), "payment: payload is missing payer, payee, method, gateway_id"),
    (lambda: _append(payload={**PAYMENT, "method": "cash"}), "payment: unknown method 'cash' (card, bank_transfer or voucher_share)"),
    (lambda: _append(payload={**PAYMENT, "payer": ""}), "payment: payload payer must be an organisation credit code, not ''"),
    (lambda: _append(payload={**PAYMENT, "amount": "1.001"}), "payment: payload amount: "),
    (lambda: _append("contract_registered", "CTR-1", payload={**CONTRACT, "contract_type": "gift"}),
     "contract_registered: unknown contract_type 'gift'"),
    (lambda: _append("contract_registered", "CTR-1", payload={**CONTRACT, "registered_on": "2024-01-02"}),
     "contract_registered: occurred_on must be the registration date (registered_on)"),
    (lambda: _append("contract_registered", "CTR-1", payload={**CONTRACT, "registration_no": ""}),
     "contract_registered: registration_no is required"),
    (lambda: _append("contract_registered", "CTR-1", payload={**CONTRACT, "transformed_in_city": 1}),
     "contract_registered: payload transformed_in_city must be true or false, not 1"),
    (lambda: services.append("payment", "ORD-1", datetime(2024, 1, 1, 9), 100, dict(PAYMENT)),
     "occurred_on must be a date, not datetime"),
    (lambda: _append(payload={**PAYMENT, "when": datetime(2024, 1, 1, 9)}), "use a date, not a datetime"),
])
def test_append_refuses_with_the_exact_reason(ledger, call, words):
    with pytest.raises(services.LedgerError) as refused:
        call()
    assert str(refused.value).startswith(words), str(refused.value)
    db.session.rollback()
    assert services.entries() == []


def test_append_accepts_the_edges(ledger):
    _append(ref="R" * 40)  # 40 characters is the most
    services.append("payment", "ORD-0", date(2024, 1, 1), 0, {**PAYMENT, "amount": "0.00"})  # nothing paid is a number
    _append("contract_registered", "CTR-1", payload=CONTRACT)
    e = _append(payload={**PAYMENT, "extra": {"on": date(2024, 1, 2), "list": (1, "a")}})
    assert e.data["extra"] == {"on": "2024-01-02", "list": [1, "a"]}  # dates and tuples stored plainly
    db.session.commit()
    assert [x.ref for x in services.entries()] == ["R" * 40, "ORD-0", "CTR-1", "ORD-1"]
