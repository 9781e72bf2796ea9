"""The year's scenario, built from the ledger, in SCENARIO.md format."""
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from marketplace.core.money import yuan_to_fen
from marketplace.extensions import db
from marketplace.ledger import services
from marketplace.ledger.scenario import build_scenario

ROOT = Path(__file__).resolve().parents[2]


def contract(ref, seller, buyer, amount, on, project=None, broker=None, ctype="transfer", in_city=True):
    return services.append("contract_registered", ref, on, yuan_to_fen(amount), {
        "contract_type": ctype, "seller": seller, "buyer": buyer, "amount": amount,
        "registration_no": f"{on.year}37001500{ref.split('-')[1]:0>4}", "registered_on": on.isoformat(),
        "project": project, "broker": broker, "transformed_in_city": in_city})


def pay(ref, payer, payee, amount, on, method="card"):
    return services.append("payment", ref, on, yuan_to_fen(amount), {
        "payer": payer, "payee": payee, "amount": amount, "method": method, "gateway_id": f"pi_{ref}"})


def correct(kind, entry, on, reason="退款"):
    return services.append(kind, entry.ref, on, entry.amount_fen,
                           {"reason": reason, "amount": entry.data["amount"]}, corrects_seq=entry.seq)


@pytest.fixture()
def city(ledger, factory):
    """The organisations of SCENARIO.md's example; ids are their credit codes."""
    lcu = factory.organization(kind="university", name="聊城大学", size=None)
    acme = factory.organization(kind="enterprise", name="某机械公司", size="small")
    ag1 = factory.organization(kind="agency", name="某技术转移中心", transfer_agency_level="city",
                               service_agency=True)
    team = factory.organization(kind="maker_team", name="某创客团队", host_level="provincial")
    return {k: o.credit_code for k, o in {"lcu": lcu, "acme": acme, "ag1": ag1, "team1": team}.items()}


def example_entries(c):
    """SCENARIO.md's four transactions, as the trade code would append them."""
    contract("CTR-1", c["lcu"], c["acme"], "1200000.00", date(2024, 3, 1), project="P-7", broker=c["ag1"])
    pay("CTR-1", c["acme"], c["lcu"], "1200000.00", date(2024, 3, 5))
    pay("ORD-9", c["acme"], c["ag1"], "5000.00", date(2024, 5, 2), method="voucher_share")
    services.append("voucher_redemption", "VCH-1", date(2024, 5, 2), 5_000_000, {
        "buyer": c["acme"], "provider": c["ag1"], "amount": "50000.00", "province": "30000.00",
        "city": "15000.00", "enterprise": "5000.00", "order_ref": "ORD-9"})
    services.append("lease_fee", "LSE-1", date(2024, 1, 10), 30_000_000, {
        "lessee": c["ag1"], "instrument": "INS-3", "amount": "300000.00", "financing_lease": True,
        "on_sharing_platform": True})
    services.append("booking_completed", "BKG-1", date(2024, 6, 1), 8_000_000, {
        "provider": c["ag1"], "customer": c["acme"], "instrument": "INS-3", "amount": "80000.00"})


def test_scenario_has_the_shape_of_the_example(city):
    c = city
    example_entries(c)
    db.session.commit()
    scenario = build_scenario(db.session, 2024)
    assert scenario == {
        "year": 2024,
        "organizations": sorted([
            {"id": c["lcu"], "name": "聊城大学", "kind": "university", "in_city": True},
            {"id": c["acme"], "name": "某机械公司", "kind": "enterprise", "size": "small", "in_city": True},
            {"id": c["ag1"], "name": "某技术转移中心", "kind": "agency", "in_city": True,
             "transfer_agency_level": "city", "service_agency": True},
        ], key=lambda o: o["id"]),
        "transactions": [
            {"id": "CTR-1", "type": "tech_contract", "contract_type": "transfer",
             "seller": c["lcu"], "buyer": c["acme"], "amount": "1200000.00",
             "registration_no": "2024370015000001", "registered_on": "2024-03-01",
             "project": "P-7", "broker": c["ag1"], "transformed_in_city": True, "status": "paid",
             "transfer_kind": "assignment"},
            {"id": "VCH-1", "type": "voucher_service", "buyer": c["acme"], "provider": c["ag1"],
             "amount": "50000.00", "date": "2024-05-02", "status": "paid"},
            {"id": "LSE-1", "type": "instrument_lease", "lessee": c["ag1"], "instrument": "INS-3",
             "amount": "300000.00", "date": "2024-01-10", "financing_lease": True, "on_sharing_platform": True},
            {"id": "BKG-1", "type": "instrument_service", "provider": c["ag1"], "customer": c["acme"],
             "instrument": "INS-3", "amount": "80000.00", "date": "2024-06-01", "status": "paid"},
        ],
    }


