"""Incremental claims equal a full recompute, always.

Each ledger entry asks the outbox for only the claim groups it can change
(``ledger/affects.py``) and drafting evaluates a scenario of just their rows
(``claims/incremental.py``). Hypothesis feeds random ledgers — contracts sharing projects and
registration numbers across years, brokers, licences and assignments, payments before or after
registration, vouchers refunded through their order, lease fees under one ref, bookings of
one's own instrument, corrections of anything — in random order, draining after random
entries (the keys of a drain in id order, or each alone in any order, as several workers
racing for the year's contracts lock take them), and then checks every drafted claim against the whole year evaluated at once, and
that ``recompute_year`` (what ``flask claims draft`` runs) finds nothing to change.
Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select

from marketplace.accounts.models import Organization, ProvincialServiceReward
from marketplace.claims import drafting
from marketplace.claims import models as m
from marketplace.core.money import fen_to_str
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.ledger import services
from marketplace.ledger.models import LedgerEntry
from marketplace.outbox import OutboxEntry
from tests.ledger.helpers import purge_ledger

YEARS = (2024, 2025)
ORGS = ("uni", "small", "large", "agency", "lab", "away", "team", "uni2", "agency2", "firm")
SELLERS = ("uni", "uni", "uni", "uni2", "agency", "agency2", "small", "firm")  # a few busy sellers


@pytest.fixture()
def orgs(app_ctx, factory):
    o = {
        "uni": factory.organization(kind="university", name="大学"),
        "small": factory.organization(kind="enterprise", size="small", name="小企业"),
        "large": factory.organization(kind="enterprise", size="large", name="大企业"),
        "agency": factory.organization(kind="agency", transfer_agency_level="city", service_agency=True,
                                       name="技术转移中心"),
        "lab": factory.organization(kind="agency", service_agency=True, name="检测中心"),
        "away": factory.organization(kind="agency", service_agency=True, in_city=False, name="外地机构"),
        "team": factory.organization(kind="maker_team", host_level="provincial", name="创客团队"),
        "uni2": factory.organization(kind="university", name="学院"),
        "agency2": factory.organization(kind="agency", transfer_agency_level="city", name="转化中心"),
        "firm": factory.organization(kind="enterprise", size="medium", name="中企业"),
    }
    db.session.add(ProvincialServiceReward(organization_id=o["lab"].id, year=2025, amount_fen=12_345_00))
    db.session.commit()  # (the city's form asks for the lab's A4 group: _start does)
    yield {k: v.credit_code for k, v in o.items()}
    _clean()


def _start(c: dict) -> None:
    """What entering the lab's provincial reward asked for (review.services.enter_reward)."""
    from marketplace.ledger.affects import key
    from marketplace.outbox import enqueue

    enqueue("claims", key(2025, "A4", c["lab"]))
    db.session.commit()


def _clean() -> None:
    db.session.rollback()
    with db.engine.begin() as conn:
        for table in (m.ClaimDecision.__table__, m.Clawback.__table__, m.Claim.__table__, OutboxEntry.__table__):
            conn.execute(table.delete())
    purge_ledger()


AMOUNTS = [1, 3_00, 5_000_00, 80_000_00, 1_200_000_00, 2_500_000_00, 3_000_000_00]  # 3,000,000: A2.city's threshold
OP_WEIGHTS = {"contract": 5, "pay": 1, "voucher": 2, "order_pay": 1, "booking": 1, "lease": 1, "correct": 1}


