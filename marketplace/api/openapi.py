"""The OpenAPI 3.1 document of /api/v1, written by hand as data.

tests/api/test_openapi.py checks that it names exactly the routes the app serves, and a
schemathesis run checks that the app answers as it says.
"""
from __future__ import annotations

import copy

from marketplace.api.validation import DATE_PATTERN, MAX_INT, MAX_YEAR, MIN_YEAR, YUAN_PATTERN
from marketplace.listings.models import KINDS, TRANSFER_MODES
from marketplace.listings.models import STATUSES as LISTING_STATUSES
from marketplace.orders.models import CONTRACT_TYPES, ORDER_STATUSES
from marketplace.programmes.common import industries
from marketplace.programmes.models import (
    BASE_KINDS,
    COMMISSIONER_KINDS,
    IP_RIGHT_KINDS,
    IP_STATUSES,
    LEVELS,
    POOL_STATUSES,
    PROJECT_STATUSES,
    SELECTION_CATEGORIES,
)
from marketplace.subsidies.clauses.hte import CRITERIA as HTE_CRITERIA

API_VERSION = "1.0.0"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict, required=(), additional=False) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": additional}
    if required:
        schema["required"] = list(required)
    return schema


STRING = {"type": "string"}
BOOL = {"type": "boolean"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_INT}
MONEY = {"type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$",
         "description": "Decimal yuan as a string with two decimals, e.g. \"50000.00\"."}
MONEY_IN = {"type": "string", "pattern": YUAN_PATTERN,
            "description": "Decimal yuan as a string, at most two decimals, e.g. \"50000\" or \"50000.00\". "
                           "JSON numbers are refused."}
TIMESTAMP = {"type": "string", "format": "date-time", "description": "UTC, e.g. 2025-03-01T08:30:00Z."}
WALL_CLOCK = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$",
              "description": "The instrument's wall-clock time, without offset, e.g. 2025-03-01T09:00:00."}
