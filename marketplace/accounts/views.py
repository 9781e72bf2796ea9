"""Account pages: login, registration, passwords, members, API tokens, one's own data and
closing one's account. Each view parses its form, calls one service and renders or redirects."""
import json

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from marketplace import permissions as perm
from marketplace.accounts import mydata, services
from marketplace.accounts.forms import (
    AcceptInvitationForm,
    ApiTokenForm,
    ChangePasswordForm,
    CloseAccountForm,
    ConfirmRegistrationForm,
    ForgotPasswordForm,
    InviteForm,
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
)
from marketplace.core.errors import ServiceError
from marketplace.core.forms import attach_error
from marketplace.core.views import flash_redirect, form_status, handle_form
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
    return flash_redirect(_("You have logged out."), "home.index", category="info")


@bp.route("/register", methods=["GET", "POST"])
@rate_limit("RATELIMIT_REGISTER")
def register():
    form = RegistrationForm()
    fields = ("org_name", "kind", "role", "credit_code", "county", "email", "name", "size",
              "in_city", "host_level", "transfer_agency_level", "service_agency")
    return handle_form(
        form, lambda: services.start_registration(services.Registration(**{n: form[n].data for n in fields})),
        # The same answer whether or not the address has an account: the mail tells.
        done=lambda _: redirect(url_for("accounts.registration_sent")),
        page=lambda form: render_template("accounts/register.html", form=form))


@bp.route("/register/sent")
def registration_sent():
    return render_template("accounts/register_sent.html")


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm_registration(token):
    registration = services.read_registration(token)
    form = ConfirmRegistrationForm()

    def done(user):
        login_user(user)
        return flash_redirect(_("Your organisation is registered. The city verifies it before you can trade."),
                              "home.dashboard")

    return handle_form(form, lambda: services.complete_registration(token, form.password.data), done=done,
                       page=lambda form: render_template("accounts/confirm.html", form=form,
                                                         registration=registration))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()

    def done(user):
        login_user(user)  # this session goes on under the new version; every other one ends
        return flash_redirect(_("Your password has been changed. You are logged out everywhere else."),
                              "home.dashboard")

    return handle_form(
        form, lambda: services.change_password(current_user._get_current_object(), form.current.data,
                                               form.password.data),
        done=done, page=lambda form: render_template("accounts/password.html", form=form))


@bp.route("/password/forgot", methods=["GET", "POST"])
@rate_limit("RATELIMIT_PASSWORD_RESET")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash(_("If this address has an account, a reset link is on its way."), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot.html", form=form), form_status(form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    form = ResetPasswordForm()
    return handle_form(
        form, lambda: services.reset_password(token, form.password.data),
        done=lambda _result: flash_redirect(_("Your password has been changed. Log in with the new one."),
                                            "accounts.login"),
        page=lambda form: render_template("accounts/reset.html", form=form))


@bp.route("/members", methods=["GET", "POST"])
@login_required
def members():
    form = InviteForm(role=current_user.role)
    if perm.can(current_user, perm.GRANT_CITY_ROLE):
        form.organization.choices = [(o.id, o.name) for o in services.invitable_organizations(current_user)]
    return handle_form(
        form, lambda: services.invite_member(current_user, form.email.data, form.role.data,
                                             form.organization.data or None),
        done=lambda _result: flash_redirect(_("Invitation sent to %(email)s.", email=form.email.data),
                                            "accounts.members"),
        page=lambda form: render_template("accounts/members.html", form=form,
                                          members=services.members_of(current_user)))


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

    def done(user):
        login_user(user)
        return redirect(url_for("home.dashboard"))

    return handle_form(form, lambda: services.accept_invitation(token, form.name.data, form.password.data),
                       done=done, page=lambda form: render_template("accounts/accept.html", form=form,
                                                                    invitation=invitation))


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
    return flash_redirect(_("You now act for %(org)s.", org=org.name), "home.dashboard")


# --- API tokens -----------------------------------------------------------------------------

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
    response = render_template("accounts/tokens.html", form=form, secret=secret,
                               tokens=services.tokens_of(current_user))
    status = 201 if secret else form_status(form)
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    token = services.revoke_token(current_user, token_id)
    return flash_redirect(_("Token \"%(name)s\" revoked: programs using it are refused from now on.",
                            name=token.name), "accounts.tokens")


# --- one's own data, closing one's account --------------------------------------------------

def _download(body: bytes, mimetype: str, name: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/account/data")
@login_required
def my_data():
    fmt = request.args.get("format")
    if fmt == "json":
        data = mydata.export_data(current_user)
        return _download(json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"),
                         "application/json; charset=utf-8", "my-organisation.json")
    if fmt == "xlsx":
        return _download(mydata.export_xlsx(mydata.export_data(current_user)), mydata.XLSX_MIMETYPE,
                         "my-organisation.xlsx")
    if fmt:
        raise ServiceError(_("Choose JSON or Excel."), "format")
    mydata.own_organization(current_user)
    return render_template("accounts/my_data.html", form=CloseAccountForm())


@bp.route("/account/close", methods=["POST"])
@login_required
def close_account():
    form = CloseAccountForm()

    def done(_result):
        logout_user()
        return flash_redirect(_("Your account is closed. The organisation's history stays; your personal data "
                                "is removed."), "home.index")

    return handle_form(form, lambda: mydata.close_account(current_user, form.password.data), done=done,
                       page=lambda form: render_template("accounts/my_data.html", form=form))
