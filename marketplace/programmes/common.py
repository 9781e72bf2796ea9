"""Helpers the programme services share: the industry list, input parsing, table exports."""
from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml
from flask_babel import gettext as _

from marketplace.core import spreadsheet
from marketplace.core.errors import NotFound, ServiceError
from marketplace.core.forms import AMOUNT_HINT
from marketplace.core.money import MAX_FEN, MoneyError, read_typed_yuan
from marketplace.extensions import db

HERE = Path(__file__).parent
EXPORT_FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Industry:
    key: str
    zh: str
    en: str
    sentence_zh: str
    listing_fields: tuple[str, ...]

    def label(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh


@functools.lru_cache(maxsize=1)
def industry_doc() -> dict:
    return yaml.safe_load((HERE / "industries.yaml").read_text(encoding="utf-8"))


def industries() -> dict[str, Industry]:
    """The industries of industries.yaml, in file order."""
    doc = industry_doc()
    return {k: Industry(k, v["zh"], v["en"], v["sentence_zh"], tuple(v.get("listing_fields") or ()))
            for k, v in doc["industries"].items()}


def industry_for_listing_field(field: str | None) -> str | None:
    for ind in industries().values():
        if field and field in ind.listing_fields:
            return ind.key
    return None


def industry_label(key: str | None) -> str:
    if not key:
        return "—"
    from flask_babel import get_locale

    ind = industries().get(key)
    return ind.label(str(get_locale() or "zh")) if ind else key


def get_or_404(model, id_):
    obj = db.session.get(model, id_) if isinstance(id_, int) else None
    if obj is None:
        raise NotFound(_("This page does not exist."))
    return obj


def text(value, field: str, max_len: int, required: bool = True) -> str:
    value = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not value:
        raise ServiceError(_("This field is required."), field)
    if len(value) > max_len:
        raise ServiceError(_("Use at most %(n)d characters.", n=max_len), field)
    return value


def fen(value, field: str, required: bool = True) -> int | None:
    """Yuan typed by a person (or integer fen when already an int) → integer fen, never negative.
    Typed text is read as people write it (800000, 800,000, 80万, 八十万元: ``read_typed_yuan``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ServiceError(_("This field is required."), field)
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ServiceError(str(AMOUNT_HINT), field)
    if isinstance(value, int):
        amount = value
        if amount > MAX_FEN:
            raise ServiceError(str(AMOUNT_HINT), field)
    else:
        try:
            amount = read_typed_yuan(value)
        except MoneyError:
            raise ServiceError(str(AMOUNT_HINT), field) from None
    if amount < 0:
        raise ServiceError(_("An amount cannot be negative."), field)
    return amount


def whole(value, field: str, minimum: int = 0) -> int:
    if isinstance(value, bool):
        raise ServiceError(_("Enter a whole number."), field)
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            raise ServiceError(_("Enter a whole number."), field)
        value = int(value)
    if not isinstance(value, int) or value < minimum:
        raise ServiceError(_("Enter a whole number."), field)
    return value


def day(value, field: str, required: bool = True) -> date | None:
    if value is None or value == "":
        if required:
            raise ServiceError(_("This field is required."), field)
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ServiceError(_("Enter a date as YYYY-MM-DD."), field) from None


def choice(value, field: str, allowed) -> str:
    if value not in allowed:
        raise ServiceError(_("Choose one of the options."), field)
    return value


def export_table(headers: list[str], rows: list[list], fmt: str, sheet: str = "data") -> tuple[bytes, str]:
    """A table as CSV (UTF-8 with BOM, so spreadsheet programs read Chinese) or xlsx.
    Returns the bytes and the mimetype."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(spreadsheet.row(headers))
        for row in rows:
            writer.writerow(spreadsheet.row(row))
        return ("\ufeff" + out.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"
    if fmt == "xlsx":
        return workbook({sheet: (headers, rows)}), XLSX_MIMETYPE
    raise ServiceError(_("Choose CSV or Excel."), "format")


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def workbook(sheets: dict[str, tuple[list[str], list[list]]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, (headers, rows) in sheets.items():
        ws = wb.create_sheet(title=name[:31])
        ws.append(spreadsheet.row(headers, ws))
        for row in rows:
            ws.append(spreadsheet.row([_cell(v) for v in row], ws))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(value):
    if value is None or isinstance(value, (str, int, date)):
        return value
    return str(value)


def organizations(kind: str | None = None) -> list:
    """The organisations a form offers (not the city's own), by name; of one kind if given."""
    from sqlalchemy import select

    from marketplace.accounts.models import Organization

    stmt = select(Organization).where(Organization.kind != "government").order_by(Organization.name)
    if kind:
        stmt = stmt.where(Organization.kind == kind)
    return list(db.session.scalars(stmt))
