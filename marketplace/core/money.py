"""Money in the application: integer fen in the database, strings on the wire, ¥ on pages.

It builds on the rules engine's money (``marketplace.subsidies.money``, which imports nothing
of the application): one grammar of an amount, one ``FEN``, one ``MAX_FEN``. ``parse_yuan`` is
the one parser of an amount a person (or a client) types — web forms, the API and the CLI —
and reads exactly what the engine reads (CLAUSES.md "Reading an amount"), after trimming the
spaces around it. ``yuan_to_fen`` converts amounts the platform itself computed (the rules
engine, ledger payloads).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from marketplace.subsidies.money import FEN, MAX_FEN, AmountError, fen_to_decimal, parse_amount

__all__ = ["FEN", "MAX_FEN", "MAX_YUAN", "YUAN_PATTERN", "MoneyError", "parse_yuan", "yuan_to_fen",
           "fen_to_yuan", "fen_to_str", "format_yuan"]

# The largest amount anyone may type: 999,999,999,999.99 yuan, the engine's bound. Far above
# any real price or subsidy, far below what a BIGINT sum of many of them can hold.
MAX_YUAN = fen_to_decimal(MAX_FEN)
# The engine's grammar as a pattern (the OpenAPI document and the API's checks): 0 or digits
# without a leading zero, optionally a point and one or two decimals; no sign, exponent or
# separator.
YUAN_PATTERN = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$"


class MoneyError(AmountError):
    """An amount that is not money (the engine's ``AmountError``, so either may be caught)."""


def parse_yuan(text) -> int:
    """An amount in yuan as typed (``"800000"``, ``"800000.5"``, ``"800000.50"``) -> integer fen.

    Refused with ``MoneyError`` (its message says what is wrong): signs, exponents (``1e20``),
    ``NaN``/``Infinity``, thousands separators (``800,000``), leading zeros, more than two
    decimals and anything above ``MAX_YUAN``. Numbers (int, float) are refused too: a typed
    amount arrives as text.
    """
    if not isinstance(text, str):
        raise MoneyError(f"{text!r} is not an amount typed as text")
    try:
        return parse_amount(text.strip())
    except AmountError as exc:
        raise MoneyError(str(exc)) from None


def yuan_to_fen(value) -> int:
    """Convert a yuan amount the platform computed (string or Decimal) into integer fen;
    reject more than two decimals. Typed input goes through ``parse_yuan``."""
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise MoneyError(f"{value!r} is not an amount")
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not an amount")
    if amount != amount.quantize(FEN):
        raise MoneyError(f"{value!r} has more than two decimals")
    return int(amount * 100)


def fen_to_yuan(fen: int) -> Decimal:
    return fen_to_decimal(fen).quantize(FEN, rounding=ROUND_HALF_UP)


def fen_to_str(fen: int) -> str:
    return str(fen_to_yuan(fen))


def format_yuan(fen: int | None) -> str:
    """¥1,234,567.89 for display."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen_to_yuan(fen)):,.2f}"
