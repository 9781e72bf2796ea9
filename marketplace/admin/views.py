"""City administration pages: organisations to verify, the audit log, outgoing mail."""
from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.accounts import services as accounts
from marketplace.admin import services
from marketplace.core.paging import page_arg
from marketplace.core.views import flash_redirect

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/organizations")
@login_required
def organizations():
    status = request.args.get("status", "pending")
    page = accounts.list_organizations(current_user, status, page=page_arg())
    return render_template("admin/organizations.html", status=status, organizations=page.items, page=page)


@bp.route("/organizations/<int:organization_id>/verify", methods=["POST"])
@login_required
def verify(organization_id):
    org = accounts.verify_organization(current_user, organization_id)
    return flash_redirect(_("%(name)s is verified.", name=org.name), "admin.organizations")


@bp.route("/audit")
@login_required
def audit():
    page = services.audit_events(current_user, page=page_arg())
    return render_template("admin/audit.html", events=page.items, page=page)


@bp.route("/mail")
@login_required
def mail():
    page = services.outgoing_mail(current_user, page=page_arg())
    return render_template("admin/mail.html", messages=page.items, page=page)