DATE = {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
# Dates and times a client sends: years MIN_YEAR..MAX_YEAR, as validation enforces them.
DATE_IN = {"type": "string", "format": "date", "pattern": f"^{DATE_PATTERN}$",
           "description": f"YYYY-MM-DD, a year from {MIN_YEAR} to {MAX_YEAR}."}
ORG_REF = obj({"id": ID, "name": STRING}, ("id", "name"))

def schema_for(declared) -> dict:
    """The JSON schema of a listing field declared in ``marketplace.listings.schema``."""
    from marketplace.listings import schema

    if declared.type == schema.TEXT:
        out = {"type": "string", "maxLength": declared.max_length}
        if declared.non_blank:
            out = {"type": "string", "minLength": 1, "maxLength": declared.max_length, "pattern": r"\S"}
    elif declared.type == schema.CHOICE:
        out = {"enum": list(declared.choices)}
    elif declared.type == schema.MONEY:
        out = MONEY_IN
    elif declared.type == schema.FLAG:
        out = BOOL
    elif declared.type == schema.HOUR:
        out = {"type": "integer", "minimum": 0, "maximum": 24}
    else:  # CHOICES
        out = {"type": "array", "items": {"enum": list(declared.choices)}, "minItems": 1,
               "maxItems": len(declared.choices)}
    return nullable(out) if declared.nullable else out


def _listing_schemas():
    from marketplace.listings import schema

    common = {f.name: schema_for(f) for f in schema.COMMON}
    by_kind = {kind: {f.name: schema_for(f) for f in fields} for kind, fields in schema.BY_KIND.items()}
    required = {kind: tuple(f.name for f in fields if f.required) for kind, fields in schema.BY_KIND.items()}
    return common, by_kind, required


# The listing fields, from their one declaration (marketplace/listings/schema.py).
COMMON_IN, KIND_IN, KIND_REQUIRED = _listing_schemas()


def _listing_create(kind: str) -> dict:
    return obj({"kind": {"const": kind}, **COMMON_IN, **KIND_IN[kind]}, ("kind", "title") + KIND_REQUIRED[kind])


def _listing_patch() -> dict:
    merged = dict(COMMON_IN)
    for fields in KIND_IN.values():
        merged.update(fields)
    return obj(merged)


LISTING = obj({
    "id": ID, "ref": STRING, "kind": {"enum": list(KINDS)},
    "status": {"enum": list(LISTING_STATUSES),
               "description": "`rejected` by a moderator (see `moderation_note`); `pending` once edited after a "
                              "rejection, until a moderator approves it."},
    "moderation_note": {**nullable(STRING),
                        "description": "The moderator's reason for a rejection; shown to the owning organisation only."},
    "title": STRING, "description": STRING, "field": nullable(STRING), "county": nullable(STRING),
    "price": nullable(MONEY), "negotiable": BOOL, "voucher_eligible": BOOL, "organization": ORG_REF,
    "created_at": TIMESTAMP, "published_at": nullable(TIMESTAMP),
    # achievements
    "ip_kind": nullable(STRING), "ip_number": nullable(STRING), "maturity": nullable(STRING),
    "transfer_modes": {"type": "array", "items": STRING},
    # instruments
    "category": nullable(STRING), "model": nullable(STRING), "location": nullable(STRING),
    "price_unit": nullable(STRING),
    "internal_price": {**nullable(MONEY), "description": "Shown to the owning organisation only."},
    "financing_lease": BOOL, "on_sharing_platform": BOOL,
    "open_from_hour": nullable({"type": "integer"}), "open_to_hour": nullable({"type": "integer"}),
}, ("id", "ref", "kind", "status", "title", "description", "field", "county", "price", "negotiable",
    "voucher_eligible", "organization", "created_at", "published_at"))

CONTRACT = obj({
    "id": ID, "ref": STRING, "contract_type": {"enum": list(CONTRACT_TYPES)}, "amount": MONEY,
    "project": nullable(STRING), "signed_on": DATE, "registration_no": nullable(STRING),
    "registered_on": nullable(DATE), "seller": ORG_REF, "buyer": ORG_REF, "order_id": nullable(ID),
}, ("id", "ref", "contract_type", "amount", "signed_on", "registration_no", "registered_on", "seller", "buyer"))

ORDER_PROPERTIES = {
    "id": ID, "ref": STRING, "kind": {"enum": ["service", "licence", "booking"]},
    "status": {"enum": list(ORDER_STATUSES)},
    "listing": obj({"id": ID, "kind": {"enum": list(KINDS)}, "title": STRING}, ("id", "kind", "title")),
    "buyer": ORG_REF, "seller": ORG_REF, "transfer_mode": nullable({"enum": list(TRANSFER_MODES)}),
    "amount": MONEY, "with_voucher": BOOL,
    "shares": {**obj({"buyer": MONEY, "province": MONEY, "city": MONEY}, ("buyer", "province", "city")),
               "description": "Who pays the amount: the buyer through the gateway; with an innovation voucher "
                              "the province and the city owe the rest to the seller (clause A3)."},
    "related_party": BOOL, "created_at": TIMESTAMP, "paid_at": nullable(TIMESTAMP),
    "delivered_at": nullable(TIMESTAMP), "contract": nullable(ref("Contract")), "booking_id": nullable(ID),
}
ORDER_REQUIRED = ("id", "ref", "kind", "status", "listing", "buyer", "seller", "amount", "with_voucher", "shares",
                  "created_at", "contract", "booking_id")
ORDER_DETAIL = obj({
    **ORDER_PROPERTIES,
    "payments": {"type": "array", "items": obj({
        "id": ID, "amount": MONEY, "currency": STRING,
        "status": {"enum": ["processing", "succeeded", "failed", "refunded"]},
        "created_at": TIMESTAMP, "succeeded_at": nullable(TIMESTAMP)}, ("id", "amount", "status"))},
    "voucher_receivables": {"type": "array", "items": obj({
        "payer": {"enum": ["province", "city"]}, "amount": MONEY,
        "status": {"enum": ["owed", "settled", "void"]}}, ("payer", "amount", "status"))},
}, ORDER_REQUIRED + ("payments", "voucher_receivables"))

BOOKING = obj({
    "id": ID, "ref": STRING, "status": {"enum": ["booked", "completed", "cancelled"]},
    "instrument": obj({"id": ID, "title": STRING}, ("id", "title")), "customer": ORG_REF,
    "start_at": WALL_CLOCK, "end_at": WALL_CLOCK, "hours": {"type": "integer", "minimum": 1},
    "samples": nullable({"type": "integer"}), "amount": MONEY, "self_use": BOOL, "order_id": nullable(ID),
    "created_at": TIMESTAMP,
}, ("id", "ref", "status", "instrument", "customer", "start_at", "end_at", "hours", "amount", "order_id"))

INSTRUMENT_REF = obj({"id": ID, "title": STRING}, ("id", "title"))
FACILITY_BOOKING = obj({
    "id": ID, "ref": STRING, "status": {"enum": ["booked", "completed", "cancelled", "expired"]},
    "instrument": INSTRUMENT_REF, "purpose": {"enum": ["use", "training"]},
    "approval": {"enum": ["instant", "pending", "approved", "refused", "lapsed"]},
    "refusal_reason": nullable(STRING), "start_at": WALL_CLOCK, "end_at": WALL_CLOCK,
    "moved_from": nullable({**WALL_CLOCK, "description": "The start before maintenance moved the booking."}),
    "amount": MONEY, "order_id": nullable(ID), "attendance": nullable({"enum": ["no_show", "late_cancel"]}),
    "penalty": MONEY, "used_hours": nullable({"type": "number", "minimum": 0}),
}, ("id", "ref", "status", "instrument", "purpose", "approval", "start_at", "end_at", "amount", "order_id"))
SAMPLE_ORDER = obj({
    "id": ID, "ref": STRING, "status": {"enum": ["submitted", "received", "testing", "reported", "cancelled"]},
    "instrument": INSTRUMENT_REF, "samples": {"type": "integer", "minimum": 1},
    "samples_done": nullable({"type": "integer", "minimum": 0}), "description": STRING, "amount": MONEY,
    "order_id": nullable(ID), "report": nullable(STRING), "created_at": TIMESTAMP,
    "received_at": nullable(TIMESTAMP), "reported_at": nullable(TIMESTAMP),
}, ("id", "ref", "status", "instrument", "samples", "amount", "created_at"))
QUALIFICATION = obj({"instrument": INSTRUMENT_REF, "qualified_on": DATE, "expires_on": DATE, "valid": BOOL},
                    ("instrument", "qualified_on", "expires_on", "valid"))

CALENDAR = obj({
    "instrument_id": ID, "open_from_hour": {"type": "integer"}, "open_to_hour": {"type": "integer"},
    "days": {"type": "array", "items": obj({
        "date": DATE, "booked_hours": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 23}},
    }, ("date", "booked_hours"))},
}, ("instrument_id", "open_from_hour", "open_to_hour", "days"))

