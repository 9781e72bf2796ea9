"""Fixtures for the JSON API: organisations, published listings and real bearer tokens."""
import pytest

from marketplace import search_index
from marketplace.api import services as api_tokens
from marketplace.listings import services as listings


def bearer(user, name="test") -> dict:
    """A real token of ``user``, as the Authorization header a program sends."""
    _token, secret = api_tokens.create_token(user, name)
    return {"Authorization": f"Bearer {secret}"}


def published(user, kind, **data):
    defaults = {"title": f"测试{kind}", "description": "", "price_fen": 5_000_000, "negotiable": False}
    if kind == "achievement":
        defaults.update(ip_kind="invention_patent", maturity="pilot",
                        transfer_modes=["non_exclusive_licence", "assignment"])
    if kind == "instrument":
        defaults.update(price_unit="hour", price_fen=50_000, internal_price_fen=20_000, open_from_hour=8,
                        open_to_hour=18)
    defaults.update(data)
    listing = listings.create_listing(user, kind, defaults)
    return listings.publish(user, listing.id)


def reindex():
    """Rebuild the search index from this test's database (the index file outlives each test)."""
    search_index.reindex()


@pytest.fixture()
def provider(factory):
    return factory.user("provider", kind="agency", service_agency=True, name="聊城检测中心")


@pytest.fixture()
def enterprise(factory):
    return factory.user("enterprise", size="small")


@pytest.fixture()
def university(factory):
    return factory.user("university", kind="university", name="聊城大学")


@pytest.fixture()
def english(client):
    client.post("/lang/en")
    return client
