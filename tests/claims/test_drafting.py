"""Drafted claims are the rules engine's awards, filed per (year, clause, beneficiary), and
follow the ledger: a purchase recomputes them, a refund withdraws them, a refund after payout
records a clawback and rewrites nothing."""
import json
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from marketplace.claims import budgets as claims_budgets
from marketplace.claims import models as m
from marketplace.core.money import yuan_to_fen
from marketplace.core.timeutil import beijing_today, frozen_at, utcnow
from marketplace.demo import loader
from marketplace.demo.year import demo_year
from marketplace.extensions import db
from marketplace.ledger.scenario import build_scenario
from marketplace.outbox import OutboxEntry
from marketplace.review import services as review
from marketplace.subsidies import evaluate
from tests.claims.helpers import as_user, buy_with_voucher, claim_of, published_service
from tests.factories import login

ROOT = Path(__file__).resolve().parents[2]
A_CLAUSES = ("A1.DT", "A1.CS", "A2.city", "A3", "A4", "A4.match", "A5")


def test_drafting_equals_the_engine_on_the_exported_scenario_and_the_cli(app_ctx, tmp_path):
    loader.load_all()
    year = demo_year()
    runner = app_ctx.test_cli_runner()
    out = runner.invoke(args=["claims", "draft", "--year", str(year)])
    assert out.exit_code == 0, out.output
    assert f"claims {year}:" in out.output and "unchanged" in out.output  # the demo step drafted them already

    target = tmp_path / "year.json"
    out = runner.invoke(args=["subsidies", "scenario", "--year", str(year), "--output", str(target)])
    assert out.exit_code == 0, out.output
    run = subprocess.run([sys.executable, "-m", "marketplace.subsidies", "evaluate", str(target)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    engine = [{k: a[k] for k in ("clause", "beneficiary", "amount")} for a in json.loads(run.stdout)["awards"]]
    assert engine, "the demo year has awards"

    out = runner.invoke(args=["claims", "list", "--year", str(year), "--json"])
    assert out.exit_code == 0, out.output
    listed = json.loads(out.output)
    assert set(listed) == {"awards"}
    assert all(set(a) == {"clause", "beneficiary", "amount"} for a in listed["awards"])
    assert [a for a in listed["awards"] if a["clause"] in A_CLAUSES] == engine

    # One claim per (clause, beneficiary), its amount the sum of the engine's awards (A3: per voucher).
    totals: dict = {}
    for a in engine:
        totals[(a["clause"], a["beneficiary"])] = totals.get((a["clause"], a["beneficiary"]), 0) + yuan_to_fen(a["amount"])
    claims = db.session.scalars(select(m.Claim).where(m.Claim.year == year, m.Claim.source == m.ENGINE)).all()
    assert {(c.clause, c.organization.credit_code): c.engine_amount_fen for c in claims} == totals
    for c in claims:
        if c.status not in (m.PAID, m.REJECTED):
            assert c.amount_fen == c.engine_amount_fen


def test_claim_pages_show_the_city_the_province_and_the_flagged_apart(client, factory):
    """On the demo year: an A3 claim shows the province's and the city's money as two figures;
    both claims behind an A1/A2.city overlap say their whole amount stands on the flag; the
    trace names organisations with their code in brackets."""
    loader.load_all()
    year = demo_year()
    claims = db.session.scalars(select(m.Claim).where(m.Claim.year == year, m.Claim.source == m.ENGINE)).all()
    as_user(client, factory.user("reviewer"))
    a3 = next(c for c in claims if c.clause == "A3")
    page = client.get(f"/review/claims/{a3.id}").get_data(as_text=True)
    assert 'data-payer="city"' in page and 'data-payer="province"' in page and "合计" not in page
    overlap = [c for c in claims if any(f["kind"] == "overlap" for f in c.flags)]
    assert {c.clause for c in overlap} >= {"A2.city"} and len({c.clause for c in overlap}) == 2
    for c in overlap:
        page = client.get(f"/review/claims/{c.id}").get_data(as_text=True)
        assert f'data-flagged="{c.amount_fen}"' in page
        # the beneficiary by name, its credit code on hover (names, not codes: issue 21)
        assert (f'受益方：<span class="named" title="统一社会信用代码 {c.organization.credit_code}">'
                f"{c.organization.name}</span>") in page


def test_a_purchase_recomputes_the_drafted_claim(client, provider, enterprise):
    service = published_service(provider)
    buy_with_voucher(client, enterprise, service)
    a3 = claim_of(enterprise.organization, "A3")
    assert (a3.status, a3.amount_fen) == (m.DRAFTED, 4_500_000)  # province 30,000 + city 15,000
    a4 = claim_of(provider.organization, "A4")
    assert a4.amount_fen == 250_000  # 5% of the 50,000 voucher service
    assert db.session.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.topic == "claims")) == 0

    buy_with_voucher(client, enterprise, service)  # a new ledger event, through a real purchase
    again = claim_of(enterprise.organization, "A3")
    assert again.id == a3.id and again.amount_fen == 9_000_000
    assert len(again.trace) == 2 and len(again.transactions) == 2  # one trace part per voucher award
    assert claim_of(provider.organization, "A4").amount_fen == 500_000
    # Still exactly the engine, never a second implementation.
    result = evaluate(build_scenario(db.session, utcnow().year))
    assert Decimal(again.amount_fen) / 100 == result.total("A3")


