"""Bounds on money: one parser (``marketplace.core.money.parse_yuan``) for web forms, the API and
the services behind the city's forms, with one upper bound, 999,999,999,999.99 yuan.

Before: a web form took ``92233720368547758.07`` (the order was paid, an A3 claim of
8.3×10¹⁶ yuan drafted, the dashboard answered 500 "integer overflow"), ``1e20`` gave a 500
and ``1,000`` was read as 1000."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.core.errors import ServiceError
from marketplace.core.money import MAX_FEN, MoneyError, parse_yuan
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.orders import services as orders
from marketplace.orders.models import Enquiry
from tests.api.conftest import bearer, published
from tests.factories import login

BAD = ["92233720368547758.07", "1e20", "1E3", "-5", "+5", "NaN", "Infinity", "1,000", "800,000.00",
       "1000000000000", "999999999999.999", "0.001", "5 5", "５", "0x10", "."]
HINT = "999999999999.99"  # the error says what to type
# A person may write 1,000, 800,000.00 or a full-width ５ in a web form (issue 21): the form reads
# them (marketplace.core.money.read_typed_yuan); the API and the parser keep the one grammar.
FORM_BAD = [text for text in BAD if text not in ("1,000", "800,000.00", "５")] + ["1,00", "八八", "80万万"]


@pytest.mark.parametrize("text,fen", [("800000", 80_000_000), ("800000.5", 80_000_050), ("800000.50", 80_000_050),
                                      (" 12000 ", 1_200_000), ("0", 0), ("999999999999.99", MAX_FEN)])
def test_the_parser_takes_plain_yuan(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", BAD + [12000, 1.5, None])
def test_the_parser_refuses_everything_else(text):
    with pytest.raises(MoneyError):
        parse_yuan(text)


@pytest.mark.parametrize("price", FORM_BAD)
def test_a_listing_form_shows_the_error_beside_the_price_and_stores_nothing(client, factory, price):
    login(client, factory.user("provider", kind="agency", service_agency=True))
    answer = client.post("/listings/new/service", data={"title": "检测服务", "price": price})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert HINT in html
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 0


@pytest.mark.parametrize("amount", ["92233720368547758.07", "1e20", "1,00", "NaN"])
def test_a_quote_beyond_the_bound_is_refused_and_the_enquiry_stays_open(client, factory, amount):
    seller = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    enquiry = orders.enquire(buyer, published(seller, "service").id, "多少钱？")
    login(client, seller)
    answer = client.post(f"/enquiries/{enquiry.id}/quote", data={"amount": amount, "note": ""})
    assert answer.status_code == 400
    assert HINT in answer.get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(Enquiry, enquiry.id).status, db.session.get(Enquiry, enquiry.id).quote_fen) == ("open", None)


@pytest.mark.parametrize("price", ["92233720368547758.07", "1e20", "1,000", "1000000000000", "-5", "NaN"])
def test_the_api_answers_400_naming_the_field(client, factory, price):
    headers = bearer(factory.user("provider", kind="agency", service_agency=True))
    answer = client.post("/api/v1/listings", headers=headers, json={"kind": "service", "title": "检测", "price": price})
    assert answer.status_code == 400, answer.json
    assert answer.json["field"] == "price"
    assert db.session.scalar(select(func.count()).select_from(Listing)) == 0


def test_the_api_takes_the_largest_amount_and_not_a_fen_more(client, factory):
    headers = bearer(factory.user("provider", kind="agency", service_agency=True))
    ok = client.post("/api/v1/listings", headers=headers, json={"kind": "service", "title": "检测",
                                                                "price": "999999999999.99"})
    assert ok.status_code == 201 and ok.json["price"] == "999999999999.99"


def test_services_bound_amounts_that_do_not_come_through_a_form(factory):
    from marketplace.programmes import common

    with pytest.raises(ServiceError) as refused:
        common.fen("92233720368547758.07", "requested_city")
    assert refused.value.field == "requested_city" and HINT in refused.value.message
    with pytest.raises(ServiceError):
        common.fen(MAX_FEN + 1, "requested_city")
    seller = factory.user("provider", kind="agency", service_agency=True)
    buyer = factory.user("enterprise", size="small")
    enquiry = orders.enquire(buyer, published(seller, "service").id, "多少钱？")
    with pytest.raises(ServiceError) as too_large:
        orders.quote(seller, enquiry.id, 9_223_372_036_854_775_807)
    assert too_large.value.field == "amount"
