"""Commissioners: a selection is entered once, the engine computes its B6 amount, and the B6
claim is filed from it through marketplace.claims."""
from datetime import date

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.programmes.models import Commissioner, CommissionerBase, CommissionerProject, Selection
from tests.factories import login
from tests.programmes.helpers import count

YEAR = date.today().year - 1
ON = f"{YEAR}-11-28"


@pytest.fixture()
def registry(client, factory):
    reviewer = factory.user("reviewer")
    institute = factory.organization(kind="institute", name="农科院")
    seeds = factory.organization(kind="enterprise", name="蔬菜种业")
    incubator = factory.organization(kind="incubator", name="孵化器")
    bearing = factory.organization(kind="enterprise", name="轴承公司")
    login(client, reviewer)
    for data in ({"name": "王建农", "kind": "rural", "organization_id": institute.id, "county": "莘县"},
                 {"name": "李明", "kind": "rural", "organization_id": institute.id},
                 {"name": "赵工", "kind": "enterprise", "organization_id": institute.id}):
        assert client.post("/programmes/commissioners/new", data=data).status_code == 302
    c = {x.name: x for x in db.session.scalars(select(Commissioner))}
    for data in ({"kind": "base", "name": "示范基地", "organization_id": seeds.id, "commissioner_id": c["王建农"].id,
                  "level": "city"},
                 {"kind": "station", "name": "农科驿站", "organization_id": institute.id,
                  "commissioner_id": c["李明"].id, "level": "provincial", "provincially_filed": "y"},
                 {"kind": "star", "name": "星创天地", "organization_id": incubator.id,
                  "commissioner_id": c["王建农"].id, "level": "provincial"}):
        assert client.post("/programmes/commissioners/bases/new", data=data).status_code == 302
    assert client.post("/programmes/commissioners/projects/new", data={
        "commissioner_id": c["赵工"].id, "organization_id": bearing.id, "title": "轴承钢热处理产业化",
        "year": YEAR, "provincial_support": "300000"}).status_code == 302
    b = {x.kind: x for x in db.session.scalars(select(CommissionerBase))}
    p = db.session.scalars(select(CommissionerProject)).one()
    return {"reviewer": reviewer, "institute": institute, "seeds": seeds, "incubator": incubator,
            "c": c, "b": b, "p": p}


def _select(client, category, subject_id, **extra):
    return client.post("/programmes/commissioners/selections/new",
                       data={"year": YEAR, "category": category, "subject_id": subject_id, "selected_on": ON, **extra})


def test_each_selection_gets_the_b6_amount_of_its_kind(client, registry):
    r = registry
    for category, subject in (("base", r["b"]["base"].id), ("excellent", r["c"]["王建农"].id),
                              ("advanced", r["c"]["李明"].id), ("star", r["b"]["star"].id),
                              ("station", r["b"]["station"].id), ("project", r["p"].id)):
        assert _select(client, category, subject).status_code == 302, category
    assert _select(client, "enterprise", r["c"]["赵工"].id, provincial_post_subsidy="45000.50").status_code == 302
    got = {(s.claim_kind, s.organization_id, s.amount_fen) for s in db.session.scalars(select(Selection))}
    inst, seeds, inc = r["institute"].id, r["seeds"].id, r["incubator"].id
    assert got == {("B6.base", seeds, 10_000_000), ("B6.excellent", inst, 2_000_000), ("B6.advanced", inst, 1_000_000),
                   ("B6.star", inc, 20_000_000), ("B6.station", inst, 10_000_000), ("B6.project", inst, 30_000_000),
                   ("B6.enterprise", inst, 4_500_050)}


def test_a_selection_is_entered_once_and_one_time_awards_are_given_once(client, registry):
    r = registry
    assert _select(client, "excellent", r["c"]["王建农"].id).status_code == 302
    assert _select(client, "excellent", r["c"]["王建农"].id).status_code == 409
    assert _select(client, "star", r["b"]["star"].id).status_code == 302
    later = client.post("/programmes/commissioners/selections/new", data={
        "year": YEAR + 1, "category": "star", "subject_id": r["b"]["star"].id, "selected_on": f"{YEAR + 1}-03-01"})
    assert later.status_code == 409
    assert count(Selection) == 2


def test_what_cannot_qualify_is_refused_and_nothing_is_written(client, registry):
    r = registry
    assert _select(client, "station", r["b"]["base"].id).status_code == 400  # a base is not a station
    assert _select(client, "enterprise", r["c"]["李明"].id, provincial_post_subsidy="1").status_code == 400  # rural
    assert _select(client, "enterprise", r["c"]["赵工"].id).status_code == 400  # no provincial post-subsidy
    assert client.post("/programmes/commissioners/selections/new", data={
        "year": YEAR, "category": "base", "subject_id": r["b"]["base"].id,
        "selected_on": f"{YEAR + 1}-01-05"}).status_code == 400  # the date is not in the year
    assert count(Selection) == 0


def test_only_city_managers_enter_selections(client, factory, registry):
    client.post("/logout")
    login(client, factory.user("finance"))
    assert _select(client, "excellent", registry["c"]["王建农"].id).status_code == 403
    assert client.get("/programmes/commissioners").status_code == 200
    assert count(Selection) == 0


def test_a_selection_becomes_its_b6_claim_with_the_right_amount(client, registry):
    from marketplace.claims import models as claims

    r = registry
    _select(client, "excellent", r["c"]["王建农"].id)
    _select(client, "station", r["b"]["station"].id)
    for s in db.session.scalars(select(Selection)).all():
        response = client.post(f"/programmes/commissioners/selections/{s.id}/claim")
        assert response.status_code == 302, response.get_data(as_text=True)[:800]
    filed = {(c.clause, c.organization_id, c.amount_fen, c.year) for c in db.session.scalars(select(claims.Claim))}
    inst = r["institute"].id
    assert filed == {("B6.excellent", inst, 2_000_000, YEAR), ("B6.station", inst, 10_000_000, YEAR)}
    linked = {s.claim_kind: s.claim_id for s in db.session.scalars(select(Selection))}
    assert all(linked.values())
    again = client.post(f"/programmes/commissioners/selections/{db.session.scalars(select(Selection)).first().id}/claim")
    assert again.status_code == 409
    assert len(filed) == db.session.query(claims.Claim).count()


