"""What booking a payment reads (``read_paying``: one row of plain values, no mapped rows)
is what the order's rows say: the parties' names and credit codes, the listing's title, and
the reference the ledger names the money by: the contract's, the booking's, the voucher's or
the order's (``business_ref``)."""
from datetime import date, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.orders.models import Order
from marketplace.orders.services import business_ref
from marketplace.payments import services as payments
from marketplace.payments.models import Payment
from tests.factories import login, published
from tests.payments.test_bank_transfer import _contract_order
from tests.voucher_helpers import give_voucher


def _as_the_rows_say(payment: Payment) -> dict:
    order = payment.order
    return {"payment_id": payment.id, "status": payment.status, "amount_fen": payment.amount_fen,
            "gateway_id": payment.gateway_id, "instalment": payment.instalment, "instalments": payment.instalments,
            "order_id": order.id, "created_by_id": order.created_by_id, "seller_org_id": order.seller_org_id,
            "buyer_name": order.buyer.name, "buyer_code": order.buyer.credit_code,
            "seller_code": order.seller.credit_code, "title": order.listing.title, "ref": business_ref(order)}


def _checked(payment_id: int) -> str:
    db.session.expire_all()
    payment = db.session.get(Payment, payment_id)
    expected = _as_the_rows_say(payment)
    by_id = payments.read_paying(payment_id=payment_id)
    by_gateway = payments.read_paying(gateway_id=payment.gateway_id)
    assert vars(by_id) == expected and by_gateway == by_id
    return by_id.ref


def test_the_paying_read_says_what_the_rows_say_for_every_kind_of_order(client, factory, provider, enterprise):
    assert payments.read_paying(gateway_id="pi_nobody") is None and payments.read_paying(payment_id=10 ** 9) is None
    login(client, enterprise)
    refs = []
    # a service bought outright, and one with an innovation voucher
    plain = published(provider, "service", title="检测服务", price_fen=120_000)
    with_voucher = published(provider, "service", title="高端液相色谱仪检测服务", price_fen=5_000_000)
    give_voucher(enterprise.organization)
    for listing, data in ((plain, {}), (with_voucher, {"with_voucher": "y"})):
        order_id = int(client.post(f"/listings/{listing.id}/order", data=data).headers["Location"].rsplit("/", 1)[1])
        assert client.post(f"/orders/{order_id}/pay").status_code == 302
        refs.append(_checked(db.session.scalar(select(Payment.id).where(Payment.order_id == order_id))))
    # an instrument's hours
    instrument = published(provider, "instrument")
    day = date.today() + timedelta(days=1)
    response = client.post(f"/listings/{instrument.id}/book", data={"day": day.isoformat(), "hour": 9, "hours": 2})
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    refs.append(_checked(db.session.scalar(select(Payment.id).where(Payment.order_id == order_id))))
    # a technology contract's first part of two, by bank transfer (still processing)
    _seller, buyer, order = _contract_order(factory, 2)
    payment = payments.checkout(buyer, order.id, method="bank")
    db.session.commit()
    refs.append(_checked(payment.id))

    kinds = [ref.split("-")[0] for ref in refs]
    assert kinds == ["ORD", "VCH", "BKG", "CTR"], refs
    assert db.session.get(Order, order.id).contract.ref == refs[-1]
