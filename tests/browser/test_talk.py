"""Issue 19's journey in Chromium: an enterprise posts a demand, two universities propose, the
enterprise counters one, the university revises, the enterprise accepts; the agreed price
stands on public notice (a university sells), then the contract is signed and paid — the
university is the seller on the order and the contract. Every step tells the other side in
the app and by mail, received by a real SMTP server; a password reset mail's link works.
"""
from __future__ import annotations

import re
import sqlite3
import uuid
from datetime import timedelta

from marketplace.core.timeutil import beijing_today
from tests.mailbox import body, subject

BOSS = "boss@jx.liaocheng.demo"                 # 聊城鲁西精密机械有限公司, small enterprise
UNIVERSITY = "tech-transfer@lcu.liaocheng.demo"  # 聊城大学
INSTITUTE = "office@nky.liaocheng.demo"          # 聊城市农业科学研究院
NEWCOMER = "new@new.liaocheng.demo"
BOSS_ORG = "聊城鲁西精密机械有限公司"


def _id(url: str, pattern: str) -> int:
    match = re.search(pattern, url)
    assert match, url
    return int(match.group(1))


def _unread(page) -> int:
    badge = page.locator("header a.notifications .badge")
    return int(badge.inner_text()) if badge.count() else 0


def _open_notification(j, *fragments: str) -> str:
    """Click the reader's newest notification that says all of ``fragments``; returns its text."""
    page = j.page
    j.goto("/notifications")
    link = page.locator("main ul.notifications li.unread a")
    for fragment in fragments:
        link = link.filter(has_text=fragment)
    text = link.first.inner_text()
    link.first.click()
    page.wait_for_load_state()
    return text


def _mail(inbox, to: str, base: str, *fragments: str):
    message = inbox.wait_for(to, lambda m: all(f in subject(m) for f in fragments))
    text = body(message)
    links = re.findall(r"https?://\S+", text)
    assert links and links[0].startswith(base + "/"), text  # links on the configured address
    return message, links[0]


def _offer(page, amount: str, note: str = ""):
    offer = page.locator("main details.offer")
    if offer.get_attribute("open") is None:
        offer.locator("summary").click()
    form = offer.locator("form.offer-form")
    form.locator("#amount").fill(amount)
    if note:
        form.locator("#note").fill(note)
    form.locator("button").click()
    page.wait_for_load_state()