def random_ledger(rnd, size: int) -> list[tuple[dict, bool]]:
    """``size`` random entries (each with whether to drain after it), drawn evenly: Hypothesis'
    own strategies lean to their first choices, and the cases that matter need spread (two
    paid assignments of one project in different years, appended latest first)."""
    def day():
        return date(rnd.choice(YEARS), rnd.randint(1, 12), rnd.randint(1, 28))

    def party():
        return rnd.choice(ORGS)

    out = []
    kinds = [k for k, w in OP_WEIGHTS.items() for _ in range(w)]
    for _ in range(size):
        kind = rnd.choice(kinds)
        op = {"op": kind, "day": day()}
        if kind == "contract":
            seller, buyer = rnd.choice(SELLERS), party()
            # brokers: two city agencies (their A2.city groups and overlap flags), one not filed,
            # and now and then a party brokering its own contract (not brokered for A2)
            broker = rnd.choice([None, None, "agency", "agency", "agency2", "lab", seller, buyer])
            # half the contracts share a registration number with another, half have their own
            # (a contract linked to nothing: the groups a busy party's new contract only compares)
            reg = rnd.randint(1, 6) if rnd.random() < 0.5 else rnd.randint(100, 10_000)
            op.update(seller=seller, buyer=buyer, amount=rnd.choice(AMOUNTS), reg=reg,
                      project=rnd.choice([None, None, None, "ACH-1", "ACH-1", "ACH-2", "ACH-3"]), broker=broker,
                      ctype=rnd.choice(["transfer", "transfer", "transfer", "transfer", "development", "consulting"]),
                      kind=rnd.choice(["assignment", "assignment", "assignment", "licence"]),
                      in_city=rnd.random() < 0.8, paid=rnd.random() < 0.85)
        elif kind == "pay":
            op.update(n=rnd.randint(0, size))
        elif kind in ("voucher", "order_pay"):
            op.update(buyer=party(), provider=party(), amount=rnd.choice(AMOUNTS), order=rnd.randint(1, 3))
        elif kind == "booking":
            op.update(provider=party(), customer=party(), amount=rnd.choice(AMOUNTS),
                      instrument=rnd.choice(["INS-1", "INS-2"]))
        elif kind == "lease":
            op.update(lessee=party(), amount=rnd.choice(AMOUNTS), instrument=rnd.choice(["INS-1", "INS-2"]),
                      financing=rnd.random() < 0.7, platform=rnd.random() < 0.7)
        else:
            op.update(pick=rnd.randint(0, 50), kind=rnd.choice(["refund", "cancellation"]))
        out.append((op, rnd.random() < 0.5))
    return out


def _append(i: int, op: dict, c: dict) -> None:
    """Append entry ``i`` of the ledger: a ref names one trade (its parties fixed), except lease
    fees, which come monthly under one ref per lessee and instrument; a payment or a
    correction picks an earlier trade, or one yet to come (payments may come first)."""
    kind = op["op"]
    if kind == "contract":
        payload = {"contract_type": op["ctype"], "seller": c[op["seller"]], "buyer": c[op["buyer"]],
                   "amount": fen_to_str(op["amount"]), "registration_no": f"REG-{op['reg']}",
                   "registered_on": op["day"].isoformat(), "project": op["project"],
                   "broker": c[op["broker"]] if op["broker"] else None, "transformed_in_city": op["in_city"]}
        if op["ctype"] == "transfer":
            payload["transfer_kind"] = op["kind"]
        services.append("contract_registered", f"CTR-{i}", op["day"], op["amount"], payload)
        if op["paid"]:  # paid at once (else perhaps later, by a "pay" entry, or never)
            _payment(f"CTR-{i}", op["day"])
    elif kind == "pay":
        _payment(f"CTR-{op['n']}", op["day"])  # contract i = n, appended before or after
    elif kind == "order_pay":
        _payment(f"ORD-{op['order']}", op["day"])
    elif kind == "voucher":
        fen = op["amount"]
        province, city = fen * 6 // 10, fen * 3 // 10
        services.append("voucher_redemption", f"VCH-{i}", op["day"], fen, {
            "buyer": c[op["buyer"]], "provider": c[op["provider"]], "amount": fen_to_str(fen),
            "province": fen_to_str(province), "city": fen_to_str(city),
            "enterprise": fen_to_str(fen - province - city), "order_ref": f"ORD-{op['order']}"})
    elif kind == "booking":
        services.append("booking_completed", f"BKG-{i}", op["day"], op["amount"], {
            "provider": c[op["provider"]], "customer": c[op["customer"]], "instrument": op["instrument"],
            "amount": fen_to_str(op["amount"])})
    elif kind == "lease":
        services.append("lease_fee", f"LSE-{op['lessee']}-{op['instrument']}", op["day"], op["amount"], {
            "lessee": c[op["lessee"]], "instrument": op["instrument"], "amount": fen_to_str(op["amount"]),
            "financing_lease": op["financing"], "on_sharing_platform": op["platform"]})
    else:  # correct an earlier entry that may be corrected
        targets = list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind.in_(
            ("payment", "contract_registered", "voucher_redemption", "booking_completed", "lease_fee")))
            .order_by(LedgerEntry.seq)))
        if not targets:
            return
        t = targets[op["pick"] % len(targets)]
        services.append(op["kind"], t.ref, op["day"], t.amount_fen, {"reason": "退款", "amount": t.data["amount"]},
                        corrects_seq=t.seq)


