"""Buying pages: enquiries and quotes, orders and payment, contracts, bookings."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.forms import submit
from marketplace.core.paging import page_arg
from marketplace.listings.views import on_listing
from marketplace.orders import services
from marketplace.orders.forms import (
    BookingForm,
    BuyAchievementForm,
    EnquiryForm,
    PayOptionsForm,
    QuoteForm,
    RefundForm,
    RegisterContractForm,
)
from marketplace.payments import services as payments

bp = Blueprint("orders", __name__)


def actor():
    """The signed-in user itself, not Flask-Login's proxy of it: a service reads its actor
    many times (role, organisation, id, permissions), and through the proxy each read looks
    the user up again (about five calls a read)."""
    return current_user._get_current_object()


@bp.route("/listings/<int:listing_id>/enquire", methods=["POST"])
@login_required
def enquire(listing_id):
    def done(enquiry):
        flash(_("Your enquiry was sent."), "success")
        return redirect(url_for("orders.enquiry", enquiry_id=enquiry.id))

    return submit(EnquiryForm(), lambda f: services.enquire(actor(), listing_id, f.message.data,
                                                          f.transfer_mode.data or None),
                  on_listing(listing_id, "enquiry_form"), done)


@bp.route("/enquiries")
@login_required
def enquiries():
    page = services.enquiries_of(actor(), page=page_arg())
    return render_template("orders/enquiries.html", enquiries=page.items, page=page)


@bp.route("/enquiries/<int:enquiry_id>")
@login_required
def enquiry(enquiry_id):
    from marketplace.conversations.views import render_enquiry

    return render_enquiry(services.get_enquiry(actor(), enquiry_id))


@bp.route("/enquiries/<int:enquiry_id>/quote", methods=["POST"])
@login_required
def quote(enquiry_id):
    def done(_result):
        flash(_("Quote sent."), "success")
        return redirect(url_for("orders.enquiry", enquiry_id=enquiry_id))

    return submit(QuoteForm(), lambda f: services.quote(actor(), enquiry_id, f.amount.fen, f.note.data or ""),
                  _on_enquiry(enquiry_id, "offer_form"), done)


@bp.route("/enquiries/<int:enquiry_id>/accept", methods=["POST"])
@login_required
def accept(enquiry_id):
    def done(order):
        if order is None:  # a university or institute sells: the agreed price goes on public notice first
            return redirect(url_for("orders.enquiry", enquiry_id=enquiry_id))
        return redirect(url_for("orders.order", order_id=order.id))

    return submit(PayOptionsForm(), lambda f: services.accept_quote(actor(), enquiry_id, f.with_voucher.data),
                  _on_enquiry(enquiry_id, "accept_form"), done)


@bp.route("/listings/<int:listing_id>/order", methods=["POST"])
@login_required
def order_service(listing_id):
    return submit(PayOptionsForm(), lambda f: services.order_service(
        actor(), listing_id, f.with_voucher.data, f.voucher_id.data if f.with_voucher.data else None),
        on_listing(listing_id, "pay_form"), _to_order)


@bp.route("/listings/<int:listing_id>/buy", methods=["POST"])
@login_required
def buy(listing_id):
    return submit(BuyAchievementForm(), lambda f: services.buy_achievement(actor(), listing_id,
                                                                         f.transfer_mode.data),
                  on_listing(listing_id, "buy_form"), _to_order)


@bp.route("/listings/<int:listing_id>/book", methods=["POST"])
@login_required
def book(listing_id):
    def done(booking):
        flash(_("Booked."), "success")
        if booking.order_id:
            return redirect(url_for("orders.order", order_id=booking.order_id))
        return redirect(url_for("orders.bookings"))

    return submit(BookingForm(), lambda f: services.book_instrument(actor(), listing_id, f.start_at(), f.hours.data,
                                                                  f.samples.data, f.with_voucher.data),
                  on_listing(listing_id, "booking_form"), done)


@bp.route("/orders")
@login_required
def orders():
    page = services.orders_of(actor(), page=page_arg())
    return render_template("orders/orders.html", orders=page.items, page=page)


@bp.route("/orders/<int:order_id>")
@login_required
def order(order_id):
    return render_order(order_id)


def render_order(order_id: int, status: int = 200, **forms):
    item = services.get_order(actor(), order_id)
    context = {"refund_form": RefundForm(formdata=None), "register_form": RegisterContractForm(formdata=None)}
    context.update(forms)
    return render_template("orders/order.html", order=item, payments=payments.payments_of(item),
                           receivables=payments.receivables_of(item), **context), status


def _to_order(order):
    return redirect(url_for("orders.order", order_id=services.committed_id(order)))


def _on_enquiry(enquiry_id: int, name: str):
    """The enquiry's page with this form's input and errors in the form of that name."""
    def page(form, status):
        from marketplace.conversations import forms as talk_forms
        from marketplace.conversations.views import render_enquiry

        shown = {"offer_form": talk_forms.OfferForm, "accept_form": talk_forms.AcceptForm}[name]()
        for key, field in form._fields.items():
            if key in shown._fields:
                shown[key].errors = list(field.errors)
        shown.form_errors = list(form.form_errors)
        return render_enquiry(services.get_enquiry(actor(), enquiry_id), status=status, **{name: shown})
    return page


@bp.route("/orders/<int:order_id>/pay", methods=["POST"])
@login_required
def pay(order_id):
    # The confirmation step's button (payments.checkout): the method, and the amount it showed.
    method = request.form.get("method") or "card"
    payments.checkout(actor(), order_id, method, request.form.get("expected_fen", type=int))
    if method == "bank":  # (the payment's method: checkout refuses any other)
        flash(_("Transfer the amount with the reference shown; the order is paid when the money arrives."), "success")
    else:
        flash(_("Payment sent. The order is marked paid when the payment service confirms it."), "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.route("/orders/<int:order_id>/confirm", methods=["POST"])
@login_required
def confirm(order_id):
    services.confirm_delivery(actor(), order_id)
    flash(_("Delivery confirmed."), "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.route("/orders/<int:order_id>/refund", methods=["POST"])
@login_required
def refund(order_id):
    def done(_result):
        flash(_("Refunded."), "success")
        return redirect(url_for("orders.order", order_id=order_id))

    return submit(RefundForm(), lambda f: payments.refund(actor(), order_id, f.reason.data),
                  lambda form, status: render_order(order_id, status, refund_form=form), done)


@bp.route("/contracts/<int:contract_id>/register", methods=["POST"])
@login_required
def register_contract(contract_id):
    def done(contract):
        flash(_("Contract registered."), "success")
        return redirect(url_for("orders.order", order_id=contract.order_id))

    return submit(RegisterContractForm(), lambda f: services.register_contract(
        actor(), contract_id, f.registration_no.data, f.registered_date, f.contract_type.data),
        lambda form, status: render_order(services.contract_order_id(actor(), contract_id), status,
                                          register_form=form), done)


@bp.route("/bookings")
@login_required
def bookings():
    page = services.bookings_of(actor(), page=page_arg())
    return render_template("orders/bookings.html", bookings=page.items, page=page)


@bp.route("/bookings/<int:booking_id>/complete", methods=["POST"])
@login_required
def complete_booking(booking_id):
    services.complete_booking(actor(), booking_id)
    flash(_("Booking completed."), "success")
    return redirect(url_for("orders.bookings"))


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@login_required
def cancel_booking(booking_id):
    services.cancel_booking(actor(), booking_id)
    flash(_("Booking cancelled."), "success")
    return redirect(url_for("orders.bookings"))
