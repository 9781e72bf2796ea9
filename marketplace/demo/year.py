"""The demo city-year: listings, then a year of trade replayed through the real services,
each event on its own date, so that the ledger, the payments and the bookings are exactly
what users would have produced. The year is the last complete calendar year."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from marketplace.core.timeutil import beijing_today, frozen_at
from marketplace.demo import trade as demo_trade
from marketplace.demo import vouchers as demo_vouchers
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.listings.models import Listing
from marketplace.orders import services as orders
from marketplace.orders.models import Booking
from marketplace.payments import services as payments

LISTINGS = [
    # (owner key, user email, kind, fields)
    ("lcu", "tech-transfer@lcu.liaocheng.demo", "achievement", dict(
        title="一种高强度轴承钢热处理工艺", field="高端装备", ip_kind="invention_patent", ip_number="ZL201910123456.7",
        maturity="pilot", transfer_modes=["non_exclusive_licence", "assignment"], price_fen=120_000_000,
        description="针对轴承钢淬火变形大、寿命短的问题，提出分级淬火与深冷处理结合的工艺，热处理变形减少40%，接触疲劳寿命提高一倍以上。已获发明专利授权，完成中试，可普通许可或转让。")),
    ("lcu", "tech-transfer@lcu.liaocheng.demo", "achievement", dict(
        title="阿胶品质快速检测方法", field="生物医药", ip_kind="invention_patent", ip_number="ZL202010654321.0",
        maturity="industrial", transfer_modes=["assignment", "exclusive_licence"], price_fen=60_000_000,
        description="基于近红外光谱和特征肽段的阿胶真伪与品质快速检测方法，15分钟出结果，准确率超过95%，已在东阿县多家企业应用。")),
    ("lcu", "tech-transfer@lcu.liaocheng.demo", "achievement", dict(
        title="设施蔬菜智能灌溉控制软件", field="现代农业", ip_kind="software_copyright", ip_number="2021SR0123456",
        maturity="industrial", transfer_modes=["non_exclusive_licence"], price_fen=20_000_000,
        description="温室土壤墒情监测与精准灌溉控制软件，手机即可查看和操作，节水40%以上，已在莘县设施蔬菜基地推广。")),
    ("lcu", "tech-transfer@lcu.liaocheng.demo", "achievement", dict(
        title="耐高温特种电缆绝缘材料", field="新材料", ip_kind="invention_patent", ip_number="ZL202110987654.3",
        maturity="lab", transfer_modes=["co_development"], negotiable=True, price_fen=None,
        description="可长期耐受180℃的交联聚烯烃绝缘材料，完成实验室小试，寻求电缆企业合作开展中试和产业化。")),
    ("nky", "office@nky.liaocheng.demo", "achievement", dict(
        title="小麦新品种“聊麦”系列", field="现代农业", ip_kind="new_variety", ip_number="CNA20191234.5",
        maturity="industrial", transfer_modes=["assignment"], price_fen=200_000_000,
        description="高产抗倒伏冬小麦新品种，适宜鲁西平原种植，区域试验平均亩产比对照增产8%以上。")),
    ("nky", "office@nky.liaocheng.demo", "achievement", dict(
        title="设施蔬菜病虫害绿色防控技术", field="现代农业", ip_kind="know_how", maturity="industrial",
        transfer_modes=["non_exclusive_licence"], price_fen=30_000_000,
        description="以生物防治为主的温室蔬菜病虫害综合防控技术规程，农药使用量减少30%，可派技术人员现场指导。")),
    ("jck", "lab@jck.liaocheng.demo", "service", dict(
        title="高端液相色谱仪检测服务", field="检验检测", price_fen=5_000_000,
        description="药品、食品中有效成分与残留的高效液相色谱（HPLC）定量检测，出具带CMA标志的检测报告。")),
    ("jck", "lab@jck.liaocheng.demo", "service", dict(
        title="材料力学性能检测", field="检验检测", price_fen=2_000_000,
        description="金属及非金属材料的拉伸、压缩、弯曲、冲击与硬度检测，一般5个工作日出具报告。")),
    ("jck", "lab@jck.liaocheng.demo", "service", dict(
        title="食品安全检验检测", field="检验检测", price_fen=1_200_000,
        description="食品及农产品的农药残留、重金属与微生物检测，可上门取样。")),
    ("jck", "lab@jck.liaocheng.demo", "instrument", dict(
        title="高效液相色谱仪", field="检验检测", category="色谱", model="Agilent 1260", location="高新区检测大楼301",
        price_unit="hour", price_fen=40_000, internal_price_fen=20_000, financing_lease=True, on_sharing_platform=True,
        open_from_hour=8, open_to_hour=18, description="高效液相色谱仪（HPLC），四元泵、二极管阵列检测器。以融资租赁方式购置，已纳入聊城市大型科研仪器共享平台。")),
    ("jck", "lab@jck.liaocheng.demo", "instrument", dict(
        title="扫描电子显微镜", field="新材料", category="电镜", model="SU8010", location="高新区检测大楼105",
        price_unit="hour", price_fen=80_000, internal_price_fen=40_000, financing_lease=True, on_sharing_platform=True,
        open_from_hour=8, open_to_hour=20, description="扫描电子显微镜（SEM），用于金属断口、涂层和粉体的微观形貌观察与微区成分分析。以融资租赁方式购置，已纳入聊城市大型科研仪器共享平台。")),
    ("jck", "lab@jck.liaocheng.demo", "instrument", dict(
        title="电感耦合等离子体质谱仪", field="检验检测", category="质谱", model="ICP-MS 7900", location="高新区检测大楼302",
        price_unit="sample", price_fen=30_000, internal_price_fen=15_000, open_from_hour=8, open_to_hour=17,
        description="电感耦合等离子体质谱仪（ICP-MS），痕量元素分析，按样品收费。")),
    ("zyzx", "broker@zyzx.liaocheng.demo", "service", dict(
        title="专利导航分析服务", field="新一代信息技术", price_fen=3_000_000,
        description="产业专利导航、技术路线与侵权风险分析，为企业研发立项和专利布局提供依据。")),
    ("yy", "lab@yy.liaocheng.demo", "instrument", dict(
        title="气相色谱-质谱联用仪", field="生物医药", category="色谱", model="GCMS-QP2020", location="东阿县生产基地",
        price_unit="hour", price_fen=60_000, internal_price_fen=30_000, open_from_hour=9, open_to_hour=17,
        description="气相色谱-质谱联用仪（GC-MS），企业自有仪器对外共享，适用于中药挥发性成分和残留溶剂分析。")),
    ("jx", "boss@jx.liaocheng.demo", "demand", dict(
        title="寻求精密轴承磨削工艺改进方案", field="高端装备", price_fen=50_000_000,
        description="我公司需提升轴承套圈磨削精度，圆度要求达到1微米以内，寻求高校合作攻关。")),
]


def demo_year() -> int:
    """The last complete calendar year in Beijing (the dashboards' default year too)."""
    return beijing_today().year - 1


def _at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour)


