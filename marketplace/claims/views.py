"""The beneficiary's claim pages: my claims, a claim with its trace, submit, file an award
claim with evidence, answer a request for evidence, download evidence."""
from __future__ import annotations

from flask import Blueprint, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace import permissions as perm
from marketplace.claims import drafting, services
from marketplace.claims.forms import RespondForm, evidence_form
from marketplace.claims.traces import payer_totals
from marketplace.core.paging import page_arg
from marketplace.core.timeutil import utcnow
from marketplace.core.views import flash_redirect, handle_form

bp = Blueprint("claims", __name__)


def files_of(field) -> list[tuple[str, bytes]]:
    return [(f.filename, f.read()) for f in (field.data or []) if getattr(f, "filename", "")]


def claim_context(claim) -> dict:
    return services.claim_page(claim, request.args.get("parts", 1, type=int))


@bp.route("/claims")
@login_required
def mine():
    page = services.claims_of(current_user, page=page_arg())
    claims = page.items
    lang = services.lang()
    return render_template("claims/mine.html", claims=claims, page=page,
                           titles=services.clause_titles({c.clause for c in claims}, lang),
                           payers={c.id: payer_totals(c) for c in claims}, updating=drafting.updating(claims))


@bp.route("/claims/<int:claim_id>")
@login_required
def detail(claim_id):
    claim = services.get_claim(current_user, claim_id)
    return render_template("claims/detail.html", respond_form=RespondForm(),
                           can_submit=perm.can(current_user, perm.CLAIM_SUBMIT, claim), **claim_context(claim))


@bp.route("/claims/<int:claim_id>/submit", methods=["POST"])
@login_required
def submit(claim_id):
    services.submit(current_user, claim_id)
    return flash_redirect(_("Claim submitted to the city."), "claims.detail", claim_id=claim_id)


@bp.route("/claims/<int:claim_id>/respond", methods=["POST"])
@login_required
def respond(claim_id):
    form = RespondForm()
    claim = services.get_claim(current_user, claim_id)
    return handle_form(
        form, lambda: services.respond(current_user, claim_id, form.message.data, files_of(form.files)),
        done=lambda _result: flash_redirect(_("Your answer was sent; the claim is back with the reviewer."),
                                            "claims.detail", claim_id=claim_id),
        page=lambda form: render_template("claims/detail.html", respond_form=form,
                                          can_submit=perm.can(current_user, perm.CLAIM_SUBMIT, claim),
                                          **claim_context(claim)))


@bp.route("/claims/files/<int:file_id>")
@login_required
def download(file_id):
    f, data = services.evidence_file(current_user, file_id)
    return send_file(data, mimetype=f.content_type, as_attachment=True, download_name=f.original_name,
                     max_age=0)


@bp.route("/claims/new", methods=["GET", "POST"])
@login_required
def new():
    kinds = {k["kind"]: k for k in services.kinds()}
    lang = services.lang()
    chosen = kinds.get(request.args.get("kind", ""))
    if chosen is None:
        return render_template("claims/new.html", kinds=list(kinds.values()), form=None, lang=lang)
    on_behalf = perm.can(current_user, perm.CLAIM_FILE)  # without a target: the city, for any organisation
    form = evidence_form(chosen, lang, on_behalf, utcnow().year - 1)()

    def file_claim():
        org_id = (services.organization_id_by_code(form.organization.data) if on_behalf
                  else getattr(current_user.organization, "id", None))
        return services.file_claim(current_user, org_id, chosen["kind"], form.evidence(), form.year.data,
                                   files_of(form.files))

    return handle_form(
        form, file_claim,
        done=lambda claim: flash_redirect(_("Claim filed; the city will review it."), "claims.detail",
                                          claim_id=claim.id),
        page=lambda form: render_template("claims/new.html", kinds=list(kinds.values()), kind=chosen, form=form,
                                          lang=lang))
