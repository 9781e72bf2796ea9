"""The API document and the API agree (issue 13): every 405 names the allowed methods in
`Allow`, and the `q` length, the `industry` enum and the year bounds are enforced exactly as
/api/v1/openapi.json documents them — each bound probed from both sides, against the
validation (a 400 naming the parameter) and against the document's own schema."""
import re
from datetime import timedelta

import pytest

from marketplace.api.validation import MAX_YEAR, MIN_YEAR
from marketplace.core.timeutil import utcnow
from marketplace.programmes.common import industries
from tests.api.conftest import bearer, published

API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _operation(client, path, method="get"):
    return client.get("/api/v1/openapi.json").json["paths"][path][method]


def _query_schema(client, path, name):
    [param] = [p for p in _operation(client, path)["parameters"] if p["name"] == name]
    return param["schema"]


def _document_accepts(schema: dict, value: str) -> bool:
    """The string constraints of a parameter's schema (maxLength, enum, pattern)."""
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    return not ("pattern" in schema and re.search(schema["pattern"], value) is None)


# --- 405 carries Allow ---------------------------------------------------------------------------

def _api_paths(app):
    """{example path: methods it answers} for every /api/v1 rule (ids filled with 1)."""
    paths: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        paths.setdefault(path, set()).update(rule.methods)
    return paths


def test_every_api_405_names_the_allowed_methods(app, client, enterprise):
    headers = bearer(enterprise)
    probed = 0
    for path, methods in sorted(_api_paths(app).items()):
        for method in API_METHODS:
            if method in methods:
                continue
            response = client.open(path, method=method, headers=headers)
            assert response.status_code == 405, (method, path, response.status_code)
            assert response.is_json and response.json["error"]
            allow = {m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip()}
            assert allow == methods, (method, path, response.headers.get("Allow"))
            probed += 1
    assert probed >= 16


def test_a_web_page_405_names_the_allowed_methods_too(client):
    response = client.get("/notice/1/object")
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"POST", "OPTIONS"}


# --- q: at most 200 characters as sent ------------------------------------------------------------

Q_PATHS = ("/api/v1/listings", "/api/v1/programmes/ip")


@pytest.mark.parametrize("path", Q_PATHS)
def test_q_length_is_enforced_as_documented(client, enterprise, path):
    headers = bearer(enterprise)
    schema = _query_schema(client, path, "q")
    limit = schema["maxLength"]
    assert limit == 200
    cases = [("检" * limit, True), ("检" * (limit + 1), False),
             # the spaces count: the document's maxLength is the length of what is sent
             (" " + "检" * limit, False), ("检" * (limit - 1) + " ", True)]
    for q, ok in cases:
        assert _document_accepts(schema, q) is ok, (len(q), ok)
        response = client.get(path, query_string={"q": q}, headers=headers)
        if ok:
            assert response.status_code == 200, (len(q), response.json)
        else:
            assert response.status_code == 400 and response.json["field"] == "q", (len(q), response.json)


# --- industry: exactly one of the documented keys ----------------------------------------------------

def test_industry_enum_is_enforced_as_documented(client, enterprise):
    headers = bearer(enterprise)
    schema = _query_schema(client, "/api/v1/programmes/ip", "industry")
    assert schema["enum"] == list(industries())
    for key in schema["enum"]:
        response = client.get("/api/v1/programmes/ip", query_string={"industry": key}, headers=headers)
        assert response.status_code == 200, (key, response.json)
    first = schema["enum"][0]
    for value in (f" {first}", f"{first} ", first.upper(), "steel", "", "x" * 41):
        assert not _document_accepts(schema, value)
        response = client.get("/api/v1/programmes/ip", query_string={"industry": value}, headers=headers)
        assert response.status_code == 400 and response.json["field"] == "industry", (value, response.json)


# --- years: MIN_YEAR..MAX_YEAR, in the document as in the validation --------------------------------------

INSIDE = (f"{MIN_YEAR}-01-01", f"{MAX_YEAR}-12-31")
OUTSIDE = (f"{MIN_YEAR - 1}-12-31", f"{MAX_YEAR + 1}-01-01", "0001-01-01", "9999-12-31")


def test_calendar_year_bounds_as_documented(client, provider, enterprise):
    instrument = published(provider, "instrument")
    path = f"/api/v1/instruments/{instrument.id}/calendar"
    schema = _query_schema(client, "/api/v1/instruments/{instrument_id}/calendar", "from")
    headers = bearer(enterprise)
    for day in INSIDE:
        assert _document_accepts(schema, day), day
        response = client.get(path, query_string={"from": day, "days": 1}, headers=headers)
        assert response.status_code == 200, (day, response.json)
    for day in OUTSIDE:
        assert not _document_accepts(schema, day), day
        response = client.get(path, query_string={"from": day}, headers=headers)
        assert response.status_code == 400 and response.json["field"] == "from", (day, response.json)


def test_contract_registration_and_booking_years_as_documented(client, enterprise):
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    registered_on = schemas["ContractRegistration"]["properties"]["registered_on"]
    start_at = schemas["BookingCreate"]["properties"]["start_at"]
    headers = bearer(enterprise)
    for day in INSIDE:
        assert _document_accepts(registered_on, day) and _document_accepts(start_at, f"{day}T09:00:00")
    for day in OUTSIDE:
        assert not _document_accepts(registered_on, day) and not _document_accepts(start_at, f"{day}T09:00:00")
        response = client.post("/api/v1/contracts/1/register", headers=headers,
                               json={"registration_no": "2025370001", "registered_on": day})
        assert response.status_code == 400 and response.json["field"] == "registered_on", (day, response.json)
        response = client.post("/api/v1/bookings", headers=headers,
                               json={"instrument_id": 1, "start_at": f"{day}T09:00:00", "hours": 1})
        assert response.status_code == 400 and response.json["field"] == "start_at", (day, response.json)



def test_integers_are_what_the_document_calls_integers(client, provider, enterprise):
    """JSON Schema's integer includes 1.0 (schemathesis sends it as valid data); 1.5 is not one."""
    instrument = published(provider, "instrument")
    headers = bearer(enterprise)
    day = (utcnow().date() + timedelta(days=2)).isoformat()
    body = {"instrument_id": float(instrument.id), "start_at": f"{day}T09:00:00", "hours": 2.0}
    response = client.post("/api/v1/bookings", headers=headers, json=body)
    assert response.status_code == 201 and response.json["hours"] == 2, response.json
    for name, value in (("instrument_id", instrument.id + 0.5), ("hours", 1.5), ("hours", 1e300)):
        response = client.post("/api/v1/bookings", headers=headers, json={**body, name: value})
        assert response.status_code == 400 and response.json["field"] == name, (name, value, response.json)