def load_year(context: dict) -> None:
    users = context["users"]
    lcu = context["organizations"]["lcu"]
    if db.session.scalar(select(func.count()).select_from(Listing).where(
            Listing.organization_id == lcu.id, Listing.title == LISTINGS[0][3]["title"])):
        if not db.session.scalar(select(func.count()).select_from(Booking).where(Booking.self_use.is_(True))):
            raise RuntimeError("the demo year was loaded only in part (was the payment service down?); "
                               "load it into an empty database")
        return  # already loaded
    year = demo_year()
    made: dict[str, Listing] = {}
    with frozen_at(_at(year, 1, 3)):
        for _, email, kind, fields in LISTINGS:
            listing = listings.create_listing(users[email], kind, dict(fields))
            made[fields["title"]] = listings.publish(users[email], listing.id)
    _trade(context, year, made)


def _buy(user, listing, mode, when):
    with frozen_at(when):
        order = orders.buy_achievement(user, listing.id, mode)
        payments.checkout(user, order.id)
    return order


def _register(user, order, no, when, contract_type=None, broker=None):
    with frozen_at(when):
        orders.register_contract(user, order.contract.id, no, when.date(), contract_type,
                                 broker.id if broker else None)


def _service(user, provider_user, listing, when, accept="accept"):
    return demo_vouchers.service(user, provider_user, listing, when, accept)


