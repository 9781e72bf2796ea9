"""/api/v1/programmes: the city's registries, read-only, through HTTP with real tokens: the city's
roles see everything, market roles are refused (pool, commissioners) or see their own (projects),
anonymous callers get 401 and bad parameters a 400 naming the parameter."""
import pytest

from marketplace.accounts.models import User
from marketplace.extensions import db
from tests.api.conftest import bearer, programme_data

PATHS = ("/api/v1/programmes/pool", "/api/v1/programmes/ip", "/api/v1/programmes/commissioners",
         "/api/v1/programmes/projects")
CITY_ROLES = ("reviewer", "finance", "admin")


@pytest.fixture()
def data(factory):
    return programme_data(factory)


def _floats(value, where="$"):
    """Every place a JSON float appears: money is never one."""
    if isinstance(value, float):
        return [where]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _floats(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _floats(v, f"{where}[{i}]")]
    return []


def _get(client, path, user):
    response = client.get(path, headers=bearer(user))
    assert not _floats(response.json), _floats(response.json)
    return response


# --- the cultivation pool -----------------------------------------------------------------

@pytest.mark.parametrize("role", CITY_ROLES)
def test_the_city_sees_the_pool_with_each_criterion(client, factory, data, role):
    city = factory.user(role)
    pool = _get(client, "/api/v1/programmes/pool", city)
    assert pool.status_code == 200, pool.json
    [entry] = pool.json["items"]  # by default: the enterprises in the pool now
    assert entry["organization"] == {"id": data["strong"].organization.id, "name": "聊城精密轴承有限公司",
                                     "credit_code": data["strong"].organization.credit_code, "county": "临清市"}
    assert (entry["status"], entry["reason"], entry["certificate_no"]) == ("admitted", "各项指标基本达到认定条件，入库培育",
                                                                           None)
    assert (entry["figures_year"], entry["revenue_last_year"]) == (2024, "40000000.00")
    assert entry["admitted_on"] == entry["reviewed_on"] and len(entry["admitted_on"]) == 10
    assert [c["criterion"] for c in entry["criteria"]] == ["age", "core_ip", "st_staff", "rd_intensity",
                                                           "rd_in_china", "high_tech_revenue"]
    assert all(c["met"] and c["shortfall"] is None for c in entry["criteria"])


def test_pool_status_filter_shows_removed_enterprises_with_their_shortfalls(client, data):
    reviewer = data["reviewer"]
    removed = _get(client, "/api/v1/programmes/pool?status=removed", reviewer).json["items"]
    assert [e["organization"]["name"] for e in removed] == ["聊城新材料科技有限公司"]
    assert removed[0]["reason"] == "研发费用占比低于3%，移出培育库"
    criteria = {c["criterion"]: c for c in removed[0]["criteria"]}
    assert (criteria["rd_intensity"]["met"], criteria["rd_intensity"]["actual"], criteria["rd_intensity"]["required"],
            criteria["rd_intensity"]["shortfall"], criteria["rd_intensity"]["unit"]) == (
        False, "1000000.50", "5000000.00", "3999999.50", "cny")
    assert (criteria["st_staff"]["met"], criteria["st_staff"]["shortfall"], criteria["st_staff"]["unit"]) == (
        False, 5, "persons")
    assert (criteria["age"]["actual"], criteria["age"]["required"]) == ("2020-03-01", "2021-03-01")
    assert _get(client, "/api/v1/programmes/pool?status=recognised", reviewer).json["items"] == []
    everything = _get(client, "/api/v1/programmes/pool?status=all", reviewer).json["items"]
    assert sorted(e["status"] for e in everything) == ["admitted", "removed"]


@pytest.mark.parametrize("role", ("enterprise", "university", "provider", "agency"))
def test_market_roles_may_not_read_the_pool(client, factory, data, role):
    response = client.get("/api/v1/programmes/pool?status=all", headers=bearer(factory.user(role)))
    assert response.status_code == 403 and response.json["error"]
    # Not even the enterprise that is in the pool: it sees its own assessment on its page, not the pool.
    assert client.get("/api/v1/programmes/pool", headers=bearer(data["strong"])).status_code == 403


