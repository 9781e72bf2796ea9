"""Review, public notice and payouts.

* Reviewers (role reviewer; admin too) approve, reject with a reason, or ask the applicant for
  more evidence. An A5 approval needs the reviewer's “服务成效良好” judgement. Every decision
  is a ``ClaimDecision`` row, an audit event and a notification to the beneficiary's members.
* An approved claim takes budget of its clause and year if there is enough left, in approval
  order; otherwise it waits (budgets and that queue are claims', ``marketplace.claims.budgets``).
  Budgeted, it goes on public notice for ``PUBLIC_NOTICE_DAYS`` days (Beijing dates): from
  ``notice_from`` up to, not including, ``notice_until``.
* During the notice anyone with a verified contact may object (a logged-in user, or an e-mail
  address confirmed by a signed link), within per-contact limits. A reviewer decides each
  objection: suspend the notice (the claim returns to review, its budget is freed) or dismiss
  it with a reason (the notice goes on).
* From ``notice_until`` on, with no objection open, city finance records the payout.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace import permissions as perm
from marketplace.accounts.models import Organization
from marketplace.audit.models import record
from marketplace.claims import models as m
from marketplace.claims.drafting import decide, notify_members
from marketplace.claims.services import FIRST_YEAR, load_claim, promote_waiting, today
from marketplace.core import paging
from marketplace.core.errors import Conflict, NotFound, ServiceError
from marketplace.core.external import external_url
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import transactional
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.notifications.models import queue_mail

A5_JUDGEMENT_CLAUSES = ("A5",)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- the queue ------------------------------------------------------------------------------

def queue(actor, *, year: int | None = None, clause: str | None = None, status: str | None = None,
          county: str | None = None, flagged: bool | None = None, page: int = 1,
          per_page: int = paging.PER_PAGE) -> paging.Page[m.Claim]:
    """The claims the filters select, oldest submission first (never-submitted ones last), a page at a time."""
    perm.require(actor, perm.REVIEW_CLAIMS)
    stmt = (select(m.Claim).join(Organization, Organization.id == m.Claim.organization_id)
            .options(selectinload(m.Claim.organization)))
    if year is not None:
        stmt = stmt.where(m.Claim.year == year)
    if clause:
        stmt = stmt.where(m.Claim.clause == clause)
    if status:
        stmt = stmt.where(m.Claim.status == status)
    if county:
        stmt = stmt.where(Organization.county == county)
    if flagged is not None:
        stmt = stmt.where(m.Claim.flagged.is_(flagged))
    return paging.paginate(stmt, order_by=(m.Claim.submitted_at.is_(None), m.Claim.submitted_at),
                           tiebreak=m.Claim.id, page=page, per_page=per_page)


def review_claim(actor, claim_id: int) -> m.Claim:
    """A claim as the city sees it (reviewers, finance, admin)."""
    perm.require(actor, perm.VIEW_LEDGER)
    return load_claim(claim_id)


def ledger_entries(actor, ref: str, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page:
    """The ledger entries of one business transaction, in chain order, a page at a time."""
    perm.require(actor, perm.VIEW_LEDGER)
    ref = (ref or "").strip()[:40]
    if not ref:
        return paging.from_list([])
    return paging.paginate(select(LedgerEntry).where(LedgerEntry.ref == ref), order_by=(),
                           tiebreak=LedgerEntry.seq, page=page, per_page=per_page)


# --- decisions ------------------------------------------------------------------------------

def _resolve_objections(claim: m.Claim, actor) -> None:
    for o in claim.open_objections:
        o.status, o.resolved_at, o.resolved_by_id = "resolved", utcnow(), actor.id


@transactional
def approve(actor, claim_id: int, good_service_results: bool = False, note: str = "") -> m.Claim:
    perm.require(actor, perm.REVIEW_CLAIMS)
    claim = load_claim(claim_id)
    perm.require(actor, perm.APPROVE_CLAIM, claim)  # separation of duties
    if claim.status != m.SUBMITTED:
        raise Conflict(_("Only a submitted claim can be approved."))
    if claim.amount_fen <= 0:
        raise Conflict(_("A claim of nothing cannot be approved; reject it."))
    judged = bool(good_service_results)
    if claim.clause in A5_JUDGEMENT_CLAUSES and not judged:
        raise ServiceError(_("An A5 claim is approved only with the judgement that the service results are "
                             "good (服务成效良好)."), "good_service_results")
    note = (note or "").strip()
    if len(note) > 2000:
        raise ServiceError(_("Write at most %(n)d characters.", n=2000), "note")
    decide(claim, "approved", m.WAITING_BUDGET, actor, reason=note or None,
           good_service_results=judged if claim.clause in A5_JUDGEMENT_CLAUSES else None)
    claim.approved_at = utcnow()
    _resolve_objections(claim, actor)
    record(actor, "claim.approve", "claim", claim.id, before={"status": m.SUBMITTED},
           after={"status": m.WAITING_BUDGET, "amount_fen": claim.amount_fen,
                  "good_service_results": judged if claim.clause in A5_JUDGEMENT_CLAUSES else None})
    notify_members(claim.organization_id, "notice.claim_approved", claim.id)
    promote_waiting(claim.year, claim.clause, actor)
    return claim


@transactional
def reject(actor, claim_id: int, reason: str) -> m.Claim:
    perm.require(actor, perm.REVIEW_CLAIMS)
    claim = load_claim(claim_id)
    if claim.status not in (m.SUBMITTED, m.EVIDENCE_REQUESTED):
        raise Conflict(_("Only a claim under review can be rejected."))
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give the reason for the rejection."), "reason")
    if len(reason) > 2000:
        raise ServiceError(_("Write at most %(n)d characters.", n=2000), "reason")
    before = claim.status
    decide(claim, "rejected", m.REJECTED, actor, reason=reason)
    _resolve_objections(claim, actor)
    record(actor, "claim.reject", "claim", claim.id, before={"status": before},
           after={"status": m.REJECTED, "reason": reason})
    notify_members(claim.organization_id, "notice.claim_rejected", claim.id)
    return claim


@transactional
def request_evidence(actor, claim_id: int, message: str) -> m.Claim:
    perm.require(actor, perm.REVIEW_CLAIMS)
    claim = load_claim(claim_id)
    if claim.status != m.SUBMITTED:
        raise Conflict(_("Evidence can be asked for only on a submitted claim."))
    message = (message or "").strip()
    if not message:
        raise ServiceError(_("Write what the applicant should provide."), "message")
    if len(message) > 2000:
        raise ServiceError(_("Write at most %(n)d characters.", n=2000), "message")
    decide(claim, "evidence_requested", m.EVIDENCE_REQUESTED, actor, reason=message)
    record(actor, "claim.request_evidence", "claim", claim.id, before={"status": m.SUBMITTED},
           after={"status": m.EVIDENCE_REQUESTED, "message": message})
    notify_members(claim.organization_id, "notice.claim_evidence_requested", claim.id)
    return claim


# --- public notice and objections --------------------------------------------------------------

def on_notice(page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[m.Claim]:
    """Claims on public notice today (no login needed to see them), a page at a time."""
    day = today()
    return paging.paginate(
        select(m.Claim).where(m.Claim.status == m.ON_NOTICE, m.Claim.notice_from <= day, m.Claim.notice_until > day)
        .options(selectinload(m.Claim.organization)), order_by=(m.Claim.notice_from, m.Claim.clause),
        tiebreak=m.Claim.id, page=page, per_page=per_page)


def _notice_running(claim: m.Claim | None, day: date) -> bool:
    return (claim is not None and claim.status == m.ON_NOTICE and claim.notice_from is not None
            and claim.notice_from <= day < claim.notice_until)


def _confirm_serializer():
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="objection-confirm")


def _check_objection_limits(claim: m.Claim, key: str) -> None:
    """At most OBJECTIONS_PER_CLAIM objections of one contact on one claim (an unconfirmed
    one counts while its link is valid) and OBJECTIONS_PER_DAY filed in 24 hours."""
    now = utcnow()
    live_link = now - timedelta(seconds=int(current_app.config["OBJECTION_CONFIRM_MAX_AGE"]))
    per_claim = int(current_app.config["OBJECTIONS_PER_CLAIM"])
    per_day = int(current_app.config["OBJECTIONS_PER_DAY"])
    Objection = m.ClaimObjection
    on_claim = db.session.scalar(select(func.count()).select_from(Objection).where(
        Objection.claim_id == claim.id, Objection.contact_key == key,
        (Objection.status != "unconfirmed") | (Objection.created_at >= live_link)))
    if on_claim >= per_claim:
        raise ServiceError(_("You have already objected to this claim; the reviewer reads every objection. "
                             "At most %(n)d per claim.", n=per_claim), "reason")
    today_count = db.session.scalar(select(func.count()).select_from(Objection).where(
        Objection.contact_key == key, Objection.created_at >= now - timedelta(days=1)))
    if today_count >= per_day:
        raise ServiceError(_("At most %(n)d objections a day from one contact; try again tomorrow.", n=per_day),
                           "reason")


@transactional
def object_to(actor, claim_id: int, name: str, contact: str, reason: str) -> m.ClaimObjection:
    """Object to a claim on public notice, with a verified contact: a logged-in user objects
    at once; anyone else gives an e-mail address and the objection counts only once confirmed
    by the signed link mailed there. An objection does not take the claim off notice by
    itself: a reviewer decides (``decide_objection``); payment waits until then."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    reason = (reason or "").strip()
    if user is not None:
        name, contact = (name or "").strip() or user.name, user.email
    else:
        name, contact = (name or "").strip(), (contact or "").strip()
    if not name:
        raise ServiceError(_("Give your name."), "name")
    if len(name) > 100:
        raise ServiceError(_("Write at most %(n)d characters.", n=100), "name")
    if user is None and (not _EMAIL.match(contact) or len(contact) > 200):
        raise ServiceError(_("Give an e-mail address: the objection counts once you confirm it by the link "
                             "we send there."), "contact")
    if len(reason) < 5:
        raise ServiceError(_("Say what is wrong with this claim."), "reason")
    if len(reason) > 3000:
        raise ServiceError(_("Write at most %(n)d characters.", n=3000), "reason")
    claim = db.session.get(m.Claim, claim_id) if isinstance(claim_id, int) else None
    day = today()
    if claim is not None and claim.status == m.ON_NOTICE and claim.notice_until and day >= claim.notice_until:
        raise Conflict(_("The public notice of this claim has ended; objections are no longer taken."))
    if not _notice_running(claim, day):
        raise NotFound(_("This claim is not on public notice."))
    key = contact.lower()
    _check_objection_limits(claim, key)
    objection = m.ClaimObjection(claim=claim, name=name, contact=contact, contact_key=key, reason=reason,
                                 user_id=user.id if user else None, status="unconfirmed")
    db.session.add(objection)
    db.session.flush()
    if user is not None:
        _open(objection, user)
    else:
        token = _confirm_serializer().dumps({"o": objection.id, "c": key})
        link = external_url("review.confirm_objection", token=token)
        queue_mail(contact, _("Confirm your objection to a subsidy on public notice"),
                   _("You objected to a subsidy on the city's public notice. Open this link to confirm it; "
                     "it counts only then: %(link)s", link=link))
        record(None, "claim.objection_filed", "claim", claim.id, after={"objection_id": objection.id,
                                                                        "status": "unconfirmed"})
    return objection


