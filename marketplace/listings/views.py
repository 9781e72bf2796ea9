"""Listing pages: browse, detail (with the voucher what-if), create, edit, publish, withdraw, moderate."""
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.errors import ServiceError
from marketplace.core.forms import REFUSALS, attach_error, submit
from marketplace.core.money import fen_to_str
from marketplace.core.paging import page_arg
from marketplace.core.timeutil import beijing_today
from marketplace.instruments import services as instruments
from marketplace.listings import services
from marketplace.listings.forms import FORMS, AttachForm, LeaseForm, ModerateForm
from marketplace.listings.services import KINDS
from marketplace.orders import services as orders
from marketplace.orders.forms import BookingForm, BuyAchievementForm, EnquiryForm, PayOptionsForm

bp = Blueprint("listings", __name__)


@bp.route("/listings")
def browse():
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    text = (request.args.get("q") or "").strip()[:services.MAX_BROWSE_TEXT]
    sort = services.browse_sort(request.args.get("sort"), text)
    page = services.browse(current_user, kind, sort=sort, page=page_arg(), text=text)
    sorts = [s for s in services.BROWSE_SORTS if s != "relevance" or text]
    return render_template("listings/browse.html", kind=kind, kinds=KINDS, sort=sort, sorts=sorts, q=text,
                           listings=page.items, page=page)


def _week_arg() -> date:
    """The first day of the calendar's week: ``?week=YYYY-MM-DD``, or today (Beijing)."""
    try:
        return date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        return beijing_today()


@bp.route("/listings/<int:listing_id>")
def detail(listing_id):
    return render_detail(listing_id)


def render_detail(listing_id: int, status: int = 200, **forms):
    """The listing's page; a form passed by name (``enquiry_form=form``) replaces the empty one,
    so a refused action shows there with what was typed and why."""
    listing = services.get_listing(current_user, listing_id)
    buyer = current_user.organization if current_user.is_authenticated else None
    preview = orders.price_preview(buyer, listing, listing.price_fen) if listing.price_fen else None
    # Paying with a voucher is ticked when the buyer may and has a voucher usable today.
    from marketplace.vouchers.services import usable_vouchers

    eligible = bool(preview and preview["eligible"]) and bool(usable_vouchers(buyer.id))
    start = _week_arg()  # the calendar is in Beijing time
    calendar = instruments.calendar_week(current_user, listing, start) if listing.kind == "instrument" else None
    context = {
        "enquiry_form": EnquiryForm(formdata=None), "pay_form": PayOptionsForm(formdata=None, with_voucher=eligible),
        "buy_form": BuyAchievementForm(formdata=None),
        "booking_form": BookingForm(formdata=None, day=start.isoformat(), with_voucher=eligible),
        "lease_form": LeaseForm(formdata=None), "attach_form": AttachForm(formdata=None),
    }
    context.update(forms)
    return render_template("listings/detail.html", listing=listing, preview=preview, calendar=calendar,
                           facility=listing.kind == "instrument" and instruments.settings_of(listing.id) is not None,
                           **context), status


def on_listing(listing_id: int, name: str):
    """``page`` for ``core.forms.submit``: the listing's page with this form in place."""
    return lambda form, status: render_detail(listing_id, status, **{name: form})


def _status(form) -> int:
    return getattr(form, "refusal_status", 400) if form.errors else 200


@bp.route("/listings/new/<kind>", methods=["GET", "POST"])
@login_required
def create(kind):
    if kind not in FORMS:
        abort(404)
    form = FORMS[kind]()
    if form.validate_on_submit():
        try:
            listing = services.create_listing(current_user, kind, form.data_for_service())
        except ServiceError as exc:
            attach_error(form, exc, keep=REFUSALS)
        else:
            flash(_("Saved as a draft. Publish it when it is ready."), "success")
            return redirect(url_for("listings.detail", listing_id=listing.id))
    return render_template("listings/edit.html", form=form, kind=kind, listing=None), _status(form)


