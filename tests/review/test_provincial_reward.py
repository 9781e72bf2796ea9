"""A4.match: the city enters an agency's provincial service-performance reward; the year's
claims are redrafted by the engine with the 1:1 match, and only the city may enter it."""
from datetime import date

from sqlalchemy import func, select

from marketplace.accounts.models import ProvincialServiceReward
from marketplace.claims import drafting
from marketplace.extensions import db
from marketplace.ledger.scenario import build_scenario
from marketplace.subsidies import evaluate
from tests.claims.helpers import claim_of
from tests.factories import login

YEAR = date.today().year - 1


def _enter(client, org, amount="80000", year=YEAR):
    return client.post("/review/rewards", data={"organization": org.id, "year": year, "amount": amount})


def test_finance_enters_a_reward_and_the_match_is_drafted_as_the_engine_says(client, factory):
    agency = factory.organization(kind="agency", service_agency=True)
    finance = factory.user("finance")
    login(client, finance)
    assert _enter(client, agency).status_code == 302
    drafting.drain()  # the request's drain ran already; a second drain finds nothing to do
    claim = claim_of(agency, "A4.match", YEAR)
    assert claim is not None and claim.amount_fen == 8_000_000
    scenario = build_scenario(db.session, YEAR)
    assert [o["provincial_service_reward"] for o in scenario["organizations"]] == ["80000.00"]
    awards = evaluate(scenario).to_dict()["awards"]
    assert [(a["clause"], a["amount"]) for a in awards] == [("A4.match", "80000.00")]
    assert _enter(client, agency, "100000").status_code == 302  # a correction redrafts
    db.session.expire_all()
    assert claim_of(agency, "A4.match", YEAR).amount_fen == 10_000_000


def test_only_city_finance_or_admin_enters_rewards_and_bad_input_writes_nothing(client, factory):
    agency = factory.organization(kind="agency", service_agency=True)
    outside = factory.organization(kind="agency", service_agency=True, in_city=False)
    login(client, factory.user("provider", organization=agency))
    assert _enter(client, agency).status_code == 403
    client.post("/logout")
    login(client, factory.user("finance"))
    assert _enter(client, agency, "-5").status_code == 400
    assert _enter(client, agency, "12.345").status_code == 400
    assert _enter(client, outside).status_code == 400  # the city matches in-city agencies only
    assert _enter(client, agency, year=2999).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ProvincialServiceReward)) == 0
