"""Demo step: the demo year's claims drafted from the ledger, budgets entered by city finance,
and a few claims walked through review by the real services so that every state shows:
paid, approved and on notice, approved and payable, submitted, rejected with a reason, waiting for evidence, an
award claim filed with evidence, and drafted ones. Dates are relative to today, so the notice
periods make sense whenever the demo is loaded. Idempotent: once budgets exist, it stops."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from marketplace.claims import drafting
from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.timeutil import frozen_at, utcnow
from marketplace.demo.year import demo_year
from marketplace.extensions import db
from marketplace.review import services as review

BUDGETS = {  # yuan: the city's budget of the year for each clause
    "A1.DT": 6_000_000, "A1.CS": 500_000, "A2.city": 1_500_000, "A3": 1_500_000, "A4": 600_000, "A5": 1_500_000,
    "B2": 2_000_000,
}
# A tiny, valid PDF: the evidence of the demo's award claim.
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def _claim(year: int, clause: str, org) -> m.Claim | None:
    return db.session.scalar(select(m.Claim).where(m.Claim.year == year, m.Claim.clause == clause,
                                                   m.Claim.organization_id == org.id, m.Claim.source == m.ENGINE))


def load_claims(context: dict) -> None:
    year = demo_year()
    if db.session.scalar(select(m.ClaimBudget.id).where(m.ClaimBudget.year == year).limit(1)) is not None:
        return  # already walked through review
    u, o = context["users"], context["organizations"]
    reviewer, finance = u["reviewer@kjj.liaocheng.demo"], u["finance@czj.liaocheng.demo"]
    now = utcnow()

    with frozen_at(now - timedelta(days=55)):  # the province's notice of its service-performance rewards
        review.record_provincial_reward(finance, o["jck"].id, year, 8_000_000)
    with frozen_at(now - timedelta(days=50)):
        drafting.recompute_year(year)
        drafting.clear_pending({year})
    with frozen_at(now - timedelta(days=45)):
        for clause, yuan in BUDGETS.items():
            claims.set_budget(finance, year, clause, yuan * 100)

    def walk(clause, org_key, user_email, days_ago):
        claim = _claim(year, clause, o[org_key])
        if claim is None:
            return None
        with frozen_at(now - timedelta(days=days_ago)):
            claims.submit(u[user_email], claim.id)
        return claim

    # Paid: A4 of the testing centre, approved and past its notice, paid by finance.
    paid = walk("A4", "jck", "lab@jck.liaocheng.demo", 40)
    if paid is not None:
        with frozen_at(now - timedelta(days=39)):
            review.approve(reviewer, paid.id)
        with frozen_at(now - timedelta(days=30)):
            review.pay(finance, paid.id)
    # Approved and on public notice: A1.DT of Liaocheng University.
    noticed = walk("A1.DT", "lcu", "tech-transfer@lcu.liaocheng.demo", 3)
    if noticed is not None:
        with frozen_at(now - timedelta(days=1)):
            review.approve(reviewer, noticed.id, note="合同均经认定登记，成交额与账本一致。")
    # Approved, its notice period over: the academy's A1.DT claim waits for finance to pay.
    payable = walk("A1.DT", "nky", "office@nky.liaocheng.demo", 14)
    if payable is not None:
        with frozen_at(now - timedelta(days=12)):
            review.approve(reviewer, payable.id, note="认定登记合同与账本一致。")
    # Submitted, waiting for the reviewer: an enterprise's innovation-voucher subsidy.
    walk("A3", "jx", "boss@jx.liaocheng.demo", 2)
    # Rejected with a reason: the agency's A2.city claim overlaps the sellers' A1 claims.
    rejected = walk("A2.city", "zyzx", "broker@zyzx.liaocheng.demo", 10)
    if rejected is not None:
        with frozen_at(now - timedelta(days=8)):
            review.reject(reviewer, rejected.id, "所列合同已按A1.DT补助技术输出方；同一项技术转移活动仅补助一次，"
                                                 "请核减重复合同后重新申报。")
    # Waiting for evidence: A5 needs the “服务成效良好” judgement.
    asked = walk("A5", "jck", "lab@jck.liaocheng.demo", 6)
    if asked is not None:
        with frozen_at(now - timedelta(days=5)):
            review.request_evidence(reviewer, asked.id, "请补充共享仪器对外服务成效材料（服务记录、用户评价），"
                                                        "以便判断服务成效是否良好。")
    # An award claim filed with evidence: a newly recognised provincial demonstration enterprise.
    _walk_city(context, year, now)
    with frozen_at(now - timedelta(days=4)):
        claims.file_claim(u["rd@zl.liaocheng.demo"], o["zl"].id, "B2",
                          {"level": "provincial", "newly_recognised": True, "recognised_on": f"{year}-11-20"},
                          year, files=[("省级技术创新示范企业认定文件.pdf", DEMO_PDF)])



def _walk_city(context: dict, year: int, now) -> None:
    """The generated organisations' claims: about half submitted over the last weeks, and of
    those some approved (on notice), a few rejected or asked for evidence, the rest waiting."""
    import random

    u = context["users"]
    reviewer = u["reviewer@kjj.liaocheng.demo"]
    people = {s["org"].id: s["user"] for s in context.get("generated", [])}
    rnd = random.Random(year)
    drafted = db.session.scalars(select(m.Claim).where(
        m.Claim.year == year, m.Claim.source == m.ENGINE, m.Claim.status == m.DRAFTED, m.Claim.amount_fen > 0,
        m.Claim.organization_id.in_(list(people))).order_by(m.Claim.id)).all()
    for claim in drafted:
        if rnd.random() > 0.55:
            continue
        days = rnd.randrange(4, 30)
        with frozen_at(now - timedelta(days=days, hours=rnd.randrange(8))):
            claims.submit(people[claim.organization_id], claim.id)
        fate = rnd.choices(("approve", "reject", "evidence", "wait"), weights=(35, 7, 8, 50))[0]
        with frozen_at(now - timedelta(days=days - rnd.randrange(1, min(days, 4)), hours=rnd.randrange(8))):
            if fate == "approve":
                review.approve(reviewer, claim.id, good_service_results=claim.clause == "A5",
                               note="材料齐全，与账本记录一致。")
            elif fate == "reject":
                review.reject(reviewer, claim.id, "申报材料与认定登记信息不一致，请核实后重新申报。")
            elif fate == "evidence":
                review.request_evidence(reviewer, claim.id, "请补充合同履行情况说明和付款凭证。")
