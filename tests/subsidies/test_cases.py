"""Runs the rule cases in ``cases/*.yaml``: a scenario (or a claim, or county
figures) in, the expected awards / exclusions / flags out.

Case keys:
  scenario + expect.awards      the awards, exactly (clause, beneficiary, amount; and
                                transactions / payers / enterprise_pays / trace_contains / trace_lacks
                                when given; trace_* look at the Chinese and the English trace)
  expect.excluded               the exclusions, exactly (transaction + words of the reason)
  expect.flags                  the flags, exactly (kind, clauses, transactions)
  expect.totals                 the totals by payer: city, province, flagged
  expect.error                  bad input: words of the ScenarioError / ClaimError
  claim (kind, date, evidence)    a claim; expect.amount / payers / trace_contains / error
  indicator (year, figures)     county R&D figures; expect.counties / reaching / met
"""
from pathlib import Path

import pytest
import yaml

from marketplace.subsidies import ClaimError, ScenarioError, compute_claim, county_rd_indicator, evaluate
from marketplace.subsidies.parameters import _DecimalLoader

CASES_DIR = Path(__file__).parent / "cases"


def _load_cases():
    for path in sorted(CASES_DIR.glob("*.yaml")):
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_DecimalLoader)
        for i, case in enumerate(doc["cases"]):
            yield pytest.param(case, id=f"{path.stem}: {case.get('name', i)}")


def _s(v):
    return None if v is None else str(v)


def _check_awards(result, expected):
    got = [(a.clause, a.beneficiary, str(a.amount)) for a in result.awards]
    want = [(e["clause"], e["beneficiary"], _s(e["amount"])) for e in expected]
    assert sorted(got) == sorted(want), f"awards: got {got}, expected {want}"
    by_key = {(a.clause, a.beneficiary, str(a.amount)): a for a in result.awards}
    for e in expected:
        a = by_key[(e["clause"], e["beneficiary"], _s(e["amount"]))]
        if "transactions" in e:
            assert a.transactions == sorted(e["transactions"]), (a.clause, a.transactions)
        if "payers" in e:
            assert {k: str(v) for k, v in a.payers.items()} == {k: _s(v) for k, v in e["payers"].items()}
        if "enterprise_pays" in e:
            assert str(a.enterprise_pays) == _s(e["enterprise_pays"])
        text = "\n".join(a.explain("en") + a.explain("zh"))
        for words in e.get("trace_contains", []):
            assert words in text, f"{a.clause} trace lacks {words!r}:\n{text}"
        for words in e.get("trace_lacks", []):
            assert words not in text, f"{a.clause} trace has {words!r}:\n{text}"


def _check_excluded(result, expected):
    got = [(e.transaction, e.reason) for e in result.excluded]
    assert len(got) == len(expected), f"excluded: got {got}, expected {expected}"
    remaining = list(got)
    for e in expected:
        match = next((g for g in remaining if g[0] == e["transaction"] and e["reason"] in g[1]), None)
        assert match, f"no exclusion of {e['transaction']} with {e['reason']!r} in {got}"
        remaining.remove(match)


def _check_flags(result, expected):
    got = sorted((f.kind, list(f.clauses), list(f.transactions)) for f in result.flags)
    want = sorted((f["kind"], f["clauses"], f["transactions"]) for f in expected)
    assert got == want


@pytest.mark.parametrize("case", list(_load_cases()))
def test_case(case):
    expect = case.get("expect", {})
    if "scenario" in case:
        if "error" in expect:
            with pytest.raises(ScenarioError) as info:
                evaluate(case["scenario"])
            for words in expect["error"] if isinstance(expect["error"], list) else [expect["error"]]:
                assert words in str(info.value)
            return
        result = evaluate(case["scenario"])
        _check_awards(result, expect.get("awards", []))
        _check_excluded(result, expect.get("excluded", []))
        _check_flags(result, expect.get("flags", []))
        if "totals" in expect:
            assert result.to_dict()["totals"] == {k: _s(v) for k, v in expect["totals"].items()}
        for nil in expect.get("nil_awards", []):
            match = [a for a in result.nil_awards if a.clause == nil["clause"] and a.beneficiary == nil["beneficiary"]]
            assert match, f"no nil award {nil} in {[(a.clause, a.beneficiary) for a in result.nil_awards]}"
            for words in nil.get("trace_contains", []):
                assert words in "\n".join(match[0].explain("en") + match[0].explain("zh"))
    elif "claim" in case:
        claim = case["claim"]
        if "error" in expect:
            with pytest.raises(ClaimError) as info:
                compute_claim(claim["kind"], claim.get("evidence", {}), claim["date"])
            assert expect["error"] in str(info.value)
            return
        award = compute_claim(claim["kind"], claim["evidence"], claim["date"])
        assert str(award.amount) == _s(expect["amount"])
        assert award.clause == claim["kind"]
        if "payers" in expect:
            assert {k: str(v) for k, v in award.payers.items()} == {k: _s(v) for k, v in expect["payers"].items()}
        for words in expect.get("trace_contains", []):
            assert words in "\n".join(award.explain("en") + award.explain("zh"))
    elif "indicator" in case:
        ind = county_rd_indicator(case["indicator"]["figures"], case["indicator"]["year"])
        assert {c.county: c.reaches for c in ind.counties} == expect["counties"]
        assert ind.reaching == expect["reaching"]
        assert ind.met == expect["met"]
        for county, pct in expect.get("intensity_pct", {}).items():
            assert next(c for c in ind.counties if c.county == county).intensity_pct == pct
    else:  # pragma: no cover
        pytest.fail("a case needs scenario, claim or indicator")