def _booking(user, provider_user, instrument, when, hours=0, samples=None, voucher=False):
    with frozen_at(when - timedelta(days=2)):
        booking = orders.book_instrument(user, instrument.id, when, hours or 1, samples, with_voucher=voucher)
        if booking.order_id:
            payments.checkout(user, booking.order_id)
    # (times here are Beijing wall-clock, as bookings are; frozen_at takes UTC: 8 hours earlier)
    with frozen_at(when + timedelta(hours=(hours or 1) + 1 - 8)):
        orders.complete_booking(provider_user, booking.id)
    demo_vouchers.accept_booking(user, booking, when + timedelta(days=1))
    return booking


def _trade(context, year, made):
    u, o = context["users"], context["organizations"]
    lcu_user, nky_user = u["tech-transfer@lcu.liaocheng.demo"], u["office@nky.liaocheng.demo"]
    lab = u["lab@jck.liaocheng.demo"]
    jx, zl, new = u["boss@jx.liaocheng.demo"], u["rd@zl.liaocheng.demo"], u["new@new.liaocheng.demo"]
    broker = o["zyzx"]
    demo_vouchers.admit_providers(context, year)
    demo_vouchers.issue(context, year)
    # A5: the testing centre pays lease fees for its financially leased instruments.
    for month, amount in ((1, 15_000_000), (7, 15_000_000)):
        with frozen_at(_at(year, month, 10)):
            orders.record_lease_payment(lab, made["高效液相色谱仪"].id, amount, date(year, month, 10))
    with frozen_at(_at(year, 3, 5)):
        orders.record_lease_payment(lab, made["扫描电子显微镜"].id, 8_000_000, date(year, 3, 5))
    # A3/A4: vouchers spent at the testing centre by small and medium enterprises.
    _service(jx, lab, made["高端液相色谱仪检测服务"], _at(year, 2, 20))
    _service(zl, lab, made["材料力学性能检测"], _at(year, 4, 8), accept="auto")
    _service(jx, lab, made["食品安全检验检测"], _at(year, 6, 15))
    # A refunded voucher order counts for nothing.
    with frozen_at(_at(year, 5, 6)):
        refunded = orders.order_service(zl, made["食品安全检验检测"].id, with_voucher=True)
        payments.checkout(zl, refunded.id)
    with frozen_at(_at(year, 5, 9)):
        payments.refund(lab, refunded.id, "客户撤回送检")
    # A1/A2: licences and assignments, brokered by the city's technology-transfer centre.
    bearing = _buy(zl, made["一种高强度轴承钢热处理工艺"], "non_exclusive_licence", _at(year, 3, 12))
    _register(lcu_user, bearing, f"{year}3715000001", _at(year, 3, 20), broker=broker)
    wheat = _buy(jx, made["小麦新品种“聊麦”系列"], "assignment", _at(year, 5, 18))
    _register(nky_user, wheat, f"{year}3715000002", _at(year, 5, 28), broker=broker)
    gelatin = _buy(jx, made["阿胶品质快速检测方法"], "exclusive_licence", _at(year, 8, 2))
    _register(lcu_user, gelatin, f"{year}3715000003", _at(year, 8, 16), broker=broker)
    pest = _buy(zl, made["设施蔬菜病虫害绿色防控技术"], "non_exclusive_licence", _at(year, 9, 3))
    _register(nky_user, pest, f"{year}3715000004", _at(year, 9, 10), contract_type="service")
    # A contract that was never registered (认定登记) counts for nothing.
    _buy(zl, made["设施蔬菜智能灌溉控制软件"], "non_exclusive_licence", _at(year, 10, 9))
    # A5: instrument time sold to other organisations, and the centre's own use.
    _booking(jx, lab, made["扫描电子显微镜"], _at(year, 4, 14, 9), hours=3)
    _booking(zl, lab, made["高效液相色谱仪"], _at(year, 6, 2, 8), hours=8)
    _booking(jx, lab, made["电感耦合等离子体质谱仪"], _at(year, 7, 21, 9), samples=40)
    _booking(zl, lab, made["扫描电子显微镜"], _at(year, 10, 12, 13), hours=5)
    _booking(lab, lab, made["高效液相色谱仪"], _at(year, 11, 3, 9), hours=4)  # own use
    # The rest of the city's year: hundreds of organisations trading (marketplace.demo.trade).
    context["trade"] = demo_trade.load_trade(context, year) if context["generated"] else {}
    demo_vouchers.states(context, year, made)
    del new

