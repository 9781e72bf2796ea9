"""Fixtures for the JSON API: organisations, published listings and real bearer tokens."""
import pytest

from marketplace.accounts import services as api_tokens
from marketplace.search import indexing as search_index
from tests.factories import published  # noqa: F401 -- the API tests' listings, built once for all tests


def bearer(user, name="test") -> dict:
    """A real token of ``user``, as the Authorization header a program sends."""
    _token, secret = api_tokens.create_token(user, name)
    return {"Authorization": f"Bearer {secret}"}


def reindex():
    """Rebuild the search index from this test's database (the index file outlives each test)."""
    search_index.reindex()


@pytest.fixture()
def english(client):
    client.post("/lang/en")
    return client


def programme_data(factory) -> dict:
    """A small slice of the city's programmes, entered through the real services: a reviewer,
    two enterprises (one in the cultivation pool meeting every criterion, one removed from it
    with figures that miss some), registered IP, a commissioner with a base, a project and a
    selection, and two major projects (one funded, one only proposed)."""
    from datetime import date

    from marketplace.programmes import commissioners, cultivation, ipdb, projects
    from tests.programmes.helpers import FIGURES

    year = date.today().year - 1
    reviewer = factory.user("reviewer")
    strong = factory.user("enterprise", name="聊城精密轴承有限公司", county="临清市")
    weak = factory.user("enterprise", name="聊城新材料科技有限公司")
    institute = factory.organization(kind="institute", name="聊城市农业科学院")
    strong_org, weak_org = strong.organization, weak.organization

    cultivation.enter_figures(strong, strong_org.id, FIGURES)
    cultivation.enter_figures(weak, weak_org.id, {**FIGURES, "rd_3y": "1000000.50", "rd_3y_in_china": "900000",
                                                  "st_staff": "5"})
    cultivation.decide(reviewer, strong_org.id, "admit", "各项指标基本达到认定条件，入库培育")
    cultivation.decide(reviewer, weak_org.id, "admit", "入库重点辅导")
    cultivation.decide(reviewer, weak_org.id, "remove", "研发费用占比低于3%，移出培育库")

    ipdb.register_ip(reviewer, strong_org.id, {"kind": "invention_patent", "number": "zl 2019 1012 3456.7",
                                               "title": "一种高强度轴承钢热处理工艺", "industry": "optomechatronics",
                                               "granted_on": date(2021, 3, 9)})
    ipdb.register_ip(reviewer, weak_org.id, {"kind": "utility_model", "number": "ZL202220333444.X",
                                             "title": "一种耐高温电缆绝缘层", "industry": "new_materials"})

    wang = commissioners.add_commissioner(reviewer, {"name": "王建农", "kind": "rural", "county": "莘县",
                                                     "organization_id": institute.id, "specialty": "设施蔬菜栽培"})
    zhao = commissioners.add_commissioner(reviewer, {"name": "赵工", "kind": "enterprise",
                                                     "organization_id": institute.id, "specialty": "轴承材料热处理"})
    base = commissioners.add_base(reviewer, {"kind": "base", "name": "莘县设施蔬菜示范基地", "level": "city",
                                             "organization_id": weak_org.id, "commissioner_id": wang.id,
                                             "county": "莘县"})
    commissioners.add_project(reviewer, {"commissioner_id": zhao.id, "organization_id": strong_org.id,
                                         "title": "高端轴承钢热处理工艺产业化", "year": year,
                                         "provincial_support": "300000"})
    selection = commissioners.select_for_award(reviewer, year, "base", base.id, date(year, 11, 28))

    funded = projects.propose(strong, strong_org.id, {
        "title": "高端装备用长寿命轴承关键技术攻关", "county": "临清市", "industry": "optomechatronics",
        "bottleneck": "轴承钢热处理变形", "requested_city": "3000000"})
    projects.review(reviewer, funded.id, "reserve", "市县联合评审通过，入库")
    projects.fund(reviewer, funded.id, "3000000", "1500000.50", date(year, 5, 15))
    proposed = projects.propose(weak, weak_org.id, {
        "title": "耐高温特种电缆材料", "industry": "new_materials", "bottleneck": "绝缘层耐温",
        "requested_city": "2000000"})
    return {"reviewer": reviewer, "strong": strong, "weak": weak, "institute": institute, "wang": wang,
            "zhao": zhao, "base": base, "selection": selection, "funded": funded, "proposed": proposed, "year": year}
