"""/api/v1 for vouchers: the organisation's vouchers and applications, applying, and an order's
redemption status (reservation, delivery, acceptance, batch, receivables); the provider
delivers (with a base64 report), the buyer accepts or disputes. Routes join the API blueprint
(``marketplace.api.views.bp``) and its document (``marketplace.api.openapi``)."""
from __future__ import annotations

import base64
import binascii

from flask import g, jsonify
from flask_babel import gettext as _

from marketplace.api import openapi as doc
from marketplace.api.serialize import money, timestamp
from marketplace.api.validation import Field, Invalid, body, integer, query, string, yuan
from marketplace.api.views import bp
from marketplace.core.errors import NotFound
from marketplace.extensions import db
from marketplace.orders.services import get_order
from marketplace.payments.services import receivables_of
from marketplace.vouchers import services
from marketplace.vouchers.models import APPLICATION_STATUSES, MODES, RedemptionBatch


def _user():
    return g.api_user


def voucher_json(v) -> dict:
    return {"id": v.id, "number": v.number, "year": v.year, "mode": v.mode, "status": v.status,
            "amount": money(v.amount_fen), "used": money(v.used_fen), "reserved": money(v.reserved_fen),
            "lapsed": money(v.lapsed_fen), "balance": money(v.balance_fen), "issued_on": v.issued_on.isoformat(),
            "use_by": v.use_by.isoformat(), "redeem_by": v.redeem_by.isoformat()}


def application_json(a) -> dict:
    return {"id": a.id, "year": a.year, "planned": money(a.planned_fen), "purpose": a.purpose, "mode": a.mode,
            "status": a.status, "approved": money(a.approved_fen) if a.approved_fen is not None else None,
            "note": a.note, "created_at": timestamp(a.created_at), "decided_at": timestamp(a.decided_at)}


def redemption_json(order) -> dict:
    reservation, delivery = services.reservation_of(order.id), services.delivery_of(order.id)
    batch = db.session.get(RedemptionBatch, reservation.batch_id) if reservation and reservation.batch_id else None
    return {
        "order_id": order.id, "order_status": order.status,
        "voucher": reservation.voucher.number if reservation else None,
        "reservation": {"amount": money(reservation.amount_fen), "status": reservation.status} if reservation else None,
        "delivery": {"status": delivery.status, "delivered_at": timestamp(delivery.delivered_at),
                     "accepted_at": timestamp(delivery.accepted_at), "report": delivery.report_name,
                     "dispute_reason": delivery.dispute_reason, "rating": delivery.rating} if delivery else None,
        "batch": {"month": batch.month, "status": batch.status} if batch else None,
        "receivables": [{"payer": r.payer, "amount": money(r.amount_fen), "status": r.status}
                        for r in receivables_of(order)],
    }


def _org():
    org = _user().organization
    if org is None:
        raise NotFound(_("This does not exist."))
    return org


@bp.route("/vouchers")
def voucher_index():
    query({})
    return jsonify(items=[voucher_json(v) for v in services.vouchers_of(_org().id)])


@bp.route("/voucher-applications")
def voucher_application_index():
    query({})
    return jsonify(items=[application_json(a) for a in services.applications_of(_org().id)])


@bp.route("/voucher-applications", methods=["POST"])
def voucher_application_create():
    values = body({"year": Field(integer(2000, 2100), required=True), "planned": Field(yuan, required=True),
                   "purpose": Field(string(3000), required=True), "mode": Field(string(10, MODES))})
    application = services.apply(_user(), values["year"], values["planned"], values["purpose"],
                                 values.get("mode", "exchange"))
    return jsonify(application_json(application)), 201


@bp.route("/orders/<int:order_id>/redemption")
def order_redemption(order_id):
    query({})
    return jsonify(redemption_json(get_order(_user(), order_id)))


