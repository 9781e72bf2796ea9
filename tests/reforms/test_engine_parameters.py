"""Replaying a reform outside the platform: ``evaluate FILE --parameters DIR`` (issue 23), and the
pure amendment a draft and a publication make of the dated parameters."""
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from marketplace.subsidies import ParameterError, Parameters, default_parameters

# 5.3: 在省补贴60%补助的同时市财政再给予30%的补助 — a 50,000 voucher: province 30,000, city 15,000.
SCENARIO = {
    "year": 2024,
    "organizations": [
        {"id": "acme", "name": "某机械公司", "kind": "enterprise", "size": "small", "in_city": True},
        {"id": "ag1", "name": "某服务机构", "kind": "agency", "in_city": True, "service_agency": True},
    ],
    "transactions": [{"id": "V1", "type": "voucher_service", "buyer": "acme", "provider": "ag1",
                      "amount": "50000.00", "date": "2024-05-02", "status": "paid"}],
}


def _evaluate(tmp_path, *extra):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(SCENARIO, ensure_ascii=False), encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "marketplace.subsidies", "evaluate", str(path), *extra],
                          capture_output=True, text=True)


def _a3(stdout):
    return next(a for a in json.loads(stdout)["awards"] if a["clause"] == "A3")


def test_a_reform_folder_changes_the_city_share_and_not_the_province(tmp_path):
    shipped = _evaluate(tmp_path)
    assert shipped.returncode == 0, shipped.stderr
    assert _a3(shipped.stdout)["payers"] == {"province": "30000.00", "city": "15000.00"}

    reform = tmp_path / "reform"
    default_parameters().amended("a3.city_share", date(2024, 1, 1), Decimal("0.20")).dump(reform)
    replayed = _evaluate(tmp_path, "--parameters", str(reform))
    assert replayed.returncode == 0, replayed.stderr
    a3 = _a3(replayed.stdout)
    assert a3["payers"] == {"province": "30000.00", "city": "10000.00"}
    assert a3["enterprise_pays"] == "10000.00"
    assert json.loads(replayed.stdout)["totals"]["province"] == "30000.00"


def test_the_shipped_parameters_dumped_give_the_same_result(tmp_path):
    default_parameters().dump(tmp_path / "same")
    assert Parameters.load(tmp_path / "same").parameters == default_parameters().parameters
    assert _evaluate(tmp_path, "--parameters", str(tmp_path / "same")).stdout == _evaluate(tmp_path).stdout


def test_a_bad_parameter_folder_is_one_line_and_status_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    run = _evaluate(tmp_path, "--parameters", str(empty))
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "no parameter files" in run.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "p.yaml").write_text("parameters:\n  a3.city_share: {unit: share}\n", encoding="utf-8")
    run = _evaluate(tmp_path, "--parameters", str(broken))
    assert run.returncode == 2 and "a3.city_share" in run.stderr


def test_an_amendment_starts_on_its_date_and_leaves_the_original_alone():
    shipped = default_parameters()
    amended = shipped.amended("a3.city_share", date(2027, 1, 1), Decimal("0.20"))
    assert amended.value("a3.city_share", date(2026, 12, 31)) == Decimal("0.30")
    assert amended.value("a3.city_share", date(2027, 1, 1)) == Decimal("0.20")
    assert shipped.value("a3.city_share", date(2027, 1, 1)) == Decimal("0.30")
    # a second amendment from an earlier date replaces the later one
    again = amended.amended("a3.city_share", date(2026, 7, 1), Decimal("0.25"))
    assert again.value("a3.city_share", date(2028, 1, 1)) == Decimal("0.25")
    assert again.value("a3.city_share", date(2026, 6, 30)) == Decimal("0.30")


@pytest.mark.parametrize("value", [Decimal("1.5"), Decimal("-0.1")])
def test_an_amendment_is_checked_like_a_parameter_file(value):
    with pytest.raises(ParameterError):
        default_parameters().amended("a3.city_share", date(2027, 1, 1), value)
