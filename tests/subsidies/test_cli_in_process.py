"""The engine's command line (SCENARIO.md) called in-process through ``main``: the same contract
as test_cli.py, which runs it as a subprocess, but where a coverage or mutation tool can see it
(issue 16). Exit 0 with the output on stdout; bad input exits 2 with one line on stderr naming
the problem, nothing on stdout."""
import json

import pytest

from marketplace.subsidies.__main__ import main


def _run(capsys, *args):
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def scenario_file(tmp_path, example):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(example, ensure_ascii=False), encoding="utf-8")
    return path


def test_evaluate_writes_the_result_as_json(capsys, scenario_file):
    code, out, err = _run(capsys, "evaluate", str(scenario_file))
    assert (code, err) == (0, "") and out.endswith("}\n")
    d = json.loads(out)
    assert d["totals"] == {"city": "51500.00", "province": "30000.00", "flagged": "0.00"}
    assert [a["clause"] for a in d["awards"]] == ["A1.DT", "A3", "A4", "A5"]
    assert "Reading" not in out and "第" not in json.dumps(d["awards"][0]["trace"], ensure_ascii=False)  # English


@pytest.mark.parametrize("lang, words", [("zh", "市财政：51,500.00 元"), ("en", "city pays: 51,500.00 CNY")])
def test_explain_writes_the_readable_report(capsys, scenario_file, lang, words):
    code, out, err = _run(capsys, "evaluate", str(scenario_file), "--explain", lang)
    assert (code, err) == (0, "") and words in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


def _bad(capsys, tmp_path, content: str):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    code, out, err = _run(capsys, "evaluate", str(path))
    assert (code, out) == (2, "") and err.endswith("\n") and len(err.splitlines()) == 1, err
    return path, err.rstrip("\n")


def test_malformed_json_names_the_file_line_and_column(capsys, tmp_path):
    path, line = _bad(capsys, tmp_path, '{"year": 2024,\n "organizations": [')
    assert line.startswith(f"{path}: malformed JSON at line 2 column ") and line.endswith(": Expecting value")


def test_json_nested_too_deeply_is_refused_in_one_line(capsys, tmp_path):
    path, line = _bad(capsys, tmp_path, "[" * 100_000 + "]" * 100_000)
    assert line == f"{path}: the JSON is nested too deeply to be a scenario"


def test_an_unreadable_number_is_refused_in_one_line(capsys, tmp_path):
    path, line = _bad(capsys, tmp_path, '{"year": ' + "9" * 5000 + "}")
    assert line.startswith(f"{path}: unreadable JSON: ")


def test_a_file_that_cannot_be_read_is_named(capsys, tmp_path):
    code, out, err = _run(capsys, "evaluate", str(tmp_path / "nope.json"))
    assert (code, out) == (2, "")
    assert err == f"{tmp_path / 'nope.json'}: cannot read the scenario file: No such file or directory\n"
    (tmp_path / "latin1.json").write_bytes(b'{"year": "\xe9"}')
    code, out, err = _run(capsys, "evaluate", str(tmp_path / "latin1.json"))
    assert (code, out) == (2, "") and err.startswith(f"{tmp_path / 'latin1.json'}: cannot read the scenario file: ")


def test_a_bad_scenario_is_refused_with_the_engines_words_on_one_line(capsys, tmp_path, example):
    example["transactions"][0]["seller"] = "ghost"
    _path, line = _bad(capsys, tmp_path, json.dumps(example, ensure_ascii=False))
    assert line.startswith("transaction T1") and "ghost" in line


def test_a_year_without_rules_in_force_is_a_parameter_error(capsys, tmp_path, example):
    example["year"] = 1990  # before the measures: no rule is in force
    example["transactions"] = [dict(t, date="1990-05-02") for t in example["transactions"] if t["id"] == "V1"]
    _path, line = _bad(capsys, tmp_path, json.dumps(example, ensure_ascii=False))
    assert line == "parameters: no value of parameter a3.eligible_sizes is in force on 1990-05-02"


def test_a_usage_error_is_one_line_and_status_2(capsys, scenario_file):
    code, out, err = _run(capsys, "evaluate", str(scenario_file), "--explain", "fr")
    assert (code, out) == (2, "") and err.startswith("usage error: ") and len(err.splitlines()) == 1
    code, out, err = _run(capsys)
    assert (code, out) == (2, "") and err.startswith("usage error: ")
