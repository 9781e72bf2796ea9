"""Which claim groups a ledger entry can change, and which entries a group needs.

Claims are drafted per (year, clause, beneficiary). An entry changes only some of them, and
a group reads only some rows, so drafting need not evaluate the whole year for every entry.
An outbox key names a *family* of groups and a party (``year|family|value``):

==========  ==========================================  =======================================
family      groups                                      rows of the year it reads
==========  ==========================================  =======================================
``A3``      A3 of the buyer (one award per voucher)     vouchers bought by the party
``A4``      A4 and A4.match of the service agency       vouchers sold by the party (+ reward)
``A5``      A5 of the institution                       its lease fees and instrument services
``TC``      A1.DT, A1.CS, A2.city of every party of     the technology contracts connected to
            the contracts connected to the party        the party (see ``claims.incremental``)
``TP``      the same, seeded by a project               ... connected to the project
==========  ==========================================  =======================================

A bare year (``"2025"``) still asks for the whole year (a provincial reward recorded, the CLI).
Each row is read with its payments and corrections (``scenario.build_subscenario``), so the
statuses are those of the whole ledger.

Technology contracts are connected through the seller, the buyer, the broker (A1's
beneficiary role is a parameter; A2.city is per broker and its overlap flags join an A1 award
to an A2 award), the registration number (a contract counts once: the first registration
wins) and the project (a repeated assignment counts only the value added over the earlier
ones). ``linked_contracts`` follows the number and project links to their end;
``claims.incremental`` says which groups a contract can change and which neighbours' rows
their overlap flags read. A contract also changes the contracts of its project
registered in later years (they read it as history): the ledger names those years too.
"""
from __future__ import annotations

import functools
import json
from datetime import date

from sqlalchemy import bindparam, or_, select

from marketplace.ledger.models import CORRECTION_KINDS, LedgerEntry
from marketplace.ledger.scenario import _COLUMNS, _chunks, kind_among

SUBJECT_KINDS = ("contract_registered", "voucher_redemption", "booking_completed", "lease_fee")
FAMILIES = ("A3", "A4", "A5", "TC", "TP")
# The clauses each family's evaluation decides, for the parties it names.
CLAUSES_OF_FAMILY = {"A3": ("A3",), "A4": ("A4", "A4.match"), "A5": ("A5",),
                     "TC": ("A1.DT", "A1.CS", "A2.city"), "TP": ("A1.DT", "A1.CS", "A2.city")}
FAMILY_OF_CLAUSE = {"A3": "A3", "A4": "A4", "A4.match": "A4", "A5": "A5", "A1.DT": "TC", "A1.CS": "TC",
                    "A2.city": "TC"}
_ROW = _COLUMNS + (LedgerEntry.party, LedgerEntry.counterparty, LedgerEntry.broker, LedgerEntry.project,
                   LedgerEntry.registration_no)


def key(year: int, family: str, value: str) -> str:
    return f"{year}|{family}|{value}"


def parse_key(text: str) -> tuple[int, str | None, str | None]:
    """``"2025|A3|913..."`` → (2025, "A3", "913..."); a bare year → (2025, None, None).
    Raises ValueError for anything else."""
    parts = text.split("|", 2)
    year = int(parts[0])
    if len(parts) == 1:
        return year, None, None
    if len(parts) != 3 or parts[1] not in FAMILIES or not parts[2]:
        raise ValueError(f"not a claims key: {text!r}")
    return year, parts[1], parts[2]


def group_key(year: int, clause: str, code: str) -> str | None:
    """The outbox key whose work recomputes the claim (year, clause, beneficiary), if any."""
    family = FAMILY_OF_CLAUSE.get(clause)
    return key(year, family, code) if family else None


# --- an entry's keys -----------------------------------------------------------------------------

def _fields(kind: str, occurred_on: date, payload: dict) -> dict:
    from marketplace.ledger.models import index_columns

    return {"kind": kind, "occurred_on": occurred_on, **index_columns(kind, payload)}