@bp.route("/listings/<int:listing_id>/edit", methods=["GET", "POST"])
@login_required
def edit(listing_id):
    listing = services.listing_to_edit(current_user, listing_id)
    form = FORMS[listing.kind](obj=listing)
    if request.method == "GET":
        form.price.data = fen_to_str(listing.price_fen) if listing.price_fen is not None else ""
        if listing.kind == "achievement":
            form.transfer_modes.data = listing.modes
    if form.validate_on_submit():
        try:
            services.update_listing(current_user, listing.id, form.data_for_service())
        except ServiceError as exc:
            attach_error(form, exc, keep=REFUSALS)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("listings.detail", listing_id=listing.id))
    return render_template("listings/edit.html", form=form, kind=listing.kind, listing=listing), _status(form)


@bp.route("/listings/<int:listing_id>/publish", methods=["POST"])
@login_required
def publish(listing_id):
    services.publish(current_user, listing_id)
    flash(_("Published."), "success")
    return redirect(url_for("listings.detail", listing_id=listing_id))


@bp.route("/listings/<int:listing_id>/withdraw", methods=["POST"])
@login_required
def withdraw(listing_id):
    services.withdraw(current_user, listing_id)
    flash(_("Withdrawn: it no longer appears in the market."), "success")
    return redirect(url_for("listings.mine"))


@bp.route("/my/listings")
@login_required
def mine():
    page = services.my_listings(current_user, page=page_arg())
    return render_template("listings/mine.html", listings=page.items, page=page, kinds=KINDS)


@bp.route("/listings/<int:listing_id>/lease", methods=["POST"])
@login_required
def record_lease(listing_id):
    def done(_result):
        flash(_("Lease fee recorded."), "success")
        return redirect(url_for("listings.detail", listing_id=listing_id))

    return submit(LeaseForm(), lambda f: orders.record_lease_payment(current_user, listing_id, f.amount.fen,
                                                                       f.paid_on_date),
                  on_listing(listing_id, "lease_form"), done)


@bp.route("/admin/listings")
@login_required
def moderation():
    page = services.moderation_queue(current_user, page=page_arg())
    return render_template("listings/moderation.html", listings=page.items, page=page, form=ModerateForm())


@bp.route("/admin/listings/<int:listing_id>/moderate", methods=["POST"])
@login_required
def moderate(listing_id):
    form = ModerateForm()

    def page(form, status):
        queue = services.moderation_queue(current_user, page=page_arg())
        return render_template("listings/moderation.html", listings=queue.items, page=queue, form=form,
                               refused_id=listing_id, blank_form=ModerateForm(formdata=None)), status

    def done(_result):
        flash(_("Decision recorded."), "success")
        return redirect(url_for("listings.moderation"))

    return submit(form, lambda f: services.moderate(current_user, listing_id, f.decision.data, f.note.data or ""),
                  page, done)


@bp.route("/listings/<int:listing_id>/attachments", methods=["POST"])
@login_required
def attach(listing_id):
    def done(_result):
        flash(_("Attached."), "success")
        return redirect(url_for("listings.detail", listing_id=listing_id))

    return submit(AttachForm(), lambda f: services.attach_files(current_user, listing_id, f.uploads()),
                  on_listing(listing_id, "attach_form"), done)


@bp.route("/attachments/<int:attachment_id>")
def attachment(attachment_id):
    item, data = services.attachment_file(current_user, attachment_id)
    return send_file(data, mimetype=item.content_type, as_attachment=True, download_name=item.original_name)


@bp.route("/attachments/<int:attachment_id>/delete", methods=["POST"])
@login_required
def delete_attachment(attachment_id):
    listing = services.remove_attachment(current_user, attachment_id)
    flash(_("Removed."), "success")
    return redirect(url_for("listings.detail", listing_id=listing.id))
