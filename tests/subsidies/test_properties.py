"""Properties that hold for every scenario: caps, monotonicity, order, exact splits, once per clause."""
import re
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.subsidies import evaluate, evaluate_stream, voucher_split
from marketplace.subsidies.clauses.vouchers import split_fen
from marketplace.subsidies.money import MAX_FEN, AmountError, parse_amount

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ORGS = [
    {"id": "u1", "kind": "university", "in_city": True},
    {"id": "u2", "kind": "institute", "in_city": True},
    {"id": "ux", "kind": "university", "in_city": False},
    {"id": "e1", "kind": "enterprise", "size": "small", "in_city": True},
    {"id": "e2", "kind": "enterprise", "size": "large", "in_city": True},
    {"id": "m1", "kind": "maker_team", "host_level": "national", "in_city": True},
    {"id": "a1", "kind": "agency", "in_city": True, "transfer_agency_level": "city", "service_agency": True,
     "provincial_service_reward": "1000.00"},
    {"id": "a2", "kind": "agency", "in_city": True, "transfer_agency_level": "city", "service_agency": True},
    {"id": "ax", "kind": "agency", "in_city": False, "transfer_agency_level": "city", "service_agency": True},
]
IDS = [o["id"] for o in ORGS]
CAPS = {"A1.DT": Decimal(500000), "A1.CS": Decimal(200000), "A2.city": Decimal(500000), "A4": Decimal(500000),
        "A5": Decimal(500000)}

amounts = st.one_of(st.integers(0, 10**6), st.integers(0, 10**11)).map(lambda f: f"{f // 100}.{f % 100:02d}")
days = st.dates(date(2023, 1, 1), date(2025, 12, 31)).map(date.isoformat)
in_year_days = st.dates(date(2024, 1, 1), date(2024, 12, 31)).map(date.isoformat)
statuses = st.sampled_from(["paid", "paid", "paid", "paid", "refunded", "cancelled"])


@st.composite
def transaction(draw, day=days, status=statuses, reg_pool=8, project=True):
    kind = draw(st.sampled_from(["tech_contract", "voucher_service", "instrument_lease", "instrument_service"]))
    t = {"type": kind, "amount": draw(amounts), "status": draw(status)}
    if kind == "tech_contract":
        t.update(contract_type=draw(st.sampled_from(["development", "transfer", "consulting", "service"])),
                 seller=draw(st.sampled_from(IDS)), buyer=draw(st.sampled_from(IDS)))
        if t["contract_type"] == "transfer" and draw(st.booleans()):
            t["transfer_kind"] = draw(st.sampled_from(["assignment", "licence"]))
        if draw(st.booleans()) or not reg_pool:
            t.update(registration_no=f"R{draw(st.integers(0, reg_pool))}" if reg_pool else None,
                     registered_on=draw(day))
        if project and draw(st.booleans()):
            t["project"] = draw(st.sampled_from(["P1", "P2"]))
        if draw(st.booleans()):
            t.update(broker=draw(st.sampled_from(["a1", "a2", "ax"])), transformed_in_city=draw(st.booleans()))
    elif kind == "voucher_service":
        t.update(buyer=draw(st.sampled_from(IDS)), provider=draw(st.sampled_from(IDS)), date=draw(day))
    elif kind == "instrument_lease":
        t.update(lessee=draw(st.sampled_from(IDS)), instrument=draw(st.sampled_from(["I1", "I2"])), date=draw(day),
                 financing_lease=draw(st.booleans()), on_sharing_platform=draw(st.booleans()))
    else:
        t.update(provider=draw(st.sampled_from(IDS)), customer=draw(st.sampled_from(IDS)),
                 instrument=draw(st.sampled_from(["I1", "I2"])), date=draw(day))
    return t


@st.composite
def scenarios(draw, max_size=25):
    txns = draw(st.lists(transaction(), max_size=max_size))
    for i, t in enumerate(txns):
        t["id"] = f"X{i:03d}"
    return {"year": 2024, "organizations": ORGS, "transactions": txns}