def test_status_history_and_years(city):
    c = city
    old = contract("CTR-10", c["lcu"], c["acme"], "800000.00", date(2023, 4, 1), project="P-7")
    pay("CTR-10", c["acme"], c["lcu"], "800000.00", date(2023, 4, 2))
    contract("CTR-11", c["lcu"], c["acme"], "10.00", date(2023, 4, 1), project="P-other")
    pay("CTR-11", c["acme"], c["lcu"], "10.00", date(2023, 4, 2))
    contract("CTR-1", c["lcu"], c["acme"], "1200000.00", date(2024, 3, 1), project="P-7")
    pay("CTR-1", c["acme"], c["lcu"], "1200000.00", date(2024, 3, 5))
    contract("CTR-2", c["lcu"], c["acme"], "5.00", date(2024, 3, 1))  # registered, never paid
    contract("CTR-3", c["lcu"], c["acme"], "7.00", date(2024, 3, 1))
    p3 = pay("CTR-3", c["acme"], c["lcu"], "7.00", date(2024, 3, 2))
    correct("refund", p3, date(2025, 1, 5))  # refunded after the year: still refunded
    r4 = contract("CTR-4", c["lcu"], c["acme"], "9.00", date(2024, 3, 1))
    correct("cancellation", r4, date(2024, 3, 9))
    booking = services.append("booking_completed", "BKG-2", date(2024, 6, 1), 100, {
        "provider": c["ag1"], "customer": c["acme"], "instrument": "INS-3", "amount": "1.00"})
    correct("refund", booking, date(2024, 6, 2))
    pay("ORD-9", c["acme"], c["ag1"], "1.00", date(2024, 5, 2), method="voucher_share")
    order_payment = services.entries(ref="ORD-9")[0]
    services.append("voucher_redemption", "VCH-2", date(2024, 5, 2), 100, {
        "buyer": c["acme"], "provider": c["ag1"], "amount": "1.00", "province": "0.60",
        "city": "0.30", "enterprise": "0.10", "order_ref": "ORD-9"})
    correct("refund", order_payment, date(2024, 5, 3))  # refund of the voucher's order
    for month in (1, 2):
        services.append("lease_fee", "LSE-1", date(2024, month, 10), 100, {
            "lessee": c["ag1"], "instrument": "INS-3", "amount": "1.00", "financing_lease": False,
            "on_sharing_platform": True})
    services.append("lease_fee", "LSE-9", date(2025, 1, 10), 100, {
        "lessee": c["ag1"], "instrument": "INS-3", "amount": "1.00", "financing_lease": False,
        "on_sharing_platform": True})
    db.session.commit()

    scenario = build_scenario(db.session, 2024)
    status = {t["id"]: t.get("status") for t in scenario["transactions"]}
    assert status == {"CTR-10": "paid", "CTR-1": "paid", "CTR-3": "refunded", "CTR-4": "cancelled",
                      "BKG-2": "refunded", "VCH-2": "refunded", "LSE-1": None, "LSE-1#2": None}
    assert scenario["transactions"][0]["registered_on"] == old.occurred_on.isoformat()
    assert {o["id"] for o in scenario["organizations"]} == {c["lcu"], c["acme"], c["ag1"]}
    assert build_scenario(db.session, 2022)["transactions"] == []


def test_cli_writes_the_scenario(city, app, tmp_path):
    example_entries(city)
    db.session.commit()
    target = tmp_path / "scenario-2024.json"
    out = app.test_cli_runner().invoke(args=["subsidies", "scenario", "--year", "2024", "--output", str(target)])
    assert out.exit_code == 0, out.output
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data == build_scenario(db.session, 2024)
    assert "聊城大学" in target.read_text(encoding="utf-8")  # ensure_ascii=False

    out = app.test_cli_runner().invoke(args=["subsidies", "scenario", "--year", "2024"])
    assert out.exit_code == 0
    assert json.loads(out.stdout) == data  # the summary line goes to stderr
    assert "scenario 2024: 4 transactions, 3 organisations; ledger head: entry 6" in out.stderr


def test_exported_scenario_evaluates_with_the_engine(city, app, tmp_path):
    example_entries(city)
    db.session.commit()
    target = tmp_path / "scenario-2024.json"
    out = app.test_cli_runner().invoke(args=["subsidies", "scenario", "--year", "2024", "--output", str(target)])
    assert out.exit_code == 0, out.output
    run = subprocess.run([sys.executable, "-m", "marketplace.subsidies", "evaluate", str(target)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    awards = {(a["clause"], a["beneficiary"]): a for a in result["awards"]}
    # SCENARIO.md's example output.
    assert awards[("A1.DT", city["lcu"])]["amount"] == "18000.00"
    assert awards[("A1.DT", city["lcu"])]["transactions"] == ["CTR-1"]
    a3 = awards[("A3", city["acme"])]
    assert a3["amount"] == "45000.00"
    assert a3["payers"] == {"province": "30000.00", "city": "15000.00"}
    assert a3["enterprise_pays"] == "5000.00"
    assert result["totals"] == {"city": "51500.00", "province": "30000.00", "flagged": "0.00"}


def test_transfer_contracts_carry_their_kind_to_the_scenario(city):
    """A licence is written "licence" to the ledger and the scenario; an assignment, and an entry
    written before the kind was recorded, "assignment"; other contract types carry none."""
    c = city
    for ref, kind, ctype in (("CTR-1", "licence", "transfer"), ("CTR-2", "assignment", "transfer"),
                             ("CTR-3", None, "transfer"), ("CTR-4", None, "development")):
        entry = services.append("contract_registered", ref, date(2024, 3, 1), 100_000, {
            "contract_type": ctype, "seller": c["lcu"], "buyer": c["acme"], "amount": "1000.00",
            "registration_no": f"R-{ref}", "registered_on": "2024-03-01", "project": "P-7", "broker": None,
            "transformed_in_city": True, **({"transfer_kind": kind} if kind else {})})
        pay(ref, c["acme"], c["lcu"], "1000.00", date(2024, 3, 2))
        assert entry.seq
    db.session.commit()
    kinds = {t["id"]: t.get("transfer_kind") for t in build_scenario(db.session, 2024)["transactions"]}
    assert kinds == {"CTR-1": "licence", "CTR-2": "assignment", "CTR-3": "assignment", "CTR-4": None}
