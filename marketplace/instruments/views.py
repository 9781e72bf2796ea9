"""Instrument pages: the public page with its booking forms, the manager's desk, one's own
bookings and feeds, the utilisation report, and the iCal feeds behind secret addresses."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import permissions as perm
from marketplace.accounts.models import User
from marketplace.core.errors import NotFound, ServiceError
from marketplace.core.forms import REFUSALS, attach_error, submit
from marketplace.core.timeutil import beijing_now, beijing_today
from marketplace.extensions import db
from marketplace.instruments import ical, reports, services
from marketplace.instruments.forms import (
    AdvanceSamplesForm,
    BookForm,
    DecideForm,
    OutageForm,
    QualifyForm,
    SamplesForm,
    SettingsForm,
    TrainingForm,
    UseForm,
    WaitlistForm,
)
from marketplace.orders import services as orders
from marketplace.orders.models import Booking

bp = Blueprint("instruments", __name__)


def _feed_url(found) -> str:
    return url_for("instruments.ical_feed", token=found.token, _external=True)


# --- the public page ---------------------------------------------------------------------

def _page(instrument_id: int, status: int = 200, **forms):
    listing = services.instrument(instrument_id)
    if listing.status != "published" and not (current_user.is_authenticated and current_user.organization
                                              and current_user.organization.id == listing.organization_id):
        raise NotFound(_("This instrument does not exist."))
    settings = services.settings_of(listing.id)
    try:
        start = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        start = beijing_today()
    context = {
        "listing": listing, "settings": settings, "week": services.calendar_week(current_user, listing, start),
        "free": services.next_free_slots(listing, settings),
        "reasons": services.self_booking_reasons(current_user, listing.id),
        "qualification": services.qualification_of(current_user.id, listing.id)
        if current_user.is_authenticated else None,
        "mine": current_user.is_authenticated and current_user.organization is not None
        and current_user.organization.id == listing.organization_id,
        "preview": orders.price_preview(current_user.organization, listing, listing.price_fen or 0)
        if current_user.is_authenticated and current_user.organization and listing.price_fen else None,
        "book_form": BookForm(formdata=None), "training_form": TrainingForm(formdata=None),
        "samples_form": SamplesForm(formdata=None), "waitlist_form": WaitlistForm(formdata=None),
    }
    context.update(forms)
    return render_template("instruments/page.html", **context), status


@bp.route("/instruments/<int:instrument_id>")
def page(instrument_id):
    return _page(instrument_id)


def _act(instrument_id, form, name, act, done, to):
    """Run one booking action from the instrument's page; a refusal is shown beside its form,
    with what was typed."""
    def finish(result):
        flash(done(result) if callable(done) else done, "success")
        return redirect(to(result))

    return submit(form, act, lambda f, status: _page(instrument_id, status, **{name: f}), finish)


def _booked(bookings) -> str:
    if any(services.terms_of(b.id).approval == "pending" for b in bookings):
        return _("Requested. The instrument's manager approves it; your hours are held until then.")
    return _("Booked.")


def _after_booking(bookings):
    first = bookings[0]
    if first.order_id:
        return url_for("orders.order", order_id=first.order_id)
    return url_for("instruments.mine")


@bp.route("/instruments/<int:instrument_id>/book", methods=["POST"])
@login_required
def book(instrument_id):
    return _act(instrument_id, BookForm(), "book_form", lambda f: services.book(
        current_user, instrument_id, f.start_at(), f.hours.data, "use", f.repeat_weeks.data or 1,
        f.with_voucher.data), _booked, _after_booking)


@bp.route("/instruments/<int:instrument_id>/training", methods=["POST"])
@login_required
def book_training(instrument_id):
    return _act(instrument_id, TrainingForm(), "training_form", lambda f: services.book(
        current_user, instrument_id, f.start_at(), 1, "training"), lambda b: _("Training booked.") + " " + _booked(b),
        _after_booking)


@bp.route("/instruments/<int:instrument_id>/samples", methods=["POST"])
@login_required
def send_samples(instrument_id):
    return _act(instrument_id, SamplesForm(), "samples_form", lambda f: services.send_samples(
        current_user, instrument_id, f.samples.data, f.description.data, f.with_voucher.data),
        _("Samples order placed."), lambda s: url_for("instruments.sample", sample_id=s.id))


@bp.route("/instruments/<int:instrument_id>/waitlist", methods=["POST"])
@login_required
def join_waitlist(instrument_id):
    return _act(instrument_id, WaitlistForm(), "waitlist_form", lambda f: services.join_waitlist(
        current_user, instrument_id, f.day_date, f.hours.data), _("You are on the waiting list."),
        lambda e: url_for("instruments.mine"))


# --- one's own -----------------------------------------------------------------------------

@bp.route("/instruments/bookings")
@login_required
def mine():
    found = services.feed(current_user)
    return render_template("instruments/mine.html", bookings=services.bookings_of(current_user),
                           samples=services.sample_orders_of(current_user),
                           qualifications=services.my_qualifications(current_user),
                           waitlist=services.my_waitlist(current_user), feed_url=_feed_url(found),
                           today=beijing_today())


@bp.route("/instruments/feed/reset", methods=["POST"])
@login_required
def reset_feed():
    services.reset_feed(current_user)
    flash(_("Your calendar has a new address; the old one no longer works."), "success")
    return redirect(url_for("instruments.mine"))


@bp.route("/instruments/bookings/<int:booking_id>/cancel", methods=["POST"])
@login_required
def cancel(booking_id):
    booking = services.cancel(current_user, booking_id)
    terms = services.terms_of(booking.id)
    flash(_("Booking cancelled.") + (" " + _("The cancellation was late and is recorded.")
                                     if terms.attendance == "late_cancel" else ""), "success")
    return redirect(request.form.get("next") or url_for("instruments.mine"))


@bp.route("/instruments/waitlist/<int:entry_id>/leave", methods=["POST"])
@login_required
def leave_waitlist(entry_id):
    services.leave_waitlist(current_user, entry_id)
    flash(_("You left the waiting list."), "success")
    return redirect(url_for("instruments.mine"))


@bp.route("/instruments/samples/<int:sample_id>")
@login_required
def sample(sample_id):
    item = services.sample_order(current_user, sample_id)
    return render_template("instruments/sample.html", sample=item, advance_form=AdvanceSamplesForm(formdata=None),
                           manager=perm.can(current_user, perm.MANAGE_INSTRUMENT, item.instrument))


@bp.route("/instruments/samples/<int:sample_id>/advance", methods=["POST"])
@login_required
def advance_samples(sample_id):
    item = services.sample_order(current_user, sample_id)
    form = AdvanceSamplesForm()
    try:
        if not form.validate_on_submit():
            raise ServiceError("")
        services.advance_samples(current_user, sample_id, form.to.data, form.samples_done.data, form.report.data)
    except ServiceError as exc:
        status = attach_error(form, exc, keep=REFUSALS) if exc.message else 400
        return render_template("instruments/sample.html", sample=item, advance_form=form, manager=True), status
    flash(_("Saved."), "success")
    return redirect(url_for("instruments.sample", sample_id=sample_id))


# --- the manager's desk ------------------------------------------------------------------

def _desk(instrument_id: int, status: int = 200, **forms):
    listing = services._managed(current_user, instrument_id)
    settings = services.settings_of(listing.id)
    settings_form = SettingsForm(formdata=None)
    if settings is not None:
        settings_form.fill(settings)
    context = {
        "listing": listing, "settings": settings, "settings_form": settings_form,
        "bookings": services.bookings_of_instrument(current_user, listing.id),
        "samples": services.sample_orders_of_instrument(current_user, listing.id),
        "qualifications": services.qualifications(current_user, listing.id),
        "outages": services.outages_of(current_user, listing.id),
        "waitlist": services.waitlist_of(listing.id),
        "feed_url": _feed_url(services.feed(current_user, listing.id)),
        "decide_form": DecideForm(formdata=None), "use_form": UseForm(formdata=None),
        "qualify_form": QualifyForm(formdata=None), "outage_form": OutageForm(formdata=None),
        "billable": lambda b, t: services.billable_fen(b, t, settings) if settings else b.amount_fen,
        "now": beijing_now(),
    }
    context.update(forms)
    return render_template("instruments/manage.html", **context), status


@bp.route("/instruments/<int:instrument_id>/manage")
@login_required
def manage(instrument_id):
    return _desk(instrument_id)


def _desk_act(instrument_id, form, name, act, done):
    def finish(_result):
        flash(done, "success")
        return redirect(url_for("instruments.manage", instrument_id=instrument_id))

    return submit(form, act, lambda f, status: _desk(instrument_id, status, **{name: f}), finish)


@bp.route("/instruments/<int:instrument_id>/settings", methods=["POST"])
@login_required
def save_settings(instrument_id):
    return _desk_act(instrument_id, SettingsForm(), "settings_form",
                     lambda f: services.save_settings(current_user, instrument_id, **f.values()), _("Saved."))


@bp.route("/instruments/<int:instrument_id>/qualify", methods=["POST"])
@login_required
def qualify(instrument_id):
    def act(f):
        user = db.session.scalar(select(User).where(User.email == f.email.data.strip().lower()))
        if user is None:
            raise ServiceError(_("Nobody has this e-mail address on the platform."), "email")
        return services.qualify(current_user, instrument_id, user.id, f.until_date)

    return _desk_act(instrument_id, QualifyForm(), "qualify_form", act, _("Qualified."))


@bp.route("/instruments/<int:instrument_id>/outages", methods=["POST"])
@login_required
def block(instrument_id):
    result = {}

    def act(f):
        result.update(services.block(current_user, instrument_id, f.start_at, f.end_at, f.kind.data, f.reason.data))

    response = _desk_act(instrument_id, OutageForm(), "outage_form", act, _("Blocked."))
    if result:
        flash(_("%(moved)d booking(s) moved and %(cancelled)d cancelled; their users were told.",
                moved=len(result["moved"]), cancelled=len(result["cancelled"]) + len(result["left"])), "success")
    return response


def _booking_act(booking_id, form, name, act, done):
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        abort(404)
    return _desk_act(booking.instrument_id, form, name, act, done)


@bp.route("/instruments/bookings/<int:booking_id>/decide", methods=["POST"])
@login_required
def decide(booking_id):
    return _booking_act(booking_id, DecideForm(), "decide_form", lambda f: services.decide(
        current_user, booking_id, f.decision.data == "approve", f.reason.data), _("Decided."))


@bp.route("/instruments/bookings/<int:booking_id>/use", methods=["POST"])
@login_required
def record_use(booking_id):
    return _booking_act(booking_id, UseForm(), "use_form", lambda f: services.record_use(
        current_user, booking_id, f.start, f.end), _("Use recorded."))


@bp.route("/instruments/bookings/<int:booking_id>/no-show", methods=["POST"])
@login_required
def no_show(booking_id):
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        abort(404)
    services.record_no_show(current_user, booking_id)
    flash(_("No-show recorded."), "success")
    return redirect(url_for("instruments.manage", instrument_id=booking.instrument_id))


@bp.route("/instruments/<int:instrument_id>/feed/reset", methods=["POST"])
@login_required
def reset_instrument_feed(instrument_id):
    services.reset_feed(current_user, instrument_id)
    flash(_("The instrument's calendar has a new address; the old one no longer works."), "success")
    return redirect(url_for("instruments.manage", instrument_id=instrument_id))


# --- the utilisation report ---------------------------------------------------------------

def _month(name: str, end: bool = False) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        first = date.fromisoformat(text + "-01")
    except ValueError:
        raise ServiceError(_("Enter a month like 2024-03."), name)
    if not end:
        return first
    return date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)


@bp.route("/instruments/<int:instrument_id>/utilisation")
@login_required
def utilisation(instrument_id):
    errors = {}
    bounds = {}
    for name, end in (("from", False), ("to", True)):
        try:
            bounds[name] = _month(name, end=end)
        except ServiceError as exc:  # shown beside the month typed; the report covers the default months
            errors[name], bounds[name] = exc.message, None
    data = reports.report(current_user, instrument_id, bounds["from"], bounds["to"])
    fmt = request.args.get("format")
    if errors:
        return render_template("instruments/utilisation.html", headers=reports.headers(), errors=errors,
                               typed=request.args, **data), 400
    if fmt:
        body, mimetype = reports.export(data, fmt)
        name = f"utilisation-{instrument_id}-{data['first']:%Y%m}-{data['last']:%Y%m}.{fmt}"
        return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}"})
    return render_template("instruments/utilisation.html", headers=reports.headers(), **data)


# --- iCal ------------------------------------------------------------------------------------

@bp.route("/ical/<token>.ics")
def ical_feed(token):
    found = services.feed_by_token(token)
    body = ical.render(found, services.feed_events(found), request.host)
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})