def _payment(ref: str, day: date) -> None:
    if db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.kind == "payment", LedgerEntry.ref == ref)):
        return  # an order is paid once
    services.append("payment", ref, day, 100, {"payer": "P", "payee": "Q", "amount": "1.00", "method": "card",
                                               "gateway_id": f"pi_{ref}"})


def _claims_equal_the_whole_year(year: int, audit: bool = True) -> None:
    groups, _scenario = drafting.engine_groups(year)
    codes = dict(db.session.execute(select(Organization.id, Organization.credit_code)).tuples().all())
    claims = {(c.clause, codes[c.organization_id]): c for c in db.session.scalars(
        select(m.Claim).where(m.Claim.year == year, m.Claim.source == m.ENGINE))}
    for key, g in groups.items():
        claim = claims.get(key)
        assert claim is not None, f"{year} {key}: the whole year has an award, no claim was drafted"
        assert claim.engine_amount_fen == g.fen, f"{year} {key}"
        assert claim.status == m.DRAFTED
        assert claim.transactions == g.transactions, f"{year} {key}"
        assert claim.trace == g.parts, f"{year} {key}"
        assert claim.flags == g.flags, f"{year} {key}"
        assert claim.part_count == len(g.parts)
    for key, claim in claims.items():
        if key not in groups:
            assert claim.engine_amount_fen == 0 and claim.status == m.WITHDRAWN, f"{year} {key}: no award any more"
    if audit:
        counts = drafting.recompute_year(year)  # the audit: nothing to change
        assert set(counts) <= {"unchanged"}, counts


def _drain_in_any_order(rnd) -> None:
    """Several workers share the claims rows: each takes some keys, and whichever takes the
    year's contracts lock first goes first, so a group may be read before its own key is done.
    Each key here is done alone, in a random order, as the worker's drain does it (one unit of
    work: the handler, then the row's deletion)."""
    keys = list(dict.fromkeys(db.session.scalars(
        select(OutboxEntry.key).where(OutboxEntry.topic == "claims").order_by(OutboxEntry.id))))
    db.session.rollback()
    rnd.shuffle(keys)
    for k in keys:
        with unit_of_work():
            drafting.apply([k])
            db.session.execute(OutboxEntry.__table__.delete().where(OutboxEntry.topic == "claims",
                                                                    OutboxEntry.key == k))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=False), size=st.integers(8, 18), any_order=st.booleans())
def test_incremental_claims_equal_a_full_recompute(orgs, rnd, size, any_order):
    ledger = random_ledger(rnd, size)
    note(repr(ledger))
    try:
        _start(orgs)
        for i, (op, drain_now) in enumerate(ledger):
            _append(i, op, orgs)
            db.session.commit()
            if drain_now:  # whenever the outbox is empty, every claim is up to date
                _drain_in_any_order(rnd) if any_order else drafting.drain()
                for year in YEARS:
                    _claims_equal_the_whole_year(year, audit=False)
        drafting.drain()
        assert db.session.scalar(select(OutboxEntry.id).where(OutboxEntry.topic == "claims")) is None
        for year in YEARS:
            _claims_equal_the_whole_year(year)
    finally:
        _clean()


