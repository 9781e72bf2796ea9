"""A claim's trace is stored as JSON and rendered again from what was stored: every value an
engine step can hold (amounts as Decimal, dates, lists, maps, flags, nothing) comes back from
the database exactly as the engine wrote it, so the sentence shown later is the engine's own."""
import json
from datetime import date
from decimal import Decimal

from marketplace.claims.traces import decode_step, encode_step
from marketplace.subsidies.trace import Step


def _through_storage(step: Step) -> Step:
    return decode_step(json.loads(json.dumps(encode_step(step))))


def test_a_stored_step_with_a_date_comes_back_as_that_date():
    step = Step("a1.contract", {"signed_on": date(2024, 3, 15), "amount": Decimal("1200000.00")})
    back = _through_storage(step)
    assert back.key == "a1.contract"
    assert back.values == {"signed_on": date(2024, 3, 15), "amount": Decimal("1200000.00")}
    assert isinstance(back.values["signed_on"], date)


def test_nested_values_survive_storage_exactly():
    values = {"rates": [Decimal("0.10"), Decimal("0.05")], "by_year": {2023: Decimal("5.5"), "2024": date(2024, 1, 1)},
              "capped": True, "note": None, "count": 3, "who": "聊城大学"}
    back = _through_storage(Step("k", values)).values
    assert back["rates"] == [Decimal("0.10"), Decimal("0.05")]
    assert str(back["rates"][0]) == "0.10"  # the scale the engine wrote, not a float
    assert back["by_year"] == {"2023": Decimal("5.5"), "2024": date(2024, 1, 1)}
    assert (back["capped"], back["note"], back["count"], back["who"]) == (True, None, 3, "聊城大学")
