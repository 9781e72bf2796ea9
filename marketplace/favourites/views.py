"""Favourites (/favourites) and the comparison (/compare)."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.errors import Conflict
from marketplace.core.paging import page_arg
from marketplace.favourites import compare, services

bp = Blueprint("favourites", __name__)


def _back(default: str) -> str:
    """Where the form was sent from (a local path only), so the visitor stays where they were."""
    target = request.form.get("next") or ""
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)):
        return target
    return default


@bp.route("/favourites")
@login_required
def favourites():
    page = services.favourites_of(current_user, page=page_arg())
    offered = {f.id for f in page.items if services.still_offered(current_user, f)}
    return render_template("favourites/favourites.html", favourites=page.items, page=page, offered=offered)


@bp.route("/favourites/<int:listing_id>", methods=["POST"])
@login_required
def star(listing_id):
    if services.star(current_user, listing_id):
        flash(_("Added to your favourites."), "success")
    return redirect(_back(url_for("listings.detail", listing_id=listing_id)))


@bp.route("/favourites/<int:listing_id>/remove", methods=["POST"])
@login_required
def unstar(listing_id):
    if services.unstar(current_user, listing_id):
        flash(_("Removed from your favourites."), "success")
    return redirect(_back(url_for("favourites.favourites")))


@bp.route("/compare")
def comparison():
    table = compare.comparison(current_user, session.get(compare.SESSION_KEY))
    return render_template("favourites/compare.html", table=table, max_compared=compare.MAX_COMPARED)


@bp.route("/compare/<int:listing_id>", methods=["POST"])
def compare_add(listing_id):
    held = session.get(compare.SESSION_KEY)
    try:
        session[compare.SESSION_KEY] = compare.add(current_user, held, listing_id)
    except Conflict as exc:  # a fifth: say so where the visitor is, the comparison unchanged
        flash(exc.message, "error")
        return redirect(_back(url_for("favourites.comparison")))
    flash(_("Added to the comparison."), "success")
    return redirect(_back(url_for("favourites.comparison")))


@bp.route("/compare/<int:listing_id>/remove", methods=["POST"])
def compare_remove(listing_id):
    session[compare.SESSION_KEY] = compare.remove(session.get(compare.SESSION_KEY), listing_id)
    return redirect(_back(url_for("favourites.comparison")))


@bp.route("/compare/clear", methods=["POST"])
def compare_clear():
    session.pop(compare.SESSION_KEY, None)
    return redirect(url_for("favourites.comparison"))