# --- the IP database ------------------------------------------------------------------------

def test_the_ip_database_is_searched_and_filtered(client, data):
    reviewer = data["reviewer"]
    everything = _get(client, "/api/v1/programmes/ip", reviewer).json["items"]
    assert [(ip["number"], ip["kind"], ip["industry"]) for ip in everything] == [
        ("ZL202220333444.X", "utility_model", "new_materials"),
        ("ZL201910123456.7", "invention_patent", "optomechatronics")]
    patent = everything[1]
    assert (patent["title"], patent["status"], patent["granted_on"], patent["achievement"]) == (
        "一种高强度轴承钢热处理工艺", "valid", "2021-03-09", None)
    assert patent["organization"] == {"id": data["strong"].organization.id, "name": "聊城精密轴承有限公司",
                                      "credit_code": data["strong"].organization.credit_code}
    assert everything[0]["granted_on"] is None

    def numbers(query):
        response = _get(client, f"/api/v1/programmes/ip?{query}", reviewer)
        assert response.status_code == 200, (query, response.json)
        return [ip["number"] for ip in response.json["items"]]

    assert numbers("q=zl 2019 1012") == ["ZL201910123456.7"]  # numbers compare without spaces or case
    assert numbers("q=轴承钢") == ["ZL201910123456.7"]  # the title
    assert numbers("q=新材料科技") == ["ZL202220333444.X"]  # the holder's name
    assert numbers("q=  ") == numbers("") == ["ZL202220333444.X", "ZL201910123456.7"]
    assert numbers("industry=new_materials") == ["ZL202220333444.X"]
    assert numbers("kind=invention_patent&industry=optomechatronics") == ["ZL201910123456.7"]
    assert numbers("kind=design_patent") == []
    assert numbers("q=轴承&industry=new_materials") == []


@pytest.mark.parametrize("role", ("enterprise", "university", "provider", "agency"))
def test_every_member_may_search_the_ip_database(client, factory, data, role):
    response = _get(client, "/api/v1/programmes/ip?kind=invention_patent", factory.user(role))
    assert response.status_code == 200
    assert [ip["number"] for ip in response.json["items"]] == ["ZL201910123456.7"]


def test_a_user_without_a_role_may_not_search_the_ip_database(client, data):
    loner = User(email="loner@example.com", name="无单位用户", password_hash=data["reviewer"].password_hash)
    db.session.add(loner)
    db.session.commit()
    assert client.get("/api/v1/programmes/ip", headers=bearer(loner)).status_code == 403


# --- commissioners --------------------------------------------------------------------------

@pytest.mark.parametrize("role", CITY_ROLES)
def test_the_city_sees_commissioners_with_bases_projects_and_selections(client, factory, data, role):
    response = _get(client, "/api/v1/programmes/commissioners", factory.user(role))
    assert response.status_code == 200, response.json
    by_name = {c["name"]: c for c in response.json["items"]}
    assert list(by_name) == sorted(by_name)  # by name
    wang, zhao = by_name["王建农"], by_name["赵工"]
    assert (wang["kind"], wang["county"], wang["specialty"]) == ("rural", "莘县", "设施蔬菜栽培")
    assert wang["organization"] == {"id": data["institute"].id, "name": "聊城市农业科学院"}
    assert wang["bases"] == [{"id": data["base"].id, "kind": "base", "name": "莘县设施蔬菜示范基地", "level": "city",
                              "county": "莘县"}]
    assert wang["selections"] == [{"year": data["year"], "category": "base", "claim_kind": "B6.base",
                                   "amount": "100000.00", "claim_id": None}]
    assert wang["projects"] == [] and zhao["bases"] == [] and zhao["selections"] == []
    assert [(p["title"], p["year"], p["enterprise"]) for p in zhao["projects"]] == [
        ("高端轴承钢热处理工艺产业化", data["year"], "聊城精密轴承有限公司")]
    assert zhao["county"] is None


@pytest.mark.parametrize("role", ("enterprise", "university", "provider", "agency"))
def test_market_roles_may_not_read_the_commissioner_registry(client, factory, data, role):
    response = client.get("/api/v1/programmes/commissioners", headers=bearer(factory.user(role)))
    assert response.status_code == 403 and response.json["error"]


