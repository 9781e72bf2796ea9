"""Never lose input (issue 21): every form a person submits answers a refusal with the same
form, what they typed still in it and the reason beside the field (or above the form when the
refusal is not about one field) — never a bare 400/403/409 page with only "back to the front
page". A refusal writes nothing.

``FORMS`` lists one bad submission per form: who sends it, where, what they typed, the value
that must come back and the field the error must stand beside (``None``: above the form).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

import pytest
from sqlalchemy import func, select

from marketplace.core.timeutil import beijing_today
from marketplace.extensions import db
from tests.factories import login


def day(n: int) -> str:
    return (beijing_today() + timedelta(days=n)).isoformat()


@dataclass(frozen=True)
class Bad:
    who: str  # a key of the world's people
    path: str  # with the world's ids in braces
    data: dict | Callable[[], dict]
    kept: tuple[str, ...]  # what was typed and must come back
    field: str | None  # the field the error stands beside; None: above the form
    status: int = 400
    words: str | None = None  # a part of the reason the page must say
    extra: dict = field(default_factory=dict)


def docx() -> dict:
    return {"files": (io.BytesIO(b"PK\x03\x04 word/document.xml"), "报价单.docx")}


FORMS: dict[str, Bad] = {
    "listing create: 八八 is no amount": Bad(
        "seller", "/listings/new/service", {"title": "精密尺寸检测服务", "price": "八八", "description": "三坐标测量"},
        ("精密尺寸检测服务", "八八", "三坐标测量"), "price", words="80万"),
    "listing edit: a misplaced thousands separator": Bad(
        "seller", "/listings/{service}/edit", {"title": "改过名的检测服务", "price": "1,00"},
        ("改过名的检测服务", "1,00"), "price"),
    "listing attachment: a .docx where PDF is required": Bad(
        "seller", "/listings/{service}/attachments", docx, (), "files", words="报价单.docx"),
    "lease fee: a negative amount": Bad(
        "seller", "/listings/{leased}/lease", {"amount": "-5", "paid_on": "2024-01-10"}, ("-5", "2024-01-10"), "amount"),
    "enquiry: a way to transfer the achievement is not offered": Bad(
        "buyer", "/listings/{achievement}/enquire", {"message": "能否独占许可？", "transfer_mode": "equity"},
        ("能否独占许可？",), "transfer_mode"),
    "enquiry: an unverified organisation": Bad(
        "unverified", "/listings/{service}/enquire", {"message": "我们还在审核中，先问个价"},
        ("我们还在审核中，先问个价",), None, status=403),
    "quote: 八八 is no amount": Bad(
        "seller", "/enquiries/{enquiry}/quote", {"amount": "八八", "note": "含上门服务"}, ("八八", "含上门服务"), "amount"),
    "negotiation: an offer delivered in the past": Bad(
        "seller", "/enquiries/{enquiry}/offer", {"amount": "12000", "delivery_on": day(-2), "note": "含报告"},
        ("12000", day(-2), "含报告"), "delivery_on"),
    "negotiation: a decline without a reason": Bad(
        "buyer", "/offers/{open_version}/decline", {"reason": ""}, (), "reason"),
    "booking: a date that does not exist": Bad(
        "buyer", "/listings/{instrument}/book", {"day": "2024-13-01", "hour": "9", "hours": "2"}, ("2024-13-01",), "day"),
    "booking: the hour is taken (409)": Bad(
        "buyer", "/listings/{instrument}/book", {"day": day(3), "hour": "10", "hours": "1"}, (day(3),), None,
        status=409),
    "instrument booking: the hour is taken (409)": Bad(
        "buyer", "/instruments/{facility}/book", {"day": day(4), "hour": "10", "hours": "1"}, (day(4),), None,
        status=409),
    "contract registration: a date that does not exist": Bad(
        "author", "/contracts/{contract}/register",
        {"registration_no": "2024370015000123", "registered_on": "2024-02-30", "contract_type": "transfer"},
        ("2024370015000123", "2024-02-30"), "registered_on"),
    "refund: without a reason": Bad(
        "seller", "/orders/{paid_order}/refund", {"reason": ""}, (), "reason"),
    "voucher application: 八八 is no amount": Bad(
        "buyer", "/vouchers", {"year": str(beijing_today().year), "planned": "八八", "purpose": "检测费用",
                               "mode": "exchange"}, ("八八", "检测费用"), "planned"),
    "voucher decision: 八八 is no amount": Bad(
        "reviewer", "/vouchers/applications/{voucher_application}/decide",
        {"decision": "approve", "amount": "八八", "note": "同意"}, ("八八", "同意"), "amount"),
    "moderation: an unknown decision": Bad(
        "admin", "/admin/listings/{service}/moderate", {"decision": "maybe", "note": "请补充资质"},
        ("请补充资质",), "decision"),
    "claim filing: 八八 is no amount": Bad(
        "buyer", "/claims/new?kind=B1", {"year": str(beijing_today().year - 1), "organization": "{buyer_code}",
                                         "project": "联合攻关", "city_county_joint": "y", "requested_amount": "八八"},
        ("联合攻关", "八八"), "requested_amount"),
    "review: a rejection without a reason": Bad(
        "reviewer", "/review/claims/{claim}/reject", {"reason": ""}, (), "reason"),
    "programmes: a project without a title": Bad(
        "buyer", "/programmes/projects/new", {"title": "", "bottleneck": "高端轴承钢热处理", "requested_city": "100000"},
        ("高端轴承钢热处理",), "title"),
    "agreed-price objection: a reason too short to say anything": Bad(
        "seller", "/price-notices/{price_notice}/object", {"reason": "太低"}, ("太低",), "reason",
        words="价格"),
    "agreed-price objection: the same person objects twice (409)": Bad(
        "reviewer", "/price-notices/{price_notice}/object", {"reason": "价格仍然明显偏低"}, ("价格仍然明显偏低",),
        "reason", status=409),
    "budget: 八八 is no amount": Bad(
        "finance", "/review/budgets", {"year": str(beijing_today().year), "clause": "A3", "amount": "八八"},
        ("八八",), "amount", words="80万"),
    "provincial reward: 八八 is no amount": Bad(
        "finance", "/review/rewards", {"organization": "{seller_org}", "year": str(beijing_today().year - 1),
                                       "amount": "八八"}, ("八八",), "amount"),
    "accounts: a registration with a bad address": Bad(
        None, "/register", {"email": "not-an-address", "name": "张三", "organization_name": "聊城精工"},
        ("not-an-address", "张三"), "email"),
}


@pytest.fixture()
def world(factory, fresh_gateway):
    from marketplace.instruments import services as instruments
    from marketplace.listings import services as listings
    from marketplace.orders import services as orders
    from marketplace.orders.models import TechContract
    from marketplace.vouchers import services as vouchers

    seller = factory.provider(name="聊城第三方检测中心")
    buyer = factory.enterprise(name="聊城精工机械有限公司")
    author = factory.university(name="聊城大学")
    unverified = factory.user("enterprise", verified=False, name="新注册企业")
    people = {"seller": seller, "buyer": buyer, "author": author, "unverified": unverified,
              "reviewer": factory.user("reviewer"), "admin": factory.user("admin"), "finance": factory.user("finance")}
    w: dict[str, Any] = {"people": people, "buyer_code": buyer.organization.credit_code,
                         "seller_org": seller.organization.id}
    w["service"] = factory.listing(seller, price_fen=100_000).id
    w["leased"] = factory.listing(seller, "instrument", financing_lease=True, on_sharing_platform=True).id
    instrument = factory.listing(seller, "instrument")
    w["instrument"] = instrument.id
    factory.booking(buyer, instrument, days_ahead=3, hour=10)  # the hour the 409 asks for
    facility = factory.listing(seller, "instrument", title="共享电镜")
    instruments.save_settings(seller, facility.id, self_mode=True, approval="instant")
    from datetime import datetime

    start = datetime.combine(beijing_today() + timedelta(days=4), datetime.min.time()).replace(hour=10)
    instruments.book(seller, facility.id, start, 1)
    w["facility"] = facility.id
    w["achievement"] = factory.listing(author, "achievement", transfer_modes=["assignment"], price_fen=100_000).id
    w["enquiry"] = orders.enquire(buyer, w["service"], "能否加急？").id
    from marketplace.conversations import negotiation

    quoted = orders.quote(seller, orders.enquire(buyer, w["service"], "报价？").id, 90_000)
    w["open_version"] = negotiation.open_version(quoted).id
    w["paid_order"] = factory.paid(buyer, factory.order(buyer, listings.get_listing(buyer, w["service"]))).id
    bought = factory.order(buyer, listings.get_listing(buyer, w["achievement"]), transfer_mode="assignment")
    w["contract"] = db.session.scalar(select(TechContract.id).where(TechContract.order_id == bought.id))
    w["voucher_application"] = vouchers.apply(buyer, beijing_today().year, 5_000_000, "检测费用").id
    w["claim"] = factory.claim(buyer, project="甲").id
    from marketplace.conversations import pricenotice

    demand = factory.listing(buyer, "demand", title="轴承钢热处理攻关")
    proposal = negotiation.respond_to_demand(author, demand.id, "我校可承担", 200_000)
    w["price_notice"] = negotiation.accept(buyer, negotiation.open_version(proposal).id).id
    pricenotice.object_to(people["reviewer"], w["price_notice"], "价格偏低，请说明依据")
    db.session.commit()
    # the set-up's after-commit work (mails composed from its notifications, claims, index) is
    # done before anyone submits a form, as the worker would have done it: what a refused
    # request's drain writes is then only what the refusal itself asked for
    from marketplace import outbox

    outbox.drain()
    return w


def _rows() -> dict:
    """Rows per table (the outbox is drained after each request in tests: not the refusal's)."""
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables
            if t.name != "outbox"}


