"""Claims for the beneficiary: see the drafted claims, submit them, file award claims with
evidence, answer the reviewer's request for evidence, download evidence.

Each function takes the acting user first, checks permission, and runs in one unit of work.
The public functions other domains call are ``file_claim``, ``claims_for_export``,
``awards_by_clause``, and from ``budgets``: ``budget_status``, ``set_budget``, ``promote_waiting``.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from marketplace import permissions as perm
from marketplace.accounts.models import Organization
from marketplace.audit.models import record
from marketplace.claims import models as m
from marketplace.claims.budgets import budget_status, notice_days, paid_by_clause, promote_waiting, set_budget, today  # noqa: F401 - budgets are part of claims' services
from marketplace.claims.drafting import decide, updating
from marketplace.claims.traces import (
    clause_title,
    encode_award,
    overlap_flagged,
    payer_totals,
    render_flags,
    render_trace,
)
from marketplace.core import paging, uploads
from marketplace.core.errors import Conflict, NotFound, ServiceError
from marketplace.core.money import fen_to_str, yuan_to_fen
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import transactional
from marketplace.extensions import db
from marketplace.reforms.parameters import in_force
from marketplace.subsidies import CLAIM_KINDS, ClaimError, ParameterError, claim_kinds, compute_claim
from marketplace.subsidies.clauses.claims import validate_evidence
from marketplace.subsidies.result import CLAUSE_ORDER
from marketplace.subsidies.trace import render

ENGINE_CLAUSES = CLAUSE_ORDER  # A1.DT … A5: drafted from the ledger
FILED_CLAUSES = tuple(CLAIM_KINDS)  # B1 … B6.*, A2.national, A2.provincial: filed with evidence
ALL_CLAUSES = ENGINE_CLAUSES + FILED_CLAUSES
FIRST_YEAR = 2019  # the measures were issued in 2019


def lang() -> str:
    return "en" if str(get_locale() or "zh").startswith("en") else "zh"


def claim_date(year: int) -> date:
    """The date whose parameters a claim of ``year`` is computed with: the year's last day,
    or today for the running year."""
    return min(date(year, 12, 31), utcnow().date())


def _check_year(year) -> int:
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= utcnow().year:
        raise ServiceError(_("Choose a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=utcnow().year),
                           "year")
    return year


def load_claim(claim_id: int) -> m.Claim:
    claim = db.session.get(m.Claim, claim_id) if isinstance(claim_id, int) else None
    if claim is None:
        raise NotFound(_("This claim does not exist."))
    return claim


def get_claim(actor, claim_id: int) -> m.Claim:
    claim = load_claim(claim_id)
    perm.require(actor, perm.CLAIM_VIEW, claim)
    return claim


def claims_of(actor, year: int | None = None, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[m.Claim]:
    """The claims of the actor's organisation (withdrawn ones last), newest year first, a page at a time."""
    org = actor.organization
    if org is None:
        return paging.from_list([])
    stmt = select(m.Claim).where(m.Claim.organization_id == org.id).options(selectinload(m.Claim.organization))
    if year is not None:
        stmt = stmt.where(m.Claim.year == year)
    return paging.paginate(stmt, order_by=(m.Claim.status == m.WITHDRAWN, m.Claim.year.desc(), m.Claim.clause),
                           tiebreak=m.Claim.id, page=page, per_page=per_page)


@transactional
def submit(actor, claim_id: int) -> m.Claim:
    """The beneficiary submits a drafted claim for review."""
    claim = load_claim(claim_id)
    perm.require(actor, perm.CLAIM_SUBMIT, claim)
    if claim.status != m.DRAFTED:
        raise Conflict(_("Only a drafted claim can be submitted."))
    if claim.amount_fen <= 0:
        raise Conflict(_("This claim has no amount to claim."))
    decide(claim, "submitted", m.SUBMITTED, actor)
    claim.submitted_at = utcnow()
    record(actor, "claim.submit", "claim", claim.id, before={"status": m.DRAFTED},
           after={"status": m.SUBMITTED, "amount_fen": claim.amount_fen})
    return claim


# --- award claims filed with evidence ---------------------------------------------------------

def kinds() -> list[dict]:
    """The claim kinds and their evidence fields (for generating forms)."""
    return claim_kinds()


def _plain_evidence(kind: str, evidence: dict) -> dict:
    typed = validate_evidence(kind, evidence)
    out = {}
    for k, v in typed.items():
        if isinstance(v, bool):
            out[k] = v
        elif isinstance(v, (date, Decimal)):
            out[k] = v.isoformat() if isinstance(v, date) else str(v)
        else:
            out[k] = v
    return out


def _why_zero(award) -> str:
    reasons = [s for s in award.trace if s.key not in ("clause", "claim.evidence", "zero", "rounded")]
    return render(reasons[-1], lang()) if reasons else ""


