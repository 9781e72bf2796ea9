"""An enterprise arrives at the portal, compares instruments and services side by side, is
told plainly when a fifth does not fit, and stars one to come back to (Chinese interface)."""
from __future__ import annotations

import re

BOSS = "boss@jx.liaocheng.demo"


def test_home_compare_and_favourite(journey):
    j = journey("b-portal-compare-favourite")
    page = j.person(BOSS).page
    j.goto("/")
    assert page.locator("link[rel='icon']").get_attribute("href") == "/favicon.ico"
    assert page.locator("#categories [data-kind]").count() == 4
    assert "常用功能" in page.inner_text("#my-actions")  # the role's actions stay reachable
    j.shot("portal")
    # from the portal's search box to the results
    page.fill("#portal-q", "检测")
    page.locator("form.portal-search button").click()
    page.wait_for_load_state()
    assert "/search" in page.url
    # compare from the market: four fit, the fifth is refused with a message where we are
    j.goto("/listings")
    for _ in range(4):
        page.locator("main button[data-compare][aria-pressed='false']").first.click()
        page.wait_for_load_state()
    assert page.locator("#compare-link .badge").inner_text() == "4"
    page.locator("main button[data-compare][aria-pressed='false']").first.click()
    page.wait_for_load_state()
    assert "最多可同时对比 4 项" in j.flash()
    assert "/listings" in page.url  # still where the person was
    j.shot("fifth-refused")
    page.locator("#compare-link").click()
    page.wait_for_load_state()
    assert page.locator("#compare-table thead th[data-listing]").count() == 4
    assert page.locator("#compare-table th[scope='row']", has_text=re.compile(r"^\s*价格")).count() == 1
    j.shot("compare")
    # open the first compared listing and star it
    first = page.locator("#compare-table thead th[data-listing] a").first
    title = first.inner_text()
    first.click()
    page.wait_for_load_state()
    page.locator("main button[data-star][aria-pressed='false']").click()
    page.wait_for_load_state()
    assert "已加入收藏" in j.flash()
    j.goto("/favourites")
    assert title in page.inner_text("#favourites")
    j.shot("favourites")
    j.assert_clean()
