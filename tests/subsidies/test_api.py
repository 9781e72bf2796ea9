"""The engine's Python API: purity, the SCENARIO.md example by hand, dated parameters,
the voucher split, the claim registry, streaming."""
import json
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from marketplace.subsidies import (
    CLAIM_KINDS,
    ClaimError,
    Parameters,
    Scenario,
    ScenarioError,
    VoucherSplit,
    claim_kinds,
    compute_claim,
    county_rd_indicator,
    evaluate,
    evaluate_stream,
    voucher_split,
)
from marketplace.subsidies.parameters import DEFAULT_DIR, ParameterError
from tests.subsidies.conftest import policy_file

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL_NAME = "liaocheng-innovative-city-measures.zh.txt"


def test_import_leaves_flask_and_sqlalchemy_out():
    code = ("import sys, marketplace.subsidies, marketplace.subsidies.__main__; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'flask_sqlalchemy')]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_engine_never_reads_a_clock_or_uses_float():
    for path in (ROOT / "marketplace" / "subsidies").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for banned in ("date.today", "datetime.now", "time.time", "utcnow", "float(", "import flask",
                       "import sqlalchemy"):
            assert banned not in text, f"{path.name} uses {banned}"


def test_scenario_example_by_hand(example):
    result = evaluate(example)
    got = {(a.clause, a.beneficiary): a for a in result.awards}
    assert set(got) == {("A1.DT", "lcu"), ("A3", "acme"), ("A4", "ag1"), ("A5", "ag1")}
    # A1.DT: 1.5% × 1,200,000 = 18,000
    assert got["A1.DT", "lcu"].amount == Decimal("1200000.00") * Decimal("0.015") == Decimal("18000.00")
    # A3: 60% / 30% / 10% of 50,000
    a3 = got["A3", "acme"]
    assert (a3.amount, a3.payers, a3.enterprise_pays) == (
        Decimal("45000.00"), {"province": Decimal("30000.00"), "city": Decimal("15000.00")}, Decimal("5000.00"))
    # A4: 5% of 50,000 of redeemed voucher contracts
    assert got["A4", "ag1"].amount == Decimal("2500.00")
    # A5: min(10% × 300,000, 20% × 80,000) = min(30,000, 16,000)
    assert got["A5", "ag1"].amount == min(Decimal("30000"), Decimal("16000")) == Decimal("16000.00")
    # no A2.city: 1,200,000 < 3,000,000, shortfall 1,800,000 in the exclusions and the nil award's trace
    assert [e.transaction for e in result.excluded] == ["T1"]
    assert "short by 1,800,000.00" in result.excluded[0].reason
    nil = {(a.clause, a.beneficiary): a for a in result.nil_awards}
    assert "short by 1,800,000.00" in "\n".join(nil["A2.city", "ag1"].explain("en"))
    # no A4.match: the provincial reward is 0
    assert not any(a.clause == "A4.match" for a in result.awards + result.nil_awards)
    d = result.to_dict()
    assert d["awards"][1] == {**d["awards"][1], "clause": "A3", "amount": "45000.00",
                              "payers": {"province": "30000.00", "city": "15000.00"}, "enterprise_pays": "5000.00",
                              "transactions": ["V1"]}
    assert all(isinstance(s, str) for a in d["awards"] for s in a["trace"])
    assert d["flags"] == []
    json.dumps(d)  # JSON-ready: strings, no Decimal


def test_every_trace_quotes_its_clause_in_chinese(example):
    params = Parameters.load()
    for award in evaluate(example).awards:
        sentence = params.clause(award.clause).sentence_zh
        assert sentence in award.explain("en")[0] and sentence in award.explain("zh")[0]


def test_parameter_sentences_are_the_original_text():
    text = policy_file(ORIGINAL_NAME).read_text(encoding="utf-8")
    params = Parameters.load()
    for item in list(params.parameters.values()) + list(params.clauses.values()):
        assert item.sentence_zh in text, item
        assert item.gloss_en and item.section


def test_a_later_rate_is_a_data_edit_that_leaves_earlier_years_unchanged(tmp_path, example):
    target = tmp_path / "parameters"
    shutil.copytree(DEFAULT_DIR, target)
    path = target / "a1_tech_contracts.yaml"
    text = path.read_text(encoding="utf-8")
    old = "      - {effective_from: 2020-01-01, effective_to: null, value: 0.015}\n"
    assert text.count(old) == 1
    path.write_text(text.replace(old, old + "      - {effective_from: 2025-01-01, effective_to: null, value: 0.01}\n"),
                    encoding="utf-8")
    edited = Parameters.load(target)
    assert edited.value("a1.dt.rate", date(2024, 12, 31)) == Decimal("0.015")
    assert edited.value("a1.dt.rate", date(2025, 1, 1)) == Decimal("0.01")

    before = evaluate(example).to_dict()
    assert evaluate(example, parameters=edited).to_dict() == before  # 2024 unchanged
    example25 = json.loads(json.dumps(example).replace("2024-", "2025-").replace('"year": 2024', '"year": 2025'))
    a1 = {a.clause: a for a in evaluate(example25, parameters=edited).awards}["A1.DT"]
    assert a1.amount == Decimal("12000.00")  # 1% of 1,200,000 from 2025
    assert {a.clause: a for a in evaluate(example25).awards}["A1.DT"].amount == Decimal("18000.00")


def test_parameters_are_exact_decimals_and_dated():
    params = Parameters.load()
    for p in params.parameters.values():
        for v in p.values:
            assert not isinstance(v.value, float)
            assert isinstance(v.effective_from, date)
    with pytest.raises(ParameterError, match="no value of parameter a1.dt.rate is in force on 2019-12-31"):
        params.value("a1.dt.rate", date(2019, 12, 31))


def test_overlapping_dated_values_are_refused(tmp_path):
    (tmp_path / "x.yaml").write_text(
        "parameters:\n  x.rate:\n    section: '4.1'\n    sentence_zh: 句\n    gloss_en: g\n    unit: rate\n"
        "    values:\n      - {effective_from: 2020-01-01, effective_to: 2025-06-30, value: 0.1}\n"
        "      - {effective_from: 2025-01-01, effective_to: null, value: 0.2}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="overlap"):
        Parameters.load(tmp_path)


def test_voucher_split_is_exact_and_public():
    s = voucher_split(Decimal("50000.00"), date(2024, 5, 2))
    assert s == VoucherSplit(Decimal("30000.00"), Decimal("15000.00"), Decimal("5000.00"))
    assert s.subsidy == Decimal("45000.00")
    s = voucher_split(Decimal("33.35"), date(2024, 5, 2))
    assert s == (Decimal("20.01"), Decimal("10.01"), Decimal("3.33"))
    assert sum(s) == Decimal("33.35")
    with pytest.raises(ValueError):
        voucher_split(Decimal("-1"), date(2024, 5, 2))
    with pytest.raises(ValueError):
        voucher_split(0.1, date(2024, 5, 2))  # never float


def test_scenario_error_names_transaction_and_field():
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict({"year": 2024, "organizations": [],
                            "transactions": [{"id": "X", "type": "tech_contract", "amount": "-5"}]})
    assert (info.value.transaction_id, info.value.field) == ("X", "amount")
    assert "\n" not in str(info.value)


def test_floats_are_refused_as_amounts(example):
    example["transactions"][1]["amount"] = 50000.0
    with pytest.raises(ScenarioError, match="field amount: a JSON number .* is not an amount"):
        evaluate(example)


def test_stream_equals_evaluate_and_holds_no_ids_when_asked(example):
    whole = evaluate(example).to_dict()
    streamed = evaluate_stream(2024, example["organizations"], iter(example["transactions"]))
    assert streamed.to_dict() == whole
    seen = []
    lean = evaluate_stream(2024, example["organizations"], iter(example["transactions"]), collect_ids=False,
                           on_award=seen.append)
    assert lean.awards == [] and sorted(a.clause for a in seen) == ["A1.DT", "A3", "A4", "A5"]
    a4 = next(a for a in seen if a.clause == "A4")
    assert a4.transactions == [] and a4.transaction_count == 1 and a4.amount == Decimal("2500.00")


def test_stream_raises_on_bad_input_mid_stream(example):
    bad = example["transactions"] + [{"id": "B1", "type": "voucher_service", "buyer": "ghost", "provider": "ag1",
                                      "amount": "1.00", "date": "2024-01-01"}]
    with pytest.raises(ScenarioError, match="transaction B1: field buyer: unknown organisation 'ghost'"):
        evaluate_stream(2024, example["organizations"], iter(bad))


def test_claim_registry_describes_form_fields():
    kinds = {k["kind"]: k for k in claim_kinds()}
    assert set(kinds) == set(CLAIM_KINDS) >= {"A2.national", "A2.provincial", "B1", "B2", "B3", "B4", "B5",
                                              "B6.base", "B6.excellent", "B6.advanced", "B6.star", "B6.station",
                                              "B6.enterprise", "B6.project"}
    for k in kinds.values():
        assert k["fields"][0]["name"] == "applicant" and k["section"] and k["sentence_zh"]
        for f in k["fields"]:
            assert {"name", "type", "required", "label_en", "label_zh"} <= set(f)
    b5 = {f["name"]: f for f in kinds["B5"]["fields"]}
    assert b5["funding"]["type"] == "decimal" and b5["funding"]["required"] is True
    assert kinds["B3"]["fields"][1]["choices"] == ["national_demonstration", "national_cultivation", "provincial"]


def test_claim_refuses_float_and_bad_date():
    with pytest.raises(ClaimError, match="field funding"):
        compute_claim("B5", {"applicant": "x", "programme": "p", "level": "national", "funding": 100000.0,
                             "awarded_on": "2024-01-01"}, date(2024, 3, 1))
    with pytest.raises(ClaimError, match="field on"):
        compute_claim("B4", {"applicant": "c", "city_level": True, "recognised_on": "2024-01-01"}, "2024-03-01")


def test_county_indicator_api():
    ind = county_rd_indicator([{"county": "A", "rd_spending": Decimal("22"), "gdp": Decimal("1000")},
                               {"county": "B", "rd_spending": "21.99", "gdp": "1000"}], 2022)
    assert [(c.county, c.reaches) for c in ind.counties] == [("A", True), ("B", False)]
    assert ind.met and ind.reaching == 1 and ind.total == 2 and ind.target_year == 2022
    assert ind.target_intensity == Decimal("0.022") and ind.target_county_share == Decimal("0.50")
    assert "2.2%" in "\n".join(ind.explain("zh"))
    json.dumps(ind.to_dict())