def test_trace_renders_in_chinese_and_english(client, provider, enterprise):
    service = published_service(provider)
    buy_with_voucher(client, enterprise, service)
    claim = claim_of(enterprise.organization, "A3")
    login(client, enterprise)
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert "创新券服务" in page and "省补贴：60% × 50,000.00 = 30,000.00" in page
    assert "分别支付：省财政 30,000.00，市财政 15,000.00" in page
    # the province's 60% and the city's 30% are two payments: shown apart, never one figure
    assert 'data-payer="city"><strong>¥15,000.00' in page and 'data-payer="province"><strong>¥30,000.00' in page
    assert "45,000.00" not in page and "合计" not in page
    mine = client.get("/claims").get_data(as_text=True)
    assert "市财政 ¥15,000.00 · 省财政 ¥30,000.00" in mine and "45,000.00" not in mine
    client.post("/lang/en")
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert "voucher service" in page and "paid separately: the province 30,000.00, the city 15,000.00" in page
    assert "45,000.00" not in page


def test_the_beneficiary_submits_and_others_may_not(client, factory, provider, enterprise):
    service = published_service(provider)
    buy_with_voucher(client, enterprise, service)
    claim = claim_of(enterprise.organization, "A3")
    as_user(client, factory.user("enterprise"))
    assert client.get(f"/claims/{claim.id}").status_code == 403
    assert client.post(f"/claims/{claim.id}/submit").status_code == 403
    as_user(client, provider)  # a party to the trade, but not the beneficiary
    assert client.post(f"/claims/{claim.id}/submit").status_code == 403
    as_user(client, enterprise)
    client.post("/lang/en")
    assert "My subsidy claims" in client.get("/home").get_data(as_text=True)
    assert f"/claims/{claim.id}" in client.get("/claims").get_data(as_text=True)
    assert client.post(f"/claims/{claim.id}/submit").status_code == 302
    claim = claim_of(enterprise.organization, "A3")
    assert claim.status == m.SUBMITTED and claim.submitted_at is not None
    assert [d.action for d in claim.decisions] == ["drafted", "submitted"]
    assert client.post(f"/claims/{claim.id}/submit").status_code == 409  # only once


def test_a_refund_before_submission_withdraws_the_drafted_claim(client, provider, enterprise):
    service = published_service(provider)
    order_id = buy_with_voucher(client, enterprise, service)
    as_user(client, provider)
    assert client.post(f"/orders/{order_id}/refund", data={"reason": "客户撤回送检"}).status_code == 302
    claim = claim_of(enterprise.organization, "A3")
    assert (claim.status, claim.amount_fen) == (m.WITHDRAWN, 0)
    buy_with_voucher(client, enterprise, service)  # the award comes back: drafted again
    claim = claim_of(enterprise.organization, "A3")
    assert (claim.status, claim.amount_fen) == (m.DRAFTED, 4_500_000)