def organization_id_by_code(credit_code: str) -> int:
    """The organisation a city user files for, by its unified social credit code."""
    code = (credit_code or "").strip().upper()
    org_id = db.session.scalar(select(Organization.id).where(Organization.credit_code == code)) if code else None
    if org_id is None:
        raise ServiceError(_("No organisation has this credit code."), "organization")
    return org_id


@transactional
def file_claim(actor, organization_id: int, kind: str, evidence: dict, year: int, files=()) -> m.Claim:
    """File an award claim (B1–B6, A2.national, A2.provincial) for an organisation with its
    evidence and files ((filename, bytes) pairs). Its members file for it; the city may file on
    its behalf. The amount is the engine's ``compute_claim``; the claim goes straight to review."""
    org = db.session.get(Organization, organization_id) if isinstance(organization_id, int) else None
    if org is None:
        raise NotFound(_("This organisation does not exist."))
    perm.require(actor, perm.CLAIM_FILE, org)
    if org.kind == "government" or not org.verified:
        raise ServiceError(_("Only a verified organisation can claim a subsidy."), "organization")
    if kind not in CLAIM_KINDS:
        raise ServiceError(_("Choose the kind of claim."), "kind")
    year = _check_year(year)
    if not isinstance(evidence, dict):
        raise ServiceError(_("The evidence could not be understood."), "evidence")
    evidence = {k: v for k, v in evidence.items() if v is not None and v != ""}
    evidence.setdefault("applicant", org.credit_code)
    try:
        award = compute_claim(kind, evidence, claim_date(year), parameters=in_force())
        stored_evidence = _plain_evidence(kind, evidence)
    except ClaimError as exc:
        if exc.message == "missing":
            raise ServiceError(_("This field is required."), exc.field) from None
        raise ServiceError(_("Check this field: %(problem)s", problem=exc.message), exc.field) from None
    except ParameterError:
        raise ServiceError(_("No rule of this clause is in force for that year."), "year") from None
    if award.amount <= 0:
        raise ServiceError(_("This evidence does not qualify for an award: %(why)s", why=_why_zero(award)))
    checked = uploads.check(files)
    duplicate = db.session.scalar(select(m.Claim.id).where(
        m.Claim.organization_id == org.id, m.Claim.year == year, m.Claim.clause == kind,
        m.Claim.source == m.FILED, m.Claim.status.not_in((m.REJECTED, m.WITHDRAWN))))
    if duplicate is not None:
        same = db.session.get(m.Claim, duplicate)
        if same.evidence == stored_evidence:
            raise Conflict(_("The same claim was already filed (claim %(id)d).", id=duplicate))

    amount_fen = yuan_to_fen(award.amount)
    claim = m.Claim(year=year, clause=kind, source=m.FILED, organization_id=org.id, status=m.SUBMITTED,
                    amount_fen=amount_fen, transactions=[], trace=[encode_award(award)], flags=[], flagged=False,
                    evidence=stored_evidence, filed_by_id=actor.id, submitted_at=utcnow())
    db.session.add(claim)
    db.session.flush()
    db.session.add(m.ClaimDecision(claim=claim, actor_id=actor.id, action="filed", from_status=None,
                                   to_status=m.SUBMITTED, amount_before_fen=None, amount_after_fen=amount_fen))
    record(actor, "claim.file", "claim", claim.id, after={"clause": kind, "organization_id": org.id,
                                                           "amount_fen": amount_fen, "files": len(checked)})
    _save_files(claim, checked, actor)
    return claim


def _save_files(claim: m.Claim, checked, actor) -> None:
    uploads.save_with_rows(checked, "claims", lambda f, stored: m.ClaimFile(
        claim=claim, stored_name=stored, original_name=f.original_name, content_type=f.content_type,
        size_bytes=len(f.data), sha256=f.sha256, uploaded_by_id=actor.id))


@transactional
def respond(actor, claim_id: int, message: str, files=()) -> m.Claim:
    """The applicant answers the reviewer's request for evidence; the claim returns to review."""
    claim = load_claim(claim_id)
    perm.require(actor, perm.CLAIM_SUBMIT, claim)
    if claim.status != m.EVIDENCE_REQUESTED:
        raise Conflict(_("The reviewer has not asked for evidence on this claim."))
    message = (message or "").strip()
    if len(message) > 3000:
        raise ServiceError(_("Write at most %(n)d characters.", n=3000), "message")
    checked = uploads.check(files)
    if not message and not checked:
        raise ServiceError(_("Write an answer or attach a file."), "message")
    decide(claim, "evidence_provided", m.SUBMITTED, actor, reason=message or None)
    record(actor, "claim.evidence", "claim", claim.id, after={"files": len(checked)})
    _save_files(claim, checked, actor)
    return claim


def evidence_file(actor, file_id: int):
    """(ClaimFile, open file) for download: the beneficiary's members and the city only."""
    f = db.session.get(m.ClaimFile, file_id) if isinstance(file_id, int) else None
    if f is None:
        raise NotFound(_("This file does not exist."))
    perm.require(actor, perm.CLAIM_VIEW, f.claim)
    try:
        return f, uploads.open_stored("claims", f.stored_name)
    except FileNotFoundError:
        raise NotFound(_("This file does not exist.")) from None