def _open(objection: m.ClaimObjection, user=None) -> None:
    """A verified objection counts: the reviewers and the claimant's members are told."""
    from marketplace.accounts.models import Membership
    from marketplace.notifications.models import notify

    objection.status, objection.confirmed_at = "open", utcnow()
    claim = objection.claim
    record(user, "claim.objection", "claim", claim.id, after={"objection_id": objection.id, "status": "open"})
    notify_members(claim.organization_id, "notice.claim_objection", claim.id)
    for reviewer_id in db.session.scalars(select(Membership.user_id).where(
            Membership.role.in_((perm.REVIEWER, perm.ADMIN))).distinct()):
        notify(reviewer_id, "notice.objection_to_review", f"/review/claims/{claim.id}")


@transactional
def confirm_objection(token: str) -> m.ClaimObjection:
    """The objector opened the signed link: the objection counts, if the notice still runs."""
    from itsdangerous import BadSignature, SignatureExpired

    try:
        data = _confirm_serializer().loads(token or "", max_age=int(current_app.config["OBJECTION_CONFIRM_MAX_AGE"]))
    except SignatureExpired:
        raise ServiceError(_("This link has expired. Object again while the notice runs.")) from None
    except BadSignature:
        raise ServiceError(_("This link is not valid.")) from None
    objection = db.session.get(m.ClaimObjection, data.get("o")) if isinstance(data, dict) else None
    if objection is None or objection.contact_key != data.get("c"):
        raise ServiceError(_("This link is not valid."))
    if objection.status != "unconfirmed":
        return objection  # confirmed before: the link is harmless
    if not _notice_running(objection.claim, today()):
        raise Conflict(_("The public notice of this claim has ended; objections are no longer taken."))
    done = db.session.execute(update(m.ClaimObjection).where(
        m.ClaimObjection.id == objection.id, m.ClaimObjection.status == "unconfirmed")
        .values(status="open")).rowcount
    if not done:  # a parallel click confirmed it
        return objection
    _open(objection)
    return objection


