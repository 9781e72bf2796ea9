"""Issue 21's 对公转账, as people would do it in Chromium: an enterprise confirms what it buys
and chooses the bank transfer; the order shows the escrow account and the platform's
reference and waits; the city's finance imports the bank statement (CSV with the bank's
Chinese headers); the order is paid, the receipt is there, and the ledger holds one payment
entry for it."""
from __future__ import annotations

import re
import uuid

from marketplace.core.timeutil import beijing_today
from tests.browser.test_journeys import BOSS, FINANCE, LAB, _listing_id, _order_id


def test_an_enterprise_pays_by_bank_transfer_and_finance_imports_the_statement(journey):
    title = f"轴承钢金相组织检测（转账{uuid.uuid4().hex[:6]}）"
    j = journey("g-bank-transfer")

    # 1. The testing centre lists a service.
    page = j.person(LAB).page
    j.goto("/listings/new/service")
    page.fill("#title", title)
    page.fill("#description", "按国标进行金相组织评级，五个工作日出具报告。")
    page.fill("#price", "8600")
    page.locator("main form button.primary").click()
    page.wait_for_load_state()
    listing_id = _listing_id(page.url)
    page.locator(f"main form[action='/listings/{listing_id}/publish'] button").click()
    page.wait_for_load_state()

    # 2. The enterprise orders it and reaches the confirmation step.
    page = j.person(BOSS).page
    j.goto(f"/listings/{listing_id}")
    page.locator("main form[action$='/order'] button").click()
    page.wait_for_load_state()
    order_id = _order_id(page.url)
    page.locator("#pay-link").click()
    page.wait_for_load_state()
    checkout = page.inner_text("main")
    assert "确认支付" in checkout and title in checkout and "聊城市检验检测中心" in checkout, checkout
    assert "¥8,600.00" in page.inner_text("#pay-amount")
    j.shot("confirmation-step")
    page.locator("main input[name='method'][value='bank']").check()
    page.locator("#pay").click()
    page.wait_for_load_state()
    assert f"/orders/{order_id}" in page.url
    assert "待付款" in page.inner_text("h1")
    instructions = page.inner_text(".transfer-instructions")
    assert "聊城创新服务平台资金监管账户" in instructions and "附言" in instructions, instructions
    reference = page.inner_text(".transfer-instructions .reference").strip()
    assert re.fullmatch(r"LC[0-9A-Z]{9}", reference), reference
    j.shot("awaiting-transfer")

    # 3. Finance imports the bank's statement; the row with the reference pays the order.
    page = j.person(FINANCE).page
    j.goto("/payments/transfers")
    assert reference in page.inner_text("#awaiting")
    statement = ("交易日期,对方户名,金额,摘要,附言\n"
                 f"{beijing_today().isoformat()},聊城鲁西精密机械有限公司,\"8,600.00\",网银转账,检测费 {reference}\n"
                 f"{beijing_today().isoformat()},某某贸易有限公司,120.00,货款,无\n").encode("gb18030")
    page.set_input_files("#statement", files=[{"name": "流水.csv", "mimeType": "text/csv", "buffer": statement}])
    j.shot("statement-chosen")
    page.locator("main form#import button").click()
    page.wait_for_load_state()
    assert "匹配 1 笔" in j.flash() and "待处理 1 笔" in j.flash(), j.flash()
    assert "某某贸易有限公司" in page.inner_text("#to-resolve")
    assert reference not in page.inner_text("#awaiting")
    j.shot("statement-imported")

    # 4. The order is paid, with a receipt; the ledger holds one payment entry for it.
    j.goto(f"/orders/{order_id}")
    assert "已付款" in page.inner_text("h1")
    assert page.locator("#receipt").count() == 1
    j.goto(f"/review/ledger/ORD-{order_id}")
    rows = page.locator("main tbody tr").all_inner_texts()
    payments = [r for r in rows if "bank_transfer" in r]
    assert len(rows) == 1 and len(payments) == 1 and "¥8,600.00" in payments[0], rows
    j.shot("ledger")
    j.assert_clean()