def beside(html: str, name: str) -> bool:
    """Is there an error in a field block that holds an input named ``name`` (a page may show
    several forms with such a field: the listing's enquiry and its purchase)?"""
    for found in re.finditer(f'name="{re.escape(name)}"', html):
        start = html.rfind('<div class="field', 0, found.start())
        end = html.find("</div>", found.start())
        if start >= 0 and "has-error" in html[start:start + 60] and 'class="error"' in html[start:end]:
            return True
    return False


@pytest.mark.parametrize("case", list(FORMS), ids=list(FORMS))
def test_a_refused_form_comes_back_with_what_was_typed_and_why(client, world, case):
    bad = FORMS[case]
    if bad.who:
        login(client, world["people"][bad.who])
    data = bad.data() if callable(bad.data) else {k: v.format(**world) for k, v in bad.data.items()}
    before = _rows()
    answer = client.post(bad.path.format(**world), data=data, headers={"Referer": "http://marketplace.test/"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == bad.status, html[:800]
    assert "<form" in html, "the form itself, not an error page"
    for typed in bad.kept:
        assert f'value="{typed}"' in html or re.search(rf">\s*{re.escape(typed)}\s*</textarea>", html) \
            or f">{typed}<" in html, typed
    if bad.field:
        assert beside(html, bad.field), f"no error beside {bad.field}"
    else:
        assert re.search(r'class="flash error" role="alert"', html), "no reason above the form"
    if bad.words:
        assert bad.words in html
    db.session.rollback()
    assert _rows() == before, "a refusal writes nothing"


def test_amounts_are_read_as_people_write_them(client, world):
    from marketplace.listings.models import Listing

    login(client, world["people"]["seller"])
    for typed, fen in [("800000", 80_000_000), ("800,000", 80_000_000), ("80万", 80_000_000),
                       ("八十万元", 80_000_000), ("12000.50", 1_200_050), ("¥1.5万", 1_500_000)]:
        answer = client.post("/listings/new/service", data={"title": f"检测{typed}", "price": typed})
        assert answer.status_code == 302, (typed, answer.get_data(as_text=True)[:300])
        assert db.session.scalar(select(Listing.price_fen).where(Listing.title == f"检测{typed}")) == fen, typed


def test_an_error_page_says_what_happened_and_links_back(client, world):
    login(client, world["people"]["buyer"])
    answer = client.get("/orders/999999", headers={"Referer": "http://marketplace.test/orders?page=2"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 404
    assert "未找到" in html and 'href="/orders?page=2"' in html  # words, and the way back
    elsewhere = client.get("/orders/999999", headers={"Referer": "https://evil.example/x"})
    assert 'href="https://evil.example' not in elsewhere.get_data(as_text=True)
    assert 'href="/orders"' in elsewhere.get_data(as_text=True)  # the list of where the person was


def test_a_report_asked_for_a_month_that_does_not_exist_keeps_it_beside_the_field(client, world):
    login(client, world["people"]["seller"])
    answer = client.get(f"/instruments/{world['facility']}/utilisation?from=2024-13&to=2024-03")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and 'value="2024-13"' in html and beside(html, "from")
    assert 'value="2024-03"' in html and not beside(html, "to")
