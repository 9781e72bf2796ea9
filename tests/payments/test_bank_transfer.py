"""Bank transfer (对公转账), the confirmation step and instalments, through the app's routes.

The buyer confirms what it pays and chooses the bank transfer: the order shows the escrow
account and the platform's reference and waits. Finance (or the seller) confirms the amount
that arrived, or imports the bank's statement (CSV, UTF-8 or GBK, English or the banks'
Chinese headers); the ledger's payment entry is written with the confirmation, once. Partial,
excessive and unmatched transfers are listed until a person matches or returns them; a bad
row is reported by its line number and nothing of the file is imported. Instalments agreed in
the quote are paid as that many payments, each its own ledger entry, and the subsidy scenario
of the contract reads as if it had been paid at once."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.conversations import negotiation
from marketplace.core.timeutil import beijing_today, frozen_at
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.scenario import build_scenario
from marketplace.ledger.services import verify, verify_business
from marketplace.orders import services as orders
from marketplace.orders.models import Order, TechContract
from marketplace.payments import gateway as gw
from marketplace.payments.models import BankStatement, BankTransfer, Payment
from tests.factories import login, published
from tests.voucher_helpers import give_voucher

# Yesterday 12:00 Beijing: always in the past. (Today's noon is still ahead from Beijing midnight
# to noon, 16:00–04:00 UTC, and rows stamped at it were not yet due for a drain run at the real clock.)
NOON = datetime.combine(beijing_today() - timedelta(days=1), datetime.min.time()).replace(hour=4)


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _payments(order_id) -> list[Payment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)))


def _entries(kind="payment") -> list[LedgerEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(LedgerEntry.seq)))


def _status(order_id) -> str:
    db.session.expire_all()
    return db.session.get(Order, order_id).status


def _bank_order(client, buyer, seller, price_fen=80_000_000):
    """An order of ``buyer``'s, paid by transfer through the confirmation step; (order, payment)."""
    service = published(seller, "service", title="轴承材料检测", price_fen=price_fen)
    order = orders.order_service(buyer, service.id)
    login(client, buyer)
    page = client.get(f"/orders/{order.id}/checkout")
    assert page.status_code == 200
    assert client.post(f"/orders/{order.id}/pay", data={"method": "bank", "expected_fen": str(price_fen)}
                       ).status_code == 302
    (payment,) = _payments(order.id)
    return order, payment


def _csv(rows, header=("交易日期", "对方户名", "金额", "摘要", "附言"), encoding="utf-8"):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return io.BytesIO(out.getvalue().encode(encoding))


def _import(client, data, name="statement.csv"):
    return client.post("/payments/transfers/import", data={"statement": (data, name)},
                       content_type="multipart/form-data")


# --------------------------------------------------------------------------- the reference


def test_references_are_stable_checked_and_found_in_what_banks_write():
    ref = gw.make_reference("k", "order-1-pay-1")
    assert ref == gw.make_reference("k", "order-1-pay-1") != gw.make_reference("k", "order-1-pay-2")
    assert ref.startswith("LC") and len(ref) == 11
    assert gw.find_reference(f"货款 {ref.lower()} 聊城鲁西") == ref  # lower case, words around it
    assert gw.find_reference(f"转账{ref[:5]}-{ref[5:]}") == ref  # split by the bank
    body = ref[2:]
    typo = "LC" + body[:3] + ("0" if body[3] != "0" else "1") + body[4:]
    assert gw.find_reference(typo) is None  # one character wrong: the check character refuses it
    swapped = "LC" + body[1] + body[0] + body[2:]
    assert body[0] == body[1] or gw.find_reference(swapped) is None
    assert gw.find_reference("订单 ORD-12 货款") is None


def test_the_bank_gateway_keeps_the_gateway_interface():
    bank = gw.BankTransferGateway(secret="s")
    assert isinstance(bank, gw.PaymentGateway)
    intent = bank.create_payment(amount_fen=100, reference="ORD-1", idempotency_key="k", metadata={})
    assert intent.status == "requires_action" and gw.find_reference(intent.id) == intent.id
    assert bank.refund(intent_id=intent.id, amount_fen=100, idempotency_key="r").status == "pending"
    with pytest.raises(gw.WebhookError):
        bank.parse_webhook(b"{}", "t=1,v1=00")


# --------------------------------------------------------------------------- confirmation step


