"""Issue 17's journey, as new users would try it in Chromium: an enterprise applies for an
innovation voucher, the city approves it, the enterprise buys a testing service with it, the
provider delivers with a report, the enterprise accepts and rates it — and only then does an
A3 claim appear; the city's A3 budget is charged its 30 %, the province's 60 % shows as owed.
A booking cannot be completed before it ends."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

from marketplace.core.timeutil import beijing_today
from tests.browser.test_journeys import BOSS, FINANCE, LAB, REVIEWER, _book, _new_instrument, _order_id, _pay, _row

SERVICE = "高端液相色谱仪检测服务"  # 50,000 yuan: province 30,000, city 15,000, enterprise 5,000
COMPANY = "聊城鲁西精密机械有限公司"


def _a3_rows(j, year: int) -> list[str]:
    j.goto("/claims")
    rows = j.page.locator("main tbody tr").all_inner_texts()
    return [r for r in rows if re.search(rf"\b{year}\b", r) and "A3" in r]


def test_a_voucher_from_application_to_redemption(journey):
    year = beijing_today().year
    j = journey("f-voucher-from-application-to-redemption")

    # 1. The enterprise applies.
    page = j.person(BOSS).page
    j.goto("/vouchers")
    j.shot("vouchers-page")
    form = page.locator("main form#apply")
    form.locator("#year").fill(str(year))
    form.locator("#planned").fill("100000")
    form.locator("#purpose").fill("委托检测：液相色谱纯度分析")
    form.locator("button").click()
    page.wait_for_load_state()
    assert "您的申请已提交市科技局。" in j.flash()
    assert "待审核" in page.locator("main table#applications").inner_text()
    j.shot("applied")

    # 2. The city approves it with an amount.
    page = j.person(REVIEWER).page
    j.goto("/vouchers/review")
    row = page.locator("main table#applications tr", has_text=COMPANY).filter(has_text="待审核") \
        .filter(has_text="液相色谱纯度分析").first
    row.locator("select[name='decision']").select_option("approve")
    row.locator("input[name='amount']").fill("100000")
    j.shot("review-queue")
    row.locator("button").click()
    page.wait_for_load_state()
    assert "已审批。" in j.flash()
    j.shot("approved")

    # 3. The enterprise sees its voucher, and on the listing what the purchase would leave.
    page = j.person(BOSS).page
    j.goto("/vouchers")
    vouchers = page.locator("main table#vouchers").inner_text()
    assert f"LCCXQ{year}" in vouchers and "¥100,000.00" in vouchers, vouchers
    j.goto("/search")
    page.fill("#q", "液相色谱仪检测")  # among the city's many testing services
    page.locator("main form[action='/search'] button").click()
    page.wait_for_load_state()
    page.get_by_role("link", name=SERVICE).click()
    page.wait_for_load_state()
    assert _row(page, "省财政承担（60%）") == "¥30,000.00"
    assert _row(page, "市财政承担（30%）") == "¥15,000.00"
    assert _row(page, "使用创新券后您支付") == "¥5,000.00"
    assert _row(page, "创新券余额") == "¥100,000.00"
    assert _row(page, "本次购买后剩余") == "¥55,000.00"
    j.shot("listing-with-voucher-balance")
    order_form = page.locator("main form[action$='/order']")
    order_form.locator("input[name='with_voucher']").check()
    order_form.locator("button").click()
    page.wait_for_load_state()
    order_id = _order_id(page.url)
    assert _row(page, "买方支付") == "¥5,000.00"
    _pay(j)
    assert "已付款" in page.inner_text("h1")
    assert "已预占" in page.locator("main section#delivery").inner_text()  # held on the voucher, not redeemed
    assert page.locator("main section", has_text="省、市应付部分").count() == 0  # nothing owed yet
    j.shot("paid-not-delivered")
    assert _a3_rows(j, year) == [], "paid but not delivered: no A3 claim"

    # 4. The provider delivers with a test report.
    page = j.person(LAB).page
    j.goto(f"/orders/{order_id}")
    deliver = page.locator("main form#deliver")
    deliver.locator("textarea[name='note']").fill("纯度分析已完成，报告见附件。")
    deliver.locator("input[name='files']").set_input_files(
        files=[{"name": "检测报告.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 browser report"}])
    deliver.locator("button").click()
    page.wait_for_load_state()
    assert "已交付，等待买方验收。" in j.flash()
    j.shot("delivered")

    # 5. Delivered is not accepted: still no claim. The enterprise accepts and rates.
    page = j.person(BOSS).page
    assert _a3_rows(j, year) == [], "delivered but not accepted: no A3 claim"
    j.goto(f"/orders/{order_id}")
    assert "检测报告.pdf" in page.locator("main section#delivery").inner_text()
    j.shot("to-accept")
    page.locator("main form[action$='/accept'] button").click()
    page.wait_for_load_state()
    assert "已验收，创新券已兑现。" in j.flash()
    rate = page.locator("main form#rate")
    rate.locator("select[name='rating']").select_option("5")
    rate.locator("textarea[name='comment']").fill("报告详实，出具及时。")
    rate.locator("button").click()
    page.wait_for_load_state()
    assert "感谢您的评价。" in j.flash()
    delivery = page.locator("main section#delivery").inner_text()
    assert "已验收" in delivery and "5 / 5" in delivery and "已兑现" in delivery, delivery
    j.shot("accepted-and-rated")

    # 6. Only now an A3 claim: the city's 15,000 and the province's 30,000. The enterprise submits it.
    rows = _a3_rows(j, year)
    assert len(rows) == 1 and "¥15,000.00" in rows[0] and "¥30,000.00" in rows[0], rows
    page.locator("main tbody tr", has_text="A3").filter(has_text=str(year)).locator("a").first.click()
    page.wait_for_load_state()
    page.locator("main form[action$='/submit'] button").click()
    page.wait_for_load_state()
    j.shot("claim-submitted")

    # 7. The reviewer approves; city finance sets the year's A3 budget: it is charged 30 % only.
    page = j.person(REVIEWER).page
    j.goto("/review?status=submitted")
    row = page.locator("main tr", has_text=COMPANY).filter(has_text="A3") \
        .filter(has_text=str(year)).first
    row.locator("a").first.click()
    page.wait_for_load_state()
    page.locator("main form[action$='/approve'] button").click()
    page.wait_for_load_state()
    j.shot("claim-approved")
    page = j.person(FINANCE).page
    j.goto(f"/review/payouts?year={year}")
    budget = page.locator("main form[action$='/budgets']")
    budget.locator("#year").fill(str(year))
    budget.locator("#clause").select_option("A3")
    budget.locator("#amount").fill("100000")
    budget.locator("button").click()
    page.wait_for_load_state()
    a3 = page.locator("main tr", has=page.locator("td", has_text=re.compile(r"^A3\b"))).first
    cells = [c.strip() for c in a3.locator("td").all_inner_texts()]
    assert cells[1] == "¥100,000.00" and cells[2] == "¥15,000.00" and cells[4] == "¥85,000.00", cells
    j.shot("a3-budget-charged-30-percent")

    # 8. The province's 60 % shows as owed, with its own export.
    j.goto("/vouchers/batches")
    owed = page.locator("main table#province-owed tr", has_text=f"ORD-{order_id}").inner_text()
    assert "¥30,000.00" in owed, owed
    j.shot("province-owed")
    j.assert_clean()


def test_a_booking_cannot_be_completed_before_it_ends(journey):
    j = journey("g-booking-completed-only-after-it-ends")
    title = f"金相显微镜（完成时间{uuid.uuid4().hex[:6]}）"
    page = j.person(LAB).page
    listing_id = _new_instrument(j, title)
    page = j.person(BOSS).page
    _book(j, listing_id, beijing_today() + timedelta(days=1), 10, 1)
    order_id = _order_id(page.url)
    _pay(j)
    assert "已付款" in page.inner_text("h1")
    page = j.person(LAB).page
    j.goto("/bookings")
    row = page.locator("main tr", has_text=title)
    action = row.locator("form[action$='/complete']").get_attribute("action")
    row.locator("form[action$='/complete'] button").click()
    page.wait_for_load_state()
    assert "预约须在结束后" in j.main_text(), j.main_text()
    j.shot("refused-before-the-end")
    j.goto(f"/orders/{order_id}")
    assert "已付款" in page.inner_text("h1")  # nothing moved
    j.assert_clean((400, action))
