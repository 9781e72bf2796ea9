"""Money: integer fen in the database, Decimal yuan in the rules engine, strings on the wire.

``parse_yuan`` is the one parser of an amount a person (or a client) types: web forms, the
API and the CLI all use it, with the same upper bound. ``yuan_to_fen`` converts amounts the
platform itself computed (the rules engine, ledger payloads).
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
# The largest amount anyone may type: 999,999,999,999.99 yuan. Far above any real price or
# subsidy, far below what a BIGINT sum of many of them can hold (dashboards add amounts up).
MAX_YUAN = Decimal("999999999999.99")
MAX_FEN = int(MAX_YUAN * 100)
# Digits, optionally a point and one or two decimals: no sign, no exponent, no separators.
YUAN_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
_YUAN = re.compile(YUAN_PATTERN)


class MoneyError(ValueError):
    pass


def parse_yuan(text) -> int:
    """An amount in yuan as typed (``"800000"``, ``"800000.5"``, ``"800000.50"``) -> integer fen.

    Refused with ``MoneyError``: signs, exponents (``1e20``), ``NaN``/``Infinity``, thousands
    separators (``800,000``), more than two decimals and anything above ``MAX_YUAN``. Numbers
    (int, float) are refused too: a typed amount arrives as text.
    """
    if not isinstance(text, str):
        raise MoneyError(f"{text!r} is not an amount typed as text")
    raw = text.strip()
    if not _YUAN.match(raw):
        raise MoneyError(f"{text!r} is not an amount in yuan")
    fen = int(Decimal(raw) * 100)
    if fen > MAX_FEN:
        raise MoneyError(f"{text!r} is more than {MAX_YUAN}")
    return fen


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
    return (Decimal(fen) / 100).quantize(FEN, rounding=ROUND_HALF_UP)


def fen_to_str(fen: int) -> str:
    return str(fen_to_yuan(fen))


def format_yuan(fen: int | None) -> str:
    """¥1,234,567.89 for display."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen_to_yuan(fen)):,.2f}"
