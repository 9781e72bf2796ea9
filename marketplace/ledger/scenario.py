"""The subsidy scenario of one year (``SCENARIO.md`` in ``../shared/policy/`` beside the repository),
built from the ledger.

Mapping (transaction ``id`` = the entry's ``ref``):

* ``contract_registered`` → ``tech_contract``. Listed once a ``payment`` with the same ref
  exists (status ``paid``), or once refunded / cancelled; a registered contract nobody has
  paid for yet is left out (the format has no "unpaid" status). A transfer contract carries
  ``transfer_kind`` (``licence`` for an achievement sold as a licence, else ``assignment``).
* ``voucher_redemption`` → ``voucher_service``; ``booking_completed`` → ``instrument_service``:
  status ``paid`` unless refunded / cancelled.
* ``lease_fee`` → ``instrument_lease`` (no status unless refunded / cancelled).

A ``refund`` or ``cancellation`` applies to the transaction of the entry it corrects (or of
the payment it corrects, by that payment's ref); the latest correction decides the status.
The year is the year of the entry's ``occurred_on`` (for contracts: the registration date).
Contracts of earlier years that share a ``project`` with this year's contracts come along
as history. Organisations are read from ``organizations`` by credit code.
"""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from marketplace.accounts.models import Organization, ProvincialServiceReward
from marketplace.core.money import fen_to_str
from marketplace.extensions import db
from marketplace.ledger.models import CORRECTION_KINDS, LedgerEntry

SUBJECT_TYPES = {"contract_registered": "tech_contract", "voucher_redemption": "voucher_service",
                 "booking_completed": "instrument_service", "lease_fee": "instrument_lease"}
_ORG_FIELDS = {"tech_contract": ("seller", "buyer", "broker"), "voucher_service": ("buyer", "provider"),
               "instrument_service": ("provider", "customer"), "instrument_lease": ("lessee",)}
_STATUS = {"refund": "refunded", "cancellation": "cancelled"}
_BATCH = 1000


class ScenarioExportError(ValueError):
    pass


_COLUMNS = (LedgerEntry.seq, LedgerEntry.kind, LedgerEntry.ref, LedgerEntry.occurred_on, LedgerEntry.amount_fen,
            LedgerEntry.payload, LedgerEntry.corrects_seq)


def kind_among(kinds) -> object:
    """``kind IN kinds`` that no index answers: beside a selective lookup (by ref, broker,
    project, registration number), SQLite would otherwise walk the (kind, occurred_on) index
    over every entry of the kind — the year's, or the ledger's — instead of the few rows the
    lookup's own index finds. PostgreSQL plans by statistics and loses nothing."""
    return LedgerEntry.kind.concat("").in_(tuple(kinds))


def _stream(session, stmt):
    return session.execute(stmt.order_by(LedgerEntry.seq).execution_options(yield_per=_BATCH))


def _transaction(row) -> dict:
    p = json.loads(row.payload)
    ttype = SUBJECT_TYPES[row.kind]
    t = {"id": row.ref, "type": ttype}
    amount = fen_to_str(row.amount_fen)
    day = row.occurred_on.isoformat()
    if ttype == "tech_contract":
        t.update(contract_type=p["contract_type"], seller=p["seller"], buyer=p["buyer"], amount=amount,
                 registration_no=p["registration_no"], registered_on=p.get("registered_on") or day)
        if p["contract_type"] == "transfer":  # entries written before the kind was recorded: assignments
            t["transfer_kind"] = p.get("transfer_kind") or "assignment"
        for key in ("project", "broker"):
            if p.get(key) is not None:
                t[key] = p[key]
        t["transformed_in_city"] = bool(p.get("transformed_in_city", False))
    elif ttype == "voucher_service":
        t.update(buyer=p["buyer"], provider=p["provider"], amount=amount, date=day)
    elif ttype == "instrument_service":
        t.update(provider=p["provider"], customer=p["customer"], instrument=p["instrument"], amount=amount,
                 date=day)
    else:
        t.update(lessee=p["lessee"], instrument=p["instrument"], amount=amount, date=day,
                 financing_lease=bool(p.get("financing_lease", False)),
                 on_sharing_platform=bool(p.get("on_sharing_platform", False)))
    return t


_ORG_COLUMNS = (Organization.id, Organization.credit_code, Organization.name, Organization.kind, Organization.size,
                Organization.in_city, Organization.transfer_agency_level, Organization.service_agency,
                Organization.host_level)