def _report(name, value):
    if not isinstance(value, dict) or set(value) != {"name", "content_base64"} \
            or not all(isinstance(v, str) for v in value.values()):
        raise Invalid(_("%(field)s must be an object with name and content_base64.", field=name), name)
    try:
        return value["name"], base64.b64decode(value["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(_("%(field)s must be an object with name and content_base64.", field=name), name) from None


@bp.route("/orders/<int:order_id>/deliver", methods=["POST"])
def order_deliver(order_id):
    values = body({"note": Field(string(3000)), "report": Field(_report)})
    services.deliver(_user(), order_id, values.get("note", ""), [values["report"]] if "report" in values else [])
    return jsonify(redemption_json(get_order(_user(), order_id)))


@bp.route("/orders/<int:order_id>/accept", methods=["POST"])
def order_accept(order_id):
    body({})
    services.accept(_user(), order_id)
    return jsonify(redemption_json(get_order(_user(), order_id)))


@bp.route("/orders/<int:order_id>/dispute", methods=["POST"])
def order_dispute(order_id):
    values = body({"reason": Field(string(3000), required=True)})
    services.dispute(_user(), order_id, values["reason"])
    return jsonify(redemption_json(get_order(_user(), order_id)))


# --- the OpenAPI document ------------------------------------------------------------------------

_VOUCHER = doc.obj({"id": doc.ID, "number": doc.STRING, "year": {"type": "integer"}, "mode": {"enum": list(MODES)},
                    "status": {"enum": ["active", "lapsed"]}, "amount": doc.MONEY, "used": doc.MONEY,
                    "reserved": doc.MONEY, "lapsed": doc.MONEY, "balance": doc.MONEY, "issued_on": doc.DATE,
                    "use_by": doc.DATE, "redeem_by": doc.DATE},
                   ("id", "number", "year", "mode", "status", "amount", "used", "reserved", "lapsed", "balance",
                    "issued_on", "use_by", "redeem_by"))
_APPLICATION = doc.obj({"id": doc.ID, "year": {"type": "integer"}, "planned": doc.MONEY, "purpose": doc.STRING,
                        "mode": {"enum": list(MODES)}, "status": {"enum": list(APPLICATION_STATUSES)},
                        "approved": doc.nullable(doc.MONEY), "note": doc.nullable(doc.STRING),
                        "created_at": doc.TIMESTAMP, "decided_at": doc.nullable(doc.TIMESTAMP)},
                       ("id", "year", "planned", "purpose", "mode", "status", "approved", "note", "created_at",
                        "decided_at"))
_RECEIVABLE = doc.obj({"payer": {"enum": ["province", "city"]}, "amount": doc.MONEY, "status": doc.STRING},
                      ("payer", "amount", "status"))
_REDEMPTION = doc.obj({
    "order_id": doc.ID, "order_status": doc.STRING, "voucher": doc.nullable(doc.STRING),
    "reservation": doc.nullable(doc.obj({"amount": doc.MONEY, "status": {"enum": ["reserved", "redeemed", "released"]}},
                                        ("amount", "status"))),
    "delivery": doc.nullable(doc.obj({
        "status": {"enum": ["delivered", "accepted", "auto_accepted", "disputed"]}, "delivered_at": doc.TIMESTAMP,
        "accepted_at": doc.nullable(doc.TIMESTAMP), "report": doc.nullable(doc.STRING),
        "dispute_reason": doc.nullable(doc.STRING), "rating": doc.nullable({"type": "integer"})},
        ("status", "delivered_at", "accepted_at", "report", "dispute_reason", "rating"))),
    "batch": doc.nullable(doc.obj({"month": doc.STRING, "status": {"enum": ["open", "paid"]}}, ("month", "status"))),
    "receivables": {"type": "array", "items": _RECEIVABLE}},
    ("order_id", "order_status", "voucher", "reservation", "delivery", "batch", "receivables"))
doc.SCHEMAS.update({
    "Voucher": _VOUCHER,
    "VoucherList": doc.obj({"items": {"type": "array", "items": doc.ref("Voucher")}}, ("items",)),
    "VoucherApplication": _APPLICATION,
    "VoucherApplicationList": doc.obj({"items": {"type": "array", "items": doc.ref("VoucherApplication")}},
                                      ("items",)),
    "VoucherApplicationCreate": doc.obj({
        "year": {"type": "integer", "minimum": 2000, "maximum": 2100}, "planned": doc.MONEY_IN,
        "purpose": {"type": "string", "minLength": 1, "maxLength": 3000, "pattern": r"\S"},
        "mode": {"enum": list(MODES), "description": "exchange (通兑) or general (通用)"}}, ("year", "planned", "purpose")),
    "Redemption": _REDEMPTION,
    "Delivery": doc.obj({"note": {"type": "string", "maxLength": 3000},
                         "report": doc.obj({"name": doc.STRING, "content_base64": doc.STRING},
                                           ("name", "content_base64"))}),
    "Dispute": doc.obj({"reason": {"type": "string", "minLength": 1, "maxLength": 3000, "pattern": r"\S"}},
                       ("reason",)),
})
doc.PATHS.update({
    "/api/v1/vouchers": {"get": doc._op(
        "listVouchers", "Your organisation's innovation vouchers with their balances.", "vouchers",
        (200, "VoucherList", "By use-by date."), (400, 404))},
    "/api/v1/voucher-applications": {
        "get": doc._op("listVoucherApplications", "Your organisation's voucher applications (申领).", "vouchers",
                       (200, "VoucherApplicationList", "Newest first."), (400, 404)),
        "post": doc._op("applyForVoucher", "Apply for a voucher for a year (eligible enterprises and maker teams).",
                        "vouchers", (201, "VoucherApplication", "Waiting for the city's review."), (400, 403, 404),
                        body="VoucherApplicationCreate")},
    "/api/v1/orders/{order_id}/redemption": {"get": doc._op(
        "getRedemption", "An order's voucher reservation, delivery, acceptance, batch and receivables.", "vouchers",
        (200, "Redemption", "The redemption status."), (400, 404), parameters=(doc.ORDER_ID,))},
    "/api/v1/orders/{order_id}/deliver": {"post": doc._op(
        "deliverOrder", "The provider delivers a paid service order (a voucher order needs its report).", "vouchers",
        (200, "Redemption", "Delivered, waiting for acceptance."), (400, 403, 404, 409), parameters=(doc.ORDER_ID,),
        body="Delivery")},
    "/api/v1/orders/{order_id}/accept": {"post": doc._op(
        "acceptOrder", "The buyer accepts (验收) the delivered service: only now is the voucher redeemed.", "vouchers",
        (200, "Redemption", "Accepted and redeemed."), (400, 403, 404, 409), parameters=(doc.ORDER_ID,))},
    "/api/v1/orders/{order_id}/dispute": {"post": doc._op(
        "disputeOrder", "The buyer disputes the delivery with a reason.", "vouchers",
        (200, "Redemption", "Disputed."), (400, 403, 404, 409), parameters=(doc.ORDER_ID,), body="Dispute")},
})