ME = obj({
    "user": obj({"id": ID, "name": STRING, "email": STRING, "locale": nullable(STRING)}, ("id", "name", "email")),
    "role": nullable(STRING),
    "organization": nullable(obj({
        "id": ID, "name": STRING, "kind": STRING, "size": nullable(STRING), "county": nullable(STRING),
        "credit_code": STRING, "in_city": BOOL, "service_agency": BOOL}, ("id", "name", "kind", "credit_code"))),
    "verified": BOOL,
}, ("user", "role", "organization", "verified"))

# --- programmes: the city's registries ------------------------------------------------------

COUNT = {"type": "integer", "minimum": 0}
YEAR = {"type": "integer", "minimum": 1900, "maximum": 2999}
INDUSTRY = {"type": "string", "description": "A key of the industry list, e.g. new_materials, biomedicine."}
_MONEY_CRITERIA = [c for c in HTE_CRITERIA if c not in ("age", "core_ip", "st_staff")]


def _criterion(ids: list, unit: str, value: dict, shortfall: dict, description: str) -> dict:
    return {**obj({
        "criterion": {"enum": ids}, "met": BOOL, "required": value, "actual": value,
        "shortfall": {**nullable(shortfall), "description": "null when met."}, "unit": {"const": unit},
        "explain": {"type": "string", "description": "The check in words, with the numbers compared."},
    }, ("criterion", "met", "required", "actual", "shortfall", "unit", "explain")), "description": description}


HTE_CRITERION = {"oneOf": [
    _criterion(["age"], "days", DATE, {"type": "integer", "minimum": 1},
               "Registered at least a year: `required` is the anniversary, `actual` the founding date, "
               "`shortfall` the days still to go."),
    _criterion(["core_ip"], "items", COUNT, {"type": "integer", "minimum": 1},
               "Core IP held: items required and held, items missing."),
    _criterion(["st_staff"], "persons", COUNT, {"type": "integer", "minimum": 1},
               "S&T staff: the least number of persons that reaches the share, those employed, persons missing."),
    _criterion(_MONEY_CRITERIA, "cny", MONEY, MONEY,
               "An amount criterion (R&D intensity, R&D in China, high-tech revenue): the least whole-fen amount "
               "that meets it, the figure entered, and the yuan missing."),
]}