def test_a_demand_answered_countered_accepted_noticed_and_paid(journey, mail_inbox, live_server, live_database):
    title = f"高强度轴承钢热处理工艺攻关（{uuid.uuid4().hex[:6]}）"
    j = journey("t-demand-negotiation")

    # 1. The enterprise posts a demand.
    page = j.person(BOSS).page
    j.goto("/listings/new/demand")
    page.fill("#title", title)
    page.fill("#description", "轴承套圈淬火变形大，寻求热处理工艺改进方案。")
    page.fill("#price", "1000000")
    page.locator("main form button.primary").click()
    page.wait_for_load_state()
    demand_id = _id(page.url, r"/listings/(\d+)$")
    page.locator(f"main form[action='/listings/{demand_id}/publish'] button").click()
    page.wait_for_load_state()
    assert "已发布" in j.flash()
    j.shot("demand-published")

    # 2. Two universities propose; each is the seller of its proposal, the enterprise the buyer.
    proposals = {}
    for email, amount in ((UNIVERSITY, "900000"), (INSTITUTE, "850000")):
        page = j.person(email).page
        j.goto(f"/listings/{demand_id}")
        page.get_by_role("link", name="提出方案").click()
        page.wait_for_load_state()
        page.fill("#message", "我单位有成熟的可控气氛热处理技术，可承担攻关。")
        page.fill("#amount", amount)
        page.fill("#delivery_on", (beijing_today() + timedelta(days=90)).isoformat())
        page.fill("#note", "含中试验证")
        page.locator("main form.proposal-form button").click()
        page.wait_for_load_state()
        proposals[email] = _id(page.url, r"/enquiries/(\d+)$")
        assert page.locator("#buyer").inner_text() == BOSS_ORG
        j.shot(f"proposal-{email.split('@')[1].split('.')[0]}")
    assert page.locator("#seller").inner_text() == "聊城市农业科学研究院"
    enquiry_id = proposals[UNIVERSITY]

    # 3. The enterprise is told (top bar, in the app and by mail), compares, and counters 聊城大学.
    page = j.person(BOSS).page
    assert _unread(page) >= 2
    text = _open_notification(j, "聊城大学", "¥900,000.00")
    assert title in text and "提出方案" in text, text
    assert page.url.endswith(f"/enquiries/{enquiry_id}")
    assert page.locator("#seller").inner_text() == "聊城大学"
    _mail(mail_inbox, BOSS, live_server, "聊城大学", "¥900,000.00")
    _mail(mail_inbox, BOSS, live_server, "聊城市农业科学研究院", "¥850,000.00")
    j.goto(f"/demands/{demand_id}/proposals")
    rows = page.locator("main table.proposals tbody tr").all_inner_texts()
    assert len(rows) == 2 and "¥900,000.00" in rows[0] and "¥850,000.00" in rows[1], rows
    j.shot("proposals-compared")
    j.goto(f"/enquiries/{enquiry_id}")
    _offer(page, "800000", "请分两期支付")
    assert "您的条件已发送" in j.flash()
    j.shot("countered")

    # 4. The university is told and sends a revised proposal.
    page = j.person(UNIVERSITY).page
    text = _open_notification(j, BOSS_ORG, "¥800,000.00")
    assert "还价" in text, text
    _message, link = _mail(mail_inbox, UNIVERSITY, live_server, BOSS_ORG, "¥800,000.00")
    assert link == f"{live_server}/enquiries/{enquiry_id}"
    _offer(page, "820000", "两期支付，每期 410000 元")
    versions = page.locator("main #versions table tbody tr").all_inner_texts()
    assert len(versions) == 3 and "¥820,000.00" in versions[2], versions
    j.shot("revised")

    # 5. The enterprise accepts the revision: a university sells, so the price goes on public notice.
    page = j.person(BOSS).page
    _open_notification(j, "聊城大学", "¥820,000.00")
    page.locator("main form.accept button").click()
    page.wait_for_load_state()
    assert "公示" in j.flash(), j.flash()
    notice = page.locator("main #price-notice").inner_text()
    assert "¥820,000.00" in notice, notice
    j.shot("on-public-notice")
    j.goto("/notice")
    assert title in j.main_text() and "¥820,000.00" in j.main_text()
    _mail(mail_inbox, UNIVERSITY, live_server, BOSS_ORG, "¥820,000.00", "接受")
    _mail(mail_inbox, INSTITUTE, live_server, title)  # told another proposal was chosen

    # Fifteen days pass without objection (the notice's dates moved back in the database).
    today = beijing_today()
    with sqlite3.connect(live_database) as conn:
        moved = conn.execute("UPDATE price_notices SET notice_from = ?, notice_until = ? WHERE enquiry_id = ?",
                             ((today - timedelta(days=15)).isoformat(), today.isoformat(), enquiry_id)).rowcount
    assert moved == 1

    # 6. The contract is signed and paid; the university is the seller on the order and the contract.
    j.goto(f"/enquiries/{enquiry_id}")
    page.locator("main form.sign button").click()
    page.wait_for_load_state()
    order_id = _id(page.url, r"/orders/(\d+)$")
    table = page.locator("main table").first.inner_text()
    assert "聊城大学" in table and BOSS_ORG in table, table
    contract = page.locator("main section", has_text="技术合同").inner_text()
    assert re.search(r"卖方\s+聊城大学", contract) and re.search(rf"买方\s+{re.escape(BOSS_ORG)}", contract), contract
    page.locator("main form[action$='/pay'] button").click()
    page.wait_for_load_state()
    assert "已付款" in page.inner_text("h1")
    j.shot("paid")

    # 7. The university hears of the payment, in the app and by mail, and reads it.
    page = j.person(UNIVERSITY).page
    text = _open_notification(j, BOSS_ORG, "¥820,000.00", "付款")
    assert page.url.endswith(f"/orders/{order_id}")
    _mail(mail_inbox, UNIVERSITY, live_server, BOSS_ORG, "¥820,000.00", "付款")
    j.shot("seller-sees-payment")
    j.assert_clean()


def test_a_password_reset_mail_arrives_and_its_link_works(journey, mail_inbox, live_server):
    j = journey("t-password-reset")
    j.context = j._browser.new_context(locale="zh-CN")
    page = j.page = j.context.new_page()
    j.goto("/password/forgot")
    page.fill("#email", NEWCOMER)
    page.locator("main form button").click()
    page.wait_for_load_state()
    message = mail_inbox.wait_for(NEWCOMER, lambda m: "/password/reset/" in body(m))
    link = re.search(r"https?://\S+/password/reset/\S+", body(message)).group(0)
    assert link.startswith(live_server + "/")
    j.goto(link.removeprefix(live_server))
    page.fill("#password", "a-new-long-passphrase-2024")
    page.fill("#confirm", "a-new-long-passphrase-2024")
    page.locator("main form button").click()
    page.wait_for_load_state()
    j.shot("password-changed")
    page = j.person(NEWCOMER, "a-new-long-passphrase-2024").page
    assert "/login" not in page.url