def _subject_keys(session, subject: dict, out: set[str]) -> None:
    kind, year = subject["kind"], subject["occurred_on"].year
    if kind == "voucher_redemption":
        out.add(key(year, "A3", subject["counterparty"]))
        out.add(key(year, "A4", subject["party"]))
    elif kind in ("booking_completed", "lease_fee"):
        out.add(key(year, "A5", subject["party"]))
    elif kind == "contract_registered":
        out.add(key(year, "TC", subject["party"]))
        project = subject.get("project")
        if project:  # later years read this contract as history of the project
            later = session.scalars(select(LedgerEntry.occurred_on).where(
                LedgerEntry.kind == "contract_registered", LedgerEntry.project == project,
                LedgerEntry.occurred_on > date(year, 12, 31)).distinct())
            for day in later:
                out.add(key(day.year, "TP", project))


def _subjects_statement(*conditions):
    return select(LedgerEntry.kind, LedgerEntry.occurred_on, LedgerEntry.party, LedgerEntry.counterparty,
                  LedgerEntry.project).where(LedgerEntry.kind.in_(SUBJECT_KINDS), or_(*conditions))


@functools.cache
def _contract_under_statement():
    # (built once, its ref bound at each call: every payment asks, and building the statement
    # costs more CPU than the database takes to answer it)
    return _subjects_statement((LedgerEntry.kind == "contract_registered") & (LedgerEntry.ref == bindparam("ref")))


def _subjects_by(session, *conditions) -> list[dict]:
    return [dict(r._mapping) for r in session.execute(_subjects_statement(*conditions))]


def _contracts_under(session, ref: str) -> list[dict]:
    """The contracts registered under ``ref`` (a payment's ref), as subjects."""
    return [dict(r._mapping) for r in session.execute(_contract_under_statement(), {"ref": ref})]


def _pending(session, kind_filter, attr, value) -> list[dict]:
    """Entries of this unit of work not flushed yet that match (autoflush may be off)."""

    out = []
    for o in session.new:
        if isinstance(o, LedgerEntry) and kind_filter(o.kind) and getattr(o, attr) == value:
            out.append(_fields(o.kind, o.occurred_on, json.loads(o.payload)) if o.party is None
                       else {"kind": o.kind, "occurred_on": o.occurred_on, "party": o.party,
                             "counterparty": o.counterparty, "project": o.project})
    return out


def claim_keys(session, kind: str, ref: str, occurred_on: date, payload: dict,
               corrects_seq: int | None) -> set[str]:
    """The outbox keys (topic ``claims``) of the groups an entry about to be appended can change."""
    out: set[str] = set()
    if kind in SUBJECT_KINDS:
        _subject_keys(session, _fields(kind, occurred_on, payload), out)
    elif kind == "payment":  # marks a registered contract paid (a voucher's or booking's payment changes nothing)
        subjects = _contracts_under(session, ref)
        subjects += _pending(session, lambda k: k == "contract_registered", "ref", ref)
        for s in subjects:
            if s["kind"] == "contract_registered":
                _subject_keys(session, s, out)
    elif kind in CORRECTION_KINDS and corrects_seq is not None:
        target = session.execute(select(LedgerEntry.kind, LedgerEntry.ref, LedgerEntry.occurred_on,
                                        LedgerEntry.party, LedgerEntry.counterparty, LedgerEntry.project)
                                 .where(LedgerEntry.seq == corrects_seq)).first()
        if target is None:
            return out
        if target.kind in SUBJECT_KINDS:
            _subject_keys(session, dict(target._mapping), out)
        elif target.kind == "payment":  # refunding a payment refunds what it paid for, and a voucher's order
            for s in _subjects_by(session, LedgerEntry.ref == target.ref, LedgerEntry.order_ref == target.ref):
                _subject_keys(session, s, out)
    return out


# --- a family's rows -----------------------------------------------------------------------------

def _year_rows(session, year: int, *conditions):
    start, end = date(year, 1, 1), date(year, 12, 31)
    return session.execute(select(*_ROW).where(LedgerEntry.occurred_on.between(start, end), *conditions))


