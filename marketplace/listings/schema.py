"""The fields of a listing, declared once.

Each field says what it holds (text, a choice, an amount, a flag, an hour of the day, a
list of choices), its bounds, whether it may be empty, and for which kinds it is required.
From this one table come the service's list of accepted fields (``listings.services``), the
JSON API's parsers (``api.views``, through ``api.validation.field_for``) and the listing
schemas of the OpenAPI document (``api.openapi.schema_for``); a new field, or a new bound,
is one line here.

The API names amounts in yuan (``price``); the service and the table in fen
(``price_fen``): ``column`` is the service's name where the two differ.
"""
from __future__ import annotations

from dataclasses import dataclass

from marketplace.accounts.models import COUNTIES
from marketplace.listings.models import FIELDS, IP_KINDS, KINDS, MATURITIES, PRICE_UNITS, TRANSFER_MODES

TEXT, CHOICE, MONEY, FLAG, HOUR, CHOICES = "text", "choice", "money", "flag", "hour", "choices"


@dataclass(frozen=True)
class ListingField:
    name: str  # as the API names it
    type: str  # TEXT, CHOICE, MONEY, FLAG, HOUR or CHOICES (a list of choices)
    max_length: int | None = None  # TEXT, CHOICE
    choices: tuple[str, ...] | None = None  # CHOICE, CHOICES
    nullable: bool = False  # may be sent as null
    required: bool = False  # for every listing of the kinds that have the field
    non_blank: bool = False  # TEXT: something besides spaces
    column: str | None = None  # the service's (and the table's) name, if not ``name``

    @property
    def service_name(self) -> str:
        return self.column or self.name


COMMON = (
    ListingField("title", TEXT, 200, required=True, non_blank=True),
    ListingField("description", TEXT, 5000),
    ListingField("field", CHOICE, 40, FIELDS, nullable=True),
    ListingField("county", CHOICE, 40, COUNTIES, nullable=True),
    ListingField("price", MONEY, nullable=True, column="price_fen"),
    ListingField("negotiable", FLAG),
)
BY_KIND: dict[str, tuple[ListingField, ...]] = {
    "achievement": (
        ListingField("ip_kind", CHOICE, 20, IP_KINDS, required=True),
        ListingField("ip_number", TEXT, 40, nullable=True),
        ListingField("maturity", CHOICE, 12, MATURITIES, nullable=True),
        ListingField("transfer_modes", CHOICES, choices=TRANSFER_MODES, required=True),
    ),
    "instrument": (
        ListingField("category", TEXT, 60, nullable=True),
        ListingField("model", TEXT, 80, nullable=True),
        ListingField("location", TEXT, 120, nullable=True),
        ListingField("price_unit", CHOICE, 8, PRICE_UNITS, required=True),
        ListingField("internal_price", MONEY, nullable=True, column="internal_price_fen"),
        ListingField("financing_lease", FLAG),
        ListingField("on_sharing_platform", FLAG),
        ListingField("open_from_hour", HOUR),
        ListingField("open_to_hour", HOUR),
    ),
    "service": (),
    "demand": (),
}
assert set(BY_KIND) == set(KINDS)


def field(name: str) -> ListingField:
    """A declared field by its API name."""
    return next(f for f in COMMON + sum(BY_KIND.values(), ()) if f.name == name)


def max_length(name: str) -> int:
    return field(name).max_length


def fields_of(kind: str) -> tuple[ListingField, ...]:
    return COMMON + BY_KIND[kind]


def service_names(fields) -> tuple[str, ...]:
    return tuple(f.service_name for f in fields)