def _organization(org, rewards: dict[int, int] | None = None) -> dict:
    """``org``: an ``Organization`` or a row of ``_ORG_COLUMNS``."""
    d = {"id": org.credit_code, "name": org.name, "kind": org.kind}
    if org.size is not None:
        d["size"] = org.size
    d["in_city"] = bool(org.in_city)
    if org.transfer_agency_level is not None:
        d["transfer_agency_level"] = org.transfer_agency_level
    if org.service_agency:
        d["service_agency"] = True
    reward = (rewards or {}).get(org.id)  # the provincial service-performance reward of the year
    if reward is not None:
        d["provincial_service_reward"] = fen_to_str(reward)
    if org.host_level is not None:
        d["host_level"] = org.host_level
    return d


def build_scenario(session=None, year: int = None) -> dict:
    """The scenario of ``year`` in SCENARIO.md format, from the ledger (streamed)."""
    session = session or db.session
    start, end = _year_bounds(year)

    # 1. The year's transactions, and the projects of its contracts.
    rows = _stream(session, select(*_COLUMNS).where(LedgerEntry.kind.in_(SUBJECT_TYPES),
                                                    LedgerEntry.occurred_on.between(start, end)))
    txns, aliases, projects = _collect(rows)

    # 2. History: earlier contracts of the same projects.
    if projects:
        rows = _stream(session, select(*_COLUMNS).where(LedgerEntry.kind == "contract_registered",
                                                        LedgerEntry.occurred_on < start))
        for row in rows:
            if json.loads(row.payload).get("project") in projects:
                txns[row.seq] = _transaction(row)

    # 3. Status, from payments and corrections of any date (in seq order).
    status_rows = _stream(session, select(*_COLUMNS).where(LedgerEntry.kind.in_(("payment",) + CORRECTION_KINDS)))
    return _assemble(session, year, txns, aliases, status_rows, rewards_of=None)


def build_subscenario(session, year: int, rows, history=(), *, organizations=()) -> dict:
    """The part of ``year``'s scenario made of the year's subject entries ``rows`` (rows with
    the ``_COLUMNS``, any order) and the earlier contracts ``history``, with their statuses from
    the payments and corrections that concern exactly them, and ``organizations`` (credit codes)
    even without trade. Drafting evaluates it for the claim groups whose rows it holds whole
    (``claims/incremental.py``); every transaction in it reads as in ``build_scenario``."""
    session = session or db.session
    start, end = _year_bounds(year)
    rows = {r.seq: r for r in rows}
    # Every entry of the year under the same refs: scenario ids number repeated refs (LSE-3#2)
    # in seq order over the whole year, so the part must hold all of them to number alike.
    # One read by ref (its index) serves both: the subject entries of the year and the payments.
    payments: dict[str, list] = {}
    queried = {r.ref for r in rows.values()}
    for chunk in _chunks(sorted(queried)):
        for row in session.execute(select(*_COLUMNS).where(LedgerEntry.ref.in_(chunk),
                                                           kind_among((*SUBJECT_TYPES, "payment")))):
            if row.kind == "payment":
                payments.setdefault(row.ref, []).append(row)
            elif start <= row.occurred_on <= end:
                rows.setdefault(row.seq, row)
    rows = [rows[seq] for seq in sorted(rows)]
    txns, aliases, _projects = _collect(rows)
    for row in history:
        txns[row.seq] = _transaction(row)
    refs = {t["id"] for t in txns.values()} | set(aliases)
    payment_seqs: list[int] = []
    status_rows: dict[int, object] = {}
    for chunk in _chunks(sorted(refs - queried)):
        for row in session.execute(select(*_COLUMNS).where(LedgerEntry.ref.in_(chunk), kind_among(("payment",)))):
            payments.setdefault(row.ref, []).append(row)
    for ref in refs:
        for row in payments.get(ref, ()):
            status_rows[row.seq] = row
            payment_seqs.append(row.seq)
    for chunk in _chunks(sorted(set(txns) | set(payment_seqs))):
        for row in session.execute(select(*_COLUMNS).where(LedgerEntry.kind.in_(CORRECTION_KINDS),
                                                           LedgerEntry.corrects_seq.in_(chunk))):
            status_rows[row.seq] = row
    ordered = [status_rows[s] for s in sorted(status_rows)]
    return _assemble(session, year, txns, aliases, ordered, rewards_of=set(organizations))


def _chunks(values, size: int = 500):
    values = list(values)
    for i in range(0, len(values), size):
        yield values[i:i + size]


