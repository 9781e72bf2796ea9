"""Which documents exist for whom: the parties of an order and the city print its receipt and
its contract summary; a claim's beneficiary and the city its decision notice."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace import permissions as perm
from marketplace.claims.models import Claim
from marketplace.core.errors import NotFound
from marketplace.core.timeutil import beijing_now
from marketplace.documents.render import pdf
from marketplace.extensions import db
from marketplace.orders.models import Order, TechContract
from marketplace.payments.models import Payment

DECISIONS = ("approved", "rejected")


@dataclass
class Document:
    filename: str
    content: bytes


def receipt(actor, order_id: int, payment_id: int | None = None) -> Document:
    """The receipt of an order's payment (收款凭证): who paid whom, what for, how much, when;
    of its latest payment, or of ``payment_id`` (one instalment)."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(_("No such order."))
    perm.require(actor, perm.VIEW_ORDER, order)
    query = select(Payment).where(Payment.order_id == order.id, Payment.status.in_(("succeeded", "refunded")))
    if payment_id is not None:
        query = query.where(Payment.id == payment_id)
    payment = db.session.scalar(query.order_by(Payment.id.desc()))
    if payment is None:
        raise NotFound(_("This order has not been paid: there is no receipt yet."))
    return Document(f"receipt-{order.ref}.pdf", pdf("documents/receipt.html", order=order, payment=payment,
                                                    printed_at=beijing_now()))


def contract(actor, contract_id: int) -> Document:
    """A technology contract's summary (技术合同摘要), registered or awaiting registration."""
    c = db.session.get(TechContract, contract_id)
    if c is None:
        raise NotFound(_("No such contract."))
    perm.require(actor, perm.VIEW_ORDER, c)
    return Document(f"contract-{c.ref}.pdf", pdf("documents/contract.html", contract=c, printed_at=beijing_now()))


def decision(actor, claim_id: int) -> Document:
    """A claim's decision notice (审核决定书): approved or rejected, by whom, with the reason."""
    claim = db.session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(_("No such claim."))
    perm.require(actor, perm.CLAIM_VIEW, claim)
    steps = [d for d in claim.decisions if d.action in DECISIONS]
    if not steps:
        raise NotFound(_("No decision has been taken on this claim yet."))
    return Document(f"decision-{claim.id}.pdf", pdf("documents/decision.html", claim=claim, decision=steps[-1],
                                                    printed_at=beijing_now()))