# --- the project reserve --------------------------------------------------------------------

@pytest.mark.parametrize("role", CITY_ROLES)
def test_the_city_sees_every_project(client, factory, data, role):
    city = factory.user(role)
    items = _get(client, "/api/v1/programmes/projects", city).json["items"]
    assert [p["id"] for p in items] == [data["proposed"].id, data["funded"].id]  # newest first
    funded = items[1]
    assert funded == {
        "id": data["funded"].id, "title": "高端装备用长寿命轴承关键技术攻关", "status": "funded", "county": "临清市",
        "industry": "optomechatronics",
        "organization": {"id": data["strong"].organization.id, "name": "聊城精密轴承有限公司"},
        "requested_city": "3000000.00", "city_share": "3000000.00", "county_share": "1500000.50",
        "funded_on": f"{data['year']}-05-15", "completed_on": None, "breakthrough": False, "claim_id": None}
    proposed = items[0]
    assert (proposed["status"], proposed["requested_city"], proposed["city_share"], proposed["funded_on"]) == (
        "proposed", "2000000.00", None, None)
    only_funded = _get(client, "/api/v1/programmes/projects?status=funded", city).json["items"]
    assert [p["id"] for p in only_funded] == [data["funded"].id]
    assert _get(client, "/api/v1/programmes/projects?status=completed", city).json["items"] == []


def test_a_member_sees_only_its_organisation_s_projects(client, factory, data):
    assert [p["id"] for p in _get(client, "/api/v1/programmes/projects", data["strong"]).json["items"]] == [
        data["funded"].id]
    weak = data["weak"]
    assert [p["id"] for p in _get(client, "/api/v1/programmes/projects", weak).json["items"]] == [data["proposed"].id]
    assert _get(client, "/api/v1/programmes/projects?status=funded", weak).json["items"] == []
    colleague = factory.user("enterprise", organization=data["strong"].organization, owner=False)
    assert [p["id"] for p in _get(client, "/api/v1/programmes/projects", colleague).json["items"]] == [
        data["funded"].id]
    for role in ("enterprise", "university", "provider", "agency"):
        assert _get(client, "/api/v1/programmes/projects", factory.user(role)).json["items"] == []


# --- authentication and strict parameters ---------------------------------------------------

@pytest.mark.parametrize("path", PATHS)
def test_anonymous_and_bad_tokens_get_401(client, data, path):
    anonymous = client.get(path)
    assert anonymous.status_code == 401 and anonymous.json["error"]
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert client.get(path, headers={"Authorization": "Bearer lcm_not-a-token"}).status_code == 401
    # The web session does not count: the API reads bearer tokens only.
    from tests.factories import login
    login(client, data["reviewer"])
    assert client.get(path).status_code == 401


@pytest.mark.parametrize("path, query, field", [
    ("pool", "status=candidates", "status"),
    ("pool", "status=", "status"),
    ("pool", "status=admitted&status=removed", "status"),
    ("pool", "page=2", "page"),
    ("ip", "industry=spaceships", "industry"),
    ("ip", "kind=trademark", "kind"),
    ("ip", "q=" + "轴" * 201, "q"),
    ("ip", "q=ZL%00", "q"),
    ("ip", "q=a&q=b", "q"),
    ("ip", "status=valid", "status"),
    ("commissioners", "year=2024", "year"),
    ("projects", "status=archived", "status"),
    ("projects", "status=FUNDED", "status"),
    ("projects", "organization_id=1", "organization_id"),
])
def test_bad_parameters_are_400_naming_the_parameter(client, data, english, path, query, field):
    response = client.get(f"/api/v1/programmes/{path}?{query}", headers=bearer(data["reviewer"]))
    assert response.status_code == 400, response.json
    assert response.json["field"] == field and response.json["error"]


def test_a_refused_market_role_learns_of_bad_parameters_first(client, factory, data):
    # Parameters are parsed before the service is called: a bad one is a 400 even for a caller the service refuses.
    response = client.get("/api/v1/programmes/pool?colour=red", headers=bearer(factory.user("enterprise")))
    assert response.status_code == 400 and response.json["field"] == "colour"