def test_an_entry_asks_only_for_its_groups(orgs):
    """A voucher names its buyer's A3 and its provider's A4, not the year."""
    c = orgs
    services.append("voucher_redemption", "VCH-1", date(2025, 3, 1), 100_00, {
        "buyer": c["small"], "provider": c["lab"], "amount": "100.00", "province": "60.00", "city": "30.00",
        "enterprise": "10.00", "order_ref": "ORD-1"})
    db.session.commit()
    keys = sorted(db.session.scalars(select(OutboxEntry.key).where(OutboxEntry.topic == "claims")))
    assert keys == [f"2025|A3|{c['small']}", f"2025|A4|{c['lab']}"]


def test_a_transfer_touches_the_later_transfers_of_its_project(orgs):
    c = orgs
    _start(c)

    def assignment(ref, seller, fen, day, reg):
        services.append("contract_registered", ref, day, fen, {
            "contract_type": "transfer", "transfer_kind": "assignment", "seller": c[seller], "buyer": c["small"],
            "amount": fen_to_str(fen), "registration_no": reg, "registered_on": day.isoformat(),
            "project": "ACH-9", "broker": None, "transformed_in_city": True})
        _payment(ref, day)

    assignment("CTR-2", "uni", 1_000_000_00, date(2025, 6, 1), "R2")
    db.session.commit()
    drafting.drain()
    a1 = db.session.scalar(select(m.Claim).where(m.Claim.clause == "A1.DT", m.Claim.year == 2025))
    assert a1.engine_amount_fen == 1_500_000  # 1.5 % of the whole 1,000,000
    assignment("CTR-1", "agency", 800_000_00, date(2024, 6, 1), "R1")  # an earlier sale, recorded late
    db.session.commit()
    assert "2025|TP|ACH-9" in set(db.session.scalars(select(OutboxEntry.key)))
    drafting.drain()
    db.session.expire_all()
    a1 = db.session.get(m.Claim, a1.id)
    assert a1.engine_amount_fen == 300_000  # only the 200,000 added over 800,000
    _claims_equal_the_whole_year(2025)


def _contract(c, ref, seller, fen, day, reg, broker=None, ctype="development", project=None):
    payload = {"contract_type": ctype, "seller": c[seller], "buyer": c["large"], "amount": fen_to_str(fen),
               "registration_no": reg, "registered_on": day.isoformat(), "project": project,
               "broker": c[broker] if broker else None, "transformed_in_city": True}
    if ctype == "transfer":
        payload["transfer_kind"] = "assignment"
    services.append("contract_registered", ref, day, fen, payload)
    _payment(ref, day)
    db.session.commit()


def _flag_kinds(clause, code):
    claim = db.session.scalar(select(m.Claim).join(Organization, Organization.id == m.Claim.organization_id)
                              .where(m.Claim.clause == clause, Organization.credit_code == code))
    db.session.refresh(claim)
    return [f["kind"] for f in claim.flags]


def test_a_contract_reads_its_sellers_groups_not_the_sellers_it_shares_a_buyer_with(orgs):
    """Two sellers with one buyer: a new contract of one names its seller's A1 group, and its
    recompute leaves the other seller's claim as it is (the grouping by beneficiary)."""
    c = orgs
    _start(c)
    _contract(c, "CTR-1", "uni2", 1_000_000_00, date(2025, 3, 1), "R1")
    drafting.drain()
    other = db.session.scalar(select(m.Claim).where(m.Claim.clause == "A1.DT"))
    before = (other.id, len(other.decisions))
    _contract(c, "CTR-2", "uni", 2_000_000_00, date(2025, 4, 1), "R2")
    from marketplace.claims.incremental import recompute_keys
    counts = recompute_keys(2025, [f"2025|TC|{c['uni']}"])
    assert counts == {"drafted": 1}, counts  # uni's A1.DT, and nothing of uni2's
    db.session.commit()
    drafting.drain()
    assert (other.id, len(db.session.get(m.Claim, other.id).decisions)) == before
    _claims_equal_the_whole_year(2025)


