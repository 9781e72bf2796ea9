"""What people do on the platform, in a real browser against gunicorn, as they would see it.

Chinese journeys assert the Chinese interface (the default); one journey runs in English.
Screenshots: screenshots/<journey>/NN-step.png.
"""
from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

from marketplace.core.timeutil import beijing_today

BOSS = "boss@jx.liaocheng.demo"          # small enterprise
RD = "rd@zl.liaocheng.demo"              # medium enterprise
UNIVERSITY = "tech-transfer@lcu.liaocheng.demo"
LAB = "lab@jck.liaocheng.demo"           # testing centre (service provider)


def _order_id(url: str) -> int:
    match = re.search(r"/orders/(\d+)$", url)
    assert match, url
    return int(match.group(1))


def _listing_id(url: str) -> int:
    match = re.search(r"/listings/(\d+)$", url)
    assert match, url
    return int(match.group(1))


def _row(page, header: str) -> str:
    """The cell next to a table header, as a reader would look it up."""
    return page.locator("main tr", has=page.locator("th", has_text=header)).first.locator("td").inner_text().strip()


def _pay(j):
    page = j.page
    page.locator("#pay-link").click()  # the confirmation step (payments.checkout), then pay
    page.wait_for_load_state()
    page.locator("main form[action$='/pay'] button").click()
    page.wait_for_load_state()


# The voucher journey (apply, approve, buy, deliver, accept, redeem) is tests/browser/test_vouchers.py.


def test_university_lists_and_sells_a_licence_and_registers_the_contract(journey):
    title = f"一种轴承套圈冷辗成形工艺（浏览器{uuid.uuid4().hex[:6]}）"
    j = journey("b-licence-contract")
    page = j.person(UNIVERSITY).page
    j.goto("/listings/new/achievement")
    page.fill("#title", title)
    page.fill("#description", "冷辗成形替代车削，材料利用率提高 30%。")
    page.select_option("#field", index=1)
    page.select_option("#county", index=1)
    page.fill("#price", "200000")
    page.select_option("#ip_kind", "invention_patent")
    page.fill("#ip_number", "ZL202410012345.6")
    page.select_option("#maturity", index=1)
    page.select_option("#transfer_modes", ["non_exclusive_licence", "assignment"])
    j.shot("new-achievement-form")
    page.locator("main form button.primary").click()
    page.wait_for_load_state()
    listing_id = _listing_id(page.url)
    assert "已保存为草稿" in j.flash()
    page.locator(f"main form[action='/listings/{listing_id}/publish'] button").click()
    page.wait_for_load_state()
    assert "已发布。" in j.flash()
    j.shot("published")

    # An enterprise finds it by its title (the index caught up after the publish) and buys a licence.
    page = j.person(RD).page
    j.goto("/search?q=" + title[:8])
    page.get_by_role("link", name=title).click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/listings/{listing_id}")
    j.shot("enterprise-sees-achievement")
    buy = page.locator("main form[action$='/buy']")
    buy.locator("select[name='transfer_mode']").select_option("non_exclusive_licence")
    buy.locator("button").click()
    page.wait_for_load_state()
    order_id = _order_id(page.url)
    assert _row(page, "费用") == "¥200,000.00"
    _pay(j)
    assert "已付款" in page.inner_text("h1")
    assert _row(page, "认定登记编号") == "尚未登记"
    j.shot("licence-paid")

    # The university registers the contract (认定登记) and sees it registered.
    page = j.person(UNIVERSITY).page
    j.goto(f"/orders/{order_id}")
    today = beijing_today().isoformat()  # the business date the contract was signed on
    form = page.locator("main form[action^='/contracts/']")
    form.locator("#registration_no").fill("2024370015000777")
    form.locator("#registered_on").fill(today)
    j.shot("register-contract-form")
    form.locator("button").click()
    page.wait_for_load_state()
    assert "合同已登记。" in j.flash()
    contract = page.locator("main section", has_text="2024370015000777").inner_text()
    assert "2024370015000777" in contract and today in contract
    assert page.locator("main form[action^='/contracts/']").count() == 0  # nothing left to register
    j.shot("contract-registered")
    j.assert_clean()


def _new_instrument(j, title: str) -> int:
    page = j.page
    j.goto("/listings/new/instrument")
    page.fill("#title", title)
    page.fill("#description", "可测金属材料显微组织。")
    page.fill("#price", "300")
    page.select_option("#price_unit", "hour")
    page.fill("#internal_price", "100")
    page.fill("#open_from_hour", "8")
    page.fill("#open_to_hour", "18")
    page.fill("#location", "高新区检测大楼 3 楼")
    page.locator("main form button.primary").click()
    page.wait_for_load_state()
    listing_id = _listing_id(page.url)
    page.locator(f"main form[action='/listings/{listing_id}/publish'] button").click()
    page.wait_for_load_state()
    return listing_id


def _book(j, listing_id: int, day: date, hour: int, hours: int):
    page = j.page
    j.goto(f"/listings/{listing_id}")
    form = page.locator("main form[action$='/book']")
    form.locator("#day").fill(day.isoformat())
    form.locator("#hour").fill(str(hour))
    form.locator("#hours").fill(str(hours))
    form.locator("button").click()
    page.wait_for_load_state()