POOL_ENTRY = obj({
    "organization": obj({"id": ID, "name": STRING, "credit_code": STRING, "county": nullable(STRING)},
                        ("id", "name", "credit_code", "county")),
    "status": {"enum": list(POOL_STATUSES)},
    "reason": {"type": "string", "description": "The reason of the city's latest decision."},
    "admitted_on": DATE, "reviewed_on": {**DATE, "description": "The day of the latest decision."},
    "certificate_no": {**nullable(STRING), "description": "高新技术企业证书编号, once recognised."},
    "figures_year": {**nullable(YEAR), "description": "The fiscal year of the latest figures entered, if any."},
    "revenue_last_year": {**nullable(MONEY), "description": "Last year's revenue in those figures."},
    "criteria": {"type": "array", "items": ref("HteCriterion"),
                 "description": "Each national criterion checked against the latest figures (empty without figures)."},
}, ("organization", "status", "reason", "admitted_on", "reviewed_on", "certificate_no", "figures_year",
    "revenue_last_year", "criteria"))

IP_RIGHT = obj({
    "number": {"type": "string", "description": "专利号 or registration number, without spaces, upper case."},
    "kind": {"enum": list(IP_RIGHT_KINDS)}, "title": STRING, "industry": INDUSTRY,
    "status": {"enum": list(IP_STATUSES)}, "granted_on": nullable(DATE),
    "organization": obj({"id": ID, "name": STRING, "credit_code": STRING}, ("id", "name", "credit_code")),
    "achievement": {**nullable(STRING), "description": "The ref of the achievement listing it protects, if linked."},
}, ("number", "kind", "title", "industry", "status", "granted_on", "organization", "achievement"))

COMMISSIONER = obj({
    "id": ID, "name": STRING, "kind": {"enum": list(COMMISSIONER_KINDS)}, "specialty": STRING,
    "county": nullable(STRING),
    "organization": {**nullable(ORG_REF), "description": "The sending unit, if on the platform."},
    "bases": {"type": "array", "items": obj({
        "id": ID, "kind": {"enum": list(BASE_KINDS)}, "name": STRING, "level": {"enum": list(LEVELS)},
        "county": nullable(STRING)}, ("id", "kind", "name", "level", "county")),
        "description": "Demonstration bases, 农科驿站 and 星创天地 the commissioner founded or leads."},
    "projects": {"type": "array", "items": obj({
        "id": ID, "title": STRING, "year": YEAR, "enterprise": {"type": "string", "description": "Its name."}},
        ("id", "title", "year", "enterprise")), "description": "Projects the commissioner leads with enterprises."},
    "selections": {"type": "array", "items": obj({
        "year": YEAR, "category": {"enum": list(SELECTION_CATEGORIES)},
        "claim_kind": {"enum": sorted(set(SELECTION_CATEGORIES.values()))},
        "amount": {**MONEY, "description": "The award the rules engine computed on the day of selection."},
        "claim_id": {**nullable(ID), "description": "The claim filed from it, once filed."}},
        ("year", "category", "claim_kind", "amount", "claim_id")),
        "description": "Selections of the commissioner, of its bases and of its projects."},
}, ("id", "name", "kind", "specialty", "county", "organization", "bases", "projects", "selections"))

PROJECT = obj({
    "id": ID, "title": STRING, "status": {"enum": list(PROJECT_STATUSES)}, "county": STRING, "industry": INDUSTRY,
    "organization": {**ORG_REF, "description": "The lead organisation."},
    "requested_city": {**MONEY, "description": "The city share requested."},
    "city_share": {**nullable(MONEY), "description": "The city share funded (at most the B1 cap)."},
    "county_share": nullable(MONEY), "funded_on": nullable(DATE), "completed_on": nullable(DATE),
    "breakthrough": {**BOOL, "description": "Whether the key technology was broken through."},
    "claim_id": {**nullable(ID), "description": "The B1 claim filed from it, once filed."},
}, ("id", "title", "status", "county", "industry", "organization", "requested_city", "city_share", "county_share",
    "funded_on", "completed_on", "breakthrough", "claim_id"))


