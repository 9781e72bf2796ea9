"""Every /api/v1 endpoint through HTTP with real tokens: the happy path, the permission
failure, strict validation (nothing written), vouchers, bookings and contracts."""
import base64
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.core.timeutil import beijing_today, utcnow
from marketplace.extensions import db
from marketplace.listings.models import Listing
from marketplace.orders.models import Booking, Order, TechContract
from tests.api.conftest import bearer, published, reindex
from tests.voucher_helpers import give_voucher


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# --- me -------------------------------------------------------------------------------------

def test_me_names_the_user_role_and_organisation(client, enterprise, factory):
    me = client.get("/api/v1/me", headers=bearer(enterprise)).json
    assert me["user"]["email"] == enterprise.email and me["role"] == "enterprise"
    assert me["organization"]["id"] == enterprise.organization.id and me["verified"] is True
    newcomer = factory.user("enterprise", verified=False)
    assert client.get("/api/v1/me", headers=bearer(newcomer)).json["verified"] is False


# --- listings -------------------------------------------------------------------------------

def test_listing_lifecycle_create_patch_publish_search_withdraw(client, provider, enterprise):
    headers = bearer(provider)
    created = client.post("/api/v1/listings", headers=headers, json={
        "kind": "service", "title": "高端液相色谱仪检测服务", "description": "药物残留检测",
        "price": "50000", "field": "检验检测", "county": "东昌府区"})
    assert created.status_code == 201, created.json
    item = created.json
    assert (item["status"], item["price"], item["kind"], item["voucher_eligible"]) == ("draft", "50000.00", "service", True)
    assert db.session.get(Listing, item["id"]).price_fen == 5_000_000
    # A draft is seen by its organisation only.
    assert client.get(f"/api/v1/listings/{item['id']}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/listings/{item['id']}", headers=bearer(enterprise)).status_code == 404

    patched = client.patch(f"/api/v1/listings/{item['id']}", headers=headers, json={"price": "48000.50"})
    assert patched.status_code == 200 and patched.json["price"] == "48000.50"
    assert patched.json["title"] == "高端液相色谱仪检测服务"  # untouched members stay

    reindex()
    buyer = bearer(enterprise)
    assert client.get("/api/v1/listings", headers=buyer).json["items"] == []
    assert client.post(f"/api/v1/listings/{item['id']}/publish", headers=headers).json["status"] == "published"
    found = client.get("/api/v1/listings?q=色谱&kind=service&county=东昌府区", headers=buyer).json
    assert [x["id"] for x in found["items"]] == [item["id"]] and found["total"] == 1
    assert client.get("/api/v1/listings?kind=achievement", headers=buyer).json["items"] == []
    assert client.get("/api/v1/listings?field=新材料", headers=buyer).json["items"] == []
    assert client.get(f"/api/v1/listings/{item['id']}", headers=buyer).status_code == 200

    assert client.post(f"/api/v1/listings/{item['id']}/withdraw", headers=headers).json["status"] == "withdrawn"
    assert client.get("/api/v1/listings?q=色谱", headers=buyer).json["items"] == []


def test_paging(client, provider, enterprise):
    for n in range(3):
        published(provider, "service", title=f"检测服务{n}")
    reindex()
    page = client.get("/api/v1/listings?per_page=2&page=2", headers=bearer(enterprise)).json
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (3, 2, 2, 1)


def test_kind_specific_fields(client, university, provider):
    created = client.post("/api/v1/listings", headers=bearer(university), json={
        "kind": "achievement", "title": "一种轴承钢热处理方法", "price": "1200000.00", "ip_kind": "invention_patent",
        "ip_number": "ZL202410000001.2", "maturity": "pilot", "transfer_modes": ["assignment", "non_exclusive_licence"]})
    assert created.status_code == 201, created.json
    assert created.json["transfer_modes"] == ["assignment", "non_exclusive_licence"]
    instrument = client.post("/api/v1/listings", headers=bearer(provider), json={
        "kind": "instrument", "title": "扫描电子显微镜", "price": "500.00", "price_unit": "hour",
        "internal_price": "200.00", "open_from_hour": 9, "open_to_hour": 17, "on_sharing_platform": True})
    assert instrument.status_code == 201, instrument.json
    assert (instrument.json["internal_price"], instrument.json["open_from_hour"]) == ("200.00", 9)


