"""Bank transfers (对公转账): receipts confirmed by a person, bank statements imported, and
the transfers nobody could match, listed until a person resolves them.

Every transfer that arrives is attached to the payment whose reference it carries by one
conditional UPDATE of that payment's ``received_fen`` (on the amount the confirming person or
the import saw): of two confirmations racing, one counts the money and the other is told 409.
When what arrived equals what is due, ``services.book`` moves the payment (and the order with
its last part) and writes the ledger's payment entry in the same unit of work; less is a
*partial* transfer and more an *excess*, both listed for a person. A statement is imported
whole or not at all: a bad row is reported with its line number and nothing is written; a
row imported before (the same file again, an overlapping export) is recognised by its
fingerprint and skipped.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from marketplace import permissions as perm
from marketplace.core.errors import Conflict, NotFound, ServiceError
from marketplace.core.money import MoneyError, parse_yuan
from marketplace.core.timeutil import beijing_today
from marketplace.core.uow import transactional, unit_of_work
from marketplace.extensions import db
from marketplace.orders.models import Order, OrderStatus
from marketplace.payments import gateway as gw
from marketplace.payments.models import (
    OPEN_TRANSFERS,
    BankStatement,
    BankTransfer,
    Payment,
    PaymentMethod,
    PaymentStatus,
    TransferStatus,
)

MAX_STATEMENT_BYTES = 5 * 1024 * 1024
MAX_STATEMENT_ROWS = 5000

# The columns of a statement, by the headers banks' exports use (compared without spaces,
# case-insensitively). 摘要 and 附言 may both be present: the reference is looked for in each.
HEADERS = {
    "date": ("date", "交易日期", "记账日期", "入账日期", "日期", "交易时间"),
    "payer": ("payeraccountname", "payername", "payer", "对方户名", "对方账户名称", "付款人户名", "付款方户名", "付款人名称"),
    "amount": ("amount", "金额", "贷方金额", "收入金额", "交易金额", "发生额"),
    "remark": ("reference", "remark", "reference/remark", "摘要", "附言", "用途", "备注", "交易附言"),
}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S",
                 "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$")


# --------------------------------------------------------------------------- attaching money


def _attach(transfer: BankTransfer, payment: Payment, seen_fen: int, actor) -> str:
    """Count ``transfer`` towards ``payment`` if the payment's received amount is still
    ``seen_fen``; book the payment when all of it has arrived. Raises ``Conflict`` when
    another confirmation counted money meanwhile or the payment is no longer awaited."""
    from marketplace.payments.services import book

    new_total = seen_fen + transfer.amount_fen
    moved = db.session.execute(update(Payment).where(
        Payment.id == payment.id, Payment.status == PaymentStatus.PROCESSING, Payment.method == PaymentMethod.BANK,
        Payment.received_fen == seen_fen).values(received_fen=new_total)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("Someone recorded money for this payment meanwhile, or it is confirmed already. "
                         "Reload the page and look again."))
    db.session.expire(payment)
    transfer.payment_id = payment.id
    db.session.add(transfer)
    db.session.flush()
    siblings = list(db.session.scalars(select(BankTransfer).where(
        BankTransfer.payment_id == payment.id, BankTransfer.status.in_(OPEN_TRANSFERS + (TransferStatus.MATCHED,)))))
    if new_total == payment.amount_fen:
        outcome = book(payment, PaymentMethod.BANK, confirmed_by=actor)
        if outcome != "paid":  # the order was cancelled meanwhile: a person decides
            status = TransferStatus.EXCESS
        else:
            status = TransferStatus.MATCHED
    else:
        status = TransferStatus.PARTIAL if new_total < payment.amount_fen else TransferStatus.EXCESS
    for sibling in siblings:
        sibling.status = status
    return status


def _payment_by_reference(reference: str | None) -> Payment | None:
    if not reference:
        return None
    return db.session.scalar(select(Payment).where(Payment.gateway_id == reference,
                                                   Payment.method == PaymentMethod.BANK))


def _fresh_received(payment: Payment) -> int:
    db.session.refresh(payment, ["received_fen", "status"])
    return payment.received_fen


def awaited(actor, payment_id: int) -> Payment:
    """A bank-transfer payment the actor may confirm receipt of."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.method != PaymentMethod.BANK:
        raise NotFound(_("No such bank transfer."))
    perm.require(actor, perm.CONFIRM_TRANSFER, payment.order)
    return payment


