"""Strict parsing of JSON bodies and query strings: unknown fields, wrong types and malformed
JSON are refused with a 400 that names the field, before any service is called."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

from flask import request
from flask_babel import gettext as _

from marketplace.core.errors import ServiceError
from marketplace.core.money import MAX_FEN, YUAN_PATTERN, MoneyError, parse_yuan

MAX_AMOUNT_FEN = MAX_FEN  # 999,999,999,999.99 yuan, the bound of every typed amount (marketplace.core.money)
MAX_INT = 2**31 - 1
MIN_YEAR, MAX_YEAR = 1900, 2999  # dates beyond are typing errors (and would overflow date arithmetic)
# The same bounds as the document writes them (a pattern: JSON Schema has no date range).
YEAR_PATTERN = r"(19[0-9]{2}|2[0-9]{3})"
DATE_PATTERN = YEAR_PATTERN + r"-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_YUAN = re.compile(YUAN_PATTERN)


class Invalid(ServiceError):
    status = 400


@dataclass(frozen=True)
class Field:
    """One accepted member: ``parse`` turns the JSON value into what the service takes."""

    parse: Callable[[str, Any], Any]
    required: bool = False
    nullable: bool = False


# --- value parsers: (field name, JSON value) -> Python value ----------------------------------

def string(max_length: int, choices: tuple | None = None, strip: bool = True):
    def parse(name, value):
        if not isinstance(value, str):
            raise Invalid(_("%(field)s must be a string.", field=name), name)
        # As the document says (maxLength, enum): the length of what was sent, the choice exactly
        # as listed; surrounding spaces are trimmed only from a value that passed both.
        if len(value) > max_length:
            raise Invalid(_("%(field)s has more than %(n)d characters.", field=name, n=max_length), name)
        if choices is not None and value not in choices:
            raise Invalid(_("%(field)s must be one of: %(choices)s.", field=name, choices=", ".join(choices)), name)
        return value.strip() if strip else value
    return parse


def search_text(max_length: int):
    """Free search text: stripped, at most ``max_length`` characters, no control characters
    (a NUL cannot even reach PostgreSQL)."""
    inner = string(max_length)

    def parse(name, value):
        value = inner(name, value)
        if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value):
            raise Invalid(_("%(field)s contains a control character.", field=name), name)
        return value
    return parse


def integer(minimum: int = 0, maximum: int = MAX_INT):
    def parse(name, value):
        # JSON Schema's "integer" (the document's) includes 3.0; 3.5 is not one.
        if isinstance(value, float) and value.is_integer() and minimum <= value <= maximum:
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid(_("%(field)s must be an integer.", field=name), name)
        if not minimum <= value <= maximum:
            raise Invalid(_("%(field)s must be between %(a)d and %(b)d.", field=name, a=minimum, b=maximum), name)
        return value
    return parse


def boolean(name, value):
    if not isinstance(value, bool):
        raise Invalid(_("%(field)s must be true or false.", field=name), name)
    return value


def yuan(name, value) -> int:
    """A decimal yuan string ("50000.00") as integer fen. Numbers are refused: never float."""
    if not isinstance(value, str) or not _YUAN.match(value):
        raise Invalid(_("%(field)s must be an amount in yuan written as a string of digits with up to two "
                        "decimals, at most \"999999999999.99\", like \"50000.00\".", field=name), name)
    try:
        return parse_yuan(value)
    except MoneyError:
        raise Invalid(_("%(field)s is too large.", field=name), name) from None


def iso_date(name, value) -> date:
    if not isinstance(value, str):
        raise Invalid(_("%(field)s must be a date like 2025-03-01.", field=name), name)
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        parsed = date.fromisoformat(value)
    except ValueError:
        raise Invalid(_("%(field)s must be a date like 2025-03-01.", field=name), name)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise Invalid(_("%(field)s must be a date between %(a)d and %(b)d.", field=name, a=MIN_YEAR, b=MAX_YEAR), name)
    return parsed


def local_datetime(name, value) -> datetime:
    """A wall-clock time without offset, like 2025-03-01T09:00:00 (the platform's time)."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", value):
        raise Invalid(_("%(field)s must be a time like 2025-03-01T09:00:00, without an offset.", field=name), name)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(_("%(field)s must be a time like 2025-03-01T09:00:00, without an offset.", field=name), name)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise Invalid(_("%(field)s must be a date between %(a)d and %(b)d.", field=name, a=MIN_YEAR, b=MAX_YEAR), name)
    return parsed


def string_list(max_items: int, choices: tuple):
    def parse(name, value):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise Invalid(_("%(field)s must be a list of strings.", field=name), name)
        if len(value) > max_items:
            raise Invalid(_("%(field)s has too many items.", field=name), name)
        for v in value:
            if v not in choices:
                raise Invalid(_("%(field)s must be one of: %(choices)s.", field=name, choices=", ".join(choices)),
                              name)
        return list(dict.fromkeys(value))
    return parse


# --- bodies and query strings ---------------------------------------------------------------

def _reject_constant(value):
    raise ValueError(value)


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key}")
        result[key] = value
    return result


