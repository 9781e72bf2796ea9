"""The gateway's webhook endpoint: signature-verified, idempotent on the event id."""
from flask import Blueprint, jsonify, request

from marketplace.extensions import csrf, rate_limit
from marketplace.payments import services

bp = Blueprint("payments", __name__)


@bp.route("/payments/webhook", methods=["POST"])
@csrf.exempt
@rate_limit("RATELIMIT_WEBHOOK")
def webhook():
    result = services.handle_webhook(request.get_data(), request.headers.get("Stripe-Signature", ""))
    return jsonify(result), 200