@transactional
def confirm_receipt(actor, payment_id: int, amount_fen: int, seen_fen: int, value_date: date | None = None,
                    note: str = "") -> BankTransfer:
    """A person (the city's finance, or the seller) confirms that ``amount_fen`` arrived for a
    bank-transfer payment. ``seen_fen`` is what the page showed as received so far: if more
    was recorded meanwhile the confirmation is refused (409) and nothing is written."""
    payment = awaited(actor, payment_id)
    if payment.status != PaymentStatus.PROCESSING:
        raise Conflict(_("This transfer was confirmed already."))
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ServiceError(_("Enter the amount that arrived."), "amount")
    today = beijing_today()
    value_date = value_date or today
    if value_date > today:
        raise ServiceError(_("The money cannot have arrived after today."), "value_date")
    order = payment.order
    transfer = BankTransfer(source="manual", value_date=value_date, payer_name=order.buyer.name[:200],
                            amount_fen=amount_fen, remark=payment.gateway_id, status=TransferStatus.PARTIAL,
                            fingerprint="manual-" + secrets.token_hex(16), recorded_by_id=actor.id,
                            note=(note or "").strip()[:300] or None)
    _attach(transfer, payment, seen_fen, actor)
    return transfer


# --------------------------------------------------------------------------- statements