def _year_bounds(year) -> tuple[date, date]:
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 9999:
        raise ScenarioExportError(f"year must be a four-digit integer, not {year!r}")
    return date(year, 1, 1), date(year, 12, 31)


def _collect(rows) -> tuple[dict[int, dict], dict[str, list[int]], set[str]]:
    """Subject rows → transactions by seq, voucher aliases (order ref → redemptions: refunds of
    the order apply to them) and the projects of the contracts."""
    txns: dict[int, dict] = {}  # subject seq → transaction (scenario order: by seq)
    projects: set[str] = set()
    aliases: dict[str, list[int]] = {}
    for row in rows:
        t = _transaction(row)
        txns[row.seq] = t
        if t["type"] == "tech_contract" and t.get("project"):
            projects.add(t["project"])
        elif row.kind == "voucher_redemption":
            order_ref = json.loads(row.payload).get("order_ref")
            if order_ref and order_ref != row.ref:
                aliases.setdefault(order_ref, []).append(row.seq)
    return txns, aliases, projects


def _assemble(session, year: int, txns: dict[int, dict], aliases: dict[str, list[int]], status_rows,
              rewards_of: set[str] | None) -> dict:
    """Statuses from ``status_rows`` (payments and corrections in seq order), then the scenario.
    ``rewards_of``: None for the whole year (every organisation with a provincial reward comes
    along), else the credit codes to add beside those that trade."""
    by_ref: dict[str, list[int]] = {}
    for seq, t in txns.items():
        by_ref.setdefault(t["id"], []).append(seq)
    for ref, seqs in aliases.items():
        by_ref.setdefault(ref, []).extend(seqs)
    paid_refs: set[str] = set()
    payment_ref: dict[int, str] = {}  # payment seq → ref, for corrections that point at a payment
    status: dict[int, str] = {}
    for row in status_rows:
        if row.kind == "payment":
            if row.ref in by_ref:
                paid_refs.add(row.ref)
                payment_ref[row.seq] = row.ref
            continue
        if row.corrects_seq in txns:
            targets = [row.corrects_seq]
        else:
            ref = payment_ref.get(row.corrects_seq)
            targets = by_ref.get(ref, []) if ref is not None else []
        for seq in targets:
            status[seq] = _STATUS[row.kind]

    # 4. Keep what the format can say; collect the organisations.
    transactions: list[dict] = []
    org_ids: set[str] = set()
    for seq in sorted(txns):
        t = txns[seq]
        if seq in status:
            t["status"] = status[seq]
        elif t["type"] == "tech_contract":
            if t["id"] not in paid_refs:
                continue  # registered, not paid yet
            t["status"] = "paid"
        elif t["type"] != "instrument_lease":
            t["status"] = "paid"
        transactions.append(t)
        org_ids.update(t[f] for f in _ORG_FIELDS[t["type"]] if t.get(f))

    # Same ref on several entries (e.g. monthly lease fees): keep ids unique.
    seen: set[str] = set()
    for t in transactions:
        if t["id"] in seen:
            base, n = t["id"], 2
            while f"{base}#{n}" in seen:
                n += 1
            t["id"] = f"{base}#{n}"
        seen.add(t["id"])

    # Agencies with a provincial reward in the year are in the scenario even without trade:
    # A4.match needs no voucher sales (the reward is the evidence).
    reward_stmt = select(ProvincialServiceReward).where(ProvincialServiceReward.year == year)
    if rewards_of is None:
        rewards = {r.organization_id: r.amount_fen for r in session.scalars(reward_stmt)}
        if rewards:
            org_ids.update(session.scalars(select(Organization.credit_code).where(Organization.id.in_(rewards))))
    else:
        org_ids.update(rewards_of)
        rewards = {}
        for chunk in _chunks(sorted(org_ids)):
            rewards.update({r.organization_id: r.amount_fen for r in session.scalars(
                reward_stmt.join(Organization, Organization.id == ProvincialServiceReward.organization_id)
                .where(Organization.credit_code.in_(chunk)))})

    organizations = []
    wanted = sorted(org_ids)
    for chunk in _chunks(wanted):  # columns, not ORM objects: a province year names tens of thousands
        organizations.extend(_organization(o, rewards) for o in session.execute(
            select(*_ORG_COLUMNS).where(Organization.credit_code.in_(chunk))))
    found = {o["id"] for o in organizations}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ScenarioExportError(f"organisations not found by credit code: {', '.join(missing)}")
    organizations.sort(key=lambda o: o["id"])
    return {"year": year, "organizations": organizations, "transactions": transactions}
