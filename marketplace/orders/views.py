"""Buying pages: enquiries and quotes, orders and payment, contracts, bookings."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.forms import validated
from marketplace.core.paging import page_arg
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


@bp.route("/listings/<int:listing_id>/enquire", methods=["POST"])
@login_required
def enquire(listing_id):
    form = validated(EnquiryForm())
    enquiry = services.enquire(current_user, listing_id, form.message.data, form.transfer_mode.data or None)
    flash(_("Your enquiry was sent."), "success")
    return redirect(url_for("orders.enquiry", enquiry_id=enquiry.id))


@bp.route("/enquiries")
@login_required
def enquiries():
    page = services.enquiries_of(current_user, page=page_arg())
    return render_template("orders/enquiries.html", enquiries=page.items, page=page)


@bp.route("/enquiries/<int:enquiry_id>")
@login_required
def enquiry(enquiry_id):
    from marketplace.conversations.views import render_enquiry

    return render_enquiry(services.get_enquiry(current_user, enquiry_id))


@bp.route("/enquiries/<int:enquiry_id>/quote", methods=["POST"])
@login_required
def quote(enquiry_id):
    form = validated(QuoteForm())
    services.quote(current_user, enquiry_id, form.amount.fen, form.note.data or "")
    flash(_("Quote sent."), "success")
    return redirect(url_for("orders.enquiry", enquiry_id=enquiry_id))


@bp.route("/enquiries/<int:enquiry_id>/accept", methods=["POST"])
@login_required
def accept(enquiry_id):
    form = validated(PayOptionsForm())
    order = services.accept_quote(current_user, enquiry_id, form.with_voucher.data)
    if order is None:  # a university or institute sells: the agreed price goes on public notice first
        return redirect(url_for("orders.enquiry", enquiry_id=enquiry_id))
    return redirect(url_for("orders.order", order_id=order.id))


@bp.route("/listings/<int:listing_id>/order", methods=["POST"])
@login_required
def order_service(listing_id):
    form = validated(PayOptionsForm())
    order = services.order_service(current_user, listing_id, form.with_voucher.data,
                                   form.voucher_id.data if form.with_voucher.data else None)
    return redirect(url_for("orders.order", order_id=order.id))


@bp.route("/listings/<int:listing_id>/buy", methods=["POST"])
@login_required
def buy(listing_id):
    form = validated(BuyAchievementForm())
    order = services.buy_achievement(current_user, listing_id, form.transfer_mode.data)
    return redirect(url_for("orders.order", order_id=order.id))


@bp.route("/listings/<int:listing_id>/book", methods=["POST"])
@login_required
def book(listing_id):
    form = validated(BookingForm())
    booking = services.book_instrument(current_user, listing_id, form.start_at(), form.hours.data,
                                       form.samples.data, form.with_voucher.data)
    flash(_("Booked."), "success")
    if booking.order_id:
        return redirect(url_for("orders.order", order_id=booking.order_id))
    return redirect(url_for("orders.bookings"))


@bp.route("/orders")
@login_required
def orders():
    page = services.orders_of(current_user, page=page_arg())
    return render_template("orders/orders.html", orders=page.items, page=page)


@bp.route("/orders/<int:order_id>")
@login_required
def order(order_id):
    item = services.get_order(current_user, order_id)
    return render_template("orders/order.html", order=item, payments=payments.payments_of(item),
                           receivables=payments.receivables_of(item), refund_form=RefundForm(),
                           register_form=RegisterContractForm())


@bp.route("/orders/<int:order_id>/pay", methods=["POST"])
@login_required
def pay(order_id):
    # The confirmation step's button (payments.checkout): the method, and the amount it showed.
    payment = payments.checkout(current_user, order_id, request.form.get("method") or "card",
                                request.form.get("expected_fen", type=int))
    if payment.method == "bank":
        flash(_("Transfer the amount with the reference shown; the order is paid when the money arrives."), "success")
    else:
        flash(_("Payment sent. The order is marked paid when the payment service confirms it."), "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.route("/orders/<int:order_id>/confirm", methods=["POST"])
@login_required
def confirm(order_id):
    services.confirm_delivery(current_user, order_id)
    flash(_("Delivery confirmed."), "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.route("/orders/<int:order_id>/refund", methods=["POST"])
@login_required
def refund(order_id):
    form = validated(RefundForm())
    payments.refund(current_user, order_id, form.reason.data)
    flash(_("Refunded."), "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.route("/contracts/<int:contract_id>/register", methods=["POST"])
@login_required
def register_contract(contract_id):
    form = validated(RegisterContractForm())
    contract = services.register_contract(current_user, contract_id, form.registration_no.data,
                                          form.registered_date, form.contract_type.data)
    flash(_("Contract registered."), "success")
    return redirect(url_for("orders.order", order_id=contract.order_id))


@bp.route("/bookings")
@login_required
def bookings():
    page = services.bookings_of(current_user, page=page_arg())
    return render_template("orders/bookings.html", bookings=page.items, page=page)


@bp.route("/bookings/<int:booking_id>/complete", methods=["POST"])
@login_required
def complete_booking(booking_id):
    services.complete_booking(current_user, booking_id)
    flash(_("Booking completed."), "success")
    return redirect(url_for("orders.bookings"))


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@login_required
def cancel_booking(booking_id):
    services.cancel_booking(current_user, booking_id)
    flash(_("Booking cancelled."), "success")
    return redirect(url_for("orders.bookings"))