def test_an_approved_claim_whose_amount_changes_goes_back_to_review(client, factory, provider, enterprise):
    finance, reviewer = factory.user("finance"), factory.user("reviewer")
    service = published_service(provider)
    buy_with_voucher(client, enterprise, service)
    claim = claim_of(enterprise.organization, "A3")
    claims_budgets.set_budget(finance, utcnow().year, "A3", 100_000_000)
    as_user(client, enterprise).post(f"/claims/{claim.id}/submit")
    review.approve(reviewer, claim.id)
    assert claim_of(enterprise.organization, "A3").status == m.ON_NOTICE
    client.post("/logout")
    buy_with_voucher(client, enterprise, service)
    claim = claim_of(enterprise.organization, "A3")
    assert (claim.status, claim.amount_fen, claim.notice_from) == (m.SUBMITTED, 9_000_000, None)
    last = claim.decisions[-1]
    assert (last.action, last.from_status, last.amount_before_fen, last.amount_after_fen) == \
        ("recomputed", m.ON_NOTICE, 4_500_000, 9_000_000)


def test_a_refund_after_payout_records_a_clawback_and_keeps_history(client, factory, provider, enterprise):
    finance, reviewer = factory.user("finance"), factory.user("reviewer")
    service = published_service(provider)
    order_id = buy_with_voucher(client, enterprise, service)
    claim = claim_of(enterprise.organization, "A3")
    claims_budgets.set_budget(finance, utcnow().year, "A3", 100_000_000)
    as_user(client, enterprise).post(f"/claims/{claim.id}/submit")
    as_user(client, reviewer)
    assert client.post(f"/review/claims/{claim.id}/approve", data={}).status_code == 302
    later = utcnow() + timedelta(days=8)
    with frozen_at(later):
        as_user(client, finance)
        assert client.post(f"/review/claims/{claim.id}/pay", data={}).status_code == 302
        claim = claim_of(enterprise.organization, "A3")
        assert claim.status == m.PAID and claim.paid_fen == 4_500_000
        decisions_before = [(d.id, d.action, d.to_status) for d in claim.decisions]
        payout = claim.payouts[0]
        paid_trace = json.dumps(payout.trace, sort_keys=True)

        as_user(client, provider)
        assert client.post(f"/orders/{order_id}/refund", data={"reason": "服务未完成"}).status_code == 302

    claim = claim_of(enterprise.organization, "A3")
    assert claim.status == m.PAID and claim.amount_fen == 4_500_000  # history is not rewritten
    assert claim.engine_amount_fen == 0
    assert [(c.amount_fen, c.engine_amount_fen, c.organization_id) for c in claim.clawbacks] == \
        [(4_500_000, 0, enterprise.organization.id)]
    assert claim.clawbacks[0].transactions_removed == [f"VCH-{order_id}"]
    assert [(d.id, d.action, d.to_status) for d in claim.decisions][:len(decisions_before)] == decisions_before
    assert claim.decisions[-1].action == "clawback"
    assert len(claim.payouts) == 1 and claim.payouts[0].amount_fen == 4_500_000
    assert json.dumps(claim.payouts[0].trace, sort_keys=True) == paid_trace
    # Recomputing again claws back nothing more.
    out = client.application.test_cli_runner().invoke(args=["claims", "draft", "--year", str(claim.year)])
    assert out.exit_code == 0, out.output
    assert len(claim_of(enterprise.organization, "A3").clawbacks) == 1
    as_user(client, enterprise)
    client.post("/lang/en")
    assert "Clawback" in client.get(f"/claims/{claim.id}").get_data(as_text=True)


def test_related_party_purchases_are_flagged_on_the_claim(client, factory, provider, enterprise):
    from marketplace.accounts.models import Membership

    db.session.add(Membership(user_id=enterprise.id, organization_id=provider.organization.id, role="provider"))
    db.session.commit()
    service = published_service(provider)
    order_id = buy_with_voucher(client, enterprise, service)
    claim = claim_of(enterprise.organization, "A3")
    assert claim.flagged and [f["kind"] for f in claim.flags] == ["related_party"]
    assert claim.flags[0]["transactions"] == [f"VCH-{order_id}"]


def test_a_crash_before_the_drain_is_caught_up_by_the_cli(app_ctx, factory, provider, enterprise):
    from marketplace.orders import services as orders
    from marketplace.payments import services as payments
    from marketplace.vouchers import services as vouchers
    from tests.voucher_helpers import REPORT, give_voucher

    service = published_service(provider)
    give_voucher(enterprise.organization)
    order = orders.order_service(enterprise, service.id, with_voucher=True)
    payments.checkout(enterprise, order.id)
    vouchers.deliver(provider, order.id, "完成", REPORT)
    vouchers.accept(enterprise, order.id)  # committed; no request, so no drain ran
    assert claim_of(enterprise.organization, "A3") is None
    out = app_ctx.test_cli_runner().invoke(args=["claims", "drain"])
    assert "applied" in out.output and out.exit_code == 0
    assert claim_of(enterprise.organization, "A3").amount_fen == 4_500_000
    assert db.session.scalar(select(func.count()).select_from(OutboxEntry).where(OutboxEntry.topic == "claims")) == 0


