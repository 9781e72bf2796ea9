"""Runs the HTE rule cases in ``cases/hte_*.yaml`` (the subsidy case runner in tests/subsidies
knows scenarios, claims and the indicator, not the HTE check, so these cases have their own).

Case keys: ``figures`` and ``date`` (of the check) in; ``expect.met``, ``expect.criteria`` (criterion ->
[met] or [false, shortfall]), ``expect.error`` (the field named) and ``trace_contains``.
"""
from pathlib import Path

import pytest
import yaml

from marketplace.subsidies import HteError, hte_assessment

CASES = Path(__file__).parent / "cases"


def _cases():
    for path in sorted(CASES.glob("hte_*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            yield pytest.param(case, id=f"{path.stem}: {case['name']}")


@pytest.mark.parametrize("case", list(_cases()))
def test_hte_case(case):
    expect = case["expect"]
    if "error" in expect:
        with pytest.raises(HteError) as info:
            hte_assessment(case["figures"], case["date"])
        assert info.value.field == expect["error"]
        return
    result = hte_assessment(case["figures"], case["date"])
    assert result.met is expect["met"]
    for cid, want in expect["criteria"].items():
        c = result.criterion(cid)
        assert c.met is want[0], (cid, c.explain())
        if not want[0]:
            assert str(c.shortfall) == str(want[1]), (cid, c.shortfall)
        else:
            assert c.shortfall is None
    text = "\n".join(result.explain("en") + result.explain("zh"))
    for words in case.get("trace_contains", []):
        assert words in text