def test_other_organisations_and_unverified_ones_are_refused(client, provider, factory):
    listing = published(provider, "service")
    rival = factory.user("provider", kind="agency")
    rival_headers = bearer(rival)
    assert client.patch(f"/api/v1/listings/{listing.id}", headers=rival_headers, json={"title": "抢注"}).status_code == 403
    assert client.post(f"/api/v1/listings/{listing.id}/withdraw", headers=rival_headers).status_code == 403
    assert db.session.get(Listing, listing.id).title == "测试service"
    assert db.session.get(Listing, listing.id).status == "published"
    newcomer = factory.user("provider", kind="agency", verified=False)
    refused = client.post("/api/v1/listings", headers=bearer(newcomer), json={"kind": "service", "title": "x",
                                                                              "negotiable": True})
    assert refused.status_code == 403 and refused.json["error"]
    assert _count(Listing) == 1


@pytest.mark.parametrize("body, field", [
    ({"kind": "service", "title": "x", "price": "1.00", "colour": "red"}, "colour"),
    ({"kind": "service", "title": "x", "price": 50000}, "price"),  # amounts are strings, never numbers
    ({"kind": "service", "title": "x", "price": "12.345"}, "price"),
    ({"kind": "service", "title": 7, "price": "1.00"}, "title"),
    ({"kind": "service", "price": "1.00"}, "title"),
    ({"kind": "service", "title": "x", "negotiable": "yes"}, "negotiable"),
    ({"kind": "service", "title": "x", "price": "1.00", "ip_kind": "invention_patent"}, "ip_kind"),
    ({"kind": "spaceship", "title": "x"}, "kind"),
    ({"title": "x"}, "kind"),
    ({"kind": "instrument", "title": "x", "price": "1.00", "price_unit": "hour", "open_from_hour": 18,
      "open_to_hour": 8}, "open_to_hour"),
    ({"kind": "instrument", "title": "x", "price": "1.00", "price_unit": "hour", "open_from_hour": True}, "open_from_hour"),
    ({"kind": "achievement", "title": "x", "ip_kind": "invention_patent", "transfer_modes": "assignment"}, "transfer_modes"),
    ({"kind": "service", "title": "x", "price": "1.00", "county": "北京"}, "county"),
])
def test_bad_bodies_are_400_naming_the_field_and_write_nothing(client, provider, english, body, field):
    response = client.post("/api/v1/listings", headers=bearer(provider), json=body)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field and response.json["error"]
    assert _count(Listing) == 0


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b"\"text\"", b"{\"kind\": NaN}", b"\xff\xfe",
                                 b"{\"kind\": \"service\", \"kind\": \"demand\", \"title\": \"x\"}"])
def test_malformed_json_is_400(client, provider, raw):
    response = client.post("/api/v1/listings", headers={**bearer(provider), "Content-Type": "application/json"},
                           data=raw)
    assert response.status_code == 400 and response.json["error"]
    assert _count(Listing) == 0


def test_unknown_query_parameters_and_bad_paging_are_400(client, enterprise):
    headers = bearer(enterprise)
    assert client.get("/api/v1/listings?colour=red", headers=headers).json["field"] == "colour"
    assert client.get("/api/v1/listings?per_page=1000", headers=headers).json["field"] == "per_page"
    assert client.get("/api/v1/listings?page=two", headers=headers).json["field"] == "page"


def test_patch_refuses_members_of_another_kind_and_writes_nothing(client, provider):
    listing = published(provider, "service", price_fen=100_000)
    headers = bearer(provider)
    response = client.patch(f"/api/v1/listings/{listing.id}", headers=headers,
                            json={"price": "2.00", "price_unit": "hour"})
    assert response.status_code == 400 and response.json["field"] == "price_unit"
    response = client.patch(f"/api/v1/listings/{listing.id}", headers=headers, json={"title": "  "})
    assert response.status_code == 400 and response.json["field"] == "title"
    assert db.session.get(Listing, listing.id).price_fen == 100_000


