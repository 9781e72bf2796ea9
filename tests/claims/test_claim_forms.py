"""The award-claim form (issue 16's claims run): a ticked box reaches the engine as true, and the
city's form asks for the organisation and the year by name."""
from sqlalchemy import select

from marketplace.claims import models as m
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from tests.claims.helpers import as_user

YEAR = utcnow().year - 1


def test_a_ticked_box_is_evidence_that_holds(client, factory):
    applicant = factory.user("enterprise")
    as_user(client, applicant)
    response = client.post("/claims/new?kind=B1", data={"year": str(YEAR), "project": "市县联合项目",
                                                          "city_county_joint": "y", "requested_amount": "1000"})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    claim = db.session.scalars(select(m.Claim)).one()
    assert claim.evidence["city_county_joint"] is True and claim.amount_fen == 100_000


def test_the_city_files_naming_the_organisation_and_the_year(client, factory):
    as_user(client, factory.user("reviewer"))
    client.post("/lang/en")
    page = client.get("/claims/new?kind=B6.excellent").get_data(as_text=True)
    assert "Organisation (unified social credit code)" in page and "Year of the claim" in page