def _licence_sold_and_registered(client, buyer, seller, patent, mode, reg_no):
    """The buyer buys the achievement in ``mode`` and pays; the seller registers the contract."""
    from marketplace.orders.models import TechContract

    as_user(client, buyer)
    response = client.post(f"/listings/{patent.id}/buy", data={"transfer_mode": mode})
    assert response.status_code == 302, response.data[:300]
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    contract = db.session.scalar(select(TechContract).where(TechContract.order_id == order_id))
    as_user(client, seller)
    assert client.post(f"/contracts/{contract.id}/register", data={
        "registration_no": reg_no, "registered_on": beijing_today().isoformat(),
        "contract_type": "transfer"}).status_code == 302
    client.post("/logout")
    return contract


def test_a_university_that_licenses_the_same_patent_to_a_second_enterprise_gets_its_claim(client, factory):
    """CLAUSES.md A1: a licence of the same patent to another licensee is a new transfer
    activity and counts in full; only assignments fall under the value-added rule."""
    from marketplace.ledger.models import LedgerEntry
    from marketplace.listings import services as listings

    university = factory.user("university", kind="university", name="聊城大学")
    first, second = factory.user("enterprise", size="small"), factory.user("enterprise", size="medium")
    listing = listings.create_listing(university, "achievement", {
        "title": "一种轴承钢热处理方法", "description": "", "price_fen": 60_000_000, "negotiable": False,
        "ip_kind": "invention_patent", "maturity": "pilot", "transfer_modes": ["non_exclusive_licence", "assignment"]})
    patent = listings.publish(university, listing.id)
    _licence_sold_and_registered(client, first, university, patent, "non_exclusive_licence", "2026370015000001")
    _licence_sold_and_registered(client, second, university, patent, "non_exclusive_licence", "2026370015000002")

    kinds = [json.loads(e.payload).get("transfer_kind") for e in
             db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "contract_registered"))]
    assert kinds == ["licence", "licence"]
    scenario = build_scenario(db.session, utcnow().year)
    assert {t["transfer_kind"] for t in scenario["transactions"] if t["type"] == "tech_contract"} == {"licence"}
    claim = claim_of(university.organization, "A1.DT")
    # 600,000 + 600,000 = 1,200,000, both in full; 1.5% × 1,200,000 = 18,000.00
    # (read as a resale, the second licence would add max(0, 600,000 − 600,000) = 0 → 9,000.00)
    assert (claim.status, claim.amount_fen) == (m.DRAFTED, 1_800_000)
    assert not any(f["kind"] == "repeated_transfer" for f in claim.flags)
    as_user(client, university)
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert "技术转让·许可" in page and "全额计入" in page


def test_an_assignment_after_an_assignment_counts_only_the_value_added(client, factory):
    """The value-added rule still holds for assignments sold on the platform, and the trace
    names the earlier assignment it compared with."""
    from marketplace.listings import services as listings

    university = factory.user("university", kind="university", name="聊城大学")
    first, second = factory.user("enterprise", size="small"), factory.user("enterprise", size="medium")
    listing = listings.create_listing(university, "achievement", {
        "title": "一种轴承钢热处理方法", "description": "", "price_fen": 60_000_000, "negotiable": False,
        "ip_kind": "invention_patent", "maturity": "pilot", "transfer_modes": ["assignment"]})
    patent = listings.publish(university, listing.id)
    earlier = _licence_sold_and_registered(client, first, university, patent, "assignment", "2026370015000001")
    _licence_sold_and_registered(client, second, university, patent, "assignment", "2026370015000002")
    claim = claim_of(university.organization, "A1.DT")
    # 600,000 + max(0, 600,000 − 600,000) = 600,000; 1.5% × 600,000 = 9,000.00
    assert claim.amount_fen == 900_000
    as_user(client, university)
    page = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert f"此前已支付的转让中价格最高的是合同 {earlier.ref}" in page and "增值部分" in page