def json_object() -> dict:
    """The request body as a JSON object (an empty body is an empty object)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Invalid(_("The body is not valid JSON."))
    if not isinstance(data, dict):
        raise Invalid(_("The body must be a JSON object."))
    return data


def parse(data: dict, spec: dict[str, Field]) -> dict:
    """Check every member against ``spec``: unknown members, missing required ones, wrong types."""
    for name in data:
        if name not in spec:
            raise Invalid(_("Unknown field: %(field)s.", field=name), name)
    values = {}
    for name, field in spec.items():
        if name not in data:
            if field.required:
                raise Invalid(_("%(field)s is required.", field=name), name)
            continue
        value = data[name]
        if value is None:
            if not field.nullable:
                raise Invalid(_("%(field)s cannot be null.", field=name), name)
            values[name] = None
            continue
        values[name] = field.parse(name, value)
    return values


def body(spec: dict[str, Field]) -> dict:
    return parse(json_object(), spec)


def query(spec: dict[str, Field]) -> dict:
    """Query parameters, each given at most once; integers are written as digits."""
    data = {}
    for name in request.args:
        if name not in spec:
            raise Invalid(_("Unknown parameter: %(field)s.", field=name), name)
        values = request.args.getlist(name)
        if len(values) > 1:
            raise Invalid(_("%(field)s is given more than once.", field=name), name)
        data[name] = values[0]
    values = {}
    for name, field in spec.items():
        if name not in data:
            if field.required:
                raise Invalid(_("%(field)s is required.", field=name), name)
            continue
        values[name] = field.parse(name, data[name])
    return values


def query_integer(minimum: int, maximum: int):
    inner = integer(minimum, maximum)

    def parse(name, value):
        if not re.fullmatch(r"-?[0-9]{1,10}", value):
            raise Invalid(_("%(field)s must be an integer.", field=name), name)
        return inner(name, int(value))
    return parse


def field_for(declared, required: bool | None = None) -> Field:
    """The parser of a listing field declared in ``marketplace.listings.schema`` (``required``:
    override the declaration, e.g. False for a PATCH)."""
    from marketplace.listings import schema

    parsers = {
        schema.TEXT: lambda: string(declared.max_length),
        schema.CHOICE: lambda: string(declared.max_length, declared.choices),
        schema.MONEY: lambda: yuan,
        schema.FLAG: lambda: boolean,
        schema.HOUR: lambda: integer(0, 24),
        schema.CHOICES: lambda: string_list(len(declared.choices), declared.choices),
    }
    return Field(parsers[declared.type](), required=declared.required if required is None else required,
                 nullable=declared.nullable)
