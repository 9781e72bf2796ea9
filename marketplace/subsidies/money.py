"""Exact money: ``Decimal`` and integer fen (分), never float.

Amounts enter as decimal strings (``"1200000.00"``) and are held as integer fen
while transactions are summed; a clause turns its sums back into ``Decimal``,
applies its rates and caps exactly, and rounds **once**, at the end, to the fen
with ROUND_HALF_UP.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0")
HUNDRED = 100
MAX_FEN = 99_999_999_999_999  # 999,999,999,999.99 CNY: the largest amount CLAUSES.md reads
MAX_TEXT = "999,999,999,999.99"
# Products, sums and roundings of amounts are exact: a context wide enough that no amount the
# engine can meet (sums of a city-year of amounts up to MAX_FEN, times a rate) is ever rounded
# before the clause rounds it, and ``quantize`` never fails for want of digits.
WIDE = Context(prec=80, rounding=ROUND_HALF_UP, Emax=10**6, Emin=-10**6)


class AmountError(ValueError):
    """An amount that is not a non-negative decimal with at most two places."""


def parse_amount(value) -> int:
    """An amount of a scenario, read exactly as CLAUSES.md "Reading an amount" says, to integer fen.

    A JSON string: ``0`` or a digit 1-9 followed by ASCII digits, then optionally ``.`` and one
    or two digits; at most 999,999,999,999.99. Anything else raises ``AmountError`` whose
    message says what is wrong (one line).
    """
    if value.__class__ is str:
        head, dot, tail = value.partition(".")
        if head.isdigit() and head.isascii() and len(head) <= 12 and (head[0] != "0" or head == "0"):
            if not dot:
                return int(head) * 100
            n = len(tail)
            if (n == 2 or n == 1) and tail.isdigit() and tail.isascii():
                return int(head) * 100 + (int(tail) if n == 2 else int(tail) * 10)
        raise AmountError(_what_is_wrong(value))
    if isinstance(value, bool) or value is None:
        raise AmountError(f"must be a decimal string such as \"1200000.00\", not {_json(value)}")
    if isinstance(value, (int, float, Decimal)):
        raise AmountError(f"a JSON number ({_short(value)}) is not an amount: write it as a string, "
                          f"e.g. \"1200000.00\"")
    raise AmountError(f"must be a decimal string such as \"1200000.00\", not a {type(value).__name__}")


def _short(value) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _json(value) -> str:
    return {True: "true", False: "false", None: "null"}.get(value, _short(value))


_EXPONENT = re.compile(r"[0-9]*\.?[0-9]*[eE][+-]?[0-9]+")


def _what_is_wrong(s: str) -> str:
    shown = repr(s) if len(s) <= 40 else repr(s[:37]) + "..."
    head, dot, tail = s.partition(".")
    if s == "":
        why = "empty"
    elif s != s.strip() or " " in s or "\u3000" in s:
        why = "spaces and other white space are not allowed"
    elif s[0] in "+-\u2212\uff0b\uff0d":
        why = "no sign is allowed (amounts are never negative)"
    elif not s.isascii():
        why = "only ASCII digits 0-9 and one '.' are allowed (no full-width or other digits)"
    elif any(c in s for c in ",_'"):
        why = "no thousands separators are allowed"
    elif _EXPONENT.fullmatch(s):
        why = "no exponent is allowed"
    elif not all(c.isdigit() or c == "." for c in s) or s.count(".") > 1:
        why = "not a decimal amount"
    elif head == "" or (dot and tail == ""):
        why = "write a digit on both sides of '.' (0.5, not .5; 5, not 5.)"
    elif len(head) > 1 and head[0] == "0":
        why = "no leading zeros"
    elif len(tail) > 2:
        why = "more than two decimal places (smaller than a fen)"
    elif len(head) > 12:
        why = f"above the largest amount, {MAX_TEXT}"
    else:  # pragma: no cover - every other string is read by parse_amount
        why = "not a decimal amount"
    return f"{why}: {shown}"


def parse_fen(value) -> int:
    """Parse a non-negative amount to integer fen.

    Accepts a decimal string (``"1200000.00"``, ``"5"``, ``"0.5"``), an ``int``
    or a ``Decimal``. Rejects floats, booleans, negatives, more than two decimal
    places (an amount smaller than a fen is not money) and anything non-numeric.
    """
    if isinstance(value, str):
        # Fast path: plain digits with an optional one- or two-digit fraction.
        head, dot, tail = value.partition(".")
        if head.isdigit() and head.isascii() and len(head) <= 12 and (
            not dot or (tail.isdigit() and tail.isascii() and len(tail) <= 2)
        ):
            if not dot:
                return int(head) * 100
            return int(head) * 100 + (int(tail) * 10 if len(tail) == 1 else int(tail))
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise AmountError(f"not a decimal amount: {_short(repr(value))}") from None
    elif isinstance(value, bool) or isinstance(value, float):
        raise AmountError(f"amounts must be decimal strings, not {type(value).__name__}: {_short(repr(value))}")
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, Decimal):
        d = value
    else:
        raise AmountError(f"not a decimal amount: {_short(repr(value))}")
    if not d.is_finite():
        raise AmountError(f"not a finite amount: {_short(repr(value))}")
    if d < 0:
        raise AmountError(f"must not be negative: {_short(repr(value))}")
    if d.adjusted() > 12:
        raise AmountError(f"above the largest amount, {MAX_TEXT}: {_short(value)}")
    fen = WIDE.multiply(d, 100)
    if fen != fen.to_integral_value(context=WIDE):
        raise AmountError(f"more than two decimal places (smaller than a fen): {_short(repr(value))}")
    if fen > MAX_FEN:
        raise AmountError(f"above the largest amount, {MAX_TEXT}: {_short(value)}")
    return int(fen)


def parse_decimal(value) -> Decimal:
    """A non-negative amount as ``Decimal`` (exactly, to the fen)."""
    return fen_to_decimal(parse_fen(value))


def fen_to_decimal(fen: int) -> Decimal:
    """Integer fen → ``Decimal`` with exactly two places (``12345`` → ``123.45``)."""
    return Decimal(fen).scaleb(-2)


def mul(a: Decimal, b: Decimal) -> Decimal:
    """``a × b`` exactly (in the wide context: never rounded, never an overflow)."""
    return WIDE.multiply(a, b)


def round_fen(amount: Decimal) -> Decimal:
    """Round to the fen, half up: the one rounding each clause applies at its end."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP, context=WIDE)


def fmt(amount: Decimal) -> str:
    """Two-decimal string as it crosses the wire: ``"18000.00"``."""
    return str(round_fen(amount))


def fmt_human(amount: Decimal) -> str:
    """Readable form with thousands separators: ``"1,200,000.00"``.

    Exact: an intermediate value finer than the fen shows all its places
    (``"0.045"``), so the trace never rounds before the clause does.
    """
    fen = amount.quantize(FEN, context=WIDE)
    if amount == fen:
        return f"{fen:,}"
    return f"{amount.normalize(context=WIDE):,f}"


def fmt_rate(rate: Decimal) -> str:
    """A rate as the text writes it: ``0.015`` → ``"1.5%"``, ``0.6`` → ``"60%"``; a rate
    below one per cent in per mille, as 4.1 writes its consulting rate: ``0.001`` → ``"1‰"``."""
    if 0 < rate < Decimal("0.01"):
        return format(WIDE.multiply(rate, 1000).normalize(context=WIDE), "f") + "‰"
    return format(WIDE.multiply(rate, 100).normalize(context=WIDE), "f") + "%"
