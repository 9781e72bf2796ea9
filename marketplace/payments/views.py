"""The gateway's webhook; the confirmation step before paying; bank transfers: the receipt a
person confirms, statement imports and the transfers left for a person to resolve."""
from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.errors import ServiceError
from marketplace.core.forms import attach_error
from marketplace.extensions import csrf, rate_limit
from marketplace.payments import services, transfers
from marketplace.payments.forms import ConfirmReceiptForm, MatchForm, PayForm, ResolveForm, StatementForm

bp = Blueprint("payments", __name__)


def _refused_delivery(response) -> bool:
    """A delivery refused as the sender's fault (a signature or body that does not verify):
    only those count against RATELIMIT_WEBHOOK. The gateway's own deliveries arrive from a few
    addresses, one or more for every payment, and are never held back by their number; a
    busy database's 503 is not the sender's fault either."""
    return 400 <= response.status_code < 500


@bp.route("/payments/webhook", methods=["POST"])
@csrf.exempt
@rate_limit("RATELIMIT_WEBHOOK", deduct_when=_refused_delivery)
def webhook():
    result = services.handle_webhook(request.get_data(), request.headers.get("Stripe-Signature", ""))
    return jsonify(result), 200


@bp.route("/orders/<int:order_id>/checkout")
@login_required
def checkout(order_id):
    """The confirmation step: what is bought, from whom, the voucher's effect, this part and
    the total, the method; the button posts to ``orders.pay``."""
    summary = services.checkout_summary(current_user, order_id)
    form = PayForm(method=summary.live.method if summary.live else "card")
    form.method.choices = [c for c in form.method.choices if c[0] in summary.methods]
    return render_template("payments/checkout.html", s=summary, order=summary.order, form=form,
                           payee=services.payee())


def order_panel(order) -> dict:
    """What the order page shows of its payments (``templates/payments/_order.html``)."""
    payments = services.payments_of(order)
    return {"payments": payments, "parts": services.plan(order), "next": services.next_part(order),
            "payee": services.payee(), "received": services.received_so_far(order)}


def _receipt_page(payment, form, status=200):
    return render_template("payments/receipt.html", payment=payment, order=payment.order, form=form,
                           transfers=transfers.transfers_of(payment), payee=services.payee()), status


@bp.route("/payments/<int:payment_id>/receipt", methods=["GET", "POST"])
@login_required
def confirm_receipt(payment_id):
    """Finance or the seller confirms the amount that arrived for a bank transfer."""
    payment = transfers.awaited(current_user, payment_id)
    form = ConfirmReceiptForm()
    if request.method == "GET":
        form.seen_fen.data = str(payment.received_fen)
        form.amount.data = ""
        return _receipt_page(payment, form)
    if form.validate_on_submit():
        try:
            transfers.confirm_receipt(current_user, payment_id, form.amount.fen, form.seen(), form.day,
                                      form.note.data or "")
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("The receipt was recorded."), "success")
            return redirect(url_for("orders.order", order_id=payment.order_id))
    return _receipt_page(payment, form, 400)


def _transfers_page(statement_form=None, result=None, errors=None, status=200, row_forms=None):
    row_forms = row_forms or {}
    return render_template(
        "payments/transfers.html", awaiting=transfers.awaiting(current_user),
        open=transfers.open_transfers(current_user), statements=transfers.recent_statements(current_user),
        statement_form=statement_form or StatementForm(), result=result, errors=errors or [],
        row_forms=row_forms, match_form=MatchForm(formdata=None), resolve_form=ResolveForm(formdata=None)), status


@bp.route("/payments/transfers")
@login_required
def transfers_page():
    return _transfers_page()


@bp.route("/payments/transfers/import", methods=["POST"])
@login_required
def import_statement():
    form = StatementForm()
    upload = form.statement.data if form.validate_on_submit() else None
    data = upload.read() if upload else b""
    try:
        result = transfers.import_statement(current_user, getattr(upload, "filename", "") or "", data)
    except transfers.StatementError as exc:
        return _transfers_page(form, errors=exc.problems, status=400)
    flash(_("Statement imported: %(matched)d matched, %(open)d to resolve, %(skipped)d already imported.",
            matched=len(result.matched), open=len(result.open), skipped=len(result.skipped)), "success")
    return _transfers_page(result=result)


@bp.route("/payments/transfers/<int:transfer_id>/match", methods=["POST"])
@login_required
def match(transfer_id):
    form = MatchForm()
    if form.validate_on_submit():
        try:
            transfers.match_by_hand(current_user, transfer_id, form.reference.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("The transfer was matched."), "success")
            return redirect(url_for("payments.transfers_page"))
    return _transfers_page(row_forms={transfer_id: {"match": form}}, status=400)


@bp.route("/payments/transfers/<int:transfer_id>/resolve", methods=["POST"])
@login_required
def resolve(transfer_id):
    form = ResolveForm()
    if form.validate_on_submit():
        try:
            transfers.resolve(current_user, transfer_id, form.resolution.data, form.note.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("The transfer was resolved."), "success")
            return redirect(url_for("payments.transfers_page"))
    return _transfers_page(row_forms={transfer_id: {"resolve": form}}, status=400)
