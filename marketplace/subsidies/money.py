"""Exact money: ``Decimal`` and integer fen (分), never float.

Amounts enter as decimal strings (``"1200000.00"``) and are held as integer fen
while transactions are summed; a clause turns its sums back into ``Decimal``,
applies its rates and caps exactly, and rounds **once**, at the end, to the fen
with ROUND_HALF_UP.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = 100


class AmountError(ValueError):
    """An amount that is not a non-negative decimal with at most two places."""


def parse_fen(value) -> int:
    """Parse a non-negative amount to integer fen.

    Accepts a decimal string (``"1200000.00"``, ``"5"``, ``"0.5"``), an ``int``
    or a ``Decimal``. Rejects floats, booleans, negatives, more than two decimal
    places (an amount smaller than a fen is not money) and anything non-numeric.
    """
    if isinstance(value, str):
        # Fast path: plain digits with an optional one- or two-digit fraction.
        head, dot, tail = value.partition(".")
        if head.isdigit() and head.isascii() and (
            not dot or (tail.isdigit() and tail.isascii() and len(tail) <= 2)
        ):
            if not dot:
                return int(head) * 100
            return int(head) * 100 + (int(tail) * 10 if len(tail) == 1 else int(tail))
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise AmountError(f"not a decimal amount: {value!r}") from None
    elif isinstance(value, bool) or isinstance(value, float):
        raise AmountError(f"amounts must be decimal strings, not {type(value).__name__}: {value!r}")
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, Decimal):
        d = value
    else:
        raise AmountError(f"not a decimal amount: {value!r}")
    if not d.is_finite():
        raise AmountError(f"not a finite amount: {value!r}")
    if d < 0:
        raise AmountError(f"must not be negative: {value!r}")
    fen = d * 100
    if fen != fen.to_integral_value():
        raise AmountError(f"more than two decimal places (smaller than a fen): {value!r}")
    return int(fen)


def parse_decimal(value) -> Decimal:
    """A non-negative amount as ``Decimal`` (exactly, to the fen)."""
    return fen_to_decimal(parse_fen(value))


def fen_to_decimal(fen: int) -> Decimal:
    """Integer fen → ``Decimal`` with exactly two places (``12345`` → ``123.45``)."""
    return Decimal(fen).scaleb(-2)


def round_fen(amount: Decimal) -> Decimal:
    """Round to the fen, half up: the one rounding each clause applies at its end."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def fmt(amount: Decimal) -> str:
    """Two-decimal string as it crosses the wire: ``"18000.00"``."""
    return str(amount.quantize(FEN, rounding=ROUND_HALF_UP))


def fmt_human(amount: Decimal) -> str:
    """Readable form with thousands separators: ``"1,200,000.00"``.

    Exact: an intermediate value finer than the fen shows all its places
    (``"0.045"``), so the trace never rounds before the clause does.
    """
    if amount == amount.quantize(FEN):
        return f"{amount.quantize(FEN):,}"
    return f"{amount.normalize():,f}"


def fmt_rate(rate: Decimal) -> str:
    """``Decimal("0.015")`` → ``"1.5%"``."""
    pct = (rate * 100).normalize()
    text = format(pct, "f")
    return f"{text}%"