class StatementError(ServiceError):
    """A statement that cannot be imported: each problem with its line number."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        lines = [(_("line %(n)s: %(problem)s", n=n, problem=p) if n else p) for n, p in problems]
        super().__init__("; ".join(lines), "statement")
        self.problems = problems


@dataclass
class Row:
    line: int
    value_date: date
    payer: str
    amount_fen: int
    remark: str
    fingerprint: str = ""


@dataclass
class ImportResult:
    statement: BankStatement | None
    matched: list[BankTransfer] = field(default_factory=list)
    open: list[BankTransfer] = field(default_factory=list)  # partial, excess, unmatched
    skipped: list[int] = field(default_factory=list)  # line numbers already imported
    outgoing: list[int] = field(default_factory=list)  # line numbers of money paid out


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Chinese banks' exports are often GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementError([(None, _("The file is neither UTF-8 nor GBK text: export the statement as CSV."))])


def _columns(header: list[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        key = re.sub(r"\s+", "", name or "").lower()
        for column, names in HEADERS.items():
            if key in names:
                found.setdefault(column, []).append(index)
    return found


def _cell(record: list[str], columns: dict[str, list[int]], name: str) -> str:
    i = columns[name][0]
    return record[i].strip() if i < len(record) else ""


def _date(text: str) -> date:
    text = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(_("%(value)s is not a date (2025-03-18, 2025/03/18 or 20250318)", value=text or "—"))


def _amount(text: str) -> int | None:
    """Fen of a credit; None for money paid out (a negative amount)."""
    text = text.strip().replace("¥", "").replace("￥", "").replace(" ", "")
    if text.startswith("-"):
        return None
    if text.startswith("+"):
        text = text[1:]
    if _GROUPED.match(text):  # banks print 800,000.00
        text = text.replace(",", "")
    try:
        fen = parse_yuan(text)
    except MoneyError:
        raise ValueError(_("%(value)s is not an amount in yuan", value=text or "—")) from None
    if fen == 0:
        raise ValueError(_("the amount is zero"))
    return fen


def parse_statement(data: bytes) -> tuple[list[Row], list[int]]:
    """Rows of a CSV statement (credits), and the line numbers of debits; ``StatementError``
    naming every bad line (nothing is imported then)."""
    if not data:
        raise StatementError([(None, _("Choose the statement file (CSV)."))])
    if len(data) > MAX_STATEMENT_BYTES:
        raise StatementError([(None, _("The statement is larger than 5 MB: import it in parts."))])
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    problems: list[tuple[int | None, str]] = []
    rows: list[Row] = []
    outgoing: list[int] = []
    columns: dict[str, list[int]] | None = None
    seen: dict[tuple, int] = {}
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if columns is None:
                columns = _columns(record)
                missing = [c for c in ("date", "payer", "amount", "remark") if c not in columns]
                if missing:
                    raise StatementError([(line, _(
                        "the header must name the columns date, payer account name, amount and reference "
                        "(or 交易日期, 对方户名, 金额, 摘要/附言); missing: %(missing)s", missing=", ".join(missing)))])
                continue
            if len(problems) >= 50:
                break
            if len(rows) + len(outgoing) >= MAX_STATEMENT_ROWS:
                problems.append((line, _("more than %(n)s rows: import the statement in parts", n=MAX_STATEMENT_ROWS)))
                break
            try:
                value_date = _date(_cell(record, columns, "date"))
                fen = _amount(_cell(record, columns, "amount"))
            except ValueError as exc:
                problems.append((line, str(exc)))
                continue
            if fen is None:
                outgoing.append(line)
                continue
            payer = _cell(record, columns, "payer")
            if not payer:
                problems.append((line, _("the payer account name is empty")))
                continue
            remark = " ".join(record[i].strip() for i in columns["remark"] if i < len(record) and record[i].strip())
            row = Row(line, value_date, payer[:200], fen, remark[:300])
            key = (value_date.isoformat(), row.payer, fen, row.remark)
            seen[key] = seen.get(key, 0) + 1  # two identical credits in one file are two transfers
            row.fingerprint = hashlib.sha256("|".join(map(str, key + (seen[key],))).encode("utf-8")).hexdigest()
            rows.append(row)
    except csv.Error as exc:
        problems.append((reader.line_num, _("not readable as CSV (%(error)s)", error=str(exc))))
    if columns is None:
        raise StatementError([(None, _("The file is empty."))])
    if problems:
        raise StatementError(problems)
    return rows, outgoing


def import_statement(actor, filename: str, data: bytes) -> ImportResult:
    """Import a bank statement (CSV) whole, or nothing of it: rows carrying a reference of an
    awaited payment count towards it (and book it when it is complete); the others are
    listed for a person."""
    perm.require(actor, perm.RECONCILE_TRANSFERS)
    rows, outgoing = parse_statement(data)
    result = ImportResult(statement=None, outgoing=outgoing)
    try:
        with unit_of_work():
            known = set(db.session.scalars(select(BankTransfer.fingerprint).where(
                BankTransfer.fingerprint.in_([r.fingerprint for r in rows])))) if rows else set()
            statement = BankStatement(filename=(filename or "statement.csv")[:200],
                                      sha256=hashlib.sha256(data).hexdigest(), rows=len(rows), matched=0,
                                      uploaded_by_id=actor.id)
            db.session.add(statement)
            db.session.flush()
            for row in rows:
                if row.fingerprint in known:
                    result.skipped.append(row.line)
                    continue
                transfer = BankTransfer(statement_id=statement.id, line_no=row.line, source="statement",
                                        value_date=row.value_date, payer_name=row.payer, amount_fen=row.amount_fen,
                                        remark=row.remark, status=TransferStatus.UNMATCHED,
                                        fingerprint=row.fingerprint, recorded_by_id=actor.id)
                payment = _payment_by_reference(gw.find_reference(row.remark))
                if payment is None:
                    db.session.add(transfer)
                    result.open.append(transfer)
                    continue
                if payment.status != PaymentStatus.PROCESSING:
                    transfer.payment_id = payment.id
                    transfer.note = _("The payment under this reference was confirmed already.")
                    db.session.add(transfer)
                    result.open.append(transfer)
                    continue
                status = _attach(transfer, payment, _fresh_received(payment), actor)
                (result.matched if status == TransferStatus.MATCHED else result.open).append(transfer)
            statement.matched = len(result.matched)
            db.session.flush()
            result.statement = statement
    except IntegrityError:  # the same rows imported concurrently: that import counts them
        raise Conflict(_("This statement is being imported by someone else right now. Reload in a moment.")) from None
    return result


# --------------------------------------------------------------------------- resolving


def open_transfers(actor) -> list[BankTransfer]:
    perm.require(actor, perm.RECONCILE_TRANSFERS)
    return list(db.session.scalars(select(BankTransfer).where(BankTransfer.status.in_(OPEN_TRANSFERS))
                                   .order_by(BankTransfer.value_date, BankTransfer.id)))


def awaiting(actor) -> list[Payment]:
    """Bank-transfer payments waiting for money, oldest first."""
    perm.require(actor, perm.RECONCILE_TRANSFERS)
    return list(db.session.scalars(select(Payment).join(Order, Order.id == Payment.order_id).where(
        Payment.method == PaymentMethod.BANK, Payment.status == PaymentStatus.PROCESSING,
        Order.status == OrderStatus.PENDING_PAYMENT).order_by(Payment.created_at)))


def recent_statements(actor, limit: int = 10) -> list[BankStatement]:
    perm.require(actor, perm.RECONCILE_TRANSFERS)
    return list(db.session.scalars(select(BankStatement).order_by(BankStatement.id.desc()).limit(limit)))


def _open_transfer(actor, transfer_id: int) -> BankTransfer:
    perm.require(actor, perm.RECONCILE_TRANSFERS)
    transfer = db.session.get(BankTransfer, transfer_id)
    if transfer is None:
        raise NotFound(_("No such transfer."))
    if transfer.status not in OPEN_TRANSFERS:
        raise Conflict(_("This transfer was resolved already."))
    return transfer


def _claim(transfer: BankTransfer, status: str, actor, note: str | None) -> None:
    """Move an open transfer once (of two people resolving it, one does)."""
    moved = db.session.execute(update(BankTransfer).where(
        BankTransfer.id == transfer.id, BankTransfer.status == transfer.status)
        .values(status=status, resolved_by_id=actor.id, note=note)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This transfer was resolved already."))
    db.session.expire(transfer)


@transactional
def match_by_hand(actor, transfer_id: int, reference: str) -> BankTransfer:
    """A person reads an unmatched transfer (a reference mistyped, the order number written
    instead) and names the payment it pays."""
    transfer = _open_transfer(actor, transfer_id)
    if transfer.payment_id is not None:
        raise Conflict(_("This transfer already counts towards a payment: return it, or return the others."))
    wanted = gw.find_reference(reference)
    payment = _payment_by_reference(wanted)
    if payment is None:
        raise ServiceError(_("No transfer is awaited under this reference (LC followed by nine characters)."),
                           "reference")
    if payment.status != PaymentStatus.PROCESSING:
        raise Conflict(_("The payment under this reference was confirmed already."))
    _claim(transfer, TransferStatus.PARTIAL, actor, _("matched by hand"))
    db.session.refresh(transfer)
    _attach(transfer, payment, _fresh_received(payment), actor)
    transfer.resolved_by_id = actor.id
    return transfer


RESOLUTIONS = (TransferStatus.RETURNED, TransferStatus.DUPLICATE)


@transactional
def resolve(actor, transfer_id: int, resolution: str, note: str) -> BankTransfer:
    """Close an open transfer: the money was sent back to the payer (``returned``), or it is
    the same money a person already confirmed by hand (``duplicate``). A transfer counted
    towards a payment no longer counts: the payment waits for the rest."""
    if resolution not in RESOLUTIONS:
        raise ServiceError(_("Choose what happened to the money."), "resolution")
    if not (note or "").strip():
        raise ServiceError(_("Say what was done (for the record)."), "note")
    transfer = _open_transfer(actor, transfer_id)
    payment_id = transfer.payment_id
    amount = transfer.amount_fen
    _claim(transfer, resolution, actor, note.strip()[:300])
    if payment_id is not None:
        payment = db.session.get(Payment, payment_id)
        if payment.status == PaymentStatus.PROCESSING:
            seen = _fresh_received(payment)
            moved = db.session.execute(update(Payment).where(
                Payment.id == payment_id, Payment.status == PaymentStatus.PROCESSING, Payment.received_fen == seen)
                .values(received_fen=seen - amount).execution_options(synchronize_session=False)).rowcount
            if moved != 1:
                raise Conflict(_("Someone recorded money for this payment meanwhile. Reload the page and look again."))
            db.session.expire(payment)
            left = seen - amount
            rest = list(db.session.scalars(select(BankTransfer).where(
                BankTransfer.payment_id == payment_id, BankTransfer.status.in_(OPEN_TRANSFERS))))
            if left == payment.amount_fen and rest:  # what is left is exactly what is due
                from marketplace.payments.services import book

                book(payment, PaymentMethod.BANK, confirmed_by=actor)
                for other in rest:
                    other.status = TransferStatus.MATCHED
            else:
                for other in rest:
                    other.status = TransferStatus.PARTIAL if left < payment.amount_fen else TransferStatus.EXCESS
    return transfer


def transfers_of(payment: Payment) -> list[BankTransfer]:
    return list(db.session.scalars(select(BankTransfer).where(BankTransfer.payment_id == payment.id)
                                   .order_by(BankTransfer.id)))
