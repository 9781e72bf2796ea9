"""Stored and reflected XSS: every text a person can type comes back escaped on every page
that shows it — registration, listings of every kind (create and edit), enquiries, quotes,
refund reasons, contract registration and search."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.accounts import credit_code
from marketplace.accounts.models import User
from marketplace.core.timeutil import beijing_today
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.orders.models import Enquiry, TechContract
from tests.factories import login
from tests.security.html import PAYLOADS, injected, shows


def _get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def _assert_escaped(client, paths, payload, must_show=True):
    for path in paths:
        html = _get(client, path)
        assert injected(html) == [], (path, injected(html))
        if must_show:
            assert shows(html, payload), f"{path} does not show the submitted text, so the check proves nothing"


def _id(response, pattern=r"/(\d+)$") -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    return int(re.search(pattern, response.headers["Location"]).group(1))


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror"])
def test_registration_fields_come_back_escaped(client, factory, payload):
    response = client.post("/register", data={
        "org_name": payload, "kind": "enterprise", "role": "enterprise", "size": "small",
        "credit_code": credit_code.make("91371502MA9" + str(len(payload)).zfill(6)), "county": "东昌府区",
        "in_city": "y", "name": payload, "email": f"xss{len(payload)}@example.com",
        "password": "a-long-password-1", "confirm": "a-long-password-1"})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    from sqlalchemy import select

    from marketplace.extensions import db
    from marketplace.notifications.models import OutgoingMail
    body = db.session.scalars(select(OutgoingMail.body).order_by(OutgoingMail.id.desc())).first()
    link = body.split("http://marketplace.test", 1)[1].split()[0]  # confirm the address: then logged in
    _assert_escaped(client, [link], payload)
    assert client.post(link, data={"password": "a-long-password-1", "confirm": "a-long-password-1"}).status_code == 302
    _assert_escaped(client, ["/home", "/members", "/listings", "/"], payload)
    client.post("/logout")
    login(client, factory.user("admin"))
    _assert_escaped(client, ["/admin/organizations"], payload)


LISTING_TEXT = {
    "achievement": ("title", "description", "ip_number"),
    "instrument": ("title", "description", "category", "model", "location"),
    "service": ("title", "description"),
    "demand": ("title", "description"),
}


def _listing_form(kind, payload, field_name):
    data = {"title": f"标题{kind}", "description": "", "price": "1000"}
    if kind == "achievement":
        data.update(ip_kind="invention_patent", maturity="pilot", transfer_modes=["assignment"], ip_number="")
    if kind == "instrument":
        data.update(price_unit="hour", internal_price="100", open_from_hour="8", open_to_hour="18")
    data[field_name] = payload if field_name != "ip_number" else payload[:40]
    return data


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror"])
@pytest.mark.parametrize("kind", sorted(LISTING_TEXT))
def test_listing_fields_of_every_kind_come_back_escaped(client, factory, fresh_index, kind, payload):
    owner_role = {"achievement": "university", "instrument": "provider", "service": "provider",
                  "demand": "enterprise"}[kind]
    owner = factory.user(owner_role)
    admin = factory.user("admin")
    visitor = factory.user("enterprise")
    for name in LISTING_TEXT[kind]:
        login(client, owner)
        # Created with the payload in one field, then edited to carry it in the same field again
        # (the edit form re-displays it), then published so every public page shows it.
        listing_id = _id(client.post(f"/listings/new/{kind}", data=_listing_form(kind, payload, name)))
        assert getattr(db.session.get(Listing, listing_id), name) == (payload if name != "ip_number" else payload[:40])
        _assert_escaped(client, [f"/listings/{listing_id}/edit"], payload if name != "ip_number" else payload[:40])
        edited = _listing_form(kind, payload, name)
        edited["description"] = edited["description"] or payload
        assert client.post(f"/listings/{listing_id}/edit", data=edited).status_code == 302
        assert client.post(f"/listings/{listing_id}/publish").status_code == 302
        shown = payload if name != "ip_number" else payload[:40]
        _assert_escaped(client, [f"/listings/{listing_id}", "/my/listings"], shown, must_show=name != "ip_number")
        _assert_escaped(client, [f"/listings/{listing_id}"], shown)
        client.post("/logout")
        login(client, visitor)
        _assert_escaped(client, [f"/listings/{listing_id}"], shown)
        _assert_escaped(client, ["/listings", f"/listings?kind={kind}"], payload, must_show=name == "title")
        # Search shows highlighted titles and snippets: the highlighter must escape what it marks.
        for q in ("alert", "script", "onerror", "img src"):
            _assert_escaped(client, [f"/search?q={q}", f"/search?q={q}&kind={kind}"], payload, must_show=False)
        client.post("/logout")
        login(client, admin)
        _assert_escaped(client, ["/admin/listings"], payload, must_show=False)
        client.post("/logout")


def test_search_hits_show_the_payload_escaped_in_title_and_snippet(client, factory, fresh_index):
    provider = factory.user("provider")
    login(client, provider)
    for payload in PAYLOADS:
        listing_id = _id(client.post("/listings/new/service", data={
            "title": f"检测服务 {payload}", "description": f"说明 {payload} 说明", "price": "100"}))
        client.post(f"/listings/{listing_id}/publish")
    client.post("/logout")
    html = _get(client, "/search?q=alert")
    assert injected(html) == []
    assert shows(html, PAYLOADS[0]) or shows(html, "检测服务 " + PAYLOADS[0])
    html = _get(client, "/search?q=onerror")
    assert injected(html) == [] and "onerror" in html


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror"])
def test_enquiry_quote_refund_and_contract_texts_come_back_escaped(client, factory, payload):
    provider = factory.user("provider")
    university = factory.user("university", kind="university")
    buyer = factory.user("enterprise", size="small")
    admin = factory.user("admin")
    login(client, provider)
    service_id = _id(client.post("/listings/new/service", data={"title": "检测服务", "price": "1000"}))
    client.post(f"/listings/{service_id}/publish")
    client.post("/logout")
    login(client, university)
    patent_id = _id(client.post("/listings/new/achievement", data={
        "title": "专利", "price": "1000", "ip_kind": "invention_patent", "maturity": "pilot",
        "transfer_modes": ["assignment"]}))
    client.post(f"/listings/{patent_id}/publish")
    client.post("/logout")

    # Enquiry (buyer's message), then a quote with the payload in its terms.
    login(client, buyer)
    enquiry_id = _id(client.post(f"/listings/{service_id}/enquire", data={"message": payload}))
    assert db.session.get(Enquiry, enquiry_id).message == payload
    _assert_escaped(client, [f"/enquiries/{enquiry_id}"], payload)
    _assert_escaped(client, ["/enquiries"], payload, must_show=False)
    client.post("/logout")
    login(client, provider)
    _assert_escaped(client, [f"/enquiries/{enquiry_id}"], payload)
    assert client.post(f"/enquiries/{enquiry_id}/quote", data={"amount": "800", "note": payload}).status_code == 302
    _assert_escaped(client, [f"/enquiries/{enquiry_id}"], payload)
    client.post("/logout")
    login(client, buyer)
    _assert_escaped(client, [f"/enquiries/{enquiry_id}"], payload)
    order_id = _id(client.post(f"/enquiries/{enquiry_id}/accept", data={}))
    client.post(f"/orders/{order_id}/pay")

    # Refund with the payload as reason (provider), seen by both parties and the admin's audit log.
    client.post("/logout")
    login(client, provider)
    assert client.post(f"/orders/{order_id}/refund", data={"reason": payload}).status_code == 302
    _assert_escaped(client, [f"/orders/{order_id}", "/orders"], payload, must_show=False)
    client.post("/logout")
    login(client, admin)
    _assert_escaped(client, ["/admin/audit"], payload, must_show=False)
    client.post("/logout")

    # Contract registration number.
    login(client, buyer)
    order_id = _id(client.post(f"/listings/{patent_id}/buy", data={"transfer_mode": "assignment"}))
    client.post(f"/orders/{order_id}/pay")
    client.post("/logout")
    login(client, university)
    contract = db.session.scalars(select(TechContract).where(TechContract.order_id == order_id)).one()
    response = client.post(f"/contracts/{contract.id}/register", data={
        "registration_no": payload[:40], "registered_on": beijing_today().isoformat(), "contract_type": "transfer"})
    assert response.status_code == 302
    _assert_escaped(client, [f"/orders/{order_id}"], payload[:40])
    client.post("/logout")
    login(client, buyer)
    _assert_escaped(client, [f"/orders/{order_id}"], payload[:40])


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror"])
def test_search_text_and_every_filter_are_reflected_escaped(client, fresh_index, payload):
    from urllib.parse import urlencode

    html = _get(client, "/search?" + urlencode({"q": payload}))
    assert injected(html) == [] and shows(html, payload)
    for param in ("kind", "field", "county", "mode", "voucher", "price", "sort", "page"):
        html = _get(client, "/search?" + urlencode({"q": "检测", param: payload}))
        assert injected(html) == [], (param, injected(html))
    for path in ("/listings?" + urlencode({"kind": payload}), "/login?" + urlencode({"next": payload})):
        response = client.get(path)
        assert response.status_code in (200, 400), path
        assert injected(response.get_data(as_text=True)) == [], path


def test_a_payload_in_the_users_name_is_escaped_in_the_top_bar(client, factory):
    user = factory.user("enterprise")
    db.session.get(User, user.id).name = PAYLOADS[1]
    db.session.commit()
    login(client, user)
    for path in ("/", "/home", "/listings", "/search?q=x", "/orders", "/bookings", "/enquiries"):
        html = _get(client, path)
        assert injected(html) == [] and shows(html, PAYLOADS[1]), path
