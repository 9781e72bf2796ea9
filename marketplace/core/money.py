"""Money in the application: integer fen in the database, strings on the wire, ¥ on pages.

It builds on the rules engine's money (``marketplace.subsidies.money``, which imports nothing
of the application): one grammar of an amount, one ``FEN``, one ``MAX_FEN``. ``parse_yuan`` is
the one parser of an amount a person (or a client) types — web forms, the API and the CLI —
and reads exactly what the engine reads (CLAUSES.md "Reading an amount"), after trimming the
spaces around it. ``yuan_to_fen`` converts amounts the platform itself computed (the rules
engine, ledger payloads).
"""
from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from marketplace.subsidies.money import FEN, MAX_FEN, AmountError, fen_to_decimal, parse_amount

__all__ = ["FEN", "MAX_FEN", "MAX_YUAN", "YUAN_PATTERN", "MoneyError", "parse_yuan", "read_typed_yuan", "yuan_to_fen",
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


# How people in Liaocheng write an amount in a web form, besides the grammar itself: ¥ or 元
# around it, thousands separators in their places (800,000), 万 and 亿 after a number (80万,
# 1.5万) and Chinese numerals (八十万元, 十二万三千). ``read_typed_yuan`` rewrites such a text into
# the grammar's form and hands it to ``parse_yuan``: one grammar, read from more spellings.
_GROUPED = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?")
_PLAIN = re.compile(r"[0-9]+(\.[0-9]+)?")
_DIGITS = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "两": 2, "贰": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
           "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9}
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000, "亿": 100_000_000}
TYPED_EXAMPLES = "800000, 800,000, 80万, 八十万元, 12000.50"


def _arabic(text: str) -> Decimal | None:
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    if not _PLAIN.fullmatch(text):
        return None
    return Decimal(text)


def _chinese(text: str) -> int | None:
    """A whole number in Chinese numerals (八十, 十二万三千四百, 一亿零五百万), or None."""
    if not text or any(c not in _DIGITS and c not in _SMALL_UNITS and c not in _BIG_UNITS for c in text):
        return None
    total, section, digit = 0, 0, None
    for c in text:
        if c in _DIGITS:
            if digit is not None and _DIGITS[c] != 0:
                return None  # 八八: two digits without a unit
            digit = _DIGITS[c] if _DIGITS[c] != 0 else None
        elif c in _SMALL_UNITS:
            section += (1 if digit is None else digit) * _SMALL_UNITS[c]
            digit = None
        else:
            section += digit or 0
            if section == 0 and total == 0:
                return None
            total = (total + section) * _BIG_UNITS[c] if _BIG_UNITS[c] > 10_000 else total + section * _BIG_UNITS[c]
            section, digit = 0, None
    return total + section + (digit or 0)


def read_typed_yuan(text) -> int:
    """An amount in yuan as a person types it in a form -> integer fen.

    Reads what ``parse_yuan`` reads and also ``800,000``, ``¥800000``, ``800000元``, ``80万``,
    ``1.5万``, ``八十万元`` and ``十二万三千``; full-width digits and spaces around it are fine.
    Anything else (a sign, ``8O万``, a fen below 0.01) raises ``MoneyError``.
    """
    if not isinstance(text, str):
        raise MoneyError(f"{text!r} is not an amount typed as text")
    raw = unicodedata.normalize("NFKC", text).strip()
    for prefix in ("人民币", "RMB", "CNY", "¥", "￥"):
        raw = raw.removeprefix(prefix).strip()
    raw = raw.removesuffix("元整").removesuffix("元").removesuffix("圆").strip()
    value = _arabic(raw)
    if value is None and raw[-1:] in _BIG_UNITS:
        number = _arabic(raw[:-1].strip())
        if number is not None:
            value = number * _BIG_UNITS[raw[-1]]
    if value is None:
        whole = _chinese(raw)
        value = Decimal(whole) if whole is not None else None
    if value is None:
        return parse_yuan(raw)  # not a spelling we know: the grammar says what is wrong
    # The grammar's form: fen-exact amounts with two decimals; a finer one stays as it is and
    # the grammar refuses it ("more than two decimal places").
    return parse_yuan(format(value.quantize(FEN) if value == value.quantize(FEN) else value, "f"))


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
