"""Payment behaviour a mutation run of marketplace/payments left untested (issue 16, session 5):
what a relayed failure event says was received, an event for a payment nobody started, which
attempt the confirmation page takes as under way, and what a statement import reports.
Through the webhook route, the pages and the services; bank transfers as in
test_bank_transfer.py."""
from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.orders import services as orders
from marketplace.orders.models import Order
from marketplace.payments import gateway as gw
from marketplace.payments import services as payments
from marketplace.payments import transfers
from marketplace.payments.models import BankStatement, BankTransfer, Payment, WebhookEvent
from tests.factories import login, published


def _webhook(client, app, event_type, gateway_id, amount_fen, status, event_id):
    intent = gw.PaymentIntent(id=gateway_id, amount_fen=amount_fen, currency="cny", status=status, client_secret=None)
    payload = gw.build_event(event_id, event_type, intent)
    signature = gw.sign_webhook_payload(app.config["STRIPE_WEBHOOK_SECRET"], payload, int(time.time()))
    response = client.post("/payments/webhook", data=payload, headers={"Stripe-Signature": signature})
    assert response.status_code == 200, response.data[:300]
    return response.get_json()["outcome"]


def _count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _csv(rows, header=("交易日期", "对方户名", "金额", "摘要")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _bank_payment(buyer, seller, price_fen):
    order = orders.order_service(buyer, published(seller, "service", title="轴承材料检测", price_fen=price_fen).id)
    return order, payments.checkout(buyer, order.id, method="bank")


# --------------------------------------------------------------------------- webhooks


def test_an_event_of_an_unpaid_intent_says_nothing_was_received():
    # The relay and the tests build the events Stripe sends: money is received only on success.
    for status, received in (("requires_payment_method", 0), ("processing", 0), ("succeeded", 700)):
        intent = gw.PaymentIntent(id="pi_1", amount_fen=700, currency="cny", status=status, client_secret=None)
        obj = json.loads(gw.build_event("evt_1", "payment_intent.payment_failed", intent))["data"]["object"]
        assert (obj["amount"], obj["amount_received"], obj["status"]) == (700, received, status)


def test_a_success_event_for_a_payment_nobody_started_is_recorded_as_unknown_and_pays_nothing(
        app, client, no_relay, factory):
    buyer, seller = factory.enterprise(), factory.provider()
    order = orders.order_service(buyer, published(seller, "service", price_fen=5_000_000).id)
    payment = payments.checkout(buyer, order.id)
    assert _webhook(client, app, "payment_intent.succeeded", "pi_nobody_started", payment.amount_fen,
                    "succeeded", "evt_unknown") == "unknown_payment"
    db.session.expire_all()
    (event,) = db.session.scalars(select(WebhookEvent)).all()
    assert (event.event_id, event.object_id, event.outcome) == ("evt_unknown", "pi_nobody_started", "unknown_payment")
    assert db.session.get(Payment, payment.id).status == "processing"
    assert db.session.get(Order, order.id).status == "pending_payment" and _count(LedgerEntry) == 0


def test_a_signature_header_without_its_time_is_refused_saying_so():
    fake = gw.InMemoryGateway()
    payload = gw.build_event("evt_1", "payment_intent.succeeded", gw.PaymentIntent(
        id="pi_1", amount_fen=100, currency="cny", status="succeeded", client_secret=None))
    signature = gw.sign_webhook_payload(fake.webhook_secret, payload, int(time.time())).split(",", 1)[1]
    with pytest.raises(gw.WebhookSignatureError, match="^no timestamp in Stripe-Signature header$"):
        fake.parse_webhook(payload, signature)


def test_the_bank_gateway_reports_a_transfer_as_awaited_under_its_own_reference():
    bank = gw.BankTransferGateway(secret="s")
    intent = bank.create_payment(amount_fen=100, reference="ORD-1", idempotency_key="order-1-pay-1", metadata={})
    confirmed = bank.confirm_payment(intent.id)
    assert (confirmed.id, confirmed.status) == (intent.id, "requires_action")


# --------------------------------------------------------------------------- confirmation step


def _checked_method(page: str) -> str | None:
    for tag in re.findall(r"<input[^>]*name=\"method\"[^>]*>", page):
        if re.search(r"\schecked\b", tag):
            return re.search(r'value="([^"]*)"', tag).group(1)
    return None


def test_after_a_declined_card_the_confirmation_page_offers_the_transfer_under_way(app, client, no_relay, factory):
    # The page preselects the way of the attempt under way (paying it another way is refused
    # with 409), not that of a declined attempt of the same part.
    buyer, seller = factory.enterprise(), factory.provider()
    order = orders.order_service(buyer, published(seller, "service", price_fen=5_000_000).id)
    declined = payments.checkout(buyer, order.id, method="card")
    assert _webhook(client, app, "payment_intent.payment_failed", declined.gateway_id, declined.amount_fen,
                    "requires_payment_method", "evt_declined") == "failed"
    login(client, buyer)
    assert _checked_method(client.get(f"/orders/{order.id}/checkout").get_data(as_text=True)) == "card"
    assert client.post(f"/orders/{order.id}/pay", data={"method": "bank"}).status_code == 302
    page = client.get(f"/orders/{order.id}/checkout").get_data(as_text=True)
    assert _checked_method(page) == "bank"


def _says(response, status: int, words: str) -> bool:
    """The refusal's status, and its words on the page in the default (Chinese) UI."""
    return response.status_code == status and f'<p class="lead">{words}</p>' in response.get_data(as_text=True)


def test_paying_a_booking_by_transfer_or_at_a_changed_amount_is_refused_saying_why(client, factory):
    buyer = factory.enterprise()
    booking = factory.booking(buyer)
    login(client, buyer)
    # booked hours are freed sooner than a transfer arrives: card only
    assert _says(client.post(f"/orders/{booking.order_id}/pay", data={"method": "bank"}), 400, "请选择支付方式。")
    assert _says(client.post(f"/orders/{booking.order_id}/pay", data={"method": "card", "expected_fen": "1"}), 409,
                 "确认页面显示后应付金额已变化，请重新核对。")
    assert _count(Payment) == 0


def test_paying_an_order_paid_already_or_under_way_another_way_says_why(client, factory):
    buyer, seller = factory.enterprise(), factory.provider()
    service = published(seller, "service", price_fen=5_000_000)
    paid = orders.order_service(buyer, service.id)
    factory.paid(buyer, paid)
    by_transfer, _payment = _bank_payment(buyer, seller, 1_000_000)
    login(client, buyer)
    for method in ("card", "bank"):
        assert _says(client.post(f"/orders/{paid.id}/pay", data={"method": method}), 409, "该订单不处于待付款状态。")
    assert _says(client.post(f"/orders/{by_transfer.id}/pay", data={"method": "card"}), 409,
                 "这一期已在用另一种方式支付，请刷新页面。")
    assert _count(Payment) == 2


# --------------------------------------------------------------------------- transfers


def test_resolving_or_matching_a_transfer_that_does_not_exist_says_so(client, finance):
    login(client, finance)
    for action, data in (("resolve", {"resolution": "returned", "note": "已原路退回"}), ("match", {"reference": "LC1"})):
        assert _says(client.post(f"/payments/transfers/999999/{action}", data=data), 404, "没有这笔转账。"), action


def test_an_import_names_the_transfers_it_matched_and_those_left_to_resolve(app_ctx, factory, finance):
    from marketplace.core.timeutil import beijing_today

    seller = factory.provider()
    buyer_a, buyer_b = factory.enterprise(name="甲公司"), factory.enterprise(name="乙公司")
    _order_a, pay_a = _bank_payment(buyer_a, seller, 1_000_000)
    _order_b, pay_b = _bank_payment(buyer_b, seller, 2_000_000)
    day = beijing_today().isoformat()
    data = _csv([(day, "甲公司", "10000", pay_a.gateway_id), (day, "乙公司", "5000", pay_b.gateway_id),
                 (day, "丙公司", "300", "货款")])
    result = transfers.import_statement(finance, "march.csv", data)
    by_payer = {t.payer_name: t for t in db.session.scalars(select(BankTransfer))}
    assert result.matched == [by_payer["甲公司"]]
    assert result.open == [by_payer["乙公司"], by_payer["丙公司"]]
    assert [t.status for t in result.open] == ["partial", "unmatched"]
    assert (result.statement.rows, result.statement.matched) == (3, 1)


def test_a_row_without_the_payers_name_is_reported_by_its_line_and_nothing_is_imported(client, factory, finance):
    from marketplace.core.timeutil import beijing_today

    seller, buyer = factory.provider(), factory.enterprise()
    _order, payment = _bank_payment(buyer, seller, 1_000_000)
    day = beijing_today().isoformat()
    data = _csv([(day, "甲公司", "10000", payment.gateway_id), (day, "", "10", "x")])
    login(client, finance)
    client.post("/lang/en")
    response = client.post("/payments/transfers/import", data={"statement": (io.BytesIO(data), "s.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "line 3: the payer account name is empty" in response.get_data(as_text=True)
    assert _count(BankTransfer) == 0 and _count(BankStatement) == 0


def test_a_statements_error_names_each_bad_line(app_ctx):
    # The message (logs, any caller that shows it whole) says where each problem is.
    data = _csv([("2025-03-18", "", "10", "x"), ("18/03/2025", "乙公司", "10", "y")])
    with app_ctx.test_request_context(), force_locale("en"):
        with pytest.raises(transfers.StatementError) as refused:
            transfers.parse_statement(data)
    assert str(refused.value).startswith("line 2: the payer account name is empty; line 3: 18/03/2025 is not a date")
    assert [n for n, _problem in refused.value.problems] == [2, 3]


def test_a_row_shorter_than_the_header_is_read_with_its_missing_cells_empty(app_ctx):
    # Banks' exports leave trailing empty cells out: 附言 is the fifth column, the row has four.
    data = _csv([("2025-03-18", "甲公司", "10000", "货款 LC12345678")],
                header=("交易日期", "对方户名", "金额", "摘要", "附言"))
    (row,), outgoing = transfers.parse_statement(data)
    assert (row.line, row.payer, row.amount_fen, row.remark, outgoing) == (2, "甲公司", 1_000_000, "货款 LC12345678", [])


def test_a_statement_of_more_than_five_thousand_rows_is_refused_saying_to_split_it(app_ctx):
    rows = [("2025-03-18", "甲公司", "1", f"r{i}") for i in range(transfers.MAX_STATEMENT_ROWS + 1)]
    with app_ctx.test_request_context(), force_locale("en"):
        with pytest.raises(transfers.StatementError) as refused:
            transfers.parse_statement(_csv(rows))
    assert refused.value.problems == [(transfers.MAX_STATEMENT_ROWS + 2,
                                       "more than 5000 rows: import the statement in parts")]


def test_transfers_to_resolve_of_one_day_are_listed_in_the_order_they_arrived(app_ctx, factory, finance):
    from marketplace.core.timeutil import beijing_today

    seller, buyer = factory.provider(), factory.enterprise(name="乙公司")
    _order, payment = _bank_payment(buyer, seller, 2_000_000)
    day = beijing_today().isoformat()
    transfers.import_statement(finance, "a.csv", _csv([(day, "丁公司", "300", "货款"), (day, "戊公司", "200", "服务费")]))
    transfers.import_statement(finance, "b.csv", _csv([(day, "乙公司", "5000", payment.gateway_id),
                                                       (day, "丙公司", "100", "货款")]))
    listed = [(t.payer_name, t.status) for t in transfers.open_transfers(finance)]
    assert listed == [("丁公司", "unmatched"), ("戊公司", "unmatched"), ("乙公司", "partial"), ("丙公司", "unmatched")]


def test_booking_a_payment_the_database_has_moved_already_changes_nothing(app_ctx, factory):
    # book()'s own guard, not its callers' checks: handed a payment another confirmation has
    # booked meanwhile, its conditional UPDATE finds nothing to move, so nothing is written.
    buyer, seller = factory.enterprise(), factory.provider()
    order = orders.order_service(buyer, published(seller, "service", price_fen=300_000).id)
    payment = payments.checkout(buyer, order.id)  # (the relayed webhook books it)
    db.session.expire_all()
    booked_at = db.session.get(Payment, payment.id).succeeded_at
    assert booked_at is not None and _count(LedgerEntry) == 1
    try:
        assert payments.book(db.session.get(Payment, payment.id), "card") == "already_succeeded"
        db.session.flush()
        assert _count(LedgerEntry) == 1 and db.session.get(Payment, payment.id).succeeded_at == booked_at
    finally:
        db.session.rollback()


def test_booking_a_part_of_an_order_cancelled_since_it_was_read_books_nothing(app_ctx, factory):
    # The webhook reads the payment and its order before it takes the write lock; book() then
    # asks the database, not that read, whether the order still waits for payment. Here the
    # order is cancelled (by another connection) between the read and the booking of its
    # first part of two.
    from tests.payments.test_bank_transfer import _contract_order

    _seller, buyer, order = _contract_order(factory, 2)
    payment = payments.checkout(buyer, order.id, method="bank")
    db.session.commit()
    payment = db.session.get(Payment, payment.id)
    assert (payment.instalment, payment.instalments) == (1, 2)
    assert payment.order.status == "pending_payment"  # what the early read saw
    with db.engine.begin() as other:
        other.execute(Order.__table__.update().where(Order.__table__.c.id == order.id).values(status="cancelled"))
    try:
        assert payments.book(payment, "bank") == "order_not_pending"
        db.session.flush()
        assert _count(LedgerEntry) == 0
    finally:
        db.session.rollback()