def _items(item_schema: str) -> dict:
    return obj({"items": {"type": "array", "items": ref(item_schema)}}, ("items",))


def _paged(item_schema: str) -> dict:
    """A page of a list (marketplace.core.paging): ``has_next`` says whether ``page + 1`` holds more."""
    return obj({"items": {"type": "array", "items": ref(item_schema)}, "page": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1}, "has_next": BOOL},
               ("items", "page", "per_page", "has_next"))


ERROR = obj({"error": {"type": "string", "description": "What went wrong, in the user's language."},
             "field": {**nullable(STRING), "description": "The request member or parameter at fault, if one is."}},
            ("error",))

SCHEMAS = {
    "Error": ERROR,
    "OrganizationRef": ORG_REF,
    "Listing": LISTING,
    "ListingPage": obj({"items": {"type": "array", "items": ref("Listing")}, "total": {"type": "integer", "minimum": 0},
                        "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1}},
                       ("items", "total", "page", "per_page")),
    "AchievementCreate": _listing_create("achievement"),
    "InstrumentCreate": _listing_create("instrument"),
    "ServiceCreate": _listing_create("service"),
    "DemandCreate": _listing_create("demand"),
    "ListingCreate": {"oneOf": [ref("AchievementCreate"), ref("InstrumentCreate"), ref("ServiceCreate"),
                                ref("DemandCreate")],
                      "discriminator": {"propertyName": "kind", "mapping": {
                          k: f"#/components/schemas/{k.capitalize()}Create" for k in KINDS}}},
    "ListingPatch": {**_listing_patch(), "description": "Only the members given change. The kind-specific members "
                                                         "are accepted for listings of that kind only (else 400)."},
    "Contract": CONTRACT,
    "Order": obj(ORDER_PROPERTIES, ORDER_REQUIRED),
    "OrderDetail": ORDER_DETAIL,
    "OrderList": _paged("Order"),
    "OrderCreate": obj({"listing_id": ID, "with_voucher": {**BOOL, "description": "Services: pay with an innovation voucher."},
                        "transfer_mode": {"enum": list(TRANSFER_MODES),
                                          "description": "Achievements: required; one of the listing's modes."}},
                       ("listing_id",)),
    "Refund": obj({"reason": {"type": "string", "minLength": 1, "maxLength": 300, "pattern": r"\S"}}, ("reason",)),
    "Booking": BOOKING,
    "BookingList": _paged("Booking"),
    "BookingCreate": obj({
        "instrument_id": ID,
        "start_at": {**WALL_CLOCK, "pattern": f"^{DATE_PATTERN}T([01][0-9]|2[0-3]):00(:00)?$",
                     "description": "On the hour, the instrument's wall-clock time, no offset: 2025-03-01T09:00:00; "
                                    f"a year from {MIN_YEAR} to {MAX_YEAR}."},
        "hours": {"type": "integer", "minimum": 1, "maximum": 12},
        "samples": nullable({"type": "integer", "minimum": 1, "maximum": 10000}),
        "with_voucher": BOOL}, ("instrument_id", "start_at", "hours")),
    "Calendar": CALENDAR,
    "FacilityBooking": FACILITY_BOOKING,
    "FacilityBookingList": obj({"items": {"type": "array", "items": ref("FacilityBooking")}}, ("items",)),
    "FacilityBookingCreate": obj({
        "start_at": {**WALL_CLOCK, "pattern": f"^{DATE_PATTERN}T([01][0-9]|2[0-3]):00(:00)?$",
                     "description": "On the hour, Beijing wall-clock time, no offset: 2025-03-01T09:00:00; "
                                    f"a year from {MIN_YEAR} to {MAX_YEAR}."},
        "hours": {"type": "integer", "minimum": 1, "maximum": 168,
                  "description": "Within the instrument's longest booking; a training session has its own length."},
        "purpose": {"enum": ["use", "training"], "default": "use"},
        "repeat_weeks": {"type": "integer", "minimum": 1, "maximum": 8, "default": 1},
        "with_voucher": BOOL}, ("start_at", "hours")),
    "SampleOrder": SAMPLE_ORDER,
    "SampleOrderList": obj({"items": {"type": "array", "items": ref("SampleOrder")}}, ("items",)),
    "SampleOrderCreate": obj({
        "samples": {"type": "integer", "minimum": 1, "maximum": 10000},
        "description": {"type": "string", "minLength": 1, "maxLength": 3000, "pattern": r"\S"},
        "with_voucher": BOOL}, ("samples", "description")),
    "QualificationList": obj({"items": {"type": "array", "items": QUALIFICATION}}, ("items",)),
    "CalendarFeed": obj({"url": {"type": "string", "description": "The secret iCal address of your bookings; "
                                                                  "reset it on /instruments/bookings."}}, ("url",)),
    "ContractRegistration": obj({
        "registration_no": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": r"\S",
                            "description": "认定登记编号"},
        "registered_on": DATE_IN, "contract_type": nullable({"enum": list(CONTRACT_TYPES)})},
        ("registration_no", "registered_on")),
    "Me": ME,
    "HteCriterion": HTE_CRITERION,
    "PoolEntry": POOL_ENTRY,
    "PoolList": _items("PoolEntry"),
    "IpRight": IP_RIGHT,
    "IpRightList": _items("IpRight"),
    "Commissioner": COMMISSIONER,
    "CommissionerList": _items("Commissioner"),
    "Project": PROJECT,
    "ProjectList": _items("Project"),
}

