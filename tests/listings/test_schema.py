"""One declaration of a listing's fields (marketplace/listings/schema.py): the service, the
web forms, the API's validation and the OpenAPI document all follow it."""
import pytest

from marketplace.api import openapi, views
from marketplace.listings import forms, schema
from marketplace.listings import services as listings
from marketplace.listings.models import KINDS, Listing

KIND_SCHEMA = {"achievement": "AchievementCreate", "instrument": "InstrumentCreate", "service": "ServiceCreate",
               "demand": "DemandCreate"}
FORMS = {"achievement": forms.AchievementForm, "instrument": forms.InstrumentForm, "service": forms.ListingForm,
         "demand": forms.ListingForm}


@pytest.mark.parametrize("kind", KINDS)
def test_every_declared_field_is_taken_by_the_service_the_api_and_the_document(kind, app):
    declared = schema.fields_of(kind)
    assert set(listings.COMMON + listings.KIND_FIELDS[kind]) == {f.service_name for f in declared}
    assert {**views.COMMON_FIELDS, **views.KIND_FIELDS[kind]}.keys() == {f.name for f in declared}
    document = openapi.document()["components"]["schemas"][KIND_SCHEMA[kind]]
    assert set(document["properties"]) == {"kind"} | {f.name for f in declared}
    assert set(document["required"]) == {"kind"} | {f.name for f in declared if f.required}
    for f in declared:
        assert hasattr(Listing, f.service_name), f.name  # a column of the table


@pytest.mark.parametrize("kind", KINDS)
def test_bounds_and_choices_are_the_declared_ones_everywhere(kind, app):
    document = openapi.document()["components"]["schemas"][KIND_SCHEMA[kind]]["properties"]
    for f in schema.fields_of(kind):
        stated = document[f.name]
        stated = next((s for s in stated.get("anyOf", [stated]) if s.get("type") != "null"), stated)
        assert ("anyOf" in document[f.name]) is f.nullable, f.name
        if f.type == schema.TEXT:
            assert stated["maxLength"] == f.max_length
        if f.type == schema.CHOICE:
            assert stated["enum"] == list(f.choices)
        if f.type == schema.CHOICES:
            assert stated["items"]["enum"] == list(f.choices)
    with app.test_request_context():
        form = FORMS[kind](meta={"csrf": False})
        for f in schema.fields_of(kind):
            field = getattr(form, f.name, None)
            lengths = [v.max for v in getattr(field, "validators", ()) if hasattr(v, "max") and f.type == schema.TEXT]
            assert lengths in ([], [f.max_length]), f.name  # a form that bounds a text bounds it as declared


def test_one_character_too_many_is_refused_by_the_api_at_that_field(app, client, provider):
    from tests.api.conftest import bearer

    too_long = "检" * (schema.max_length("title") + 1)
    response = client.post("/api/v1/listings", headers=bearer(provider),
                           json={"kind": "service", "title": too_long, "price": "1.00"})
    assert response.status_code == 400 and response.json["field"] == "title"
    response = client.post("/api/v1/listings", headers=bearer(provider),
                           json={"kind": "instrument", "title": "显微镜", "price": "1.00"})
    assert response.status_code == 400 and response.json["field"] == "price_unit"  # required, as declared
