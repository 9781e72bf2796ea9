"""Printable PDFs of receipts, contract summaries and decision notices."""
from flask import Blueprint, Response, request
from flask_login import current_user, login_required

from marketplace.documents import services

bp = Blueprint("documents", __name__)


def _send(document: services.Document) -> Response:
    return Response(document.content, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{document.filename}"'})


@bp.route("/orders/<int:order_id>/receipt.pdf")
@login_required
def receipt(order_id):
    return _send(services.receipt(current_user, order_id, request.args.get("payment", type=int)))


@bp.route("/contracts/<int:contract_id>.pdf")
@login_required
def contract(contract_id):
    return _send(services.contract(current_user, contract_id))


@bp.route("/claims/<int:claim_id>/decision.pdf")
@login_required
def decision(claim_id):
    return _send(services.decision(current_user, claim_id))