@SETTINGS
@given(scenarios())
def test_no_cap_is_ever_exceeded(scenario):
    result = evaluate(scenario)
    fees = {t["id"]: Decimal(t["amount"]) for t in scenario["transactions"]}
    totals = {k: Decimal(v) for k, v in result.to_dict()["totals"].items()}
    assert totals["city"] + totals["province"] == sum(a.amount for a in result.awards)
    assert 0 <= totals["flagged"] <= totals["city"]
    for a in result.awards:
        assert a.amount > 0
        assert a.amount == a.amount.quantize(Decimal("0.01"))
        if a.clause in CAPS:
            assert a.amount <= CAPS[a.clause], a
        if a.clause == "A3":
            assert a.amount + a.enterprise_pays == fees[a.transactions[0]]


def _order(t):
    """CLAUSES.md's order of contracts: registration date, registration number as text, id."""
    return (t.get("registered_on") or t.get("date") or "", t.get("registration_no") or "", t["id"])


def _is_assignment(t):
    return (t["type"] == "tech_contract" and t["contract_type"] == "transfer"
            and t.get("transfer_kind", "assignment") == "assignment" and bool(t.get("project")))


@SETTINGS
@given(scenarios(), st.lists(transaction(day=days, status=st.just("paid"), reg_pool=0), min_size=1, max_size=3))
def test_more_turnover_never_lowers_an_award_except_by_the_value_added_rule(scenario, extra):
    """CLAUSES.md: more eligible turnover of a beneficiary never lowers its subsidy. The one
    exception is the value-added rule: an earlier assignment of the same project, once known,
    lowers a LATER assignment's base — so only the A1 awards of sellers of later assignments of
    the project of an added assignment may fall; every other award must not."""
    for i, t in enumerate(extra):
        t["id"] = f"Y{i}"
        if t["type"] == "tech_contract":
            t.update(registration_no=f"NEW{i}", registered_on=t.get("registered_on") or "2024-06-01")
    exempt = set()
    for x in extra:
        if _is_assignment(x):
            for t in scenario["transactions"] + extra:
                if _is_assignment(t) and t["project"] == x["project"] and _order(t) > _order(x):
                    exempt.add(("A1.DT", t["seller"]))
    before = {(a.clause, a.beneficiary): a.amount for a in evaluate(scenario).awards if a.clause != "A3"}
    bigger = dict(scenario, transactions=scenario["transactions"] + extra)
    after = {(a.clause, a.beneficiary): a.amount for a in evaluate(bigger).awards if a.clause != "A3"}
    for key, amount in before.items():
        if key not in exempt:
            assert after.get(key, Decimal(0)) >= amount, (key, amount, after.get(key))


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 2 * 10**8), days, statuses, st.sampled_from(["u1", "u2", "e1", "e2", "m1"]),
                          st.sampled_from(["assignment", "assignment", "licence"])), min_size=1, max_size=12))
def test_the_subsidised_base_of_one_project_is_its_highest_assignment_price_plus_its_licences(deals):
    """800k → 1.0M → 900k → 1.1M counts 800k + 200k + 0 + 100k: over all years, the bases of a
    project's paid assignments add up to its highest paid assignment price, whatever the order,
    sellers and refunds; licences count in full on top."""
    txns = [{"id": f"P{i:02d}", "type": "tech_contract", "contract_type": "transfer", "transfer_kind": kind,
             "seller": seller, "buyer": "e2" if seller != "e2" else "e1", "amount": f"{fen // 100}.{fen % 100:02d}",
             "registration_no": f"R{i:02d}", "registered_on": day, "project": "PAT", "status": status}
            for i, (fen, day, status, seller, kind) in enumerate(deals)]
    base = Decimal(0)
    for year in (2023, 2024, 2025):
        result = evaluate({"year": year, "organizations": ORGS, "transactions": txns})
        for a in result.awards + result.nil_awards:
            if a.clause == "A1.DT":
                base += next(s.values["turnover"] for s in a.trace if s.key in ("a1.turnover", "a1.base"))
    paid = [t for t in txns if t["status"] == "paid"]
    highest = max((Decimal(t["amount"]) for t in paid if t["transfer_kind"] == "assignment"), default=Decimal(0))
    licences = sum((Decimal(t["amount"]) for t in paid if t["transfer_kind"] == "licence"), Decimal(0))
    assert base == highest + licences


