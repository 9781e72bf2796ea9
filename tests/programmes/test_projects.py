"""The major project reserve: proposed, reviewed into the reserve, funded within the B1 cap,
completed; the B1 claim filed from the funded project."""
from datetime import date

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.programmes.models import MajorProject
from tests.factories import login
from tests.programmes.helpers import count

YEAR = date.today().year - 1


def _propose(client, **extra):
    data = {"title": "长寿命轴承关键技术攻关", "county": "临清市", "industry": "optomechatronics",
            "bottleneck": "热处理变形", "requested_city": "3000000", **extra}
    return client.post("/programmes/projects/new", data=data)


def test_proposed_reviewed_funded_within_the_cap_and_completed(client, factory):
    lead = factory.user("enterprise")
    login(client, lead)
    assert _propose(client, requested_city="5000000.01").status_code == 400  # above the 5,000,000 cap
    assert _propose(client).status_code == 302
    p = db.session.scalars(select(MajorProject)).one()
    assert p.status == "proposed" and p.organization_id == lead.organization.id
    assert client.post(f"/programmes/projects/{p.id}/review", data={"decision": "reserve", "note": "x"}).status_code == 403
    client.post("/logout")
    login(client, factory.user("reviewer"))
    url = f"/programmes/projects/{p.id}"
    assert client.post(f"{url}/fund", data={"city_share": "1000000"}).status_code == 409  # not in the reserve yet
    assert client.post(f"{url}/review", data={"decision": "reserve", "note": "市县联合评审通过"}).status_code == 302
    too_much = client.post(f"{url}/fund", data={"city_share": "5000001", "funded_on": f"{YEAR}-05-15"})
    assert too_much.status_code == 400 and db.session.get(MajorProject, p.id).status == "reserved"
    assert client.post(f"{url}/fund", data={"city_share": "5000000", "county_share": "2000000",
                                            "funded_on": f"{YEAR}-05-15"}).status_code == 302
    assert client.post(f"{url}/complete", data={"breakthrough": "y", "completed_on": f"{YEAR}-12-01"}).status_code == 302
    p = db.session.get(MajorProject, p.id)
    assert (p.status, p.city_share_fen, p.county_share_fen, p.breakthrough) == ("completed", 500_000_000,
                                                                                 200_000_000, True)
    assert client.get(url).status_code == 200


def test_a_funded_project_becomes_its_b1_claim(client, factory):
    from marketplace.claims import models as claims

    lead = factory.user("enterprise")
    login(client, lead)
    _propose(client)
    p = db.session.scalars(select(MajorProject)).one()
    client.post("/logout")
    login(client, factory.user("reviewer"))
    client.post(f"/programmes/projects/{p.id}/review", data={"decision": "reserve", "note": "ok"})
    client.post(f"/programmes/projects/{p.id}/fund", data={"city_share": "3000000", "funded_on": f"{YEAR}-05-15"})
    assert client.post(f"/programmes/projects/{p.id}/claim").status_code == 302
    claim = db.session.scalars(select(claims.Claim)).one()
    assert (claim.clause, claim.organization_id, claim.amount_fen, claim.year) == (
        "B1", lead.organization.id, 300_000_000, YEAR)
    assert db.session.get(MajorProject, p.id).claim_id == claim.id
    assert client.post(f"/programmes/projects/{p.id}/claim").status_code == 409


def test_members_see_their_own_projects_only(client, factory):
    lead = factory.user("enterprise")
    other = factory.user("enterprise")
    login(client, lead)
    _propose(client, title="我的项目")
    p = db.session.scalars(select(MajorProject)).one()
    client.post("/logout")
    login(client, other)
    assert "我的项目" not in client.get("/programmes/projects").get_data(as_text=True)
    assert client.get(f"/programmes/projects/{p.id}").status_code == 403
    client.post("/logout")
    login(client, factory.user("finance"))
    assert "我的项目" in client.get("/programmes/projects").get_data(as_text=True)
    assert client.get("/programmes/projects/new").status_code == 403
    assert count(MajorProject) == 1


def test_programme_amounts_are_read_as_people_write_them_and_a_bad_one_stays_beside_its_field(client, factory):
    """Issue 21: 80万, 八十万元 and 800,000 are amounts on the programme forms too (as on every
    other form); what cannot be read comes back as typed, with what to type beside the field."""
    login(client, factory.user("enterprise"))
    for n, typed in enumerate(["80万", "八十万元", "800,000", "¥800000"]):
        assert _propose(client, title=f"攻关{n}", requested_city=typed).status_code == 302, typed
    assert {p.requested_city_fen for p in db.session.scalars(select(MajorProject))} == {80_000_000}
    bad = client.post("/programmes/projects/new", data={
        "title": "轴承钢攻关", "county": "临清市", "industry": "optomechatronics", "bottleneck": "热处理变形",
        "requested_city": "八八"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'value="八八"' in html and 'value="轴承钢攻关"' in html
    block = html[html.rfind('<div class="field', 0, html.index('name="requested_city"')):]
    assert "has-error" in block[:60] and "80万" in block[:block.index("</div>")]
    assert count(MajorProject) == 4


def test_a_refused_funding_comes_back_on_the_project_page_with_what_was_typed(client, factory):
    login(client, factory.user("enterprise"))
    _propose(client)
    p = db.session.scalars(select(MajorProject)).one()
    client.post("/logout")
    login(client, factory.user("reviewer"))
    url = f"/programmes/projects/{p.id}"
    client.post(f"{url}/review", data={"decision": "reserve", "note": "市县联合评审通过"})
    bad = client.post(f"{url}/fund", data={"city_share": "八八", "county_share": "20万", "funded_on": f"{YEAR}-05-15"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'value="八八"' in html and 'value="20万"' in html
    block = html[html.rfind('<div class="field', 0, html.index('name="city_share"')):]
    assert "has-error" in block[:60] and "80万" in block[:block.index("</div>")]
    over = client.post(f"{url}/fund", data={"city_share": "五百万零一", "funded_on": f"{YEAR}-05-15"})
    assert over.status_code == 400 and 'value="五百万零一"' in over.get_data(as_text=True)  # above the cap
    assert db.session.get(MajorProject, p.id).status == "reserved"
    assert client.post(f"{url}/fund", data={"city_share": "300万", "county_share": "二十万元",
                                            "funded_on": f"{YEAR}-05-15"}).status_code == 302
    p = db.session.get(MajorProject, p.id)
    assert (p.status, p.city_share_fen, p.county_share_fen) == ("funded", 300_000_000, 20_000_000)
