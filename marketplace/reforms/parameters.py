"""The parameters the platform has in force: the engine's shipped YAML files, amended by the
values an administrator published (oldest first). Claims are drafted under these; the
engine's CLI reads the same set from ``flask subsidies parameters --output DIR``."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.reforms.models import PublishedParameterValue
from marketplace.subsidies import Parameters, default_parameters

_cache: dict = {}


def parse_value(parameters: Parameters, name: str, text: str):
    """A value typed for ``name``: an exact decimal for numeric units, text for roles."""
    unit = parameters.get(name).unit
    if unit == "role":
        return text.strip()
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return int(value) if unit == "year" else value


def in_force() -> Parameters:
    """The shipped parameters amended by every published value, oldest first.

    The published values are few (a handful a year), so they are read on every call and the
    amended set is cached per distinct list of them: a value published on another machine is
    in force here at the next call.
    """
    rows = tuple(db.session.execute(select(
        PublishedParameterValue.parameter, PublishedParameterValue.effective_from, PublishedParameterValue.value)
        .order_by(PublishedParameterValue.effective_from, PublishedParameterValue.id)).tuples())
    cached = _cache.get(rows)
    if cached is not None:
        return cached
    parameters = default_parameters()
    for name, effective_from, value in rows:
        parameters = parameters.amended(name, effective_from, parse_value(parameters, name, value))
    if len(_cache) > 16:
        _cache.clear()
    _cache[rows] = parameters
    return parameters