@SETTINGS
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_order_of_transactions_never_matters(scenario, rnd):
    shuffled = list(scenario["transactions"])
    rnd.shuffle(shuffled)
    orgs = list(scenario["organizations"])
    rnd.shuffle(orgs)
    whole = evaluate(scenario)
    again = evaluate(dict(scenario, transactions=shuffled, organizations=orgs))
    assert again.to_dict() == whole.to_dict()
    assert again.to_dict("zh") == whole.to_dict("zh")
    assert again.explain("zh") == whole.explain("zh")


@SETTINGS
@given(st.integers(0, MAX_FEN), st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_voucher_splits_add_up_to_the_fee_exactly(fen, on):
    fee = Decimal(fen) / 100
    s = voucher_split(fee, on)
    assert s.province + s.city + s.enterprise == fee
    assert min(s) >= 0
    assert s.province == (fee * Decimal("0.6")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert s.city == (fee * Decimal("0.3")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")


@SETTINGS
@given(st.integers(0, 10**9), st.decimals(0, 1, places=4), st.decimals(0, 1, places=4))
def test_split_never_negative_for_any_shares(fen, ps, cs):
    if ps + cs > 1:
        ps, cs = ps / 2, cs / 2
    p, c, e = split_fen(fen, ps, cs)
    assert p + c + e == fen and min(p, c, e) >= 0


@SETTINGS
@given(scenarios())
def test_no_transaction_funds_one_clause_twice(scenario):
    result = evaluate(scenario)
    by_clause = Counter()
    for a in result.awards:
        for tid in a.transactions:
            by_clause[(a.clause.split(".")[0] if a.clause.startswith("A1") else a.clause, tid)] += 1
    assert all(n == 1 for n in by_clause.values()), by_clause
    # one registration number (one technology-transfer activity) is counted once under A1
    reg_of = {t["id"]: t.get("registration_no") for t in scenario["transactions"]}
    regs = Counter(reg_of[tid] for a in result.awards if a.clause.startswith("A1") for tid in a.transactions)
    assert all(n == 1 for n in regs.values()), regs
    # and a refunded or cancelled transaction funds nothing
    dead = {t["id"] for t in scenario["transactions"] if t["status"] != "paid"}
    assert not dead & {tid for a in result.awards for tid in a.transactions}


@SETTINGS
@given(scenarios())
def test_the_stream_gives_the_same_result(scenario):
    whole = evaluate(scenario)
    lean = evaluate_stream(2024, ORGS, iter(scenario["transactions"]), collect_ids=False)
    assert [(a.clause, a.beneficiary, a.amount) for a in lean.awards] == \
           [(a.clause, a.beneficiary, a.amount) for a in whole.awards]


GRAMMAR = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]{1,2})?")  # CLAUSES.md "Reading an amount", ASCII digits only


@SETTINGS
@given(st.one_of(st.text(max_size=20), st.from_regex(GRAMMAR, fullmatch=True),
                 st.text(alphabet="0123456789.+-eE, _\uff10\u0665", max_size=18)))
def test_an_amount_is_read_exactly_as_the_grammar_says(text):
    """Every string the grammar allows (up to 999,999,999,999.99) is read to the exact fen;
    every other string is refused with an AmountError — never another exception."""
    if GRAMMAR.fullmatch(text) and Decimal(text) <= Decimal("999999999999.99"):
        assert parse_amount(text) == int(Decimal(text) * 100)
    else:
        with pytest.raises(AmountError):
            parse_amount(text)
