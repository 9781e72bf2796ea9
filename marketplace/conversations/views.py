"""Pages of conversations: negotiation on an enquiry, proposals on demands, threads, the
agreed-price notice, and the reader's notifications."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from marketplace.conversations import confidential, negotiation, pricenotice, threads
from marketplace.conversations.forms import (
    AcceptForm,
    DecideObjectionForm,
    DeclineForm,
    MessageForm,
    OfferForm,
    PriceObjectionForm,
    ProposalForm,
)
from marketplace.core.errors import NotFound, ServiceError
from marketplace.core.forms import REFUSALS, attach_error, submit, validated
from marketplace.notifications import services as notes

bp = Blueprint("talk", __name__)


@bp.app_context_processor
def unread_notifications():
    def may_see_file(attachment):
        return confidential.may_see(current_user, attachment)

    def unread() -> int:
        """The top bar's count, asked only by a page that shows the top bar (a mail rendered in
        the request, a fragment, never count)."""
        if getattr(current_user, "is_authenticated", False):
            return notes.unread_count(current_user)
        return 0

    return {"unread_notifications": unread, "may_see_file": may_see_file, "notification_text": notes.text}


def _files():
    return [(f.filename, f.read()) for f in request.files.getlist("files") if f and f.filename]


# --- the enquiry page: terms, versions, notice, thread -----------------------------------------

def render_enquiry(enquiry, offer_form=None, decline_form=None, message_form=None, objection_form=None,
                   status=200, accept_form=None, decide_form=None):
    side = negotiation.side_of(current_user, enquiry)
    if side is None:
        abort(404)
    subj, thread, receipts = threads.view(current_user, "enquiry", enquiry.id)
    open_version = negotiation.open_version(enquiry)
    return render_template(
        "orders/enquiry.html", enquiry=enquiry, side=side, versions=negotiation.versions(enquiry),
        open_version=open_version, notice=pricenotice.of_enquiry(enquiry.id),
        needs_notice=negotiation.needs_notice(enquiry), offer_form=offer_form or OfferForm(formdata=None),
        accept_form=accept_form or AcceptForm(formdata=None), decline_form=decline_form or DeclineForm(formdata=None),
        message_form=message_form or MessageForm(formdata=None), thread=thread, receipts=receipts,
        subject=subj, decide_form=decide_form or DecideObjectionForm(formdata=None),
        objection_form=objection_form or PriceObjectionForm(formdata=None),
        enquiry_order=negotiation.order_of(enquiry)), status


def _enquiry_or_404(enquiry_id: int):
    enquiry = negotiation.enquiry_seen_by(current_user, enquiry_id)
    if enquiry is None:
        abort(404)
    return enquiry


@bp.route("/enquiries/<int:enquiry_id>/offer", methods=["POST"])
@login_required
def offer(enquiry_id):
    enquiry = _enquiry_or_404(enquiry_id)
    form = OfferForm()
    if form.validate_on_submit():
        try:
            negotiation.offer(current_user, enquiry.id, form.amount.fen, **form.terms())
            flash(_("Your terms were sent."), "success")
            return redirect(url_for("orders.enquiry", enquiry_id=enquiry.id))
        except ServiceError as exc:
            attach_error(form, exc, keep=REFUSALS)
    return render_enquiry(enquiry, offer_form=form, status=getattr(form, "refusal_status", 400))


@bp.route("/offers/<int:version_id>/accept", methods=["POST"])
@login_required
def accept(version_id):
    enquiry = _enquiry_or_404(negotiation._version(version_id).enquiry_id)

    def done(result):
        if isinstance(result, pricenotice.PriceNotice):
            flash(_("Accepted. The agreed price stands on public notice until %(day)s; the contract is signed "
                    "after it.", day=result.notice_until.isoformat()), "success")
            return redirect(url_for("orders.enquiry", enquiry_id=result.enquiry_id))
        flash(_("Accepted: the order is made."), "success")
        return redirect(url_for("orders.order", order_id=result.id))

    return submit(AcceptForm(), lambda f: negotiation.accept(current_user, version_id, f.with_voucher.data),
                  lambda form, status: render_enquiry(enquiry, accept_form=form, status=status), done)


@bp.route("/offers/<int:version_id>/decline", methods=["POST"])
@login_required
def decline(version_id):
    version = negotiation._version(version_id)
    enquiry = _enquiry_or_404(version.enquiry_id)
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            negotiation.decline(current_user, version_id, form.reason.data)
            flash(_("Declined."), "success")
            return redirect(url_for("orders.enquiry", enquiry_id=enquiry.id))
        except ServiceError as exc:
            attach_error(form, exc, keep=REFUSALS)
    return render_enquiry(enquiry, decline_form=form, status=getattr(form, "refusal_status", 400))


@bp.route("/attachments/<int:attachment_id>/confidential", methods=["POST"])
@login_required
def confidential_file(attachment_id):
    validated(FlaskForm())
    try:
        item = confidential.toggle_confidential(current_user, attachment_id)
    except NotFound:
        abort(404)
    flash(_("Saved."), "success")
    return redirect(url_for("listings.detail", listing_id=item.listing_id))


@bp.route("/enquiries/<int:enquiry_id>/grant-files", methods=["POST"])
@login_required
def grant_files(enquiry_id):
    validated(FlaskForm())
    confidential.grant(current_user, enquiry_id)
    flash(_("The enquirer may now see the confidential files."), "success")
    return redirect(url_for("orders.enquiry", enquiry_id=enquiry_id))


# --- demands ----------------------------------------------------------------------------------

@bp.route("/listings/<int:listing_id>/propose", methods=["GET", "POST"])
@login_required
def propose(listing_id):
    from marketplace.listings.services import get_listing

    listing = get_listing(current_user, listing_id)
    if listing.kind != "demand":
        abort(404)
    form = ProposalForm()
    if form.validate_on_submit():
        try:
            enquiry = negotiation.respond_to_demand(current_user, listing.id, form.message.data, form.amount.fen,
                                                    **form.terms())
            flash(_("Your proposal was sent."), "success")
            return redirect(url_for("orders.enquiry", enquiry_id=enquiry.id))
        except ServiceError as exc:
            attach_error(form, exc, keep=REFUSALS)
    status = getattr(form, "refusal_status", 400) if form.errors or form.form_errors else 200
    return render_template("conversations/propose.html", listing=listing, form=form), status


@bp.route("/demands/<int:listing_id>/proposals")
@login_required
def proposals(listing_id):
    listing, rows = negotiation.proposals(current_user, listing_id)
    return render_template("conversations/proposals.html", listing=listing, rows=rows)


@bp.route("/demands/<int:listing_id>/close", methods=["POST"])
@login_required
def close_demand(listing_id):
    validated(FlaskForm())
    negotiation.close_demand(current_user, listing_id)
    flash(_("The demand is closed. Its proposals stay here."), "success")
    return redirect(url_for("talk.proposals", listing_id=listing_id))


# --- threads ----------------------------------------------------------------------------------

@bp.route("/threads/<kind>/<int:subject_id>", methods=["GET", "POST"])
@login_required
def thread(kind, subject_id):
    form = MessageForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                threads.post(current_user, kind, subject_id, form.body.data, _files())
                flash(_("Message sent."), "success")
                if kind == "enquiry":
                    return redirect(url_for("orders.enquiry", enquiry_id=subject_id))
                return redirect(url_for("talk.thread", kind=kind, subject_id=subject_id))
            except ServiceError as exc:
                attach_error(form, exc, keep=REFUSALS)
        status = getattr(form, "refusal_status", 400)
    else:
        form = MessageForm(formdata=None)
        status = 200
    subj, item, receipts = threads.view(current_user, kind, subject_id)
    return render_template("conversations/thread.html", subject=subj, thread=item, receipts=receipts,
                           message_form=form), status


@bp.route("/thread-files/<int:attachment_id>")
@login_required
def thread_file(attachment_id):
    item, data = threads.attachment_file(current_user, attachment_id)
    return send_file(data, mimetype=item.content_type, as_attachment=True, download_name=item.original_name)


# --- the agreed-price notice -------------------------------------------------------------------

@bp.route("/price-notices/<int:notice_id>/object", methods=["POST"])
@login_required
def object_to_price(notice_id):
    from marketplace.review.views import price_objection_page

    def done(_objection):
        flash(_("Your objection was sent to the seller."), "success")
        return redirect(url_for("review.notice"))

    return submit(PriceObjectionForm(), lambda f: pricenotice.object_to(current_user, notice_id, f.reason.data),
                  lambda form, status: price_objection_page(form, notice_id, status), done)


@bp.route("/price-objections/<int:objection_id>/decide", methods=["POST"])
@login_required
def decide_price_objection(objection_id):
    def done(objection):
        flash(_("Decision recorded."), "success")
        return redirect(url_for("orders.enquiry", enquiry_id=objection.notice.enquiry_id))

    def page(form, status):
        enquiry = _enquiry_or_404(pricenotice.enquiry_id_of_objection(current_user, objection_id))
        return render_enquiry(enquiry, decide_form=form, status=status)

    return submit(DecideObjectionForm(), lambda f: pricenotice.decide_objection(
        current_user, objection_id, f.decision.data == "uphold", f.reason.data), page, done)


@bp.route("/price-notices/<int:notice_id>/sign", methods=["POST"])
@login_required
def sign(notice_id):
    validated(FlaskForm())
    order = pricenotice.sign(current_user, notice_id)
    flash(_("The public notice has ended: the contract is signed and the order is ready to pay."), "success")
    return redirect(url_for("orders.order", order_id=order.id))


# --- notifications ----------------------------------------------------------------------------

@bp.route("/notifications")
@login_required
def notifications():
    from marketplace.core.paging import page_arg
    from marketplace.home.services import notifications_of

    page = notifications_of(current_user, page=page_arg())
    return render_template("notifications/list.html", items=page.items, page=page)


@bp.route("/notifications/<int:notification_id>")
@login_required
def open_notification(notification_id):
    note = notes.open_notification(current_user, notification_id)
    link = note.link if note.link and note.link.startswith("/") and not note.link.startswith("//") else None
    return redirect(link or url_for("talk.notifications"))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_read():
    validated(FlaskForm())
    notes.mark_all_read(current_user)
    flash(_("All notifications are marked read."), "success")
    return redirect(url_for("talk.notifications"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    form = FlaskForm()
    if request.method == "POST":
        validated(form)
        chosen = {tuple(v.split(":", 1)) for v in request.form.getlist("keep") if ":" in v}
        notes.set_preferences(current_user, chosen)
        flash(_("Your notification settings are saved."), "success")
        return redirect(url_for("talk.preferences"))
    return render_template("notifications/preferences.html", form=form, prefs=notes.preferences(current_user),
                           kinds=notes.KINDS, channels=notes.CHANNELS)
