"""``flask ledger verify`` checks that the money adds up, not only that the chain is intact:
one payment per order, refunds within payments, completed bookings paid. Each violation is
planted (appended with a valid hash chain, so only the business check can see it) and the
command names the first entry that breaks the rule."""
from __future__ import annotations

from datetime import date

import pytest

from marketplace.extensions import db
from marketplace.ledger import services

ON = date(2025, 3, 1)


def _payment(ref, fen, gateway_id):
    return services.append("payment", ref, ON, fen, {"payer": "91370000A", "payee": "91370000B",
                                                     "amount": f"{fen / 100:.2f}", "method": "card",
                                                     "gateway_id": gateway_id})


def _refund(ref, fen, corrects):
    return services.append("refund", ref, ON, fen, {"reason": "退款", "amount": f"{fen / 100:.2f}"},
                           corrects_seq=corrects.seq)


def _completed(ref, provider="91370000B", customer="91370000A"):
    return services.append("booking_completed", ref, ON, 20_000, {"provider": provider, "customer": customer,
                                                                  "instrument": "INS-1", "amount": "200.00"})


def _verify(app):
    db.session.commit()
    return app.test_cli_runner().invoke(args=["ledger", "verify"])


def test_a_consistent_ledger_passes(app_ctx):
    paid = _payment("BKG-1", 20_000, "pi_1")
    _completed("BKG-1")
    _completed("BKG-2", provider="91370000B", customer="91370000B")  # the owner's own use: no order
    _refund("ORD-3", 5_000, _payment("ORD-3", 5_000, "pi_3"))
    assert paid.seq == 1
    out = _verify(app_ctx)
    assert out.exit_code == 0, out.output
    assert out.output.strip() == "ledger intact: 5 entries"


def test_a_second_payment_of_one_order_is_named(app_ctx):
    _payment("VCH-7", 10_000, "pi_a")
    _payment("ORD-8", 10_000, "pi_b")
    second = _payment("VCH-7", 10_000, "pi_c")
    out = _verify(app_ctx)
    assert out.exit_code == 1
    assert f"ledger inconsistent at entry {second.seq}: a second payment under VCH-7 (the first is entry 1)" \
        in out.output


def test_refunds_beyond_the_payments_are_named(app_ctx):
    paid = _payment("ORD-5", 10_000, "pi_5")
    _refund("ORD-5", 6_000, paid)
    too_much = _refund("ORD-5", 6_000, paid)
    out = _verify(app_ctx)
    assert out.exit_code == 1
    assert f"ledger inconsistent at entry {too_much.seq}: refunds under ORD-5 (12000 fen) exceed its payments " \
           "(10000 fen)" in out.output


def test_a_completed_booking_without_a_paid_order_is_named(app_ctx):
    _payment("BKG-1", 20_000, "pi_1")
    _completed("BKG-1")
    unpaid = _completed("BKG-2")
    out = _verify(app_ctx)
    assert out.exit_code == 1
    assert f"ledger inconsistent at entry {unpaid.seq}: booking_completed under BKG-2 without a paid order" \
        in out.output


@pytest.mark.parametrize("plant", ["payment", "refund", "booking"])
def test_the_hash_chain_is_intact_so_only_the_business_check_sees_it(app_ctx, plant):
    paid = _payment("ORD-1", 10_000, "pi_1")
    {"payment": lambda: _payment("ORD-1", 10_000, "pi_2"), "refund": lambda: _refund("ORD-1", 10_001, paid),
     "booking": lambda: _completed("BKG-9")}[plant]()
    db.session.commit()
    assert services.verify().ok
    assert not services.verify_business().ok