def family_rows(session, year: int, family: str, codes: set[str]) -> list:
    """The year's subject rows the groups of ``family`` for the parties ``codes`` read (A3, A4, A5)."""
    rows = []
    for chunk in _chunks(sorted(codes)):
        if family == "A3":
            rows += _year_rows(session, year, LedgerEntry.kind == "voucher_redemption",
                               LedgerEntry.counterparty.in_(chunk))
        elif family == "A4":
            rows += _year_rows(session, year, LedgerEntry.kind == "voucher_redemption", LedgerEntry.party.in_(chunk))
        elif family == "A5":
            rows += _year_rows(session, year, LedgerEntry.kind.in_(("lease_fee", "booking_completed")),
                               LedgerEntry.party.in_(chunk))
        else:
            raise ValueError(f"family {family!r} has no rows of its own (contracts: linked_contracts)")
    return rows


def linked_contracts(session, year: int, by_column: dict[str, set[str]], projects: set[str],
                     follow: bool = True) -> tuple[dict, dict]:
    """The year's contracts whose column (``party``, ``counterparty``, ``broker``) holds one
    of the values, or whose project is one of ``projects``: (the year's rows by seq, the
    earlier contracts the year reads as history by seq). With ``follow``, every contract
    linked to them by registration number or project comes along too, to the end (which row
    of a number counts, and what an assignment adds over the earlier ones of its project,
    read all of them), as ``build_scenario`` would see them."""
    start = date(year, 1, 1)
    is_contract = LedgerEntry.kind == "contract_registered"
    # party and counterparty have (column, kind, occurred_on) indexes; broker, project and
    # registration number have their own, which the kind must not shadow (``kind_among``)
    by_lookup = kind_among(("contract_registered",))
    in_year: dict[int, object] = {}
    history: dict[int, object] = {}
    for name, values in by_column.items():
        column = getattr(LedgerEntry, name)
        kind = is_contract if name in ("party", "counterparty") else by_lookup
        for chunk in _chunks(sorted(v for v in values if v)):
            for row in _year_rows(session, year, kind, column.in_(chunk)):
                in_year[row.seq] = row
    if not follow:
        return in_year, history
    regs: set[str] = set()
    year_projects: set[str] = set()  # projects with a contract of the year (those bring their history)
    queried_projects: set[str] = set()
    new_rows = list(in_year.values())
    new_projects, new_regs = set(projects), set()
    while new_rows or new_projects or new_regs:
        fresh_projects: set[str] = set()
        for row in new_rows:
            if row.registration_no and row.registration_no not in regs:
                new_regs.add(row.registration_no)
            if row.project and row.project not in year_projects:
                year_projects.add(row.project)
                fresh_projects.add(row.project)
                if row.project not in queried_projects:
                    new_projects.add(row.project)
        # earlier contracts of the year's projects: history, whose registration numbers link on
        for chunk in _chunks(sorted(fresh_projects)):
            for row in session.execute(select(*_ROW).where(by_lookup, LedgerEntry.project.in_(chunk),
                                                           LedgerEntry.occurred_on < start)):
                history[row.seq] = row
                if row.registration_no and row.registration_no not in regs:
                    new_regs.add(row.registration_no)
        # earlier contracts sharing a registration number: their project may be one of the year's
        for chunk in _chunks(sorted(new_regs)):
            for row in session.execute(select(LedgerEntry.project).where(
                    by_lookup, LedgerEntry.registration_no.in_(chunk), LedgerEntry.occurred_on < start,
                    LedgerEntry.project.is_not(None)).distinct()):
                if row.project not in queried_projects:
                    new_projects.add(row.project)
        found = []
        for column, values in ((LedgerEntry.project, new_projects), (LedgerEntry.registration_no, new_regs)):
            for chunk in _chunks(sorted(values)):
                found += _year_rows(session, year, by_lookup, column.in_(chunk))
        regs |= new_regs
        queried_projects |= new_projects
        new_projects, new_regs = set(), set()
        new_rows = [r for r in found if r.seq not in in_year]
        for r in new_rows:
            in_year[r.seq] = r
    return in_year, history
