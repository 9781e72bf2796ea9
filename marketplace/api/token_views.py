"""The account page where a user creates, lists and revokes API tokens (session and CSRF, as every page)."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.api import services
from marketplace.api.forms import ApiTokenForm
from marketplace.core.errors import ServiceError
from marketplace.core.forms import attach_error

bp = Blueprint("api_tokens", __name__)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = ApiTokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            token, secret = services.create_token(current_user, form.name.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            form = ApiTokenForm(formdata=None)
    # The secret is rendered in this one response and never again: no redirect, no flash, no storage.
    response = render_template("api/tokens.html", form=form, secret=secret, tokens=services.tokens_of(current_user))
    status = 201 if secret else (400 if form.errors else 200)
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id):
    token = services.revoke_token(current_user, token_id)
    flash(_("Token \"%(name)s\" revoked: programs using it are refused from now on.", name=token.name), "success")
    return redirect(url_for("api_tokens.tokens"))
