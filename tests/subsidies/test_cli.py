"""The CLI of SCENARIO.md, run as other tools run it."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, "-m", "marketplace.subsidies", *args], cwd=ROOT,
                          capture_output=True, text=True, encoding="utf-8")


@pytest.fixture
def scenario_file(tmp_path, example):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(example, ensure_ascii=False), encoding="utf-8")
    return path


def test_evaluate_prints_the_output_json(scenario_file):
    out = run("evaluate", str(scenario_file))
    assert out.returncode == 0 and out.stderr == ""
    d = json.loads(out.stdout)
    assert list(d) == ["year", "awards", "excluded", "flags", "totals"] and d["year"] == 2024
    rows = [(a["clause"], a["beneficiary"], a["amount"], a["transactions"]) for a in d["awards"]]
    assert rows == [("A1.DT", "lcu", "18000.00", ["T1"]), ("A3", "acme", "45000.00", ["V1"]),
                    ("A4", "ag1", "2500.00", ["V1"]), ("A5", "ag1", "16000.00", ["L1", "S1"])]
    a3 = d["awards"][1]
    assert a3["payers"] == {"province": "30000.00", "city": "15000.00"} and a3["enterprise_pays"] == "5000.00"
    assert all(isinstance(line, str) for a in d["awards"] for line in a["trace"])
    assert set(d["awards"][0]) == {"clause", "beneficiary", "amount", "transactions", "trace"}
    assert d["excluded"][0]["transaction"] == "T1" and set(d["excluded"][0]) == {"transaction", "reason"}
    assert d["flags"] == []
    # SCENARIO.md: the city pays A1 18,000 + A3's 15,000 + A4 2,500 + A5 16,000; the province A3's 30,000
    assert d["totals"] == {"city": "51500.00", "province": "30000.00", "flagged": "0.00"}


@pytest.mark.parametrize("lang, words", [
    ("zh", ["补助", "不计入的交易", "第四（一）条", "市财政：51,500.00 元", "省财政：30,000.00 元",
            "待审核的重叠部分：0.00 元", "A1.DT  聊城大学（lcu）  18,000.00 元",
            "A3  某机械公司（acme）  省财政 30,000.00 元；市财政 15,000.00 元"]),
    ("en", ["Awards", "Excluded transactions", "section 4.1", "city pays: 51,500.00 CNY",
            "province pays: 30,000.00 CNY", "flagged for a decision: 0.00 CNY"])])
def test_explain(scenario_file, lang, words):
    out = run("evaluate", str(scenario_file), "--explain", lang)
    assert out.returncode == 0 and out.stderr == ""
    for w in words:
        assert w in out.stdout
    # never one figure adding the province's money to the city's (81,500 = 51,500 + 30,000),
    # nor the whole A3 subsidy (45,000 = 30,000 + 15,000) as one amount
    assert "81,500" not in out.stdout and "45,000" not in out.stdout
    assert "合计" not in out.stdout and "Total" not in out.stdout


def _bad(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    out = run("evaluate", str(path))
    assert out.returncode == 2, out
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


def test_negative_amount_exits_2(tmp_path):
    line = _bad(tmp_path, {"year": 2024, "organizations": [],
                           "transactions": [{"id": "X", "type": "tech_contract", "amount": "-5"}]})
    assert "transaction X" in line and "amount" in line


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d["transactions"][0].update(seller="ghost"), ["transaction T1", "seller", "ghost"]),
    (lambda d: d["transactions"][1].update(amount="abc"), ["transaction V1", "amount"]),
    (lambda d: d["transactions"][1].update(date="02/05/2024"), ["transaction V1", "date"]),
    (lambda d: d["transactions"][2].pop("instrument"), ["transaction L1", "instrument", "missing"]),
    (lambda d: d["transactions"][3].update(type="donation"), ["transaction S1", "type"]),
    (lambda d: d["transactions"][0].update(contract_type="gift"), ["transaction T1", "contract_type"]),
    (lambda d: d.pop("year"), ["year", "missing"]),
])
def test_bad_input_exits_2_with_one_line(tmp_path, example, mutate, words):
    mutate(example)
    line = _bad(tmp_path, example)
    for w in words:
        assert w in line


def test_malformed_json_exits_2(tmp_path):
    assert "malformed JSON" in _bad(tmp_path, '{"year": 2024, "organizations": [')


def test_missing_file_exits_2(tmp_path):
    out = run("evaluate", str(tmp_path / "nope.json"))
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.splitlines()) == 1


def test_usage_error_exits_2_with_one_line(scenario_file):
    out = run("evaluate", str(scenario_file), "--explain", "fr")
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.splitlines()) == 1


# CLAUSES.md "Reading an amount": anything but the grammar exits 2 with one line naming the
# transaction (or organisation) and the field, nothing on stdout, never a traceback.
@pytest.mark.parametrize("amount, words", [
    ('1e26', ["a JSON number"]), ('5', ["a JSON number"]), ('-5', ["a JSON number"]), ('5.5', ["a JSON number"]),
    ('"1e26"', ["no exponent"]), ('"-5"', ["no sign"]), ('"+5"', ["no sign"]), ('"1,000"', ["separators"]),
    ('" 5"', ["spaces"]), ('"\\uff15"', ["only ASCII digits"]), ('"05"', ["leading zeros"]), ('".5"', ["0.5, not .5"]),
    ('"5."', ["5, not 5."]), ('"5.123"', ["two decimal places"]), ('"1000000000000"', ["above the largest amount"]),
    ('"100000000000000000000000000"', ["above the largest amount"]), ('null', ["missing"]), ('true', ["decimal string"]),
])
def test_every_amount_outside_the_grammar_exits_2_naming_transaction_and_field(tmp_path, example, amount, words):
    text = json.dumps(example, ensure_ascii=False).replace('"amount": "50000.00"', f'"amount": {amount}')
    assert f'"amount": {amount}' in text
    line = _bad(tmp_path, text)
    assert line.startswith("transaction V1: field amount:"), line
    for w in words:
        assert w in line
    assert "Traceback" not in line


def test_an_organisation_amount_outside_the_grammar_exits_2_naming_it(tmp_path, example):
    example["organizations"][2]["provincial_service_reward"] = "8,000.00"
    line = _bad(tmp_path, example)
    assert line.startswith("organization ag1: field provincial_service_reward:") and "separators" in line


@pytest.mark.parametrize("content", ["[" * 100_000 + "]" * 100_000,
                                     '{"year": ' + "1" * 5000 + ', "organizations": [], "transactions": []}'])
def test_pathological_json_exits_2_with_one_line(tmp_path, content):
    assert "Traceback" not in _bad(tmp_path, content)


def test_the_largest_amount_is_read_and_evaluated(scenario_file, example, tmp_path):
    example["transactions"][1]["amount"] = "999999999999.99"
    path = tmp_path / "max.json"
    path.write_text(json.dumps(example, ensure_ascii=False), encoding="utf-8")
    out = run("evaluate", str(path))
    assert out.returncode == 0 and out.stderr == ""
    a3 = next(a for a in json.loads(out.stdout)["awards"] if a["clause"] == "A3")
    # 60% × 999,999,999,999.99 = 599,999,999,999.994 → .99; 30% × … = 299,999,999,999.997 → 300,000,000,000.00
    assert a3["payers"] == {"province": "599999999999.99", "city": "300000000000.00"}


def test_the_scenario_md_example_prints_its_totals(tmp_path):
    """SCENARIO.md is a contract: its input, run through the CLI, gives the totals it shows."""
    from tests.subsidies.conftest import policy_file

    text = policy_file("SCENARIO.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    source = json.loads(blocks[0])
    shown = re.search(r'"totals": (\{[^}]*\})', blocks[1]).group(1)
    path = tmp_path / "example.json"
    path.write_text(json.dumps(source, ensure_ascii=False), encoding="utf-8")
    out = run("evaluate", str(path))
    assert out.returncode == 0 and out.stderr == ""
    assert json.loads(out.stdout)["totals"] == json.loads(shown) == {
        "city": "51500.00", "province": "30000.00", "flagged": "0.00"}
