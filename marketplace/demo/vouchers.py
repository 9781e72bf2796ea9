"""The demo's innovation vouchers: provider admissions, applications in every state, vouchers
partly used and lapsed, services delivered with a report and accepted, disputed or accepted
automatically, a redemption batch paid. Called by the demo year (``marketplace.demo.year``)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from marketplace.core.timeutil import frozen_at, utcnow
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.orders import services as orders
from marketplace.payments import services as payments
from marketplace.vouchers import services as vouchers
from marketplace.vouchers.models import ProviderAdmission, RedemptionBatch

REVIEWER, FINANCE = "reviewer@kjj.liaocheng.demo", "finance@czj.liaocheng.demo"
REPORT = b"%PDF-1.4\n% demo test report\n"


def admit_providers(context: dict, year: int) -> None:
    """The testing centre applies and is admitted; the other agencies marked in the city file
    were admitted before the procedure (as the migration records them)."""
    u, o = context["users"], context["organizations"]
    reviewer = u[REVIEWER]
    with frozen_at(datetime(year, 1, 2, 2)):
        admission = vouchers.apply_admission(u["lab@jck.liaocheng.demo"], "理化检测、材料力学性能检测、食品安全检测、"
                                             "大型仪器共享", ["CMA", "CNAS"])
        vouchers.decide_admission(reviewer, admission.id, "admit")
        with unit_of_work():
            for key, org in o.items():
                if org.service_agency and key != "jck" and db.session.scalar(
                        select(ProviderAdmission.id).where(ProviderAdmission.organization_id == org.id)) is None:
                    db.session.add(ProviderAdmission(organization_id=org.id, scope="科技服务", status="admitted",
                                                     note="首批入库的科技服务机构", decided_by_id=reviewer.id,
                                                     decided_at=utcnow()))


def issue(context: dict, year: int) -> None:
    """Applications of the demo year: two approved, one rejected."""
    u = context["users"]
    reviewer, jx, zl = u[REVIEWER], u["boss@jx.liaocheng.demo"], u["rd@zl.liaocheng.demo"]
    with frozen_at(datetime(year, 1, 6, 2)):
        a = vouchers.apply(jx, year, 10_000_000, "委托检测液相色谱、食品安全项目")
        b = vouchers.apply(zl, year, 8_000_000, "轴承材料力学性能检测")
    with frozen_at(datetime(year, 1, 10, 2)):
        vouchers.decide_application(reviewer, a.id, "approve", 10_000_000)
        vouchers.decide_application(reviewer, b.id, "approve", 5_000_000, "按年度预算核定")
    with frozen_at(datetime(year, 3, 1, 2)):
        c = vouchers.apply(zl, year, 3_000_000, "追加检测项目")
    with frozen_at(datetime(year, 3, 4, 2)):
        vouchers.decide_application(reviewer, c.id, "reject", None, "本年度已核发创新券，不重复核发")


def service(buyer, provider, listing, when: datetime, accept: str = "accept"):
    """A voucher service: ordered and paid, delivered with a report three days later, then
    accepted two days after (``accept``: "accept", "dispute", "auto" or "none")."""
    with frozen_at(when):
        order = orders.order_service(buyer, listing.id, with_voucher=True)
        payments.checkout(buyer, order.id)
    with frozen_at(when + timedelta(days=3)):
        vouchers.deliver(provider, order.id, "检测已完成，报告见附件", [("检测报告.pdf", REPORT)])
    with frozen_at(when + timedelta(days=5)):
        if accept == "accept":
            vouchers.accept(buyer, order.id)
            vouchers.rate(buyer, order.id, 5, "报告详实，出具及时")
        elif accept == "dispute":
            vouchers.dispute(buyer, order.id, "报告缺少样品编号，请补充")
    if accept == "auto":
        with frozen_at(when + timedelta(days=40)):
            vouchers.auto_accept()
    return order


def accept_booking(customer, booking, when: datetime) -> None:
    if booking.order_id:
        with frozen_at(when):
            vouchers.accept(customer, booking.order_id)


def states(context: dict, year: int, made: dict) -> None:
    """After the demo year's trade: a batch paid, the year's vouchers lapsed, and this year's
    applications waiting (pending, material requested) and a disputed delivery."""
    u = context["users"]
    reviewer, finance = u[REVIEWER], u[FINANCE]
    jx, zl, lab = u["boss@jx.liaocheng.demo"], u["rd@zl.liaocheng.demo"], u["lab@jck.liaocheng.demo"]
    with frozen_at(datetime(year, 4, 2, 2)):  # the testing centre's February batch, paid
        feb = db.session.scalar(select(RedemptionBatch).where(
            RedemptionBatch.month == f"{year}-02", RedemptionBatch.status == "open",
            RedemptionBatch.provider_org_id == context["organizations"]["jck"].id))
        if feb is not None:
            vouchers.pay_batch(finance, feb.id)
    vouchers.lapse_expired()  # today: the demo year's vouchers are past their use-by date
    now = utcnow()
    if now.year != year + 1 or now - timedelta(days=40) < datetime(year + 1, 1, 3):
        return  # early in the year: this year's part of the demo waits until there is room for it
    this = year + 1
    with frozen_at(now - timedelta(days=30)):
        a = vouchers.apply(zl, this, 5_000_000, "轴承钢热处理检测")
        b = vouchers.apply(jx, this, 6_000_000, "新产品型式检验")
    with frozen_at(now - timedelta(days=28)):
        vouchers.decide_application(reviewer, a.id, "approve", 5_000_000)
        vouchers.decide_application(reviewer, b.id, "material", None, "请补充检验项目清单和报价")
    service(zl, lab, made["材料力学性能检测"], now - timedelta(days=20), accept="dispute")
    with frozen_at(now - timedelta(days=2)):
        vouchers.apply(zl, this + 1, 4_000_000, "下一年度检测计划")
    from marketplace.demo.trade import this_year

    this_year(context, now)
