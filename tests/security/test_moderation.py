"""Moderation holds (issue 13): a listing a moderator rejected cannot be published again by
its owner — not directly, not through withdraw then publish, not through the API. Editing it
sends it back to moderation (pending, still out of the market) and only a moderator's approval
publishes it. The reason stays visible to the owner; every change reaches the search index."""
from sqlalchemy import select

from marketplace.audit.models import AuditEvent
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.search import indexing as search_index
from search.documents import SearchQuery
from tests.api.conftest import bearer
from tests.factories import login

TITLE = "高端液相色谱仪检测服务"
NOTE = "含虚假资质信息"


def _ids(text):
    return [h.id for h in search_index.query(SearchQuery(text=text)).hits]


def _status(listing_id):
    db.session.expire_all()
    return db.session.get(Listing, listing_id).status


def _published_and_rejected(client, factory):
    owner = factory.user("provider", kind="agency", service_agency=True)
    admin = factory.user("admin")
    login(client, owner)
    response = client.post("/listings/new/service", data={"title": TITLE, "description": "CMA", "price": "500"})
    listing_id = int(response.headers["Location"].rsplit("/", 1)[1])
    client.post(f"/listings/{listing_id}/publish")
    assert _ids("色谱仪") == [f"service:{listing_id}"]
    client.post("/logout")
    login(client, admin)
    assert client.post(f"/admin/listings/{listing_id}/moderate",
                       data={"decision": "reject", "note": NOTE}).status_code == 302
    assert _status(listing_id) == "rejected"
    assert _ids("色谱仪") == []  # out of the index at once
    client.post("/logout")
    login(client, owner)
    return owner, admin, listing_id


def test_withdraw_then_publish_does_not_undo_a_rejection(client, factory, fresh_index):
    owner, _admin, listing_id = _published_and_rejected(client, factory)
    assert client.post(f"/listings/{listing_id}/withdraw").status_code == 409
    assert client.post(f"/listings/{listing_id}/publish").status_code == 409
    assert _status(listing_id) == "rejected" and _ids("色谱仪") == []
    headers = bearer(owner)
    for action in ("withdraw", "publish"):
        response = client.post(f"/api/v1/listings/{listing_id}/{action}", headers=headers)
        assert response.status_code == 409 and response.json["error"], action
    assert _status(listing_id) == "rejected"
    assert client.get(f"/api/v1/listings/{listing_id}", headers=headers).json["moderation_note"] == NOTE
    client.post("/lang/en")
    assert NOTE in client.get(f"/listings/{listing_id}").get_data(as_text=True)
    assert NOTE in client.get("/my/listings").get_data(as_text=True)


def test_an_edit_sends_a_rejected_listing_back_to_moderation(client, factory, fresh_index):
    _owner, admin, listing_id = _published_and_rejected(client, factory)
    response = client.post(f"/listings/{listing_id}/edit", data={"title": TITLE + "（已更正资质）",
                                                                  "description": "CMA", "price": "500"})
    assert response.status_code == 302
    assert _status(listing_id) == "pending"
    assert client.post(f"/listings/{listing_id}/publish").status_code == 409  # still the moderator's call
    assert _status(listing_id) == "pending" and _ids("色谱仪") == []
    assert client.get("/listings").get_data(as_text=True).count(TITLE) == 0
    client.post("/lang/en")
    page = client.get(f"/listings/{listing_id}").get_data(as_text=True)
    assert NOTE in page and "awaits a moderator" in page  # the earlier reason stays in sight

    client.post("/logout")
    login(client, admin)
    assert TITLE in client.get("/admin/listings").get_data(as_text=True)
    assert client.post(f"/admin/listings/{listing_id}/moderate", data={"decision": "approve"}).status_code == 302
    assert _status(listing_id) == "published" and _ids("色谱仪") == [f"service:{listing_id}"]
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.target_type == "listing", AuditEvent.target_id == str(listing_id))
                                                    .order_by(AuditEvent.id))]
    assert actions == ["listing.reject", "listing.resubmit", "listing.approve"]
    # an approval is for pending listings only
    assert client.post(f"/admin/listings/{listing_id}/moderate", data={"decision": "approve"}).status_code == 409
