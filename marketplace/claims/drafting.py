"""Drafting: the claims of a year, recomputed from the ledger by the rules engine.

There is one implementation of the rules, the engine: ``build_scenario`` exports the year
from the ledger, ``evaluate`` computes the awards, and this module only files them as claims,
one per (year, clause, beneficiary organisation). A3 gives one award per voucher; a claim
holds them all, one trace part per award.

Recompute rules (append, don't rewrite):

* a drafted claim follows the engine (and one whose award disappeared is withdrawn; it comes
  back as drafted if the award reappears);
* a claim submitted, waiting for evidence, approved or on notice whose engine amount changes
  goes back to review (status submitted), the change recorded as a decision;
* a paid claim is never rewritten: when the engine's amount falls below what was paid (a refund
  or cancellation), a ``Clawback`` of the difference not yet clawed back is recorded against
  the beneficiary; the engine's latest figure and trace are kept beside the payout's own copy.

The ledger enqueues ("claims", year) in the outbox with every entry; the outbox hands the years
to ``apply`` after commit, which recomputes each named year once (``flask claims drain`` catches
up after a crash).
"""
from __future__ import annotations

import hashlib
import logging
import pickle
from collections import defaultdict
from decimal import Decimal

from flask import Flask
from sqlalchemy import false, or_, select, text

from marketplace import outbox
from marketplace.accounts.models import Membership, Organization, User
from marketplace.claims import models as m
from marketplace.claims.traces import encode_award, encode_flag, encode_step, payer_split
from marketplace.core.money import yuan_to_fen
from marketplace.core.uow import transactional
from marketplace.extensions import db
from marketplace.ledger import affects
from marketplace.ledger.scenario import build_scenario
from marketplace.notifications.models import notify
from marketplace.notifications.services import members
from marketplace.outbox import OutboxEntry
from marketplace.reforms.parameters import in_force
from marketplace.subsidies import evaluate
from marketplace.subsidies.result import CLAUSE_ORDER

log = logging.getLogger(__name__)
TOPIC = "claims"


def draft_key(year: int, clause: str, organization_id: int) -> str:
    return f"{year}|{clause}|{organization_id}"


def notify_members(org_id: int, message: str, claim_id: int) -> None:
    for user_id in members(org_id):
        notify(user_id, message, f"/claims/{claim_id}")


def decide(claim: m.Claim, action: str, to_status: str, actor=None, *, reason: str | None = None,
           amount_after: int | None = None, good_service_results: bool | None = None,
           engine_change: tuple[int | None, int] | None = None) -> m.ClaimDecision:
    """Append a decision row and move the claim to ``to_status`` (and amount).

    ``engine_change`` (old, new) records a change of the engine's figure that does not change
    what the claim stands for (a paid or rejected claim)."""
    before = claim.amount_fen
    after = before if amount_after is None else amount_after
    if engine_change is not None:
        before, after = engine_change
    row = m.ClaimDecision(claim=claim, actor_id=getattr(actor, "id", None), action=action,
                          from_status=claim.status, to_status=to_status, amount_before_fen=before,
                          amount_after_fen=after, reason=reason, good_service_results=good_service_results)
    db.session.add(row)
    claim.status = to_status
    if amount_after is not None:
        claim.amount_fen = amount_after
    return row


# --- the engine's awards, grouped per (clause, beneficiary) -------------------------------------

class _Group:
    """The awards of one (clause, beneficiary). Their trace is encoded only when asked for
    (``parts``): a claim whose ``trace_digest`` equals ``digest`` keeps the trace it has, so
    a recompute encodes and writes the traces of the groups that changed, not of every one."""

    def __init__(self, clause: str, beneficiary: str):
        self.clause, self.beneficiary = clause, beneficiary
        self.amount = Decimal("0.00")
        self.transactions: list[str] = []
        self.awards: list = []
        self.flags: list[dict] = []
        self._parts: list[dict] | None = None
        self._digest: str | None = None

    @property
    def fen(self) -> int:
        return yuan_to_fen(self.amount)

    @property
    def parts(self) -> list[dict]:
        if self._parts is None:
            self._parts = [encode_award(a) for a in self.awards]
        return self._parts

    @property
    def digest(self) -> str:
        """A fingerprint of the awards (amounts, payers, transactions, steps) as the engine gave
        them: equal awards encode to equal traces, so an equal digest means an equal trace."""
        if self._digest is None:
            # pickled, not repr'd: C speed (a pickle that differs for equal awards only costs a rewrite)
            data = pickle.dumps([(a.amount, a.payers, a.transactions, a.trace) for a in self.awards], protocol=5)
            self._digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        return self._digest


