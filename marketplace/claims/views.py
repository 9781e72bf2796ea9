"""The beneficiary's claim pages: my claims, a claim with its trace, submit, file an award
claim with evidence, answer a request for evidence, download evidence."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from marketplace import permissions as perm
from marketplace.claims import drafting, services
from marketplace.claims.forms import RespondForm, evidence_form
from marketplace.claims.traces import clause_title, overlap_flagged, payer_totals, render_flags, render_trace
from marketplace.core.errors import ServiceError
from marketplace.core.paging import page_arg
from marketplace.core.forms import attach_error
from marketplace.home.services import EXTRA_ACTIONS, Action
from marketplace.core.timeutil import utcnow

bp = Blueprint("claims", __name__)


def _register_home_actions() -> None:
    mine = Action(_l("My subsidy claims"), "claims.mine",
                  _l("Claims drafted from your trade, and award claims filed with evidence."))
    for role in perm.MARKET_ROLES:
        actions = EXTRA_ACTIONS.setdefault(role, [])
        if not any(a.endpoint == mine.endpoint for a in actions):
            actions.append(mine)
    queue = Action(_l("Review queue"), "review.queue", _l("Subsidy claims waiting for the city's decision."))
    for role in (perm.REVIEWER, perm.ADMIN):
        actions = EXTRA_ACTIONS.setdefault(role, [])
        if not any(a.endpoint == queue.endpoint for a in actions):
            actions.append(queue)
    payouts = Action(_l("Payouts and budgets"), "review.payouts",
                     _l("Budgets per clause, and approved claims to pay after their public notice."))
    actions = EXTRA_ACTIONS.setdefault(perm.FINANCE, [])
    if not any(a.endpoint == payouts.endpoint for a in actions):
        actions.append(payouts)


_register_home_actions()


def files_of(field) -> list[tuple[str, bytes]]:
    return [(f.filename, f.read()) for f in (field.data or []) if getattr(f, "filename", "")]


PARTS_PER_PAGE = 50


def claim_context(claim) -> dict:
    """What the claim partial shows: the trace (one page of its parts: an A3 claim may hold
    thousands, one per voucher) and flags in the user's language."""
    lang = services.lang()
    count = claim.part_count or 0
    pages = max(1, -(-count // PARTS_PER_PAGE))
    page = min(max(request.args.get("parts", 1, type=int) or 1, 1), pages)
    start = (page - 1) * PARTS_PER_PAGE
    trace = claim.trace or []
    return {"claim": claim, "parts": render_trace(trace[start:start + PARTS_PER_PAGE], lang),
            "parts_page": page, "parts_pages": pages, "part_count": count or len(trace),
            "flags": render_flags(claim.flags, lang), "clause_title": clause_title(claim.clause, lang),
            "payers": payer_totals(claim), "overlap": overlap_flagged(claim.flags),
            "updating": claim.id in drafting.updating([claim])}


@bp.route("/claims")
@login_required
def mine():
    page = services.claims_of(current_user, page=page_arg())
    claims = page.items
    lang = services.lang()
    return render_template("claims/mine.html", claims=claims, page=page,
                           titles={c.clause: clause_title(c.clause, lang) for c in claims},
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
    flash(_("Claim submitted to the city."), "success")
    return redirect(url_for("claims.detail", claim_id=claim_id))


@bp.route("/claims/<int:claim_id>/respond", methods=["POST"])
@login_required
def respond(claim_id):
    form = RespondForm()
    claim = services.get_claim(current_user, claim_id)
    if form.validate_on_submit():
        try:
            services.respond(current_user, claim_id, form.message.data, files_of(form.files))
            flash(_("Your answer was sent; the claim is back with the reviewer."), "success")
            return redirect(url_for("claims.detail", claim_id=claim_id))
        except ServiceError as exc:
            attach_error(form, exc)
    return render_template("claims/detail.html", respond_form=form,
                           can_submit=perm.can(current_user, perm.CLAIM_SUBMIT, claim), **claim_context(claim)), 400


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
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                org_id = (services.organization_id_by_code(form.organization.data) if on_behalf
                          else getattr(current_user.organization, "id", None))
                claim = services.file_claim(current_user, org_id, chosen["kind"], form.evidence(), form.year.data,
                                            files_of(form.files))
                flash(_("Claim filed; the city will review it."), "success")
                return redirect(url_for("claims.detail", claim_id=claim.id))
            except ServiceError as exc:
                attach_error(form, exc)
    return render_template("claims/new.html", kinds=list(kinds.values()), kind=chosen, form=form, lang=lang), status
