"""Account pages. Each view parses its form, calls one service and renders or redirects."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from marketplace import permissions as perm
from marketplace.accounts import services
from marketplace.accounts.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ConfirmRegistrationForm,
    ForgotPasswordForm,
    InviteForm,
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
)
from marketplace.core.errors import ServiceError
from marketplace.core.forms import attach_error
from marketplace.extensions import rate_limit

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    # A local path only. Browsers read a backslash as a slash and drop tabs and newlines,
    # so "/\\evil.example" or "/\t/evil.example" would leave the site: refuse them too.
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)):
        return target
    return url_for("home.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@rate_limit("RATELIMIT_LOGIN")
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, request.remote_addr)
        except services.LoginThrottled as exc:
            form.form_errors.append(exc.message)
            status = exc.status
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
    if form.errors and status == 200:
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        services.end_sessions(current_user._get_current_object())  # this cookie, and any copy of it, ends here
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("home.index"))


@bp.route("/register", methods=["GET", "POST"])
@rate_limit("RATELIMIT_REGISTER")
def register():
    form = RegistrationForm()
    if form.validate_on_submit():
        data = {name: form[name].data for name in (
            "org_name", "kind", "role", "credit_code", "county", "email", "name", "size",
            "in_city", "host_level", "transfer_agency_level", "service_agency")}
        try:
            services.start_registration(services.Registration(**data))
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            # The same answer whether or not the address has an account: the mail tells.
            return redirect(url_for("accounts.registration_sent"))
    return render_template("accounts/register.html", form=form), 200 if not form.errors else 400


@bp.route("/register/sent")
def registration_sent():
    return render_template("accounts/register_sent.html")


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm_registration(token):
    registration = services.read_registration(token)
    form = ConfirmRegistrationForm()
    if form.validate_on_submit():
        try:
            user = services.complete_registration(token, form.password.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            login_user(user)
            flash(_("Your organisation is registered. The city verifies it before you can trade."), "success")
            return redirect(url_for("home.dashboard"))
    return render_template("accounts/confirm.html", form=form, registration=registration), \
        200 if not form.errors else 400


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = services.change_password(current_user._get_current_object(), form.current.data, form.password.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            login_user(user)  # this session goes on under the new version; every other one ends
            flash(_("Your password has been changed. You are logged out everywhere else."), "success")
            return redirect(url_for("home.dashboard"))
    return render_template("accounts/password.html", form=form), 200 if not form.errors else 400


@bp.route("/password/forgot", methods=["GET", "POST"])
@rate_limit("RATELIMIT_PASSWORD_RESET")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash(_("If this address has an account, a reset link is on its way."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form), 200 if not form.errors else 400


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("Your password has been changed. Log in with the new one."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset.html", form=form), 200 if not form.errors else 400


@bp.route("/members", methods=["GET", "POST"])
@login_required
def members():
    form = InviteForm(role=current_user.role)
    if perm.can(current_user, perm.GRANT_CITY_ROLE):
        form.organization.choices = [(o.id, o.name) for o in services.invitable_organizations(current_user)]
    if form.validate_on_submit():
        try:
            services.invite_member(current_user, form.email.data, form.role.data, form.organization.data or None)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for("accounts.members"))
    return render_template("accounts/members.html", form=form, members=services.members_of(current_user)), \
        200 if not form.errors else 400


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token):
    invitation = services.read_invitation(token)
    if services.email_has_account(invitation["email"]):
        # An existing user joins a further organisation once logged in as themselves.
        if not current_user.is_authenticated:
            flash(_("Log in as %(email)s to accept the invitation.", email=invitation["email"]), "info")
            return redirect(url_for("accounts.login", next=request.path))
        if request.method == "POST":
            membership = services.join_organization(current_user, token)
            session["active_org"] = membership.organization_id
            flash(_("You are now a member of %(org)s.", org=membership.organization.name), "success")
            return redirect(url_for("home.dashboard"))
        return render_template("accounts/join.html", invitation=invitation)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(token, form.name.data, form.password.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            login_user(user)
            return redirect(url_for("home.dashboard"))
    return render_template("accounts/accept.html", form=form, invitation=invitation), 200 if not form.errors else 400


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code):
    from flask import current_app

    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/account/organization/<int:organization_id>", methods=["POST"])
@login_required
def switch_organization(organization_id):
    org = services.switch_organization(current_user, organization_id)
    session["active_org"] = org.id
    flash(_("You now act for %(org)s.", org=org.name), "success")
    return redirect(url_for("home.dashboard"))