def _order_refs_related(refs: set[str]) -> dict[str, list[int]]:
    """The refs (ORD-/VCH-/CTR-/BKG-) of related-party trades: buyer and seller share a member.

    Checked again at every drafting against today's memberships, so a member who joined the
    other side after the order still flags it; an order flagged when it was placed stays
    flagged. Returns ref -> the users the two sides share now (empty when only the order's
    own flag remains)."""
    from marketplace.listings.models import Listing
    from marketplace.orders.models import Booking, Order, TechContract

    wanted: dict[str, dict[int, str]] = {"ORD": {}, "CTR": {}, "BKG": {}}
    for ref in refs:
        prefix, _, num = ref.partition("-")
        if num.isdigit() and prefix in ("ORD", "VCH", "CTR", "BKG"):
            wanted["ORD" if prefix == "VCH" else prefix][int(num)] = ref
    sides: dict[str, tuple[int, int]] = {}  # ref -> (buyer org, seller org)
    order_of: dict[str, int] = {}
    if wanted["CTR"]:
        for cid, oid, seller, buyer in db.session.execute(select(
                TechContract.id, TechContract.order_id, TechContract.seller_org_id, TechContract.buyer_org_id)
                .where(TechContract.id.in_(wanted["CTR"]))):
            sides[wanted["CTR"][cid]] = (buyer, seller)
            if oid is not None:
                order_of[wanted["CTR"][cid]] = oid
    if wanted["BKG"]:
        for bid, oid, customer, owner in db.session.execute(select(
                Booking.id, Booking.order_id, Booking.customer_org_id, Listing.organization_id)
                .join(Listing, Listing.id == Booking.instrument_id).where(Booking.id.in_(wanted["BKG"]))):
            sides[wanted["BKG"][bid]] = (customer, owner)
            if oid is not None:
                order_of[wanted["BKG"][bid]] = oid
    order_ids = set(wanted["ORD"]) | set(order_of.values())
    flagged_orders: set[int] = set()
    if order_ids:
        for oid, buyer, seller, flagged in db.session.execute(select(
                Order.id, Order.buyer_org_id, Order.seller_org_id, Order.related_party).where(Order.id.in_(order_ids))):
            if oid in wanted["ORD"]:
                sides[wanted["ORD"][oid]] = (buyer, seller)
                order_of[wanted["ORD"][oid]] = oid
            if flagged:
                flagged_orders.add(oid)
    if not sides:
        return {}
    members: dict[int, set[int]] = defaultdict(set)
    org_ids = {org for pair in sides.values() for org in pair}
    for org_id, user_id in db.session.execute(select(Membership.organization_id, Membership.user_id)
                                              .where(Membership.organization_id.in_(org_ids))):
        members[org_id].add(user_id)
    related: dict[str, list[int]] = {}
    for ref, (buyer, seller) in sides.items():
        shared = sorted(members[buyer] & members[seller]) if buyer != seller else []
        if shared or order_of.get(ref) in flagged_orders:
            related[ref] = shared
    return related


def engine_groups(year: int) -> tuple[dict[tuple[str, str], _Group], dict]:
    """Evaluate ``year`` from the ledger; the awards grouped per (clause, beneficiary credit code)."""
    scenario = build_scenario(db.session, year)
    return group_awards(evaluate(scenario, parameters=in_force())), scenario