def test_a_busy_sellers_new_brokered_contract_reaches_its_agency(orgs):
    """A seller already paid under A1 registers a contract of its own number, brokered: the
    agency's A2.city claim follows, though nothing links the contract to the seller's others."""
    c = orgs
    _start(c)
    _contract(c, "CTR-1", "uni", 1_000_000_00, date(2025, 3, 1), "R1")
    _contract(c, "CTR-2", "uni", 2_000_000_00, date(2025, 4, 1), "R2", broker="agency2")
    drafting.drain()
    _contract(c, "CTR-3", "uni", 1_500_000_00, date(2025, 5, 1), "R3", broker="agency2")
    drafting.drain()
    a2 = db.session.scalar(select(m.Claim).where(m.Claim.clause == "A2.city"))
    assert a2.engine_amount_fen == 5_250_000  # 1.5 % of 3,500,000
    _claims_equal_the_whole_year(2025)


def test_an_agency_reaching_the_threshold_flags_the_a1_claims_of_its_other_sellers(orgs):
    """A2.city is paid once the agency's brokered turnover reaches 3,000,000: from then on every
    A1 award standing on one of its contracts carries an overlap flag, also that of a seller
    whose own contracts did not change (the paid-or-not of a group reaches its neighbours)."""
    c = orgs
    _start(c)
    _contract(c, "CTR-1", "uni2", 2_500_000_00, date(2025, 3, 1), "R1", broker="agency")
    drafting.drain()
    assert "overlap" not in _flag_kinds("A1.DT", c["uni2"])  # the agency is below the threshold
    _contract(c, "CTR-2", "small", 1_200_000_00, date(2025, 5, 1), "R2", broker="agency")
    drafting.drain()
    assert "overlap" in _flag_kinds("A1.DT", c["uni2"])
    _claims_equal_the_whole_year(2025)
    services.append("refund", "CTR-2", date(2025, 6, 1), 1_200_000_00, {"reason": "退款", "amount": "1200000.00"},
                    corrects_seq=db.session.scalar(select(LedgerEntry.seq).where(
                        LedgerEntry.ref == "CTR-2", LedgerEntry.kind == "payment")))
    db.session.commit()
    drafting.drain()
    assert "overlap" not in _flag_kinds("A1.DT", c["uni2"])  # below the threshold again
    _claims_equal_the_whole_year(2025)


def test_a_displaced_registration_reaches_the_brokers_of_its_sellers_other_contracts(orgs):
    """A contract registered under a number another seller's contract already holds, but
    earlier, takes the number's count: the other seller's A1 award falls to 0, and the
    agency brokering that seller's other (tiny) contract loses its overlap flag."""
    c = orgs
    _start(c)
    _contract(c, "CTR-1", "away", 3_000_000_00, date(2025, 2, 1), "R9", broker="agency")  # A2.city paid, no A1
    _contract(c, "CTR-2", "uni2", 2_000_000_00, date(2025, 6, 1), "R1")
    _contract(c, "CTR-3", "uni2", 1, date(2025, 6, 2), "R2", broker="agency")  # counts 0.01: A1 alone pays 0
    drafting.drain()
    assert "overlap" in _flag_kinds("A2.city", c["agency"])
    _contract(c, "CTR-4", "small", 900_000_00, date(2025, 1, 5), "R1")  # R1 counts here now, not for uni2
    drafting.drain()
    _claims_equal_the_whole_year(2025)
    assert "overlap" not in _flag_kinds("A2.city", c["agency"])


def test_two_workers_never_work_one_group_at_once(app_ctx):
    """PostgreSQL: a worker holds its groups' advisory locks until it commits; another worker
    asking for one of them waits (here: times out), for another group it goes on; a whole-year
    recompute waits for every group of its year."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite has one writer")
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    first, second = Session(db.engine), Session(db.engine)
    try:
        drafting._lock_groups(first, 2025, ["2025|A3|X", "2025|A4|Y"])
        second.execute(text("SET lock_timeout = '300ms'"))
        drafting._lock_groups(second, 2025, ["2025|A3|Z"])  # another group of the year: goes on
        second.rollback()
        second.execute(text("SET lock_timeout = '300ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            drafting._lock_groups(second, 2025, ["2025|A4|Y"])
        second.rollback()
        second.execute(text("SET lock_timeout = '300ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            drafting._lock(second, 2025)  # the whole year waits for the groups
        second.rollback()
        first.commit()  # released at commit
        drafting._lock_groups(second, 2025, ["2025|A4|Y"])
    finally:
        first.close()
        second.close()