OBJECTION_DECISIONS = ("suspend", "dismiss")


@transactional
def decide_objection(actor, claim_id: int, objection_id: int, decision: str, reason: str) -> m.ClaimObjection:
    """A reviewer decides an open objection: ``suspend`` the notice (the claim goes back to
    review with the objection as its reason and frees its budget) or ``dismiss`` it with a
    reason (the notice goes on). Audited; the objector is told by mail."""
    perm.require(actor, perm.REVIEW_CLAIMS)
    if decision not in OBJECTION_DECISIONS:
        raise ServiceError(_("Choose whether to suspend the notice or dismiss the objection."), "decision")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Give the reason for your decision."), "reason")
    if len(reason) > 2000:
        raise ServiceError(_("Write at most %(n)d characters.", n=2000), "reason")
    objection = db.session.get(m.ClaimObjection, objection_id) if isinstance(objection_id, int) else None
    if objection is None or objection.claim_id != claim_id or objection.status == "unconfirmed":
        raise NotFound(_("This objection does not exist."))
    status = "upheld" if decision == "suspend" else "dismissed"
    done = db.session.execute(update(m.ClaimObjection).where(
        m.ClaimObjection.id == objection.id, m.ClaimObjection.status == "open")
        .values(status=status, resolved_at=utcnow(), resolved_by_id=actor.id, decision_reason=reason)).rowcount
    if not done:
        raise Conflict(_("This objection was already decided."))
    claim = db.session.scalars(select(m.Claim).where(m.Claim.id == objection.claim_id)
                               .with_for_update().execution_options(populate_existing=True)).one()
    before = claim.status
    if decision == "suspend" and claim.status == m.ON_NOTICE:
        decide(claim, "objection", m.SUBMITTED, actor, reason=objection.reason)
        claim.approved_at = None
        claim.notice_from = claim.notice_until = None
        notify_members(claim.organization_id, "notice.claim_objection_upheld", claim.id)
        promote_waiting(claim.year, claim.clause, actor)
    record(actor, "claim.objection_" + decision, "claim", claim.id,
           before={"status": before, "objection_id": objection.id, "objection_status": "open"},
           after={"status": claim.status, "objection_id": objection.id, "objection_status": status,
                  "reason": reason})
    if decision == "suspend":
        body = _("The city upheld your objection to a subsidy on public notice: the notice is suspended and the "
                 "claim is reviewed again. %(reason)s", reason=reason)
    else:
        body = _("The city dismissed your objection to a subsidy on public notice: %(reason)s", reason=reason)
    queue_mail(objection.contact, _("Your objection to a subsidy on public notice"), body)
    db.session.flush()
    db.session.refresh(objection)
    return objection


