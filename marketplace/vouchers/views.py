"""Voucher pages: the enterprise's vouchers, the provider's admission and voucher orders, the
city's queues, batches and dashboard; delivery, acceptance, dispute and rating of orders."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace import permissions as perm
from marketplace.core import spreadsheet, uploads
from marketplace.core.errors import ServiceError
from marketplace.core.forms import attach_error, validated
from marketplace.core.money import MoneyError, fen_to_str, parse_yuan
from marketplace.core.timeutil import beijing_today
from marketplace.orders.services import get_order
from marketplace.vouchers import services
from marketplace.vouchers.forms import (
    AdmissionDecideForm,
    AdmissionForm,
    ApplyForm,
    DecideForm,
    DeliverForm,
    DisputeForm,
    RateForm,
    ResubmitForm,
    SettingForm,
)

bp = Blueprint("vouchers", __name__)


@bp.route("/vouchers", methods=["GET", "POST"])
@login_required
def mine():
    org = current_user.organization
    if org is None:
        abort(404)
    form = ApplyForm(year=beijing_today().year)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.apply(current_user, form.year.data, form.planned.fen, form.purpose.data, form.mode.data)
            except ServiceError as exc:
                attach_error(form, exc)
            else:
                flash(_("Your application was sent to the city."), "success")
                return redirect(url_for("vouchers.mine"))
        status = 400
    return render_template("vouchers/mine.html", form=form, vouchers=services.vouchers_of(org.id),
                           applications=services.applications_of(org.id),
                           reservations=services.reservations_of(org.id), resubmit_form=ResubmitForm(),
                           can_apply=perm.can(current_user, perm.VOUCHER_APPLY, org)), status


@bp.route("/vouchers/applications/<int:application_id>/resubmit", methods=["POST"])
@login_required
def resubmit(application_id):
    form = validated(ResubmitForm())
    services.resubmit(current_user, application_id, form.purpose.data)
    flash(_("Your application is back with the city."), "success")
    return redirect(url_for("vouchers.mine"))


@bp.route("/vouchers/review")
@login_required
def review():
    perm.require(current_user, perm.VOUCHER_REVIEW)
    admissions = services.admissions_queue(current_user)
    return render_template("vouchers/review.html", applications=services.applications_queue(current_user),
                           admissions=admissions, stats={a.organization_id: services.provider_stats(a.organization_id)
                                                         for a in admissions},
                           decide_form=DecideForm(), admission_form=AdmissionDecideForm(),
                           setting_form=SettingForm(), settings=services.settings_history(),
                           issued=services.issued_in_year)


@bp.route("/vouchers/applications/<int:application_id>/decide", methods=["POST"])
@login_required
def decide(application_id):
    form = validated(DecideForm())
    services.decide_application(current_user, application_id, form.decision.data, form.amount.fen,
                                form.note.data or "")
    flash(_("Decided."), "success")
    return redirect(url_for("vouchers.review"))


@bp.route("/vouchers/admissions/<int:admission_id>/decide", methods=["POST"])
@login_required
def decide_admission(admission_id):
    form = validated(AdmissionDecideForm())
    services.decide_admission(current_user, admission_id, form.decision.data, form.note.data or "")
    flash(_("Decided."), "success")
    return redirect(url_for("vouchers.review"))


@bp.route("/vouchers/settings", methods=["POST"])
@login_required
def settings():
    form = validated(SettingForm())
    raw = (form.value.data or "").strip()
    try:
        if form.key.data == "yearly_cap_fen":
            value = parse_yuan(raw) if raw else None
        else:
            value = int(raw) if raw.isdigit() else None
    except MoneyError:
        raise ServiceError(_("Enter an amount in yuan, like 12000 or 12000.50."), "value") from None
    services.set_setting(current_user, form.key.data, value, form.effective_date)
    flash(_("Saved."), "success")
    return redirect(url_for("vouchers.review"))


@bp.route("/vouchers/provider", methods=["GET", "POST"])
@login_required
def provider():
    org = current_user.organization
    if org is None:
        abort(404)
    form = AdmissionForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                services.apply_admission(current_user, form.scope.data, form.qualifications.data)
            except ServiceError as exc:
                attach_error(form, exc)
            else:
                flash(_("Your application was sent to the city."), "success")
                return redirect(url_for("vouchers.provider"))
        status = 400
    return render_template("vouchers/provider.html", form=form, admission=services.admission_of(org.id),
                           queues=services.provider_orders(current_user), stats=services.provider_stats(org.id),
                           can_apply=perm.can(current_user, perm.ADMISSION_APPLY, org)), status


@bp.route("/vouchers/batches")
@login_required
def batches():
    items = services.batches(current_user)
    year = request.args.get("year", type=int) or beijing_today().year
    return render_template("vouchers/batches.html", batches=[(b, services.batch_total(b)) for b in items],
                           owed=services.province_owed(current_user), year=year,
                           dashboard=services.dashboard(current_user, year),
                           can_pay=perm.can(current_user, perm.VOUCHER_PAY), this_month=beijing_today().strftime("%Y-%m"))


@bp.route("/vouchers/batches/<int:batch_id>/pay", methods=["POST"])
@login_required
def pay_batch(batch_id):
    services.pay_batch(current_user, batch_id)
    flash(_("Batch paid."), "success")
    return redirect(url_for("vouchers.batches"))


@bp.route("/vouchers/province-owed.csv")
@login_required
def province_owed_csv():
    rows = services.province_owed(current_user)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["order", "accepted_on", "buyer", "provider", "fee", "province_owed"])
    for r in rows:  # user text written as text, never a formula
        writer.writerow(spreadsheet.row([r["order"].ref, r["accepted_on"], r["buyer"], r["provider"],
                                         fen_to_str(r["order"].amount_fen), fen_to_str(r["amount_fen"])]))
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=province-owed.csv"})


# --- on an order ------------------------------------------------------------------------------------

@bp.route("/orders/<int:order_id>/deliver", methods=["POST"])
@login_required
def deliver(order_id):
    form = validated(DeliverForm())
    files = [(f.filename, f.read()) for f in request.files.getlist("files") if f and f.filename]
    services.deliver(current_user, order_id, form.note.data or "", files)
    flash(_("Delivered. The buyer is asked to accept it."), "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.route("/orders/<int:order_id>/accept", methods=["POST"])
@login_required
def accept(order_id):
    services.accept(current_user, order_id)
    flash(_("Accepted. The voucher is redeemed."), "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.route("/orders/<int:order_id>/dispute", methods=["POST"])
@login_required
def dispute(order_id):
    form = validated(DisputeForm())
    services.dispute(current_user, order_id, form.reason.data)
    flash(_("Your dispute was sent to the provider."), "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.route("/orders/<int:order_id>/rate", methods=["POST"])
@login_required
def rate(order_id):
    form = validated(RateForm())
    services.rate(current_user, order_id, int(form.rating.data), form.comment.data or "")
    flash(_("Thank you for rating the service."), "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.route("/orders/<int:order_id>/report")
@login_required
def report(order_id):
    order = get_order(current_user, order_id)
    delivery = services.delivery_of(order.id)
    if delivery is None or not delivery.report_stored:
        abort(404)
    return send_file(uploads.open_stored("vouchers", delivery.report_stored), mimetype=delivery.report_type,
                     as_attachment=True, download_name=delivery.report_name)


def order_panel(order) -> dict:
    """What the order page shows of the voucher, the delivery and the acceptance."""
    return {"reservation": services.reservation_of(order.id), "delivery": services.delivery_of(order.id),
            "deliver_form": DeliverForm(), "dispute_form": DisputeForm(), "rate_form": RateForm(),
            "auto_days": services.auto_accept_days()}


def listing_panel(listing, preview) -> dict | None:
    if not (current_user.is_authenticated and preview and preview.get("eligible")):
        return None
    return services.preview(current_user.organization, preview["province_fen"] + preview["city_fen"])


def init_app(app) -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import worker
    from marketplace.home.services import Action, add_action
    from marketplace.vouchers import labels  # noqa: F401 (the label groups)

    app.jinja_env.globals.update(voucher_order_panel=order_panel, voucher_listing_panel=listing_panel)
    # Every hour: deliveries nobody answered are accepted; every day: expired vouchers lapse.
    worker.schedule(app, "vouchers.auto_accept", 3600, lambda now: services.auto_accept(now))
    worker.schedule(app, "vouchers.lapse", 3600, lambda now: services.lapse_expired(now))
    actions = [
        (perm.ENTERPRISE, Action(_l("Innovation vouchers"), "vouchers.mine",
                                 _l("Apply for vouchers; balances, reservations and history."))),
        (perm.PROVIDER, Action(_l("Voucher services"), "vouchers.provider",
                               _l("Admission, and voucher orders awaiting delivery, acceptance and redemption."))),
        (perm.AGENCY, Action(_l("Voucher services"), "vouchers.provider",
                             _l("Admission, and voucher orders awaiting delivery, acceptance and redemption."))),
        (perm.REVIEWER, Action(_l("Voucher review"), "vouchers.review",
                               _l("Voucher applications and provider admissions."))),
        (perm.ADMIN, Action(_l("Voucher review"), "vouchers.review",
                            _l("Voucher applications and provider admissions."))),
    ] + [(role, Action(_l("Voucher redemption"), "vouchers.batches",
                       _l("Redemption batches, the province's share owed, vouchers per county.")))
         for role in perm.CITY_ROLES]
    for role, action in actions:
        add_action(app, (role,), action)
