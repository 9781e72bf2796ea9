"""Claims, the decisions on them, evidence files, public-notice objections, payouts,
clawbacks and the yearly budgets per clause.

A claim's history is append-only: every change of status or amount is a new
``ClaimDecision`` row (a ``before_flush`` hook refuses to update or delete one), a payout
is a ``Payout`` row that keeps the trace it paid for, and money taken back after a payout
is a ``Clawback`` row — the paid claim itself is never rewritten.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organization
from marketplace.core.append_only import refuse_changes
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db

# Statuses of a claim.
DRAFTED = "drafted"  # computed by the rules engine, not yet submitted by the beneficiary
SUBMITTED = "submitted"  # waiting for the reviewer
EVIDENCE_REQUESTED = "evidence_requested"  # the reviewer asked the applicant for more
WAITING_BUDGET = "waiting_budget"  # approved; waits (in approval order) for budget of its clause
ON_NOTICE = "on_notice"  # approved and budgeted; on public notice (公示), then payable
PAID = "paid"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"  # a drafted claim whose award disappeared
STATUSES = (DRAFTED, SUBMITTED, EVIDENCE_REQUESTED, WAITING_BUDGET, ON_NOTICE, PAID, REJECTED, WITHDRAWN)
OPEN_STATUSES = (DRAFTED, SUBMITTED, EVIDENCE_REQUESTED)  # not decided yet
APPROVED_STATUSES = (WAITING_BUDGET, ON_NOTICE, PAID)

ENGINE, FILED = "engine", "filed"  # drafted from the ledger / filed with evidence

# What a decision row records.
ACTIONS = ("drafted", "filed", "submitted", "recomputed", "withdrawn", "restored", "evidence_requested",
           "evidence_provided", "approved", "rejected", "notice", "objection", "paid", "clawback")


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Claim(db.Model):
    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("source", (ENGINE, FILED)), name="source"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        # the review queue (oldest submitted first) and an organisation's claims, paged
        Index("ix_claims_status_submitted", "status", "submitted_at", "id"),
        Index("ix_claims_org_year", "organization_id", "year", "id"),
        # the dashboards at province volume (46,000 claims a year): the funnel by clause and
        # status from the index alone, and the year's approved claims for the budgets
        Index("ix_claims_year_clause_status", "year", "clause", "status", "amount_fen"),
        Index("ix_claims_year_status", "year", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    clause: Mapped[str] = mapped_column(String(20), index=True)  # A1.DT … A5, A2.national, B1 … B6.project
    source: Mapped[str] = mapped_column(String(10))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  # the beneficiary
    # "year|clause|organisation id" for drafted claims: one per (year, clause, beneficiary); NULL for filed ones.
    draft_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # what the claim stands for (what is, or was, paid)
    engine_amount_fen: Mapped[int | None] = mapped_column(BigInteger)  # the engine's latest figure (drafted claims)
    # Scenario transaction ids (ledger refs). Deferred like the trace: thousands for an A3 claim.
    transactions: Mapped[list] = mapped_column(JSON, default=list, deferred=True)
    # The engine's structured trace: [{"amount", "transactions", "steps": [{"key", "values"}]}], one part per award.
    # Deferred: lists never load it (13 MB for one A3 claim at volume); the claim page pages its parts.
    trace: Mapped[list] = mapped_column(JSON, default=list, deferred=True)
    # Beside the trace, for lists: the engine figure by payer ({"city": fen, "province": fen}) when a
    # part names its payers (A3), and how many parts the trace has.
    payers: Mapped[dict | None] = mapped_column(JSON)
    part_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A fingerprint of the awards the trace was encoded from (drafting.py): a recompute that
    # finds it unchanged neither encodes nor rewrites the trace.
    trace_digest: Mapped[str | None] = mapped_column(String(32))
    flags: Mapped[list] = mapped_column(JSON, default=list)  # [{"kind", "transactions", "clauses", "step"}]
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    evidence: Mapped[dict | None] = mapped_column(JSON)  # filed claims: the evidence fields as given
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)  # orders the budget queue
    notice_from: Mapped[date | None] = mapped_column(Date)  # public notice: from this day …
    notice_until: Mapped[date | None] = mapped_column(Date)  # … up to (excluding) this day; payable from it
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()
    decisions: Mapped[list["ClaimDecision"]] = relationship(back_populates="claim", order_by="ClaimDecision.id")
    files: Mapped[list["ClaimFile"]] = relationship(back_populates="claim", order_by="ClaimFile.id")
    objections: Mapped[list["ClaimObjection"]] = relationship(back_populates="claim", order_by="ClaimObjection.id")
    payouts: Mapped[list["Payout"]] = relationship(back_populates="claim", order_by="Payout.id")
    clawbacks: Mapped[list["Clawback"]] = relationship(back_populates="claim", order_by="Clawback.id")

    @property
    def paid_fen(self) -> int:
        return sum(p.amount_fen for p in self.payouts)

    @property
    def clawed_back_fen(self) -> int:
        return sum(c.amount_fen for c in self.clawbacks)

    @property
    def open_objections(self) -> list["ClaimObjection"]:
        return [o for o in self.objections if o.status == "open"]

    @property
    def put_forward_by(self) -> set[int]:
        """Who put the claim forward: who filed it (with evidence; the city on its behalf too)
        and who submitted a drafted claim. None of them approves or pays it."""
        people = {self.filed_by_id} if self.filed_by_id else set()
        people.update(d.actor_id for d in self.decisions if d.action in ("filed", "submitted") and d.actor_id)
        return people

    @property
    def approved_by_id(self) -> int | None:
        """Who approved the claim as it stands (the latest approval); not who pays it."""
        approvals = [d.actor_id for d in self.decisions if d.action == "approved"]
        return approvals[-1] if approvals else None

    @property
    def refs(self) -> list[str]:
        """The ledger refs behind the claim (scenario ids ``LSE-3#2`` stand for ref ``LSE-3``)."""
        return sorted({t.split("#", 1)[0] for t in self.transactions or []})

    def __repr__(self) -> str:
        return f"<Claim {self.id} {self.year} {self.clause} org={self.organization_id} {self.status} {self.amount_fen}>"


class ClaimDecision(db.Model):
    """One step of a claim's history: who (nobody for the engine or the public), what, why."""

    __tablename__ = "claim_decisions"
    __table_args__ = (CheckConstraint(_in("action", ACTIONS), name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    amount_before_fen: Mapped[int | None] = mapped_column(BigInteger)
    amount_after_fen: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)  # rejection reason, message to the applicant, …
    good_service_results: Mapped[bool | None] = mapped_column(Boolean)  # A5: “服务成效良好”
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    claim: Mapped[Claim] = relationship(back_populates="decisions")
    actor = relationship("User")


class ClaimFile(db.Model):
    """An evidence file, stored under UPLOAD_DIR by a random name, served only to the applicant
    and the city."""

    __tablename__ = "claim_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    claim: Mapped[Claim] = relationship(back_populates="files")


OBJECTION_STATUSES = ("unconfirmed", "open", "upheld", "dismissed", "resolved")


class ClaimObjection(db.Model):
    """An objection filed during the public notice (异议) by someone with a verified contact:
    a logged-in user, or an e-mail address confirmed by a signed link (``unconfirmed`` until
    then, and it does not count). Confirmed, it is ``open`` until a reviewer decides: ``upheld``
    (the notice is suspended and the claim reviewed again) or ``dismissed`` with a reason (the
    notice goes on); ``resolved`` when the claim itself was decided again."""

    __tablename__ = "claim_objections"
    __table_args__ = (CheckConstraint("status IN ('unconfirmed', 'open', 'upheld', 'dismissed', 'resolved')",
                                      name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    contact: Mapped[str] = mapped_column(String(200))
    # The verified contact the limits count by: the e-mail address, lower case.
    contact_key: Mapped[str | None] = mapped_column(String(254), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # a logged-in objector
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)  # the reviewer's, when upheld or dismissed

    claim: Mapped[Claim] = relationship(back_populates="objections")


class Payout(db.Model):
    """City finance paid a claim: date, amount, and the trace that was paid for."""

    __tablename__ = "claim_payouts"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), unique=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    trace: Mapped[list] = mapped_column(JSON, default=list)
    transactions: Mapped[list] = mapped_column(JSON, default=list)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    claim: Mapped[Claim] = relationship(back_populates="payouts")


class Clawback(db.Model):
    """Money a beneficiary owes back: the engine's amount fell after the claim was paid
    (a refund or cancellation). ``engine_amount_fen`` is the engine's new figure."""

    __tablename__ = "claim_clawbacks"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    engine_amount_fen: Mapped[int] = mapped_column(BigInteger)
    transactions_removed: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    claim: Mapped[Claim] = relationship(back_populates="clawbacks")
    organization: Mapped[Organization] = relationship()


class ClaimBudget(db.Model):
    """The city's budget for one clause in one year (entered by admin or finance)."""

    __tablename__ = "claim_budgets"
    __table_args__ = (
        UniqueConstraint("year", "clause", name="uq_claim_budgets_year_clause"),
        CheckConstraint("amount_fen >= 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    clause: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class ClaimHistoryImmutableError(RuntimeError):
    pass


# Decisions, payouts and clawbacks are written once (the ORM refuses a change; the ledger and the
# audit log also carry the database's triggers).
refuse_changes((ClaimDecision, Payout, Clawback), "claim history is append-only", ClaimHistoryImmutableError)