_ERROR_TEXT = {
    "400": "The request is malformed or refused: malformed JSON, an unknown member, a wrong type or a value "
           "the service refuses. `field` names the member at fault. Nothing was written.",
    "401": "No valid API token: missing, unknown or revoked.",
    "403": "The token's user may not do this (another organisation's object, an unverified organisation, "
           "a role that may not; the programme registries: a role outside the city's).",
    "404": "It does not exist, or the token's user may not see it.",
    "409": "It conflicts with the current state (already booked, already registered, not payable now, "
           "a listing a moderator rejected).",
}
RESPONSES = {f"E{code}": {"description": text, "content": {"application/json": {"schema": ref("Error")}}}
             for code, text in _ERROR_TEXT.items()}


def _json(schema_name: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}


def _errors(*codes) -> dict:
    return {str(code): {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _path_id(name: str, what: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": f"The {what}'s id.", "schema": ID}


def _op(op_id: str, summary: str, tag: str, ok: tuple, errors=(), parameters=(), body: str | None = None) -> dict:
    status, schema_name, description = ok
    op = {"operationId": op_id, "summary": summary, "tags": [tag],
          "responses": {str(status): _json(schema_name, description), **_errors(401, *errors)}}
    if parameters:
        op["parameters"] = list(parameters)
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    return op


LISTING_ID = _path_id("listing_id", "listing")
ORDER_ID = _path_id("order_id", "order")


def _query(name, schema, description):
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


PAGING = (_query("page", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1}, "Page number."),
          _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Items per page."))

PATHS = {
    "/api/v1/openapi.json": {"get": {
        "operationId": "openapi", "summary": "This document.", "tags": ["meta"], "security": [],
        "responses": {"200": {"description": "The OpenAPI document.",
                              "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/api/v1/me": {"get": _op("me", "The token's user, role and organisation.", "meta", (200, "Me", "Who you are."))},
    "/api/v1/listings": {
        "get": _op("listListings", "Published listings, searched and filtered.", "listings",
                   (200, "ListingPage", "A page of published listings."), (400,), parameters=(
                       _query("kind", {"enum": list(KINDS)}, "Only this kind."),
                       _query("q", {"type": "string", "maxLength": 200}, "Search text (title, description, organisation)."),
                       _query("county", {"type": "string", "maxLength": 40}, "Only this county, e.g. 东昌府区."),
                       _query("field", {"type": "string", "maxLength": 40}, "Only this technology field, e.g. 新材料."),
                       _query("page", {"type": "integer", "minimum": 1, "maximum": 500, "default": 1}, "Page number."),
                       _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                              "Listings per page."))),
        "post": _op("createListing", "Create a draft listing of your organisation.", "listings",
                    (201, "Listing", "The draft."), (400, 403), body="ListingCreate"),
    },
    "/api/v1/listings/{listing_id}": {
        "get": _op("getListing", "A listing: published ones, or your organisation's drafts.", "listings",
                   (200, "Listing", "The listing."), (404,), parameters=(LISTING_ID,)),
        "patch": _op("updateListing", "Change some members of your organisation's listing.", "listings",
                     (200, "Listing", "The listing as changed."), (400, 403, 404), parameters=(LISTING_ID,),
                     body="ListingPatch"),
    },
    "/api/v1/listings/{listing_id}/publish": {"post": _op(
        "publishListing", "Publish your organisation's listing (not one a moderator rejected: edit it, and a "
                          "moderator decides again).", "listings", (200, "Listing", "Published."),
        (400, 403, 404, 409), parameters=(LISTING_ID,))},
    "/api/v1/listings/{listing_id}/withdraw": {"post": _op(
        "withdrawListing", "Withdraw your organisation's published listing from the market.", "listings",
        (200, "Listing", "Withdrawn."), (400, 403, 404, 409), parameters=(LISTING_ID,))},
    "/api/v1/orders": {
        "get": _op("listOrders", "Orders your organisation bought or sold.", "orders",
                   (200, "OrderList", "Newest first, a page at a time."), (400,), parameters=PAGING),
        "post": _op("createOrder", "Buy a service (optionally with a voucher) or an achievement (with a transfer mode) "
                                   "at its listed price.", "orders", (201, "OrderDetail", "The order, waiting for payment."),
                    (400, 403, 404), body="OrderCreate"),
    },
    "/api/v1/orders/{order_id}": {"get": _op(
        "getOrder", "An order with its payments and voucher shares.", "orders",
        (200, "OrderDetail", "The order."), (404,), parameters=(ORDER_ID,))},
    "/api/v1/orders/{order_id}/pay": {"post": _op(
        "payOrder", "Pay the buyer's share through the payment gateway.", "orders",
        (200, "OrderDetail", "The order; `paid` once the gateway confirms."), (400, 403, 404, 409),
        parameters=(ORDER_ID,))},
    "/api/v1/orders/{order_id}/confirm": {"post": _op(
        "confirmOrder", "The buyer confirms delivery of a paid order.", "orders", (200, "OrderDetail", "Delivered."),
        (400, 403, 404), parameters=(ORDER_ID,))},
    "/api/v1/orders/{order_id}/refund": {"post": _op(
        "refundOrder", "The seller (or an administrator) refunds a paid order in full.", "orders",
        (200, "OrderDetail", "Refunded."), (400, 403, 404, 409), parameters=(ORDER_ID,), body="Refund")},
    "/api/v1/bookings": {
        "get": _op("listBookings", "Bookings your organisation made or received.", "bookings",
                   (200, "BookingList", "Latest start first, a page at a time."), (400,), parameters=PAGING),
        "post": _op("createBooking", "Book whole hours of a published instrument.", "bookings",
                    (201, "Booking", "Booked; `order_id` is the order to pay (none for your own instrument)."),
                    (400, 403, 404, 409), body="BookingCreate"),
    },
    "/api/v1/instruments/{instrument_id}/calendar": {"get": _op(
        "instrumentCalendar", "Booked hours of an instrument, day by day.", "bookings",
        (200, "Calendar", "One entry per day."), (400, 404), parameters=(
            _path_id("instrument_id", "instrument"),
            _query("from", DATE_IN, f"First day, YYYY-MM-DD, a year from {MIN_YEAR} to {MAX_YEAR} (default today)."),
            _query("days", {"type": "integer", "minimum": 1, "maximum": 31, "default": 7}, "Number of days.")))},
    "/api/v1/instruments/bookings": {"get": _op(
        "listFacilityBookings", "Your bookings of shared instruments (self-operation and training).", "instruments",
        (200, "FacilityBookingList", "Latest start first, at most 200."), (400,))},
    "/api/v1/instruments/{instrument_id}/bookings": {"post": _op(
        "createFacilityBooking", "Book a shared instrument for self-operation (qualified users) or a training "
                                 "session; with manager approval the request holds its hours until decided.",
        "instruments", (201, "FacilityBookingList", "The bookings made (several when recurring) or grown."),
        (400, 403, 404, 409), parameters=(_path_id("instrument_id", "instrument"),), body="FacilityBookingCreate")},
    "/api/v1/instruments/samples": {"get": _op(
        "listSampleOrders", "Your organisation's samples sent in (送样), with their reports.", "instruments",
        (200, "SampleOrderList", "Newest first, at most 200."), (400,))},
    "/api/v1/instruments/{instrument_id}/samples": {"post": _op(
        "createSampleOrder", "Send samples for the facility's staff to run; priced per sample.", "instruments",
        (201, "SampleOrder", "Sent; `order_id` is the order to pay."), (400, 403, 404),
        parameters=(_path_id("instrument_id", "instrument"),), body="SampleOrderCreate")},
    "/api/v1/instruments/qualifications": {"get": _op(
        "listQualifications", "The instruments you may operate yourself, and until when.", "instruments",
        (200, "QualificationList", "Latest expiry first."), (400,))},
    "/api/v1/instruments/feed": {"get": _op(
        "calendarFeed", "The secret iCal address of your instrument bookings.", "instruments",
        (200, "CalendarFeed", "The address."), (400,))},
    "/api/v1/contracts/{contract_id}/register": {"post": _op(
        "registerContract", "The seller records the contract's 认定登记 registration.", "contracts",
        (200, "Contract", "Registered."), (400, 403, 404, 409), parameters=(_path_id("contract_id", "contract"),),
        body="ContractRegistration")},
    "/api/v1/programmes/pool": {"get": _op(
        "listPool", "The high-tech enterprise cultivation pool (高新技术企业培育库), each enterprise with the national "
                    "criteria checked against its latest figures. The city's roles only.", "programmes",
        (200, "PoolList", "By organisation name."), (400, 403), parameters=(
            _query("status", {"enum": [*POOL_STATUSES, "all"], "default": "admitted"},
                   "Enterprises in the pool now (`admitted`, the default), those removed from it, those recognised "
                   "as high-tech enterprises, or `all`."),))},
    "/api/v1/programmes/ip": {"get": _op(
        "listIpRights", "The IP database by industry (知识产权数据库): patents and other registered IP of "
                        "organisations. Any role.", "programmes",
        (200, "IpRightList", "By industry, then number; at most 500."), (400,), parameters=(
            _query("q", {"type": "string", "maxLength": 200, "pattern": r"^[^\u0000-\u001f\u007f-\u009f]*$"},
                   "Search text: in the title, the number (spaces and case ignored) or the holder's name."),
            _query("industry", {"enum": list(industries())}, "Only this industry."),
            _query("kind", {"enum": list(IP_RIGHT_KINDS)}, "Only this kind of IP.")))},
    "/api/v1/programmes/commissioners": {"get": _op(
        "listCommissioners", "Science and technology commissioners (科技特派员) with their bases, projects and "
                             "selections. The city's roles only.", "programmes",
        (200, "CommissionerList", "By name."), (400, 403))},
    "/api/v1/programmes/projects": {"get": _op(
        "listProjects", "The major S&T project reserve (科技项目库): the city's roles see every project, a member "
                        "its organisation's.", "programmes",
        (200, "ProjectList", "Newest first."), (400,), parameters=(
            _query("status", {"enum": list(PROJECT_STATUSES)}, "Only projects in this state (default: all)."),))},
}

DESCRIPTION = """\
The Liaocheng innovation marketplace for programs. A token acts as the user who created it
(account page: /account/tokens) with exactly that user's permissions.

* Authentication: `Authorization: Bearer <token>` on every call except this document. No cookies.
* Money: decimal **yuan as strings** with two decimals (`"50000.00"`), in requests and responses;
  JSON numbers are refused for amounts.
* Times: timestamps are UTC ISO 8601 with `Z`; booking times are the instrument's wall-clock time
  without offset (`2025-03-01T09:00:00`), on the hour; dates are `YYYY-MM-DD`.
* Bodies are JSON objects, parsed strictly: an unknown member, a wrong type or malformed JSON is
  a 400. Errors are `{"error": "...", "field": "..."}`; nothing is written when a call fails.
"""


def document() -> dict:
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "Liaocheng innovation marketplace API", "version": API_VERSION, "description": DESCRIPTION},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "tags": [{"name": n} for n in ("meta", "listings", "orders", "bookings", "instruments", "contracts",
                                                  "programmes", "vouchers")],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API token from /account/tokens, e.g. lcm_…"}},
            "schemas": SCHEMAS,
            "responses": RESPONSES,
        },
    })
