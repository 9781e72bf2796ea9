"""Names, not codes (issue 21): the audit log, the ledger page, a claim's trace and an order
show organisations and people by name; codes (credit codes, user ids, the gateway's pi_…) are
on hover at most; recorded values are labelled, never raw or \\u-escaped JSON."""
from __future__ import annotations

from datetime import date

from marketplace.core.timeutil import beijing_today
from tests.experience.test_chinese_pages import visible_text
from tests.factories import login


def test_the_audit_log_names_who_did_what_to_whom(client, factory):
    from marketplace.accounts import services as accounts

    admin = factory.user("admin")
    org = factory.organization(verified=False, name="聊城新材料研究院")
    accounts.verify_organization(admin, org.id)
    login(client, admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    text = visible_text(html)
    assert "聊城新材料研究院" in text and admin.name in text and "审核通过单位" in text
    assert "\\u" not in html and "organization.verify" not in text and org.credit_code not in text
    assert f"#{admin.id}" not in text  # the account's id is on hover only


def test_the_ledger_page_and_the_order_show_names_and_the_platforms_references(client, factory, fresh_gateway):
    from marketplace.listings import services as listings
    from marketplace.orders import services as orders

    seller = factory.university(name="聊城大学")
    buyer = factory.enterprise(name="聊城精工机械有限公司")
    achievement = factory.listing(seller, "achievement", transfer_modes=["assignment"], price_fen=100_000)
    order = factory.paid(buyer, factory.order(buyer, listings.get_listing(buyer, achievement.id),
                                              transfer_mode="assignment"))
    contract = orders.register_contract(seller, order.contract.id, "2024370015000123", beijing_today())
    login(client, factory.user("reviewer"))
    html = client.get(f"/review/ledger/{contract.ref}").get_data(as_text=True)
    text = visible_text(html)
    assert "聊城大学" in text and "聊城精工机械有限公司" in text and "卖方" in text
    assert seller.organization.credit_code not in text and seller.organization.credit_code in html  # on hover
    assert '{"' not in text and "\\u" not in html
    client.post("/logout")
    login(client, buyer)
    text = visible_text(client.get(f"/orders/{order.id}").get_data(as_text=True))
    assert order.ref in text and "RCPT-" in text and "pi_" not in text


def test_a_filed_claims_trace_names_the_applicant_and_labels_its_evidence(client, factory):
    from marketplace.claims import services as claims

    filer = factory.enterprise(name="聊城鲁西化工示范企业")
    claim = claims.file_claim(filer, filer.organization.id, "B2", {
        "level": "provincial", "newly_recognised": True, "recognised_on": date(beijing_today().year - 1, 11, 20)},
        beijing_today().year - 1)
    login(client, filer)
    text = visible_text(client.get(f"/claims/{claim.id}").get_data(as_text=True))
    assert "新认定：是" in text and "级别：省级" in text and "聊城鲁西化工示范企业" in text
    assert "newly_recognised" not in text and "=True" not in text and filer.organization.credit_code not in text
