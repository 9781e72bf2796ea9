"""The demo city's programmes: a cultivation pool with decisions, an IP database linked to the
market's achievements with a zero-patent view, commissioners with their bases, projects and
the year's selection, and a project reserve. Entered through the real services where the
demo city has an account for the organisation; runs once (idempotent)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from marketplace.core.timeutil import frozen_at
from marketplace.core.uow import unit_of_work
from marketplace.extensions import db
from marketplace.programmes import commissioners as comm
from marketplace.programmes import cultivation, ipdb, projects
from marketplace.programmes.models import Commissioner, HteFigureSet

REVIEWER = "reviewer@kjj.liaocheng.demo"

# key: (revenue last year, revenue 3 years, R&D 3 years, in China, high-tech revenue, staff, S&T staff, core IP, founded)
FIGURES = {
    "jx": ("42000000", "110000000", "5800000", "5800000", "29000000", 120, 15, 4, date(2012, 5, 8)),
    "zl": ("180000000", "480000000", "17500000", "16000000", "120000000", 600, 70, 12, date(2005, 3, 1)),
    "gx": ("65000000", "150000000", "5200000", "5000000", "35000000", 210, 19, 2, date(2016, 9, 20)),
    "xcl": ("8000000", "15000000", "900000", "900000", "5500000", 35, 6, 1, date(2019, 4, 2)),
    "gt": ("260000000", "700000000", "12000000", "11000000", "90000000", 900, 60, 3, date(2008, 11, 11)),
}
OWN_USERS = {"jx": "boss@jx.liaocheng.demo", "zl": "rd@zl.liaocheng.demo"}


def _demo_year() -> int:
    from marketplace.demo.year import demo_year

    return demo_year()


def _at(year, month, day) -> datetime:
    return datetime(year, month, day, 10)


def load_programmes(context: dict) -> None:
    if db.session.scalar(select(func.count()).select_from(Commissioner)):
        return  # already loaded
    year = _demo_year()
    users, orgs = context["users"], context["organizations"]
    reviewer = users[REVIEWER]
    _pool(year, users, orgs, reviewer)
    _ip(year, users, orgs, reviewer)
    _commissioners(year, orgs, reviewer)
    _projects(year, users, orgs, reviewer)


def _pool(year, users, orgs, reviewer):
    names = ("revenue_last_year", "revenue_3y", "rd_3y", "rd_3y_in_china", "high_tech_revenue", "staff",
             "st_staff", "core_ip_count", "founded_on")
    with frozen_at(_at(year, 3, 15)):
        for key, values in FIGURES.items():
            data = dict(zip(names, values))
            data["fiscal_year"] = year - 1
            if key in OWN_USERS:
                cultivation.enter_figures(users[OWN_USERS[key]], orgs[key].id, data)
            else:  # organisations without a demo account: figures as the county collected them
                with unit_of_work():
                    db.session.add(HteFigureSet(
                        organization_id=orgs[key].id, fiscal_year=year - 1, staff=data["staff"],
                        st_staff=data["st_staff"], core_ip_count=data["core_ip_count"],
                        founded_on=data["founded_on"], **{f"{n}_fen": int(data[n]) * 100 for n in names[:5]}))
    with frozen_at(_at(year, 4, 10)):
        for key, reason in (("jx", "各项指标基本达到认定条件，入库培育"), ("zl", "研发投入强度高，核心知识产权充足"),
                            ("gx", "研发费用占比接近要求，入库重点辅导"), ("gt", "营业收入规模大，研发投入强度待提升，入库培育")):
            cultivation.decide(reviewer, orgs[key].id, "admit", reason)
    with frozen_at(_at(year, 10, 20)):
        cultivation.decide(reviewer, orgs["gt"].id, "remove", "研发费用占比连续两年低于3%，移出培育库")
        cultivation.decide(reviewer, orgs["gx"].id, "keep", "年度复核：科技人员占比已提升，继续培育")
    with frozen_at(_at(year, 12, 5)):
        cultivation.decide(reviewer, orgs["zl"].id, "recognise", "通过国家高新技术企业认定",
                           certificate_no=f"GR{year}37000123")


def _ip(year, users, orgs, reviewer):
    lcu = users["tech-transfer@lcu.liaocheng.demo"]
    nky = users["office@nky.liaocheng.demo"]
    with frozen_at(_at(year, 6, 1)):
        for user, org, kind, number, title, industry, granted in (
            (lcu, "lcu", "invention_patent", "ZL201910123456.7", "一种高强度轴承钢热处理工艺", "optomechatronics", date(2021, 3, 9)),
            (lcu, "lcu", "invention_patent", "ZL202010654321.0", "阿胶品质快速检测方法", "biomedicine", date(2022, 7, 1)),
            (lcu, "lcu", "invention_patent", "ZL202110987654.3", "耐高温特种电缆绝缘材料", "new_materials", date(2023, 2, 14)),
            (lcu, "lcu", "software_copyright", "2021SR0123456", "设施蔬菜智能灌溉控制软件", "agriculture", date(2021, 1, 20)),
            (nky, "nky", "new_variety", "CNA20191234.5", "小麦新品种“聊麦”系列", "agriculture", date(2020, 10, 12)),
            (users[OWN_USERS["zl"]], "zl", "invention_patent", "ZL201810555666.1", "一种轴承套圈精密磨削装置",
             "optomechatronics", date(2020, 4, 28)),
        ):
            ipdb.register_ip(user, orgs[org].id, {"kind": kind, "number": number, "title": title,
                                                  "industry": industry, "granted_on": granted})
        # Entered by the city for enterprises without an account: a utility model is not an invention patent.
        ipdb.register_ip(reviewer, orgs["gx"].id, {"kind": "utility_model", "number": "ZL202220333444.X",
                                                   "title": "一种智能装配夹具", "industry": "optomechatronics",
                                                   "granted_on": date(2022, 11, 2)})
        ipdb.register_ip(reviewer, orgs["yy"].id, {"kind": "invention_patent", "number": "ZL201710777888.2",
                                                   "title": "一种阿胶低温浓缩工艺", "industry": "biomedicine",
                                                   "granted_on": date(2019, 8, 6)})
        for key, industry in (("zl", "optomechatronics"), ("gx", "optomechatronics"), ("yg", "new_materials"),
                              ("gt", "resources_environment_energy"), ("yy", "biomedicine")):
            ipdb.set_profile(reviewer, orgs[key].id, True, industry)


def _commissioners(year, orgs, reviewer):
    with frozen_at(_at(year, 2, 10)):
        wang = comm.add_commissioner(reviewer, {"name": "王建农", "kind": "rural", "organization_id": orgs["nky"].id,
                                                "specialty": "设施蔬菜栽培与病虫害绿色防控", "county": "莘县"})
        li = comm.add_commissioner(reviewer, {"name": "李明", "kind": "rural", "organization_id": orgs["lcu"].id,
                                              "specialty": "小麦育种与高产栽培", "county": "东昌府区"})
        zhao = comm.add_commissioner(reviewer, {"name": "赵工", "kind": "enterprise", "organization_id": orgs["lcu"].id,
                                                "specialty": "轴承材料热处理", "county": "临清市"})
        base = comm.add_base(reviewer, {"kind": "base", "name": "莘县设施蔬菜科技特派员示范基地",
                                        "organization_id": orgs["nc"].id, "commissioner_id": wang.id,
                                        "county": "莘县", "level": "city"})
        station = comm.add_base(reviewer, {"kind": "station", "name": "东昌府区小麦农科驿站",
                                           "organization_id": orgs["nky"].id, "commissioner_id": li.id,
                                           "county": "东昌府区", "level": "provincial", "provincially_filed": True})
        star = comm.add_base(reviewer, {"kind": "star", "name": "水城星创天地", "organization_id": orgs["fhq"].id,
                                        "commissioner_id": wang.id, "county": "聊城高新技术产业开发区",
                                        "level": "provincial"})
        project = comm.add_project(reviewer, {"commissioner_id": zhao.id, "organization_id": orgs["zl"].id,
                                              "title": "高端轴承钢热处理工艺产业化", "year": year,
                                              "provincial_support": "300000"})
    with frozen_at(_at(year, 11, 28)):
        on = date(year, 11, 28)
        comm.select_for_award(reviewer, year, "base", base.id, on)
        comm.select_for_award(reviewer, year, "excellent", wang.id, on)
        comm.select_for_award(reviewer, year, "advanced", li.id, on)
        comm.select_for_award(reviewer, year, "star", star.id, on)
        comm.select_for_award(reviewer, year, "station", station.id, on)
        comm.select_for_award(reviewer, year, "project", project.id, on)


def _projects(year, users, orgs, reviewer):
    jx, zl = users[OWN_USERS["jx"]], users[OWN_USERS["zl"]]
    lcu = users["tech-transfer@lcu.liaocheng.demo"]
    with frozen_at(_at(year, 3, 1)):
        a = projects.propose(zl, orgs["zl"].id, {
            "title": "高端装备用长寿命轴承关键技术攻关", "county": "临清市", "industry": "optomechatronics",
            "bottleneck": "轴承钢热处理变形与疲劳寿命的“卡脖子”问题", "requested_city": "3000000"})
        b = projects.propose(lcu, orgs["lcu"].id, {
            "title": "阿胶品质数字化检测与溯源平台", "county": "东阿县", "industry": "biomedicine",
            "bottleneck": "阿胶真伪与品质的快速无损检测", "requested_city": "2000000"})
        projects.propose(jx, orgs["jx"].id, {
            "title": "精密机械数控加工智能化改造", "county": "东昌府区", "industry": "optomechatronics",
            "bottleneck": "精密磨削在线检测与补偿", "requested_city": "1500000"})
    with frozen_at(_at(year, 4, 20)):
        projects.review(reviewer, a.id, "reserve", "市县联合评审通过，入库")
        projects.review(reviewer, b.id, "reserve", "市县联合评审通过，入库")
    with frozen_at(_at(year, 5, 15)):
        projects.fund(reviewer, a.id, "3000000", "1500000", date(year, 5, 15))
    with frozen_at(_at(year, 12, 15)):
        projects.complete(reviewer, a.id, True, date(year, 12, 15))