# --- for the dashboards and exports (keep these names) ----------------------------------------

def claims_for_export(year: int) -> list[m.Claim]:
    """Every claim of ``year`` (withdrawn ones included: filter on ``status``), with the
    organisation, payouts and clawbacks loaded; ordered by clause then organisation."""
    claims = db.session.scalars(select(m.Claim).where(m.Claim.year == year).options(
        selectinload(m.Claim.organization), selectinload(m.Claim.payouts), selectinload(m.Claim.clawbacks)))
    order = {c: i for i, c in enumerate(ALL_CLAUSES)}
    return sorted(claims, key=lambda c: (order.get(c.clause, len(order)), c.clause, c.organization.credit_code, c.id))


def awards_by_clause(year: int) -> dict[str, dict]:
    """Per clause of ``year``, a funnel in integer fen:

    * ``drafted_fen``: every live claim (not rejected, not withdrawn), whatever its stage;
    * ``approved_fen``: approved claims (waiting for budget, on notice, paid);
    * ``paid_fen``: paid out; ``clawed_back_fen``: clawed back after payout;
    * ``count``: live claims.
    """
    out: dict[str, dict] = defaultdict(lambda: {"drafted_fen": 0, "approved_fen": 0, "paid_fen": 0,
                                                "clawed_back_fen": 0, "count": 0})
    for clause, status, amount, n in db.session.execute(
            select(m.Claim.clause, m.Claim.status, func.sum(m.Claim.amount_fen), func.count())
            .where(m.Claim.year == year).group_by(m.Claim.clause, m.Claim.status)):
        if status in (m.REJECTED, m.WITHDRAWN):
            continue
        row = out[clause]
        row["drafted_fen"] += int(amount or 0)
        row["count"] += n
        if status in m.APPROVED_STATUSES:
            row["approved_fen"] += int(amount or 0)
    # Payouts and clawbacks are few beside a year's claims (46,000 at province volume): the
    # database starts from them (``paid_by_clause``), not from the year's claims.
    for table, column in ((m.Payout, "paid_fen"), (m.Clawback, "clawed_back_fen")):
        for clause, amount in db.session.execute(paid_by_clause(table, year)):
            out[clause][column] += int(amount or 0)
    order = {c: i for i, c in enumerate(ALL_CLAUSES)}
    return {k: out[k] for k in sorted(out, key=lambda c: (order.get(c, len(order)), c))}


def awards_list(year: int) -> list[dict]:
    """The year's awards as ``claims list --json`` prints them: for drafted claims, one entry
    per engine award (A3: per voucher), exactly as the engine gives them; filed claims after.
    Amounts are two-decimal strings, beneficiaries credit codes."""
    from marketplace.claims.traces import part_fen

    engine_rows, filed_rows = [], []
    for claim in claims_for_export(year):
        code = claim.organization.credit_code
        if claim.source == m.ENGINE:
            if not claim.engine_amount_fen:
                continue
            for part in claim.trace:
                engine_rows.append(((CLAUSE_ORDER.index(claim.clause), claim.clause, code, part["transactions"]),
                                    {"clause": claim.clause, "beneficiary": code,
                                     "amount": fen_to_str(part_fen(part))}))
        elif claim.status not in (m.REJECTED, m.WITHDRAWN):
            filed_rows.append({"clause": claim.clause, "beneficiary": code, "amount": fen_to_str(claim.amount_fen)})
    return [row for _key, row in sorted(engine_rows, key=lambda kv: kv[0])] + filed_rows


# --- what a claim's page shows (the beneficiary's and the reviewer's) ----------------------------

STATUSES, SUBMITTED, ON_NOTICE = m.STATUSES, m.SUBMITTED, m.ON_NOTICE  # the review pages' vocabulary
PARTS_PER_PAGE = 50


def claim_page(claim, parts_page: int | None = 1) -> dict:
    """The claim partial's figures: the trace (one page of its parts: an A3 claim may hold
    thousands, one per voucher) and flags in the user's language."""
    lang_ = lang()
    count = claim.part_count or 0
    pages = max(1, -(-count // PARTS_PER_PAGE))
    page = min(max(parts_page or 1, 1), pages)
    start = (page - 1) * PARTS_PER_PAGE
    trace = claim.trace or []
    return {"claim": claim, "parts": render_trace(trace[start:start + PARTS_PER_PAGE], lang_),
            "parts_page": page, "parts_pages": pages, "part_count": count or len(trace),
            "flags": render_flags(claim.flags, lang_), "clause_title": clause_title(claim.clause, lang_),
            "payers": payer_totals(claim), "overlap": overlap_flagged(claim.flags),
            "updating": claim.id in updating([claim])}


def clause_titles(clauses, language: str | None = None) -> dict[str, str]:
    """Each clause id with its title in the user's language."""
    language = language or lang()
    return {c: clause_title(c, language) for c in clauses}
