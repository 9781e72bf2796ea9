"""Issue 23 as a new user would try it: finance drafts "A3 city share 20 %", replays the demo
year, sees the city's A3 total fall by a third and the province's unchanged, exports the
comparison; an administrator publishes the draft effective next 1 January."""
from __future__ import annotations

import re
import uuid
from decimal import Decimal

from marketplace.core.timeutil import beijing_today

FINANCE = "finance@czj.liaocheng.demo"
ADMIN = "admin@kjj.liaocheng.demo"


def _yuan(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.\-]", "", text))


def test_finance_drafts_replays_and_exports_and_admin_publishes(journey):
    j = journey("g-policy-reform")
    page = j.person(FINANCE).page
    page.locator("main a", has_text="政策测算").first.click()
    page.wait_for_load_state()
    name = f"创新券市级比例20%（{uuid.uuid4().hex[:4]}）"
    page.fill("#name", name)
    page.locator("main form[action='/reforms/new'] button").click()
    page.wait_for_load_state()
    assert "已按现行参数建立草案" in j.flash()
    page.select_option("#parameter", "a3.city_share")
    page.fill("#value", "20%")
    page.fill("#reason", "测算财政承受能力")
    j.shot("draft")
    page.locator("main form[action$='/edit'] button").click()
    page.wait_for_load_state()
    assert "30 %" in page.inner_text("#changes") and "20 %" in page.inner_text("#changes")

    from marketplace.demo.year import demo_year

    demo_year = demo_year()  # the demo city-year
    page.locator("#replay a.button", has_text=f"回放{demo_year}年").click()
    page.wait_for_load_state()
    j.shot("replay")
    cells = page.locator("#by-clause tr[data-key='A3'] td").all_inner_texts()
    city_base, city_draft, _, province_base, province_draft, province_change = map(_yuan, cells[1:])
    assert city_base > 0
    assert abs(city_draft - city_base * 2 / 3) < Decimal("1.00")  # a third less (rounded per voucher)
    assert province_draft == province_base and province_change == 0
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename.endswith(".xlsx")

    j.logout()
    j.login(ADMIN)
    j.goto("/reforms/")
    page.locator("#drafts a", has_text=name).click()
    page.wait_for_load_state()
    next_year = beijing_today().year + 1
    assert page.input_value("#effective_from") == f"{next_year}-01-01"
    page.fill("#document_no", "聊科字〔2026〕12号")
    j.shot("publish")
    page.locator("main form[action$='/publish'] button").click()
    page.wait_for_load_state()
    assert f"{next_year}-01-01" in page.inner_text("#published-note")
    j.goto("/reforms/")
    assert "聊科字〔2026〕12号" in page.inner_text("#published")
    j.assert_clean()