def group_awards(result, wanted: set[tuple[str, str]] | None = None) -> dict[tuple[str, str], _Group]:
    """The engine's awards grouped per (clause, beneficiary), with their traces encoded and their
    flags; only the groups in ``wanted`` when given (the others of a partial scenario may lack rows)."""
    groups: dict[tuple[str, str], _Group] = {}
    for award in result.awards:
        gk = (award.clause, award.beneficiary)
        if wanted is not None and gk not in wanted:
            continue
        g = groups.get(gk)
        if g is None:
            g = groups[gk] = _Group(award.clause, award.beneficiary)
        g.amount += award.amount
        g.transactions.extend(award.transactions)
        g.awards.append(award)
        for step in award.trace:  # repeated transfer of one project: only the value added counted
            if step.key == "a1.value_added":
                g.flags.append({"kind": "repeated_transfer", "transactions": [step.values["txn"]],
                                "clauses": [award.clause], "step": encode_step(step)})
    if result.flags:  # each flag to the groups of its clauses that hold one of its transactions
        by_txn: dict[str, list[_Group]] = defaultdict(list)
        for g in groups.values():
            for t in dict.fromkeys(g.transactions):
                by_txn[t].append(g)
        for flag in result.flags:
            hit: dict[int, _Group] = {}
            for t in flag.transactions:
                for g in by_txn.get(t, ()):
                    if g.clause in flag.clauses:
                        hit.setdefault(id(g), g)
            for g in sorted(hit.values(), key=lambda g: (g.clause, g.beneficiary)):
                g.flags.append(encode_flag(flag))
    all_refs = {t.split("#", 1)[0] for g in groups.values() for t in g.transactions}
    related = _order_refs_related(all_refs)
    names = dict(db.session.execute(select(User.id, User.name).where(
        User.id.in_({u for users in related.values() for u in users}))).tuples().all()) if related else {}
    for g in groups.values():
        hits = sorted({t for t in g.transactions if t.split("#", 1)[0] in related})
        if hits:
            shared = sorted({names.get(u, str(u)) for t in hits for u in related[t.split("#", 1)[0]]})
            g.flags.append({"kind": "related_party", "transactions": hits, "clauses": [g.clause], "step": None,
                            "members": shared})
    return groups


# --- recompute ----------------------------------------------------------------------------------

def _advisory(session, name: str, shared: bool = False) -> None:
    """A transaction-level advisory lock on PostgreSQL named by text (SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        fn = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        session.execute(text(f"SELECT {fn}(hashtextextended(:name, 0))"), {"name": f"claims:{name}"})


def _lock(session, year: int) -> None:
    """The whole year: waits for group recomputes of the year to finish, keeps new ones out."""
    _advisory(session, str(year))


def _lock_groups(session, year: int, names: list[str]) -> None:
    """Some groups of the year: beside other groups' workers, never beside the same group's
    (names sorted, so two workers take them in one order and never deadlock)."""
    _advisory(session, str(year), shared=True)
    for name in sorted(set(names)):
        _advisory(session, name)


def steps(year: int, groups: dict) -> int:
    """How many claims ``recompute_year`` will visit (for a progress bar)."""
    existing = db.session.execute(select(m.Claim.clause, Organization.credit_code)
                                  .join(Organization, Organization.id == m.Claim.organization_id)
                                  .where(m.Claim.year == year, m.Claim.source == m.ENGINE))
    return len(groups) + sum(1 for key in existing if tuple(key) not in groups)


@transactional
def recompute_year(year: int, progress=None, groups: dict | None = None) -> dict:
    """Recompute every drafted claim of ``year`` from the ledger, in one unit of work.
    ``progress(n)`` is called after each claim; ``groups`` (from ``engine_groups``) saves
    evaluating twice. Returns counts by what happened."""
    _lock(db.session, year)
    if groups is None:
        groups, _scenario = engine_groups(year)
    existing = {(c.clause, c.organization_id): c for c in db.session.scalars(
        select(m.Claim).where(m.Claim.year == year, m.Claim.source == m.ENGINE))}
    return _file(year, groups, existing, progress=progress)


def recompute_groups(year: int, groups: dict, targets: set[tuple[str, str]]) -> dict:
    """File the engine's ``groups`` for the (clause, credit code) ``targets`` of ``year`` only:
    a target without a group has no award any more. The caller holds the groups' locks."""
    codes = {code for _, code in targets}
    org_ids = {}
    for i in range(0, len(codes), 500):
        chunk = sorted(codes)[i:i + 500]
        org_ids.update(db.session.execute(select(Organization.credit_code, Organization.id)
                                          .where(Organization.credit_code.in_(chunk))).tuples().all())
    wanted = {(clause, org_ids[code]) for clause, code in targets if code in org_ids}
    existing = {}
    clauses = sorted({clause for clause, _ in targets})
    ids = sorted(set(org_ids.values()))
    for i in range(0, len(ids), 500):
        for c in db.session.scalars(select(m.Claim).where(
                m.Claim.year == year, m.Claim.source == m.ENGINE, m.Claim.clause.in_(clauses),
                m.Claim.organization_id.in_(ids[i:i + 500]))):
            if (c.clause, c.organization_id) in wanted:
                existing[(c.clause, c.organization_id)] = c
    return _file(year, {k: g for k, g in groups.items() if k in targets}, existing)


