"""Listings reach search through the app, on both backends: what is published appears at
/search, what is withdrawn or rejected by a moderator disappears, a restored listing comes
back only when published again. Elasticsearch runs through the ``elasticsearch_url`` fixture
(skipped on a developer machine without it, a failure under CI=true), each test with its own
index, named uniquely for the run and dropped afterwards.

Moderation itself: administrators only, a rejection needs its reason, every decision is
audited and sent to the search outbox; a refused decision writes nothing."""
import itertools
import os
import uuid

import pytest
from sqlalchemy import func, select

from marketplace.audit.models import AuditEvent
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.outbox import OutboxEntry
from tests.factories import login

RUN = f"test-app-{os.getpid()}-{uuid.uuid4().hex[:8]}"
_numbers = itertools.count(1)
TITLE = "扫描电镜形貌分析服务"


@pytest.fixture(params=["embedded", "elasticsearch"])
def search_backend(request, app):
    """The app's configured search backend, switched for one test."""
    saved_config = {k: app.config[k] for k in ("SEARCH_BACKEND", "ELASTICSEARCH_URL", "ELASTICSEARCH_INDEX")}
    saved_backend = app.extensions.pop("search_backend", None)
    if request.param == "elasticsearch":
        app.config.update(SEARCH_BACKEND="elasticsearch", ELASTICSEARCH_URL=request.getfixturevalue("elasticsearch_url"),
                          ELASTICSEARCH_INDEX=f"{RUN}-{next(_numbers)}")
    else:
        app.extensions["search_backend"] = saved_backend
    yield request.param
    made = app.extensions.pop("search_backend", None)
    if request.param == "elasticsearch" and made is not None:
        made.drop()
        made.close()
    app.config.update(saved_config)
    if saved_backend is not None:
        app.extensions["search_backend"] = saved_backend


@pytest.fixture()
def provider(factory):
    return factory.provider(name="聊城分析测试中心", service_agency=False)


@pytest.fixture()
def admin(factory):
    return factory.user("admin")


def _found(client, listing_id, q="电镜") -> bool:
    response = client.get("/search", query_string={"q": q})
    assert response.status_code == 200
    return f'href="/listings/{listing_id}"' in response.get_data(as_text=True)


def _as(client, user):
    client.post("/logout")
    login(client, user)


def _published_via_web(client, provider) -> int:
    _as(client, provider)
    response = client.post("/listings/new/service", data={"title": TITLE, "description": "SEM 形貌 分析",
                                                          "price": "800", "field": "检验检测"})
    listing_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/listings/{listing_id}/publish").status_code == 302
    return listing_id


def _outbox() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxEntry))


def test_published_and_withdrawn_listings_through_the_search_page(client, search_backend, provider):
    from marketplace.search import indexing as search_index

    search_index.reindex()
    listing_id = _published_via_web(client, provider)
    assert _found(client, listing_id) and _found(client, listing_id, "sem")
    assert _outbox() == 0  # drained after the request
    assert client.post(f"/listings/{listing_id}/withdraw").status_code == 302
    assert not _found(client, listing_id) and _outbox() == 0


def test_a_listing_rejected_by_a_moderator_leaves_search_and_returns_only_when_published_again(
        client, search_backend, provider, admin):
    from marketplace.search import indexing as search_index

    search_index.reindex()
    listing_id = _published_via_web(client, provider)
    assert _found(client, listing_id)
    _as(client, admin)
    response = client.post(f"/admin/listings/{listing_id}/moderate", data={"decision": "reject", "note": "虚假宣传"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/listings")
    db.session.expire_all()
    listing = db.session.get(Listing, listing_id)
    assert (listing.status, listing.moderation_note) == ("rejected", "虚假宣传")
    assert not _found(client, listing_id) and _outbox() == 0
    client.post("/logout")
    assert client.get(f"/listings/{listing_id}").status_code == 404  # gone for the public too

    _as(client, admin)
    assert client.post(f"/admin/listings/{listing_id}/moderate", data={"decision": "restore"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Listing, listing_id).status == "draft" and not _found(client, listing_id)
    _as(client, provider)
    assert client.post(f"/listings/{listing_id}/publish").status_code == 302
    assert _found(client, listing_id)


def test_moderation_decisions_are_audited_with_their_reason(client, provider, admin):
    listing_id = _published_via_web(client, provider)
    _as(client, admin)
    client.post(f"/admin/listings/{listing_id}/moderate", data={"decision": "reject", "note": "  虚假宣传  "})
    client.post(f"/admin/listings/{listing_id}/moderate", data={"decision": "restore", "note": ""})
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.target_type == "listing")
                                .order_by(AuditEvent.id)).all()
    decisions = [(e.action, e.actor_id, e.target_id, e.before, e.after) for e in events if e.action.startswith(
        "listing.re")]
    assert decisions == [
        ("listing.reject", admin.id, str(listing_id), {"status": "published"}, {"status": "rejected", "note": "虚假宣传"}),
        ("listing.restore", admin.id, str(listing_id), {"status": "rejected"}, {"status": "draft", "note": None}),
    ]


def test_a_moderation_decision_is_sent_to_the_search_outbox(app_ctx, factory, provider, admin):
    from marketplace.listings import services as listings

    listing = listings.publish(provider, listings.create_listing(provider, "service", {"title": TITLE,
                                                                                       "price_fen": 100}).id)
    db.session.execute(OutboxEntry.__table__.delete())
    db.session.commit()
    listings.moderate(admin, listing.id, "reject", "虚假宣传")  # no request: nothing drains it
    assert [(r.topic, r.key) for r in db.session.scalars(select(OutboxEntry))] == [("search", str(listing.id))]


@pytest.mark.parametrize("role, data, status", [
    ("reviewer", {"decision": "reject", "note": "虚假宣传"}, 403),
    ("finance", {"decision": "reject", "note": "虚假宣传"}, 403),
    ("enterprise", {"decision": "reject", "note": "虚假宣传"}, 403),
    ("owner", {"decision": "reject", "note": "虚假宣传"}, 403),
    ("admin", {"decision": "reject", "note": "   "}, 400),  # a rejection needs its reason
    ("admin", {"decision": "delete", "note": "x"}, 400),
])
def test_a_refused_moderation_writes_nothing(client, factory, provider, role, data, status):
    listing_id = _published_via_web(client, provider)
    _as(client, provider if role == "owner" else factory.user(role))
    audit = db.session.scalar(select(func.count()).select_from(AuditEvent))
    assert client.post(f"/admin/listings/{listing_id}/moderate", data=data).status_code == status
    db.session.expire_all()
    assert db.session.get(Listing, listing_id).status == "published"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == audit and _outbox() == 0
    assert _found(client, listing_id)
