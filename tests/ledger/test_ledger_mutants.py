"""The ledger's paths a mutation sample found untested from tests/ledger (issue 16, session 5):
the bulk path (``append_many`` and the years it asks drafting for), the claim-key parser, the
rows a claim family reads (``affects.family_rows``, ``affects.linked_contracts``), a part
of a year's scenario (``scenario.build_subscenario``), the index columns ``append`` stores,
and the refund rule of ``verify_business``. Each test states the behaviour exactly, so a
changed condition, key or year shows."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from marketplace.core.money import fen_to_str
from marketplace.extensions import db
from marketplace.ledger import affects, services
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.scenario import _COLUMNS, build_scenario, build_subscenario
from marketplace.outbox import OutboxEntry

ORG_KINDS = {
    "uni": {"kind": "university"},
    "small": {"kind": "enterprise", "size": "small"},
    "large": {"kind": "enterprise", "size": "large"},
    "agency": {"kind": "agency", "transfer_agency_level": "city", "service_agency": True},
    "lab": {"kind": "agency", "service_agency": True},
    "team": {"kind": "maker_team", "host_level": "provincial"},
    "away": {"kind": "agency", "service_agency": True, "in_city": False},
    "far": {"kind": "enterprise", "size": "small"},
    "lone1": {"kind": "enterprise", "size": "small"},
    "lone2": {"kind": "enterprise", "size": "large"},
    "iso1": {"kind": "enterprise", "size": "small"},
    "iso2": {"kind": "enterprise", "size": "small"},
}


@pytest.fixture()
def c(ledger, factory):
    """Credit codes of organisations of every kind the scenario knows (the app context empties
    every table afterwards; ``ledger`` empties the guarded ledger)."""
    orgs = {name: factory.organization(name=f"单位{name}", **fields) for name, fields in ORG_KINDS.items()}
    db.session.commit()
    return {name: o.credit_code for name, o in orgs.items()}


# --- entries, as (kind, ref, occurred_on, amount_fen, payload, corrects_seq) ----------------------

def contract(ref, day, fen, seller, buyer, *, reg, project=None, broker=None):
    return ("contract_registered", ref, day, fen, {
        "contract_type": "transfer", "transfer_kind": "assignment", "seller": seller, "buyer": buyer,
        "amount": fen_to_str(fen), "registration_no": reg, "registered_on": day.isoformat(),
        "project": project, "broker": broker, "transformed_in_city": True}, None)


def pay(ref, day, fen=100):
    return ("payment", ref, day, fen, {"payer": "P", "payee": "Q", "amount": fen_to_str(fen), "method": "card",
                                       "gateway_id": f"pi_{ref}"}, None)


def voucher(ref, day, fen, buyer, provider, order_ref):
    province, city = fen * 6 // 10, fen * 3 // 10
    return ("voucher_redemption", ref, day, fen, {
        "buyer": buyer, "provider": provider, "amount": fen_to_str(fen), "province": fen_to_str(province),
        "city": fen_to_str(city), "enterprise": fen_to_str(fen - province - city), "order_ref": order_ref}, None)


def booking(ref, day, fen, provider, customer):
    return ("booking_completed", ref, day, fen, {"provider": provider, "customer": customer,
                                                 "instrument": "INS-1", "amount": fen_to_str(fen)}, None)


def lease(ref, day, fen, lessee):
    return ("lease_fee", ref, day, fen, {"lessee": lessee, "instrument": "INS-1", "amount": fen_to_str(fen),
                                         "financing_lease": True, "on_sharing_platform": True}, None)


def correction(kind, ref, day, fen, seq):
    return (kind, ref, day, fen, {"reason": "退款", "amount": fen_to_str(fen)}, seq)


def add(entry) -> LedgerEntry:
    kind, ref, day, fen, payload, corrects_seq = entry
    return services.append(kind, ref, day, fen, payload, corrects_seq)


def claims_keys() -> list[str]:
    return sorted(db.session.scalars(select(OutboxEntry.key).where(OutboxEntry.topic == "claims")))


def refs(rows) -> set[str]:
    return {r.ref for r in rows}


# --- affects -------------------------------------------------------------------------------------

def test_a_claims_key_parses_to_year_family_and_party_and_nothing_else_does():
    assert affects.parse_key("2025|A3|91371502MA0000001") == (2025, "A3", "91371502MA0000001")
    assert affects.parse_key("2025|TP|ACH-1|x") == (2025, "TP", "ACH-1|x")  # the value may hold a bar
    assert affects.parse_key("2025") == (2025, None, None)  # a bare year: the whole year
    for bad in ("2025|A3", "2025|ZZ|X", "2025|A3|"):
        with pytest.raises(ValueError, match="not a claims key"):
            affects.parse_key(bad)


def test_a_family_reads_the_rows_of_its_parties_in_its_year_only(c):
    for e in (voucher("VCH-1", date(2025, 3, 1), 100_00, c["small"], c["lab"], "ORD-1"),
              voucher("VCH-0", date(2024, 3, 1), 100_00, c["small"], c["lab"], "ORD-0"),
              voucher("VCH-2", date(2025, 4, 1), 100_00, c["large"], c["agency"], "ORD-2"),
              booking("BKG-1", date(2025, 5, 1), 50_00, c["lab"], c["small"]),
              lease("LSE-1", date(2025, 6, 1), 70_00, c["lab"]),
              lease("LSE-2", date(2025, 6, 1), 70_00, c["small"]),
              lease("LSE-3", date(2024, 6, 1), 70_00, c["lab"])):
        add(e)
    s = db.session
    assert refs(affects.family_rows(s, 2025, "A3", {c["small"]})) == {"VCH-1"}  # vouchers it bought
    assert refs(affects.family_rows(s, 2024, "A3", {c["small"]})) == {"VCH-0"}
    assert refs(affects.family_rows(s, 2025, "A4", {c["lab"]})) == {"VCH-1"}  # vouchers it sold
    assert refs(affects.family_rows(s, 2025, "A4", {c["lab"], c["agency"]})) == {"VCH-1", "VCH-2"}
    assert refs(affects.family_rows(s, 2025, "A5", {c["lab"]})) == {"BKG-1", "LSE-1"}  # fees and services
    assert refs(affects.family_rows(s, 2024, "A5", {c["lab"]})) == {"LSE-3"}
    with pytest.raises(ValueError, match="no rows of its own"):
        affects.family_rows(s, 2025, "TC", {c["uni"]})


def test_linked_contracts_follow_number_and_project_links_to_their_end(c):
    """From the university's contract (as seller): the one sharing its registration number,
    the one sharing that one's project, and through the project's earlier contracts (history)
    and their registration numbers to a third project's contract of the year. Parties are not
    followed (the agency's brokered contract stays out: ``claims.incremental`` decides which
    parties' groups a contract reaches), nor is an unconnected contract."""
    for e in (
        contract("CTR-A", date(2025, 2, 1), 1_000_00, c["uni"], c["small"], reg="R-A"),
        contract("CTR-B", date(2025, 3, 1), 1_000_00, c["large"], c["team"], reg="R-A", project="ACH-2"),
        contract("CTR-C", date(2025, 4, 1), 1_000_00, c["agency"], c["lab"], reg="R-C", project="ACH-2"),
        contract("CTR-K", date(2025, 5, 1), 1_000_00, c["lone1"], c["lone2"], reg="R-K", broker=c["agency"]),
        contract("CTR-H", date(2024, 5, 1), 1_000_00, c["uni"], c["small"], reg="R-H", project="ACH-2"),
        contract("CTR-E", date(2024, 6, 1), 1_000_00, c["uni"], c["small"], reg="R-H", project="ACH-3"),
        contract("CTR-F", date(2025, 7, 1), 1_000_00, c["far"], c["away"], reg="R-F", project="ACH-3"),
        contract("CTR-Z", date(2025, 8, 1), 1_000_00, c["iso1"], c["iso2"], reg="R-Z"),
        pay("CTR-A", date(2025, 2, 2)),
    ):
        add(e)
    s = db.session
    rows, history = affects.linked_contracts(s, 2025, {"party": {c["uni"]}}, set())
    assert refs(rows.values()) == {"CTR-A", "CTR-B", "CTR-C", "CTR-F"}
    assert refs(history.values()) == {"CTR-H", "CTR-E"}
    # the column asked is the one read: the university bought nothing, the agency brokered one
    assert affects.linked_contracts(s, 2025, {"counterparty": {c["uni"]}}, set()) == ({}, {})
    rows, _history = affects.linked_contracts(s, 2025, {"broker": {c["agency"]}}, set())
    assert refs(rows.values()) == {"CTR-K"}
    # without following, only the party's own contracts of the year
    rows, history = affects.linked_contracts(s, 2025, {"party": {c["uni"]}}, set(), follow=False)
    assert refs(rows.values()) == {"CTR-A"} and history == {}
    # seeded by a project alone
    rows, history = affects.linked_contracts(s, 2025, {}, {"ACH-3"})
    assert "CTR-F" in refs(rows.values()) and "CTR-E" in refs(history.values()) and "CTR-Z" not in refs(rows.values())


# --- a part of the year's scenario ---------------------------------------------------------------

def _ledger_of_2025(c) -> None:
    ctr_h = add(contract("CTR-H", date(2024, 5, 1), 800_000_00, c["agency"], c["small"], reg="R-1",
                         project="ACH-1"))
    add(pay("CTR-H", date(2024, 5, 2)))
    add(contract("CTR-1", date(2025, 3, 1), 1_000_000_00, c["uni"], c["small"], reg="R-2", project="ACH-1"))
    add(pay("CTR-1", date(2025, 3, 2)))
    add(contract("CTR-2", date(2025, 4, 1), 500_000_00, c["uni"], c["large"], reg="R-3"))  # never paid
    add(voucher("VCH-1", date(2025, 5, 1), 100_00, c["small"], c["lab"], "ORD-1"))
    paid = add(pay("ORD-1", date(2025, 5, 1)))
    add(correction("refund", "ORD-1", date(2025, 5, 9), 100, paid.seq))  # refunds the voucher
    add(voucher("VCH-2", date(2025, 6, 1), 200_00, c["large"], c["lab"], "ORD-2"))
    add(pay("ORD-2", date(2025, 6, 1)))
    add(lease("LSE-1", date(2025, 1, 31), 70_00, c["team"]))
    add(lease("LSE-1", date(2025, 2, 28), 70_00, c["team"]))  # a repeated ref: LSE-1#2
    bkg = add(booking("BKG-1", date(2025, 7, 1), 50_00, c["lab"], c["small"]))
    add(pay("BKG-1", date(2025, 6, 30)))
    add(correction("cancellation", "BKG-1", date(2025, 7, 2), 50_00, bkg.seq))
    db.session.commit()
    assert ctr_h.seq == 1


def test_a_part_holding_the_whole_year_reads_as_the_whole_year(c):
    _ledger_of_2025(c)
    s = db.session
    whole = build_scenario(s, 2025)
    statuses = {t["id"]: t.get("status") for t in whole["transactions"]}  # a lease fee has none
    assert statuses["VCH-1"] == "refunded" and statuses["BKG-1"] == "cancelled" and statuses["CTR-1"] == "paid"
    assert "CTR-2" not in statuses and {"LSE-1", "LSE-1#2", "CTR-H"} <= set(statuses)  # the test means something
    year_rows = list(s.execute(select(*_COLUMNS).where(
        LedgerEntry.kind.in_(("contract_registered", "voucher_redemption", "booking_completed", "lease_fee")),
        LedgerEntry.occurred_on.between(date(2025, 1, 1), date(2025, 12, 31)))))
    history = list(s.execute(select(*_COLUMNS).where(LedgerEntry.ref == "CTR-H",
                                                      LedgerEntry.kind == "contract_registered")))
    part = build_subscenario(s, 2025, list(reversed(year_rows)), history)  # any order
    assert part == whole
    # only the lease's first month given: the part still holds every LSE-1 of the year (ids alike)
    first = [r for r in year_rows if r.ref == "LSE-1"][:1]
    lease_part = build_subscenario(s, 2025, first)
    assert [t["id"] for t in lease_part["transactions"]] == ["LSE-1", "LSE-1#2"]


def test_a_part_names_the_organisations_asked_for_even_without_trade(c):
    _ledger_of_2025(c)
    part = build_subscenario(db.session, 2025, [], organizations=[c["iso1"]])
    assert part["transactions"] == []
    assert [o["id"] for o in part["organizations"]] == [c["iso1"]]


# --- the bulk path -------------------------------------------------------------------------------

def test_append_many_chains_indexes_and_asks_for_every_year_it_can_change(c):
    """Entries already in the ledger and entries of the same batch both count: a contract of a
    project reaches the project's later years, a payment its contract's year, a refund of a
    payment the years of what the payment paid for (a voucher through its order)."""
    add(contract("CTR-L", date(2026, 2, 1), 1_000_00, c["uni"], c["small"], reg="R-L", project="ACH-1"))
    add(voucher("VCH-0", date(2024, 3, 1), 100_00, c["small"], c["lab"], "ORD-0"))
    old_payment = add(pay("ORD-0", date(2024, 3, 1)))
    db.session.commit()
    db.session.execute(OutboxEntry.__table__.delete())
    db.session.commit()

    batch = [
        contract("CTR-1", date(2025, 3, 1), 1_000_00, c["uni"], c["small"], reg="R-1", project="ACH-1"),
        pay("CTR-1", date(2025, 3, 2)),
        voucher("VCH-1", date(2025, 5, 1), 100_00, c["small"], c["lab"], "ORD-1"),
        pay("ORD-1", date(2025, 5, 1)),
        correction("refund", "ORD-1", date(2025, 5, 9), 100, 7),  # the payment just above, same batch
        correction("refund", "ORD-0", date(2025, 5, 9), 100, old_payment.seq),  # a payment in the ledger
        lease("LSE-1", date(2027, 1, 31), 70_00, c["team"]),
    ]
    chunks: list[int] = []
    assert services.append_many(batch, chunk=3, progress=chunks.append) == 7
    db.session.commit()
    assert chunks == [3, 3, 1]
    result = services.verify()
    assert result.ok and result.checked == 10, result
    assert claims_keys() == ["2024", "2025", "2026", "2027"]  # the whole of each year, once

    by_ref = {e.ref: e for e in services.entries() if e.kind not in ("refund", "payment")}
    assert (by_ref["CTR-1"].party, by_ref["CTR-1"].counterparty, by_ref["CTR-1"].project,
            by_ref["CTR-1"].registration_no) == (c["uni"], c["small"], "ACH-1", "R-1")
    assert by_ref["VCH-1"].order_ref == "ORD-1" and by_ref["LSE-1"].party == c["team"]
    assert all(e.created_at is not None for e in services.entries())


def test_append_many_asks_for_a_refunded_contract_s_year(c):
    add(contract("CTR-9", date(2023, 3, 1), 1_000_00, c["uni"], c["small"], reg="R-9"))
    db.session.commit()
    db.session.execute(OutboxEntry.__table__.delete())
    db.session.commit()
    services.append_many([correction("refund", "CTR-9", date(2025, 1, 5), 1_000_00, 1)])
    db.session.commit()
    assert claims_keys() == ["2023"]


def test_append_many_refuses_to_correct_a_correction_of_its_own_batch(c):
    batch = [pay("ORD-1", date(2025, 5, 1)), correction("refund", "ORD-1", date(2025, 5, 2), 100, 1),
             correction("refund", "ORD-1", date(2025, 5, 3), 100, 2)]
    with pytest.raises(services.LedgerError, match=r"entry 2 \(refund\) cannot be corrected"):
        services.append_many(batch)


# --- append's index columns, validation words, the refund rule -----------------------------------

def test_append_stores_the_index_columns_of_its_kind(c):
    e = add(contract("CTR-1", date(2025, 3, 1), 1_000_00, c["uni"], c["small"], reg="R-1", project="ACH-1",
                     broker=c["agency"]))
    assert (e.party, e.counterparty, e.broker, e.project, e.registration_no, e.order_ref) == (
        c["uni"], c["small"], c["agency"], "ACH-1", "R-1", None)
    v = add(voucher("VCH-1", date(2025, 5, 1), 100_00, c["small"], c["lab"], "ORD-1"))
    assert (v.party, v.counterparty, v.order_ref) == (c["lab"], c["small"], "ORD-1")


def test_an_instalment_outside_its_plan_is_refused_in_words(ledger):
    kind, ref, day, fen, payload, _ = pay("ORD-1", date(2025, 5, 1))
    with pytest.raises(services.LedgerError, match=r"instalment 3 of 2 is not a part of a plan"):
        services.validate(kind, ref, day, fen, {**payload, "instalment": 3, "instalments": 2}, None)


def test_refunds_adding_up_past_the_payment_break_the_business_check(ledger):
    paid = add(pay("ORD-1", date(2025, 5, 1), 100_00))
    add(correction("refund", "ORD-1", date(2025, 5, 2), 60_00, paid.seq))
    db.session.commit()
    assert services.verify_business().ok  # 60 of 100 refunded
    second = add(correction("refund", "ORD-1", date(2025, 5, 3), 60_00, paid.seq))
    db.session.commit()
    result = services.verify_business()
    assert not result.ok and result.first_broken_seq == second.seq and result.checked == 2
    assert result.reason == "refunds under ORD-1 (12000 fen) exceed its payments (10000 fen)"


def test_append_many_finds_the_years_of_its_own_unflushed_entries(c):
    """One chunk (nothing inserted yet): a payment reaches its contract's year and a refund of
    a payment the year of the voucher bought through that order, both of the same batch."""
    batch = [
        contract("CTR-1", date(2022, 3, 1), 1_000_00, c["uni"], c["small"], reg="R-1"),
        voucher("VCH-1", date(2023, 5, 1), 100_00, c["small"], c["lab"], "ORD-1"),
        pay("CTR-1", date(2025, 3, 2)),
        pay("ORD-1", date(2025, 5, 1)),
        correction("refund", "ORD-1", date(2025, 5, 9), 100, 4),
    ]
    services.append_many(batch)
    db.session.commit()
    assert claims_keys() == ["2022", "2023"]  # the payments and the refund reach no year of their own


# --- the keys an appended entry asks for -----------------------------------------------------------

def test_an_entry_asks_for_exactly_the_groups_it_can_change(c):
    add(voucher("VCH-1", date(2025, 3, 1), 100_00, c["small"], c["lab"], "ORD-1"))
    add(voucher("VCH-2", date(2025, 4, 1), 100_00, c["large"], c["agency"], "ORD-2"))
    db.session.commit()
    assert claims_keys() == sorted([f"2025|A3|{c['small']}", f"2025|A4|{c['lab']}",
                                    f"2025|A3|{c['large']}", f"2025|A4|{c['agency']}"])
    paid = add(pay("ORD-1", date(2025, 3, 1)))
    db.session.execute(OutboxEntry.__table__.delete())
    db.session.commit()
    add(correction("refund", "ORD-1", date(2025, 3, 9), 100, paid.seq))  # the voucher of ORD-1, not ORD-2's
    db.session.commit()
    assert claims_keys() == sorted([f"2025|A3|{c['small']}", f"2025|A4|{c['lab']}"])


def test_a_clause_s_group_key_names_its_family():
    assert affects.group_key(2025, "A4.match", "X") == "2025|A4|X"
    assert affects.group_key(2025, "A2.city", "X") == "2025|TC|X"
    assert affects.group_key(2025, "B1", "X") is None  # filed by hand: no engine group