def _file(year: int, groups: dict, existing: dict, progress=None) -> dict:
    from marketplace.claims.budgets import promote_waiting

    codes = sorted({b for _, b in groups})
    org_id: dict[str, int] = {}
    for i in range(0, len(codes), 500):
        org_id.update(db.session.execute(select(Organization.credit_code, Organization.id)
                                         .where(Organization.credit_code.in_(codes[i:i + 500]))).tuples().all())
    counts: dict[str, int] = defaultdict(int)
    touched_clauses: set[str] = set()
    seen: set[tuple[str, int]] = set()

    for (clause, code), g in sorted(groups.items(), key=lambda kv: _sort_key(kv[0])):
        key = (clause, org_id[code])
        seen.add(key)
        claim = existing.get(key)
        if claim is None:
            claim = m.Claim(year=year, clause=clause, source=m.ENGINE, organization_id=key[1],
                            draft_key=draft_key(year, clause, key[1]), status=m.DRAFTED, amount_fen=g.fen)
            db.session.add(claim)
            _apply_engine(claim, g)
            db.session.flush()
            decide(claim, "drafted", m.DRAFTED)
            counts["drafted"] += 1
        else:
            counts[_update(claim, g.fen, g, touched_clauses)] += 1
        if progress:
            progress(1)

    for key, claim in existing.items():
        if key in seen:
            continue
        counts[_update(claim, 0, None, touched_clauses)] += 1
        if progress:
            progress(1)

    for clause in touched_clauses:
        promote_waiting(year, clause)
    from marketplace.ops.metrics import claims_recomputed

    claims_recomputed(counts)
    return dict(counts)


def _sort_key(key: tuple[str, str]):
    clause, beneficiary = key
    order = CLAUSE_ORDER.index(clause) if clause in CLAUSE_ORDER else len(CLAUSE_ORDER)
    return (order, clause, beneficiary)


def _apply_engine(claim: m.Claim, g: _Group | None) -> None:
    # Only what changed is set: an unchanged claim stays clean, and the flush skips it.
    _set(claim, "engine_amount_fen", g.fen if g else 0)
    if g is not None:  # an award that disappeared keeps its last trace to show what it was
        if claim.trace_digest != g.digest:  # the trace is encoded and written only when it changed
            claim.transactions = list(g.transactions)
            claim.trace = g.parts
            claim.payers = payer_split(g.parts)
            claim.part_count = len(g.parts)
            claim.trace_digest = g.digest
        _set(claim, "flags", g.flags)
    else:
        _set(claim, "flags", [])
    _set(claim, "flagged", bool(claim.flags))


def _set(claim: m.Claim, name: str, value) -> None:
    if getattr(claim, name) != value:
        setattr(claim, name, value)