# --- orders and payments ------------------------------------------------------------------

def test_voucher_order_shows_what_the_buyer_pays_and_what_province_and_city_owe(client, provider, enterprise):
    service = published(provider, "service", title="高端液相色谱仪检测服务", price_fen=5_000_000)
    buyer = bearer(enterprise)
    refused = client.post("/api/v1/orders", headers=buyer, json={"listing_id": service.id, "with_voucher": True})
    assert refused.status_code == 400 and refused.json["field"] == "with_voucher"  # no voucher yet
    give_voucher(enterprise.organization, 10_000_000)
    vouchers = client.get("/api/v1/vouchers", headers=buyer).json["items"]
    assert [(v["balance"], v["status"]) for v in vouchers] == [("100000.00", "active")]
    created = client.post("/api/v1/orders", headers=buyer, json={"listing_id": service.id, "with_voucher": True})
    assert created.status_code == 201, created.json
    order = created.json
    assert order["status"] == "pending_payment" and order["amount"] == "50000.00"
    assert order["shares"] == {"buyer": "5000.00", "province": "30000.00", "city": "15000.00"}
    assert client.get("/api/v1/vouchers", headers=buyer).json["items"][0]["reserved"] == "45000.00"

    paid = client.post(f"/api/v1/orders/{order['id']}/pay", headers=buyer)
    assert paid.status_code == 200, paid.json
    assert paid.json["status"] == "paid"
    assert [(p["amount"], p["status"]) for p in paid.json["payments"]] == [("5000.00", "succeeded")]
    assert paid.json["voucher_receivables"] == []  # owed only once the service is accepted
    assert client.post(f"/api/v1/orders/{order['id']}/pay", headers=buyer).status_code == 409

    seller = bearer(provider)
    assert [o["id"] for o in client.get("/api/v1/orders", headers=seller).json["items"]] == [order["id"]]
    assert client.post(f"/api/v1/orders/{order['id']}/confirm", headers=buyer).status_code == 400  # accepted, not confirmed
    assert client.post(f"/api/v1/orders/{order['id']}/deliver", headers=seller, json={}).json["field"] == "files"
    report = {"name": "报告.pdf", "content_base64": base64.b64encode(b"%PDF-1.4 api").decode()}
    delivered = client.post(f"/api/v1/orders/{order['id']}/deliver", headers=seller, json={"report": report})
    assert delivered.status_code == 200 and delivered.json["delivery"]["status"] == "delivered"
    assert client.post(f"/api/v1/orders/{order['id']}/accept", headers=seller).status_code == 403
    accepted = client.post(f"/api/v1/orders/{order['id']}/accept", headers=buyer)
    assert accepted.status_code == 200, accepted.json
    assert accepted.json["reservation"] == {"amount": "45000.00", "status": "redeemed"}
    assert sorted((r["payer"], r["amount"]) for r in accepted.json["receivables"]) == [
        ("city", "15000.00"), ("province", "30000.00")]
    assert accepted.json["batch"]["status"] == "open"

    assert client.post(f"/api/v1/orders/{order['id']}/refund", headers=buyer,
                       json={"reason": "不想要了"}).status_code == 403  # the seller refunds, not the buyer
    assert client.post(f"/api/v1/orders/{order['id']}/refund", headers=seller, json={}).json["field"] == "reason"
    refunded = client.post(f"/api/v1/orders/{order['id']}/refund", headers=seller, json={"reason": "服务未按期完成"})
    assert refunded.status_code == 200 and refunded.json["status"] == "refunded"
    assert {r["status"] for r in refunded.json["voucher_receivables"]} == {"void"}
    assert client.get("/api/v1/vouchers", headers=buyer).json["items"][0]["balance"] == "100000.00"  # given back