def test_the_confirmation_step_shows_what_from_whom_the_voucher_effect_and_the_total(client, factory):
    seller = factory.provider(name="聊城检测中心")
    buyer = factory.enterprise(name="鲁西精密机械")
    give_voucher(buyer.organization)
    service = published(seller, "service", title="轴承材料检测", price_fen=1_000_000)
    order = orders.order_service(buyer, service.id, with_voucher=True)
    login(client, buyer)
    order_page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f"/orders/{order.id}/checkout" in order_page and f'action="/orders/{order.id}/pay"' not in order_page
    page = client.get(f"/orders/{order.id}/checkout").get_data(as_text=True)
    for seen in ("轴承材料检测", "聊城检测中心", "鲁西精密机械", 'id="voucher-effect"', "¥9,000.00",
                 "¥1,000.00", 'value="bank"', 'value="card"'):
        assert seen in page, seen
    assert _count(Payment) == 0  # looking is not paying
    # A price that changed since the page was shown is not paid blindly.
    assert client.post(f"/orders/{order.id}/pay", data={"method": "card", "expected_fen": "999"}).status_code == 409
    assert _count(Payment) == 0
    assert client.post(f"/orders/{order.id}/pay", data={"method": "card", "expected_fen": "100000"}).status_code == 302
    assert _status(order.id) == "paid"
    assert "/receipt.pdf" in client.get(f"/orders/{order.id}").get_data(as_text=True)


def test_a_booking_is_paid_by_card_only(client, factory):
    buyer = factory.enterprise()
    booking = factory.booking(buyer)
    login(client, buyer)
    assert 'value="bank"' not in client.get(f"/orders/{booking.order_id}/checkout").get_data(as_text=True)
    assert client.post(f"/orders/{booking.order_id}/pay", data={"method": "bank"}).status_code == 400
    assert _count(Payment) == 0


# --------------------------------------------------------------------------- confirm by hand


