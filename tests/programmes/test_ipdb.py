"""The IP database: a patent found by industry and linked to an achievement; the zero-patent
view; CSV and Excel exports."""
import io

from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.programmes.models import EnterpriseProfile, IpRight
from tests.factories import login
from tests.programmes.helpers import count, english


def _tbody(response):
    return response.get_data(as_text=True).split("<tbody>")[1].split("</tbody>")[0]


def _achievement(user, number, field="高端装备"):
    listing = listings.create_listing(user, "achievement", {
        "title": "一种轴承钢热处理方法", "description": "", "price_fen": 1_000_000, "negotiable": False,
        "ip_kind": "invention_patent", "ip_number": number, "maturity": "pilot", "field": field,
        "transfer_modes": ["assignment"]})
    return listings.publish(user, listing.id)


def test_a_patent_is_found_by_industry_and_linked_to_its_achievement(client, factory):
    university = factory.user("university", kind="university", name="聊城大学")
    achievement = _achievement(university, "ZL201910123456.7")
    login(client, university)
    response = client.post("/programmes/ip/new", data={
        "organization_id": university.organization.id, "kind": "invention_patent", "number": "zl 2019 10123456.7",
        "title": "一种高强度轴承钢热处理工艺", "industry": "optomechatronics", "status": "valid",
        "granted_on": "2021-03-09"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    ip = db.session.scalars(select(IpRight)).one()
    assert (ip.number, ip.listing_id) == ("ZL201910123456.7", achievement.id)  # linked by its number
    other = factory.user("university", kind="university")
    login(client, other)
    client.post("/programmes/ip/new", data={
        "organization_id": other.organization.id, "kind": "utility_model", "number": "ZL202220000001.1",
        "title": "一种灌溉阀", "industry": "agriculture", "status": "valid"})
    page = _tbody(client.get("/programmes/ip?industry=optomechatronics"))
    assert "ZL201910123456.7" in page and achievement.ref in page and "ZL202220000001.1" not in page
    page = _tbody(client.get("/programmes/ip?industry=agriculture"))
    assert "ZL202220000001.1" in page and "ZL201910123456.7" not in page
    # The same number twice is refused; nothing is written.
    again = client.post("/programmes/ip/new", data={
        "organization_id": other.organization.id, "kind": "invention_patent", "number": "ZL201910123456.7",
        "title": "x", "industry": "agriculture", "status": "valid"})
    assert again.status_code == 409 and count(IpRight) == 2


def test_linking_to_another_organisations_achievement_is_refused(client, factory):
    university = factory.user("university", kind="university")
    stranger = factory.user("university", kind="university")
    theirs = _achievement(stranger, None)
    mine = _achievement(university, None)
    login(client, university)
    client.post("/programmes/ip/new", data={
        "organization_id": university.organization.id, "kind": "invention_patent", "number": "ZL1",
        "title": "t", "industry": "new_materials", "status": "valid"})
    ip = db.session.scalars(select(IpRight)).one()
    assert client.post(f"/programmes/ip/{ip.id}/link", data={"listing_id": theirs.id}).status_code == 400
    assert db.session.get(IpRight, ip.id).listing_id is None
    assert client.post(f"/programmes/ip/{ip.id}/link", data={"listing_id": mine.id}).status_code == 302
    assert db.session.get(IpRight, ip.id).listing_id == mine.id


def test_zero_patent_view_lists_above_scale_enterprises_without_a_valid_invention_patent(client, factory):
    reviewer = factory.user("reviewer")
    with_patent = factory.organization(kind="enterprise", name="有专利工业企业")
    utility_only = factory.organization(kind="enterprise", name="仅有实用新型企业")
    lapsed_only = factory.organization(kind="enterprise", name="专利已失效企业")
    not_above_scale = factory.organization(kind="enterprise", name="规下企业")
    login(client, reviewer)
    for org in (with_patent, utility_only, lapsed_only):
        assert client.post(f"/programmes/profiles/{org.id}", data={"above_scale_industrial": "y",
                                                                    "industry": "new_materials"}).status_code == 302
    for org, kind, number, status in ((with_patent, "invention_patent", "ZL-A", "valid"),
                                      (utility_only, "utility_model", "ZL-B", "valid"),
                                      (lapsed_only, "invention_patent", "ZL-C", "lapsed"),
                                      (not_above_scale, "utility_model", "ZL-D", "valid")):
        assert client.post("/programmes/ip/new", data={
            "organization_id": org.id, "kind": kind, "number": number, "title": "t", "industry": "new_materials",
            "status": status}).status_code == 302
    english(client)
    page = client.get("/programmes/ip/zero-patent").get_data(as_text=True)
    listed = page.split("<tbody>")[1].split("</tbody>")[0]
    assert "仅有实用新型企业" in listed and "专利已失效企业" in listed
    assert "有专利工业企业" not in listed and "规下企业" not in listed
    csv = client.get("/programmes/ip/zero-patent?format=csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data().decode("utf-8-sig")
    assert "仅有实用新型企业" in text and "有专利工业企业" not in text
    assert count(EnterpriseProfile) == 3


def test_ip_export_as_csv_and_excel(client, factory):
    university = factory.user("university", kind="university", name="聊城大学")
    login(client, university)
    client.post("/programmes/ip/new", data={
        "organization_id": university.organization.id, "kind": "invention_patent", "number": "ZL202010654321.0",
        "title": "阿胶品质快速检测方法", "industry": "biomedicine", "status": "valid"})
    english(client)
    csv = client.get("/programmes/ip?format=csv&industry=biomedicine")
    rows = csv.get_data().decode("utf-8-sig").splitlines()
    assert rows[0].startswith("Number,Kind,Title,Industry") and "ZL202010654321.0" in rows[1]
    assert "Biotechnology and medicine" in rows[1]
    xlsx = client.get("/programmes/ip?format=xlsx")
    ws = load_workbook(io.BytesIO(xlsx.get_data())).active
    assert [c.value for c in ws[2]][:3] == ["ZL202010654321.0", "Invention patent", "阿胶品质快速检测方法"]
    assert client.get("/programmes/ip?format=pdf").status_code == 400


def test_finance_cannot_add_ip_and_members_only_for_their_own_organisation(client, factory):
    finance = factory.user("finance")
    enterprise = factory.user("enterprise")
    other = factory.organization(kind="enterprise")
    login(client, finance)
    assert client.get("/programmes/ip/new").status_code == 403
    client.post("/logout")
    login(client, enterprise)
    response = client.post("/programmes/ip/new", data={
        "organization_id": other.id, "kind": "invention_patent", "number": "ZL-X", "title": "t",
        "industry": "new_materials", "status": "valid"})
    assert response.status_code == 400  # not one of the holders offered to this member
    assert count(IpRight) == 0
