"""Exports for the finance bureau: the ledger of a year and its awards (or claims), as xlsx
(openpyxl) or CSV (UTF-8 with BOM, so that Excel reads Chinese).

Amounts are yuan with two decimals, made from integer fen as ``Decimal`` (never float):
xlsx cells hold numbers formatted ``#,##0.00``, CSV cells ``1234.50``. Headers follow the
interface language (Chinese by default).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.core import labels, spreadsheet
from marketplace.core.errors import ServiceError
from marketplace.core.money import fen_to_yuan
from marketplace.dashboards import services
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry

FORMATS = ("xlsx", "csv")
MONEY_FORMAT = "#,##0.00"
MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "csv": "text/csv; charset=utf-8"}


@dataclass
class Table:
    name: str  # file name stem and sheet title
    title: str
    headers: list[str]
    rows: list[list]
    money_columns: tuple[int, ...]


@dataclass
class Export:
    filename: str
    mimetype: str
    content: bytes


def parse_format(value) -> str:
    fmt = (value or "xlsx").strip().lower()
    if fmt not in FORMATS:
        raise ServiceError(_("Choose xlsx or csv."), "format")
    return fmt


def _locale() -> str:
    return str(get_locale() or "zh")


# --- the tables ---------------------------------------------------------------------------

def ledger_table(actor, year: int) -> Table:
    """Every ledger entry of ``year`` (by business date), in seq order."""
    services._view(actor)
    start, end = services._bounds(year)
    entries = list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.occurred_on.between(start, end))
                                      .order_by(LedgerEntry.seq)))
    corrected_seqs = {e.corrects_seq for e in entries if e.corrects_seq is not None}
    corrected = {}
    if corrected_seqs:
        corrected = {e.seq: e for e in db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.seq.in_(sorted(corrected_seqs))))}

    def parties(entry):
        target = corrected.get(entry.corrects_seq, entry) if entry.corrects_seq is not None else entry
        data = target.data
        return data.get(services.PARTY_KEY.get(target.kind, "")), data.get(services.COUNTERPARTY_KEY.get(target.kind, ""))

    pairs = [parties(e) for e in entries]
    orgs = services.organizations_by_code(code for pair in pairs for code in pair)
    rows = []
    for entry, (party, other) in zip(entries, pairs):
        org, counter = orgs.get(party), orgs.get(other)
        rows.append([entry.seq, entry.occurred_on.isoformat(), labels.label(entry.kind, "ledger_kind"), entry.ref,
                     fen_to_yuan(entry.amount_fen), org.name if org else "", party or "",
                     (org.county or "") if org else "", counter.name if counter else "",
                     entry.corrects_seq if entry.corrects_seq is not None else "", entry.hash])
    headers = [_("Seq"), _("Date"), _("Kind"), _("Reference"), _("Amount (yuan)"), _("Organisation"),
               _("Unified social credit code"), _("County or district"), _("Counterparty"), _("Corrects entry"),
               _("Hash")]
    return Table(f"ledger-{year}", _("Ledger %(year)d", year=year), headers, rows, (4,))


def awards_table(actor, year: int) -> Table:
    """The year's claims."""
    from marketplace.claims import services as claims

    services._view(actor)
    return _claims_table(claims.claims_for_export(year), year, _locale())


def _award_headers() -> list[str]:
    return [_("Claim"), _("Clause"), _("Clause title"), _("Beneficiary"), _("Unified social credit code"),
            _("County or district"), _("Amount (yuan)"), _("Province share (yuan)"), _("City share (yuan)"),
            _("Status"), _("Transactions")]


def _fen(value) -> Decimal | str:
    return "" if value is None else fen_to_yuan(int(value))


def _claims_table(claims, year: int, locale: str) -> Table:
    """Claims (``marketplace.claims.models.Claim``): what each stands for, what was paid and
    clawed back, and where it stands."""
    rows = []
    for c in claims:
        org = getattr(c, "organization", None)
        approved = getattr(c, "approved_at", None)
        rows.append([c.id, c.clause, services.clause_title(c.clause, locale), getattr(org, "name", ""),
                     getattr(org, "credit_code", ""), getattr(org, "county", None) or "",
                     _fen(c.amount_fen), _fen(getattr(c, "paid_fen", None)), _fen(getattr(c, "clawed_back_fen", None)),
                     labels.label(c.status, "claim_status"), approved.date().isoformat() if approved else "",
                     _transactions_text(c)])
    headers = [_("Claim"), _("Clause"), _("Clause title"), _("Beneficiary"), _("Unified social credit code"),
               _("County or district"), _("Amount (yuan)"), _("Paid (yuan)"), _("Clawed back (yuan)"), _("Status"),
               _("Approved on"), _("Transactions")]
    return Table(f"claims-{year}", _("Claims %(year)d", year=year), headers, rows, (6, 7, 8))


def _transactions_text(claim) -> str:
    value = getattr(claim, "transactions", None)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value or "")


# --- the files ----------------------------------------------------------------------------

def to_xlsx(table: Table) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = table.title[:31]
    ws.append(spreadsheet.row(table.headers, ws))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in table.rows:
        ws.append(spreadsheet.row(row, ws))
    for col in table.money_columns:
        for (cell,) in ws.iter_rows(min_row=2, min_col=col + 1, max_col=col + 1):
            if isinstance(cell.value, (Decimal, int)):
                cell.number_format = MONEY_FORMAT
    ws.freeze_panes = "A2"
    for i, header in enumerate(table.headers):
        letter = ws.cell(row=1, column=i + 1).column_letter
        ws.column_dimensions[letter].width = max(10, min(40, 2 * len(str(header)) + 4))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(spreadsheet.row(table.headers))
    for row in table.rows:
        writer.writerow(spreadsheet.row(row))
    return buffer.getvalue().encode("utf-8-sig")


def export(table: Table, fmt: str) -> Export:
    content = to_xlsx(table) if fmt == "xlsx" else to_csv(table)
    return Export(f"{table.name}.{fmt}", MIMETYPES[fmt], content)


def ledger_export(actor, year: int, fmt: str) -> Export:
    return export(ledger_table(actor, year), fmt)


def awards_export(actor, year: int, fmt: str) -> Export:
    return export(awards_table(actor, year), fmt)