def test_an_enterprise_applies_for_a_voucher_through_the_api(client, enterprise, factory):
    headers = bearer(enterprise)
    year = beijing_today().year
    created = client.post("/api/v1/voucher-applications", headers=headers,
                          json={"year": year, "planned": "80000", "purpose": "检测"})
    assert created.status_code == 201 and created.json["status"] == "pending", created.json
    assert [a["id"] for a in client.get("/api/v1/voucher-applications", headers=headers).json["items"]] == \
        [created.json["id"]]
    bad = client.post("/api/v1/voucher-applications", headers=headers, json={"year": year, "planned": 80000,
                                                                             "purpose": "检测"})
    assert bad.status_code == 400 and bad.json["field"] == "planned"
    large = factory.user("enterprise", size="large")
    refused = client.post("/api/v1/voucher-applications", headers=bearer(large),
                          json={"year": year, "planned": "80000", "purpose": "检测"})
    assert refused.status_code == 400


def test_other_organisations_cannot_see_or_pay_an_order(client, provider, enterprise, factory):
    service = published(provider, "service")
    order = client.post("/api/v1/orders", headers=bearer(enterprise), json={"listing_id": service.id}).json
    stranger = bearer(factory.user("enterprise"))
    assert client.get(f"/api/v1/orders/{order['id']}", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/orders/{order['id']}/pay", headers=stranger).status_code == 404
    assert client.get("/api/v1/orders", headers=stranger).json["items"] == []
    assert client.post(f"/api/v1/orders/{order['id']}/pay", headers=bearer(provider)).status_code == 403
    assert db.session.get(Order, order["id"]).status == "pending_payment"


def test_order_refusals_write_nothing(client, provider, enterprise, factory, english):
    service = published(provider, "service")
    newcomer = factory.user("enterprise", verified=False)
    assert client.post("/api/v1/orders", headers=bearer(newcomer), json={"listing_id": service.id}).status_code == 403
    large = factory.user("enterprise", size="large")
    refused = client.post("/api/v1/orders", headers=bearer(large), json={"listing_id": service.id, "with_voucher": True})
    assert refused.status_code == 400 and refused.json["field"] == "with_voucher"
    headers = bearer(enterprise)
    assert client.post("/api/v1/orders", headers=headers, json={"listing_id": "1"}).json["field"] == "listing_id"
    assert client.post("/api/v1/orders", headers=headers, json={"listing_id": 99999}).status_code == 404
    assert client.post("/api/v1/orders", headers=headers,
                       json={"listing_id": service.id, "transfer_mode": "assignment"}).json["field"] == "transfer_mode"
    assert client.post("/api/v1/orders", headers=bearer(provider), json={"listing_id": service.id}).status_code == 400
    assert _count(Order) == 0


# --- achievements and contracts --------------------------------------------------------------

def test_buy_an_achievement_and_the_seller_registers_the_contract(client, university, enterprise):
    patent = published(university, "achievement", title="一种轴承钢热处理方法", price_fen=120_000_000)
    buyer = bearer(enterprise)
    assert client.post("/api/v1/orders", headers=buyer, json={"listing_id": patent.id}).json["field"] == "transfer_mode"
    assert client.post("/api/v1/orders", headers=buyer, json={"listing_id": patent.id, "transfer_mode": "equity"}
                       ).json["field"] == "transfer_mode"  # not offered that way
    order = client.post("/api/v1/orders", headers=buyer,
                        json={"listing_id": patent.id, "transfer_mode": "non_exclusive_licence"}).json
    assert order["contract"]["contract_type"] == "transfer" and order["shares"]["buyer"] == "1200000.00"
    client.post(f"/api/v1/orders/{order['id']}/pay", headers=buyer)
    contract_id = order["contract"]["id"]
    body = {"registration_no": "2024370015000123", "registered_on": beijing_today().isoformat(),
            "contract_type": "transfer"}
    assert client.post(f"/api/v1/contracts/{contract_id}/register", headers=buyer, json=body).status_code == 403
    bad = client.post(f"/api/v1/contracts/{contract_id}/register", headers=bearer(university),
                      json={**body, "registered_on": "2024-13-01"})
    assert bad.status_code == 400 and bad.json["field"] == "registered_on"
    assert db.session.get(TechContract, contract_id).registration_no is None
    seller = bearer(university)
    ok = client.post(f"/api/v1/contracts/{contract_id}/register", headers=seller, json=body)
    assert ok.status_code == 200 and ok.json["registration_no"] == "2024370015000123"
    assert client.post(f"/api/v1/contracts/{contract_id}/register", headers=seller, json=body).status_code == 409
    assert client.post("/api/v1/contracts/99999/register", headers=seller, json=body).status_code == 404


# --- bookings -----------------------------------------------------------------------------

def _slot(days=2, hour=9):
    return datetime.combine(utcnow().date() + timedelta(days=days), datetime.min.time()).replace(hour=hour)


def test_booking_calendar_and_conflict(client, provider, enterprise, factory):
    instrument = published(provider, "instrument", title="扫描电子显微镜")
    start = _slot()
    booked = client.post("/api/v1/bookings", headers=bearer(enterprise), json={
        "instrument_id": instrument.id, "start_at": start.isoformat(), "hours": 2})
    assert booked.status_code == 201, booked.json
    assert (booked.json["hours"], booked.json["amount"], booked.json["start_at"]) == (2, "1000.00", start.isoformat())
    assert booked.json["order_id"]
    other = bearer(factory.user("enterprise"))
    clash = client.post("/api/v1/bookings", headers=other, json={
        "instrument_id": instrument.id, "start_at": (start + timedelta(hours=1)).isoformat(), "hours": 2})
    assert clash.status_code == 409 and clash.json["field"] == "start_at"
    assert _count(Booking) == 1 and _count(Order) == 1

    calendar = client.get(f"/api/v1/instruments/{instrument.id}/calendar?from={start.date().isoformat()}&days=3",
                          headers=other).json
    assert calendar["days"][0] == {"date": start.date().isoformat(), "booked_hours": [9, 10]}
    assert len(calendar["days"]) == 3 and calendar["days"][1]["booked_hours"] == []
    assert [b["id"] for b in client.get("/api/v1/bookings", headers=bearer(enterprise)).json["items"]] == [booked.json["id"]]
    assert client.get("/api/v1/bookings", headers=other).json["items"] == []
    assert [b["id"] for b in client.get("/api/v1/bookings", headers=bearer(provider)).json["items"]] == [booked.json["id"]]


def test_booking_refusals(client, provider, enterprise, factory, english):
    instrument = published(provider, "instrument")
    headers = bearer(enterprise)
    for body, field, status in [
        ({"start_at": _slot().replace(minute=30).isoformat(), "hours": 1}, "start_at", 400),
        ({"start_at": _slot().isoformat() + "+08:00", "hours": 1}, "start_at", 400),
        ({"start_at": _slot(hour=17).isoformat(), "hours": 3}, "start_at", 400),  # closes at 18:00
        ({"start_at": _slot(days=-2).isoformat(), "hours": 1}, "start_at", 400),
        ({"start_at": _slot().isoformat(), "hours": 13}, "hours", 400),
        ({"start_at": _slot().isoformat(), "hours": "2"}, "hours", 400),
    ]:
        response = client.post("/api/v1/bookings", headers=headers, json={"instrument_id": instrument.id, **body})
        assert (response.status_code, response.json["field"]) == (status, field), body
    newcomer = bearer(factory.user("enterprise", verified=False))
    assert client.post("/api/v1/bookings", headers=newcomer, json={
        "instrument_id": instrument.id, "start_at": _slot().isoformat(), "hours": 1}).status_code == 403
    assert _count(Booking) == 0
    assert client.get(f"/api/v1/instruments/{instrument.id}/calendar?from=2025-02-30", headers=headers
                      ).json["field"] == "from"
    service = published(provider, "service")
    assert client.get(f"/api/v1/instruments/{service.id}/calendar", headers=headers).status_code == 404


def test_errors_use_the_user_s_language(client, provider):
    response = client.post("/api/v1/listings", headers=bearer(provider), json={"kind": "service"})
    client.post("/lang/en")
    english = client.post("/api/v1/listings", headers=bearer(provider), json={"kind": "service"})
    assert response.json["field"] == english.json["field"] == "title"
    assert english.json["error"] == "title is required."