# --- payouts -----------------------------------------------------------------------------------

def payable(actor, page: int = 1, per_page: int = paging.PER_PAGE) -> paging.Page[m.Claim]:
    """Claims on notice (payable once their notice ends), for finance and admin, a page at a time."""
    perm.require(actor, perm.BUDGET_EDIT)
    return paging.paginate(select(m.Claim).where(m.Claim.status == m.ON_NOTICE)
                           .options(selectinload(m.Claim.organization), selectinload(m.Claim.objections)),
                           order_by=(m.Claim.notice_until,), tiebreak=m.Claim.id, page=page, per_page=per_page)


def recent_payouts(actor, limit: int = 50) -> list[m.Payout]:
    perm.require(actor, perm.BUDGET_EDIT)
    return list(db.session.scalars(select(m.Payout).options(selectinload(m.Payout.claim))
                                   .order_by(m.Payout.id.desc()).limit(limit)))


@transactional
def pay(actor, claim_id: int, paid_on: date | str | None = None) -> m.Payout:
    """City finance records the payout of a claim whose public notice has ended.
    ``paid_on``: a date or ISO string; today when not given."""
    perm.require(actor, perm.PAY_CLAIMS)
    claim = load_claim(claim_id)
    day = today()
    if isinstance(paid_on, str):
        try:
            paid_on = date.fromisoformat(paid_on.strip())
        except ValueError:
            raise ServiceError(_("Enter a date like 2024-03-01."), "paid_on") from None
    paid_on = paid_on or day
    if claim.status != m.ON_NOTICE:
        raise Conflict(_("Only an approved claim whose public notice has ended can be paid."))
    if claim.open_objections:
        raise Conflict(_("An objection to this claim is open; the reviewer must decide first."))
    if day < claim.notice_until:
        raise Conflict(_("This claim is on public notice until %(day)s; it can be paid from then.",
                         day=claim.notice_until.isoformat()))
    if not isinstance(paid_on, date) or paid_on > day or paid_on < claim.notice_until:
        raise ServiceError(_("The payment date must be between the end of the public notice and today."), "paid_on")
    perm.require(actor, perm.PAY_OUT, claim)  # separation of duties
    # The claim moves on_notice -> paid once, decided inside the database: of concurrent
    # payouts one goes through, the others are told 409 (``claim_payouts.claim_id`` is unique too).
    moved = db.session.execute(update(m.Claim).where(m.Claim.id == claim.id, m.Claim.status == m.ON_NOTICE)
                               .values(status=m.PAID).execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(_("This claim was paid already."))
    payout = m.Payout(claim=claim, amount_fen=claim.amount_fen, paid_on=paid_on, trace=claim.trace,
                      transactions=claim.transactions, recorded_by_id=actor.id)
    db.session.add(payout)
    decide(claim, "paid", m.PAID, actor)
    record(actor, "claim.pay", "claim", claim.id, before={"status": m.ON_NOTICE},
           after={"status": m.PAID, "amount_fen": claim.amount_fen, "paid_on": paid_on.isoformat()})
    notify_members(claim.organization_id, "notice.claim_paid", claim.id)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("This claim was paid already.")) from None
    return payout