def test_bank_transfer_waits_then_finance_confirms_and_the_ledger_has_one_entry(client, factory, finance, app):
    seller, buyer = factory.provider(), factory.enterprise()
    order, payment = _bank_order(client, buyer, seller)
    assert _status(order.id) == "pending_payment" and payment.method == "bank"
    assert gw.find_reference(payment.gateway_id) == payment.gateway_id
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert payment.gateway_id in page and app.config["BANK_ESCROW_ACCOUNT_NO"] in page
    assert _entries() == []  # choosing the transfer writes nothing in the ledger
    # The buyer cannot say the money arrived.
    assert client.post(f"/payments/{payment.id}/receipt", data={"amount": "800000", "seen_fen": "0"}).status_code == 403

    client.get("/logout")
    login(client, finance)
    form = client.get(f"/payments/{payment.id}/receipt")
    assert form.status_code == 200 and payment.gateway_id in form.get_data(as_text=True)
    # Bad input keeps what was typed and says why.
    bad = client.post(f"/payments/{payment.id}/receipt", data={"amount": "八十万x", "seen_fen": "0",
                                                                "value_date": "2025-13-01"})
    assert bad.status_code == 400 and "八十万x" in bad.get_data(as_text=True)
    assert _count(BankTransfer) == 0
    assert client.post(f"/payments/{payment.id}/receipt", data={"amount": "800000", "seen_fen": "0"}).status_code == 302
    assert _status(order.id) == "paid"
    (entry,) = _entries()
    assert entry.amount_fen == 80_000_000 and '"method": "bank_transfer"' in entry.payload.replace('":"', '": "')
    # Confirmed once: a second confirmation (a double click, a colleague) is refused and writes nothing.
    again = client.post(f"/payments/{payment.id}/receipt", data={"amount": "800000", "seen_fen": "0"})
    assert again.status_code in (400, 409)
    assert len(_entries()) == 1 and _count(BankTransfer) == 1
    assert verify(db.session).ok and verify_business(db.session).ok
    pdf = client.get(f"/orders/{order.id}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_the_seller_may_confirm_a_partial_transfer_and_the_rest_later(client, factory):
    seller, buyer = factory.provider(), factory.enterprise()
    order, payment = _bank_order(client, buyer, seller, price_fen=1_000_000)
    client.get("/logout")
    login(client, seller)
    assert client.post(f"/payments/{payment.id}/receipt", data={"amount": "4000", "seen_fen": "0"}).status_code == 302
    assert _status(order.id) == "pending_payment" and _entries() == []
    assert [t.status for t in db.session.scalars(select(BankTransfer))] == ["partial"]
    # A stale page (it saw nothing received) cannot count the money twice.
    assert client.post(f"/payments/{payment.id}/receipt", data={"amount": "6000", "seen_fen": "0"}).status_code == 409
    assert client.post(f"/payments/{payment.id}/receipt", data={"amount": "6000", "seen_fen": "400000"}
                       ).status_code == 302
    assert _status(order.id) == "paid"
    assert [e.amount_fen for e in _entries()] == [1_000_000]
    assert {t.status for t in db.session.scalars(select(BankTransfer))} == {"matched"}


# --------------------------------------------------------------------------- statements


def test_a_statement_with_chinese_headers_in_gbk_matches_references(client, factory, finance):
    seller = factory.provider()
    buyer_a, buyer_b = factory.enterprise(name="甲公司"), factory.enterprise(name="乙公司")
    order_a, pay_a = _bank_order(client, buyer_a, seller, price_fen=80_000_000)
    client.get("/logout")
    order_b, pay_b = _bank_order(client, buyer_b, seller, price_fen=2_000_000)
    client.get("/logout")
    login(client, finance)
    day = beijing_today().isoformat()
    rows = [(day.replace("-", "/"), "甲公司", "800,000.00", "网银转账", f"技术服务费 {pay_a.gateway_id}"),
            (day, "乙公司", "5000", f"{pay_b.gateway_id.lower()}", ""),  # part of 20,000
            (day, "丙公司", "300.00", "货款", "订单ORD-9"),  # no reference
            (day, "本单位", "-120.00", "手续费", "")]  # money out: not imported
    response = _import(client, _csv(rows, encoding="gb18030"))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert _status(order_a.id) == "paid" and _status(order_b.id) == "pending_payment"
    assert [e.amount_fen for e in _entries()] == [80_000_000]
    by_payer = {t.payer_name: t.status for t in db.session.scalars(select(BankTransfer))}
    assert by_payer == {"甲公司": "matched", "乙公司": "partial", "丙公司": "unmatched"}
    listed = client.get("/payments/transfers").get_data(as_text=True)
    assert "乙公司" in listed and "丙公司" in listed and "甲公司" not in listed.split('id="awaiting"')[0]
    # The same statement again (or an overlapping export) counts nothing twice.
    assert _import(client, _csv(rows, encoding="gb18030")).status_code == 200
    assert _count(BankTransfer) == 3 and len(_entries()) == 1
    # The unmatched 300 yuan: the payer wrote its order number; finance returns it.
    unmatched = db.session.scalar(select(BankTransfer).where(BankTransfer.payer_name == "丙公司"))
    assert client.post(f"/payments/transfers/{unmatched.id}/resolve", data={"resolution": "returned", "note": ""}
                       ).status_code == 400
    assert client.post(f"/payments/transfers/{unmatched.id}/resolve",
                       data={"resolution": "returned", "note": "已原路退回"}).status_code == 302
    # The rest of 乙公司's money arrives without the reference; finance matches it by hand.
    more = [(day, "乙公司", "15000", "补足余款", "")]
    assert _import(client, _csv(more, header=("date", "payer account name", "amount", "reference"))
                   ).status_code == 200
    rest = db.session.scalar(select(BankTransfer).where(BankTransfer.amount_fen == 1_500_000))
    assert rest.status == "unmatched"
    wrong = client.post(f"/payments/transfers/{rest.id}/match", data={"reference": "LC000"})
    assert wrong.status_code == 400 and "LC000" in wrong.get_data(as_text=True)
    assert client.post(f"/payments/transfers/{rest.id}/match", data={"reference": pay_b.gateway_id}
                       ).status_code == 302
    assert _status(order_b.id) == "paid"
    assert sorted(e.amount_fen for e in _entries()) == [2_000_000, 80_000_000]
    assert verify(db.session).ok and verify_business(db.session).ok


def test_a_bad_row_is_reported_by_line_and_nothing_is_imported(client, factory, finance):
    seller, buyer = factory.provider(), factory.enterprise()
    order, payment = _bank_order(client, buyer, seller, price_fen=1_000_000)
    client.get("/logout")
    login(client, finance)
    day = beijing_today().isoformat()
    rows = [(day, "甲公司", "10000", payment.gateway_id, ""),  # good, and would pay the order
            ("18/03/2025", "乙公司", "10", "x", ""),  # line 3: a date banks do not write
            (day, "丙公司", "1e5", "y", "")]  # line 4: not an amount
    response = _import(client, _csv(rows))
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "18/03/2025" in text and "1e5" in text
    assert ("第 3 行" in text or "line 3" in text) and ("第 4 行" in text or "line 4" in text)
    assert _count(BankTransfer) == 0 and _count(BankStatement) == 0
    assert _status(order.id) == "pending_payment" and _entries() == []
    # A file without the columns says which are missing.
    missing = _import(client, _csv([(day, "甲公司")], header=("交易日期", "对方户名")))
    assert missing.status_code == 400 and _count(BankTransfer) == 0


def test_only_finance_imports_statements(client, factory):
    seller = factory.provider()
    login(client, seller)
    assert _import(client, _csv([])).status_code == 403
    assert client.get("/payments/transfers").status_code == 403


# --------------------------------------------------------------------------- instalments


def _contract_order(factory, instalments, price_fen=30_000_001):
    """An achievement sold by an agency (no price notice) at a quote agreeing ``instalments``."""
    seller = factory.provider()
    buyer = factory.enterprise()
    listing = published(seller, "achievement", title="轴承套圈冷辗工艺", price_fen=price_fen)
    enquiry = orders.enquire(buyer, listing.id, "分期付款可以吗？", "assignment")
    version = negotiation.offer(seller, enquiry.id, price_fen, instalments=instalments)
    order = negotiation.accept(buyer, version.id)
    return seller, buyer, order


def _scenario_view(contract_ref):
    txns = [t for t in build_scenario(db.session, beijing_today().year)["transactions"] if t["id"] == contract_ref]
    return [{k: v for k, v in t.items() if k not in ("id", "seller", "buyer", "project", "registration_no")} for t in txns]


def test_instalments_agreed_in_the_quote_are_paid_as_that_many_payments(client, factory, finance):
    with frozen_at(NOON):
        seller, buyer, order = _contract_order(factory, 3)
        login(client, buyer)
        page = client.get(f"/orders/{order.id}/checkout").get_data(as_text=True)
        assert 'id="instalments"' in page and "¥100,000.00" in page and "¥100,000.01" in page
        # Part 1 by card, part 2 by bank transfer confirmed by finance, part 3 by card.
        assert client.post(f"/orders/{order.id}/pay", data={"method": "card", "expected_fen": "10000000"}
                           ).status_code == 302
        assert _status(order.id) == "pending_payment"
        assert client.post(f"/orders/{order.id}/pay", data={"method": "bank", "expected_fen": "10000000"}
                           ).status_code == 302
        second = _payments(order.id)[-1]
        assert (second.method, second.instalment, second.instalments) == ("bank", 2, 3)
        # The third part waits for the second.
        assert client.post(f"/orders/{order.id}/pay", data={"method": "card"}).status_code == 409
        client.get("/logout")
        login(client, finance)
        assert client.post(f"/payments/{second.id}/receipt", data={"amount": "100000", "seen_fen": "0"}
                           ).status_code == 302
        client.get("/logout")
        login(client, buyer)
        assert client.post(f"/orders/{order.id}/pay", data={"method": "card", "expected_fen": "10000001"}
                           ).status_code == 302
        assert _status(order.id) == "paid"
        parts = _payments(order.id)
        assert [(p.instalment, p.amount_fen, p.status) for p in parts] == [
            (1, 10_000_000, "succeeded"), (2, 10_000_000, "succeeded"), (3, 10_000_001, "succeeded")]
        assert [e.amount_fen for e in _entries()] == [10_000_000, 10_000_000, 10_000_001]
        assert verify(db.session).ok and verify_business(db.session).ok
        # Each part has its receipt.
        assert client.get(f"/orders/{order.id}/receipt.pdf?payment={parts[1].id}").data.startswith(b"%PDF")

        # The subsidy engine's view of the contract is that of one paid at once.
        _s2, _b2, once = _contract_order(factory, 1)
        orders_paid = factory.paid(_b2, once)
        assert orders_paid.status == "paid"
        for o, who in ((order, seller), (once, _s2)):
            contract = db.session.scalar(select(TechContract).where(TechContract.order_id == o.id))
            orders.register_contract(who, contract.id, f"3715{o.id:06d}", beijing_today())
        refs = [db.session.scalar(select(TechContract).where(TechContract.order_id == o.id)).ref
                for o in (order, once)]
        assert _scenario_view(refs[0]) == _scenario_view(refs[1]) != []


def test_a_refund_of_an_order_paid_in_parts_refunds_each_part(client, factory):
    with frozen_at(NOON):
        seller, buyer, order = _contract_order(factory, 2, price_fen=1_000_000)
        login(client, buyer)
        for _ in range(2):
            assert client.post(f"/orders/{order.id}/pay", data={"method": "card"}).status_code == 302
        assert _status(order.id) == "paid"
        client.get("/logout")
        login(client, seller)
        assert client.post(f"/orders/{order.id}/refund", data={"reason": "双方解除合同"}).status_code == 302
    assert _status(order.id) == "refunded"
    assert [e.amount_fen for e in _entries("refund")] == [500_000, 500_000]
    assert verify_business(db.session).ok