def _instrument_journey(j, title: str, booked_error: str, booked_tag: str):
    page = j.person(LAB).page
    listing_id = _new_instrument(j, title)
    j.shot("instrument-published")
    day = date.today() + timedelta(days=2)

    page = j.person(BOSS).page
    _book(j, listing_id, day, 10, 2)  # 10:00-12:00
    order_id = _order_id(page.url)
    j.shot("first-booking")
    j.goto(f"/listings/{listing_id}")
    # The week calendar shows 10:00 and 11:00 as his own booking, in colour and in words.
    mine = page.locator(f"main .week-grid td.cal-mine[data-day='{day.isoformat()}']")
    assert mine.count() == 2 and booked_tag in mine.first.inner_text()
    j.shot("calendar-shows-booked-hours")

    page = j.person(RD).page
    j.goto(f"/listings/{listing_id}")
    assert page.locator(f"main .week-grid td.cal-booked[data-day='{day.isoformat()}']").count() == 2
    _book(j, listing_id, day, 14, 1)
    assert "/orders/" in page.url and _order_id(page.url) != order_id
    j.shot("second-booking-other-hour")
    _book(j, listing_id, day, 11, 1)  # inside the first one's hours
    response_text = j.main_text()
    assert booked_error in response_text, response_text
    assert "/orders/" not in page.url
    j.shot("already-booked-error")
    j.goto("/bookings")
    assert j.main_text().count(title) == 1  # only the 14:00 booking is theirs
    j.assert_clean((409, f"/listings/{listing_id}/book"))  # the refused booking, nothing else


def test_provider_lists_an_instrument_and_two_enterprises_book_it(journey):
    j = journey("c-instrument-bookings")
    _instrument_journey(j, f"金相显微镜（浏览器{uuid.uuid4().hex[:6]}）", "该时段已被预约，请另选时间。", "我的")


def test_the_same_booking_journey_in_english(journey):
    j = journey("d-english-bookings")
    page = j.person(LAB).page
    j.switch_language("en")
    assert "Log out" in page.inner_text("header")
    title = f"Metallographic microscope (browser {uuid.uuid4().hex[:6]})"
    listing_id = _new_instrument(j, title)
    assert "Published." in j.flash()
    j.shot("instrument-published-en")
    day = date.today() + timedelta(days=3)
    page = j.person(BOSS).page
    j.switch_language("en")
    _book(j, listing_id, day, 9, 3)
    assert "Booked." in j.flash()
    assert "Waiting for payment" in page.inner_text("h1")
    j.shot("booked-en")
    _pay(j)
    assert "Paid" in page.inner_text("h1")
    j.shot("paid-en")
    page = j.person(RD).page
    j.switch_language("en")
    _book(j, listing_id, day, 10, 1)
    assert "This time is already booked. Choose another." in j.main_text()
    j.shot("already-booked-en")
    j.assert_clean((409, f"/listings/{listing_id}/book"))


REVIEWER = "reviewer@kjj.liaocheng.demo"
FINANCE = "finance@czj.liaocheng.demo"


def test_city_reviews_a_claim_publishes_it_pays_and_exports(journey, tmp_path):
    import openpyxl

    j = journey("e-city-review-and-payout")
    page = j.person(REVIEWER).page
    j.goto("/review?status=submitted")
    j.shot("queue")
    row = page.locator("main tr", has_text="聊城鲁西精密机械有限公司").filter(has_text="A3").first
    claim_link = row.locator("a").first
    claim_id = claim_link.inner_text().strip().lstrip("#")
    claim_link.click()
    page.wait_for_load_state()
    assert "省" in j.main_text()  # the trace shows the province's and the city's shares
    j.shot("claim-with-trace")
    page.locator("main form[action$='/approve'] button").click()
    page.wait_for_load_state()
    assert "公示" in j.flash()
    j.shot("approved")
    j.goto("/notice")  # the public notice page lists it
    assert "聊城鲁西精密机械有限公司" in j.main_text()
    j.shot("public-notice")
    j.logout()

    page = j.person(FINANCE).page
    j.goto("/review/payouts")
    j.shot("payouts")
    payable = page.locator("main tr", has_text="聊城市农业科学研究院").filter(has=page.locator("form[action$='/pay']"))
    payable.locator("button").click()
    page.wait_for_load_state()
    assert "拨付已登记" in j.flash()
    recent = page.locator("main section", has_text="最近拨付").last.inner_text()
    assert "A1.DT" in recent
    j.shot("paid")
    j.goto("/dashboards/exports")
    with page.expect_download() as download:
        page.locator("main a[href*='exports/awards'][href*='xlsx']").first.click()
    path = tmp_path / "claims.xlsx"
    download.value.save_as(path)
    sheet = openpyxl.load_workbook(path).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert len(rows) > 5 and any(claim_id in " ".join(str(v) for v in r) or "A3" in r for r in rows[1:])
    j.shot("exports")
    j.assert_clean()