@transactional
def record_provincial_reward(actor, organization_id: int, year: int, amount_fen: int):
    """Enter (or correct) the provincial service-performance reward an in-city service agency
    received in ``year``; the year's claims are recomputed after commit (A4.match)."""
    from marketplace.accounts.models import Organization, ProvincialServiceReward
    from marketplace.outbox import enqueue

    perm.require(actor, perm.BUDGET_EDIT)
    if not isinstance(year, int) or isinstance(year, bool) or not FIRST_YEAR <= year <= today().year:
        raise ServiceError(_("Choose a year from %(first)d to %(last)d.", first=FIRST_YEAR, last=today().year),
                           "year")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen < 0:
        raise ServiceError(_("Enter an amount in yuan, like 12000 or 12000.50."), "amount")
    org = db.session.get(Organization, organization_id) if isinstance(organization_id, int) else None
    if org is None or not org.service_agency or not org.in_city:
        raise ServiceError(_("Choose a registered service agency of the city."), "organization")
    reward = db.session.scalar(select(ProvincialServiceReward).where(
        ProvincialServiceReward.organization_id == org.id, ProvincialServiceReward.year == year))
    before = reward.amount_fen if reward else None
    if reward is None:
        reward = ProvincialServiceReward(organization_id=org.id, year=year, amount_fen=amount_fen,
                                         entered_by_id=actor.id)
        db.session.add(reward)
    else:
        reward.amount_fen, reward.entered_by_id = amount_fen, actor.id
    record(actor, "provincial_reward.enter", "organization", org.id, before={"year": year, "amount_fen": before},
           after={"year": year, "amount_fen": amount_fen})
    from marketplace.ledger.affects import key

    enqueue("claims", key(year, "A4", org.credit_code))  # its A4.match (and A4) claims only
    return reward


def service_agencies() -> list:
    from marketplace.accounts.models import Organization

    return list(db.session.scalars(select(Organization).where(
        Organization.service_agency.is_(True), Organization.in_city.is_(True)).order_by(Organization.name)))


def provincial_rewards(year: int) -> list:
    from marketplace.accounts.models import ProvincialServiceReward

    return list(db.session.scalars(select(ProvincialServiceReward).where(ProvincialServiceReward.year == year)))


def instrument_evidence(claim):
    """What the shared-instrument reports say for an A5 claim (utilisation, the month's use), else None."""
    if claim.clause != "A5":
        return None
    from marketplace.instruments import reports

    return reports.evidence_for(claim.organization_id, claim.year)


def price_notices():
    """Agreed prices on public notice (协议定价公示), shown on the same notice page as the claims."""
    from marketplace.conversations import pricenotice

    return pricenotice.on_notice()