def _update(claim: m.Claim, new_fen: int, g: _Group | None, touched_clauses: set[str]) -> str:
    old_engine = claim.engine_amount_fen
    changed = old_engine != new_fen
    status = claim.status

    if status == m.PAID:
        removed = sorted(set(claim.transactions or []) - set(g.transactions if g else []))
        _apply_engine(claim, g)
        owed = claim.paid_fen - new_fen - claim.clawed_back_fen
        if owed > 0:
            db.session.add(m.Clawback(claim=claim, organization_id=claim.organization_id, amount_fen=owed,
                                      engine_amount_fen=new_fen, transactions_removed=removed))
            decide(claim, "clawback", m.PAID, engine_change=(old_engine, new_fen))
            notify_members(claim.organization_id, "notice.claim_clawback", claim.id)
            return "clawback"
        if changed:
            decide(claim, "recomputed", m.PAID, engine_change=(old_engine, new_fen))
            return "recorded"
        return "unchanged"

    _apply_engine(claim, g)
    if status == m.DRAFTED:
        if new_fen == 0:
            decide(claim, "withdrawn", m.WITHDRAWN, amount_after=0)
            return "withdrawn"
        if changed:
            claim.amount_fen = new_fen
            return "updated"
        return "unchanged"
    if status == m.WITHDRAWN:
        if new_fen > 0:
            decide(claim, "restored", m.DRAFTED, amount_after=new_fen)
            return "restored"
        return "unchanged"
    if status == m.REJECTED:
        if changed:  # the rejection stands; the new figure is on record for the reviewer
            decide(claim, "recomputed", m.REJECTED, engine_change=(old_engine, new_fen))
            return "recorded"
        return "unchanged"
    # submitted, evidence_requested, waiting_budget, on_notice: back to review with the change recorded
    if not changed and claim.amount_fen == new_fen:
        return "unchanged"
    if status in (m.WAITING_BUDGET, m.ON_NOTICE):
        touched_clauses.add(claim.clause)  # budget it held or waited for is free for others
        claim.approved_at = None
        claim.notice_from = claim.notice_until = None
    decide(claim, "recomputed", m.SUBMITTED, amount_after=new_fen)
    if status in (m.WAITING_BUDGET, m.ON_NOTICE, m.EVIDENCE_REQUESTED):
        notify_members(claim.organization_id, "notice.claim_recomputed", claim.id)
    return "returned"


# --- the outbox ----------------------------------------------------------------------------------

def apply(keys: list[str]) -> None:
    """The outbox handler. A bare year recomputes the whole year; a group key
    (``ledger/affects.py``) recomputes only the groups of its family and party, evaluating
    a scenario that holds just the rows they read."""
    from marketplace.claims.incremental import recompute_keys

    whole: set[int] = set()
    per_year: dict[int, list[str]] = defaultdict(list)
    for key in keys:
        try:
            year, family, _value = affects.parse_key(key)
        except ValueError:
            log.warning("claims outbox row has a key that is neither a year nor a group: %r", key)
            continue
        if family is None:
            whole.add(year)
        else:
            per_year[year].append(key)
    for year in sorted(whole | set(per_year)):  # years in one order: workers never wait on each other in a ring
        if year in whole:
            recompute_year(year)
        else:
            recompute_keys(year, per_year[year])


def drain() -> int:
    """Recompute every group and year named in pending claims rows now; returns how many rows were done."""
    return outbox.drain([TOPIC])


def init_app(app: Flask) -> None:
    outbox.register(app, TOPIC, apply, batch=1000)


def year_keys(years: set[int]):
    """A condition on outbox keys: the claims rows of these years (whole or groups)."""
    conds = [OutboxEntry.key == str(y) for y in years] + [OutboxEntry.key.like(f"{y}|%") for y in years]
    return or_(*conds) if conds else false()


@transactional
def clear_pending(years: set[int]) -> None:
    """Drop outbox rows for years just recomputed by hand (CLI, demo)."""
    db.session.execute(OutboxEntry.__table__.delete().where(OutboxEntry.topic == TOPIC, year_keys(years)))


def updating(claims) -> set[int]:
    """The ids of ``claims`` (drafted ones) whose figure is being brought up to date: a claims
    outbox row waits for their group, their family's contracts or their whole year."""
    wanted: dict[str, set[int]] = defaultdict(set)
    contract_years: dict[int, set[int]] = defaultdict(set)
    for c in claims:
        if c.source != m.ENGINE:
            continue
        wanted[str(c.year)].add(c.id)
        family = affects.FAMILY_OF_CLAUSE.get(c.clause)
        if family == "TC":
            contract_years[c.year].add(c.id)
        elif family:
            wanted[affects.key(c.year, family, c.organization.credit_code)].add(c.id)
    if not wanted:
        return set()
    live = (OutboxEntry.topic == TOPIC) & OutboxEntry.parked_at.is_(None)
    out: set[int] = set()
    keys = sorted(wanted)
    for i in range(0, len(keys), 500):
        for (k,) in db.session.execute(select(OutboxEntry.key).where(live, OutboxEntry.key.in_(keys[i:i + 500]))
                                       .distinct()):
            out |= wanted[k]
    for year, ids in contract_years.items():
        pending = db.session.scalar(select(OutboxEntry.id).where(
            live, OutboxEntry.key.like(f"{year}|TC|%") | OutboxEntry.key.like(f"{year}|TP|%")).limit(1))
        if pending is not None:
            out |= ids
    return out
