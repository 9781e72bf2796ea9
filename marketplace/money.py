"""Money: integer fen in the database, Decimal yuan in the rules engine, strings on the wire."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")


class MoneyError(ValueError):
    pass


def yuan_to_fen(value) -> int:
    """Parse a yuan amount (string or Decimal) into integer fen; reject more than two decimals."""
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
