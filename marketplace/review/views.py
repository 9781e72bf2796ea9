"""The city's claim pages: review queue and decisions, ledger entries by ref, payouts and
budgets, and the public notice (公示) with its objection form."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace import permissions as perm
from marketplace.accounts import services as accounts
from marketplace.claims import services as claims
from marketplace.core.forms import submit
from marketplace.core.paging import page_arg
from marketplace.core.timeutil import beijing_today
from marketplace.core.views import flash_redirect, handle_form
from marketplace.extensions import rate_limit
from marketplace.review import services
from marketplace.review.forms import (
    ApproveForm,
    BudgetForm,
    ConfirmObjectionForm,
    EvidenceRequestForm,
    ObjectionDecisionForm,
    ObjectionForm,
    PayForm,
    ProvincialRewardForm,
    RejectForm,
)

bp = Blueprint("review", __name__)


def _int_arg(name):
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


def _detail(claim, status=200, **forms):
    forms.setdefault("approve_form", ApproveForm())
    forms.setdefault("reject_form", RejectForm())
    forms.setdefault("evidence_form", EvidenceRequestForm())
    forms.setdefault("objection_form", ObjectionDecisionForm())
    return render_template("review/detail.html", can_review=perm.can(current_user, perm.REVIEW_CLAIMS),
                           can_pay=perm.can(current_user, perm.PAY_CLAIMS), pay_form=PayForm(),
                           instrument_evidence=services.instrument_evidence(claim),
                           **forms, **claims.claim_page(claim, request.args.get("parts", 1, type=int))), status


@bp.route("/review")
@login_required
def queue():
    flagged = {"yes": True, "no": False}.get(request.args.get("flagged", ""))
    status = request.args.get("status", claims.SUBMITTED)
    filters = {"year": _int_arg("year"), "clause": request.args.get("clause") or None,
               "status": status if status in claims.STATUSES else None,
               "county": request.args.get("county") or None, "flagged": flagged}
    page = services.queue(current_user, **filters, page=page_arg())
    return render_template("review/queue.html", claims=page.items, page=page, filters=filters,
                           statuses=claims.STATUSES, clauses=claims.ALL_CLAUSES, counties=accounts.COUNTIES,
                           flagged_arg=request.args.get("flagged", ""), status_arg=status,
                           titles=claims.clause_titles(claims.ALL_CLAUSES))


@bp.route("/review/claims/<int:claim_id>")
@login_required
def detail(claim_id):
    return _detail(services.review_claim(current_user, claim_id))


def _decide(claim_id, form, form_name: str, act, message):
    """Run one review decision, then say ``message(its result)``; a refusal is shown beside the
    form on the claim's page. The review services check what was typed, in their own words."""
    return handle_form(
        form, lambda: act(form),
        done=lambda result: flash_redirect(message(result), "review.detail", claim_id=claim_id),
        page=lambda form: _detail(services.review_claim(current_user, claim_id), **{form_name: form})[0],
        validate=False)


@bp.route("/review/claims/<int:claim_id>/approve", methods=["POST"])
@login_required
def approve(claim_id):
    return _decide(claim_id, ApproveForm(), "approve_form", lambda f: services.approve(
        current_user, claim_id, f.good_service_results.data, f.note.data or ""),
        lambda claim: _("Approved: the claim is on public notice.") if claim.status == claims.ON_NOTICE
        else _("Approved: the claim waits for budget of its clause."))


@bp.route("/review/claims/<int:claim_id>/reject", methods=["POST"])
@login_required
def reject(claim_id):
    return _decide(claim_id, RejectForm(), "reject_form",
                   lambda f: services.reject(current_user, claim_id, f.reason.data), lambda _claim: _("Rejected."))


@bp.route("/review/claims/<int:claim_id>/request-evidence", methods=["POST"])
@login_required
def request_evidence(claim_id):
    return _decide(claim_id, EvidenceRequestForm(), "evidence_form",
                   lambda f: services.request_evidence(current_user, claim_id, f.message.data),
                   lambda _claim: _("The applicant was asked for more evidence."))


@bp.route("/review/claims/<int:claim_id>/objections/<int:objection_id>/decide", methods=["POST"])
@login_required
def decide_objection(claim_id, objection_id):
    return _decide(claim_id, ObjectionDecisionForm(), "objection_form", lambda f: services.decide_objection(
        current_user, claim_id, objection_id, f.decision.data, f.reason.data),
        lambda objection: _("The notice is suspended: the claim is back in review.") if objection.status == "upheld"
        else _("Objection dismissed: the notice goes on."))


@bp.route("/review/ledger/<ref>")
@login_required
def ledger(ref):
    page = services.ledger_entries(current_user, ref, page=page_arg())
    return render_template("review/ledger.html", ref=ref, entries=page.items, page=page)


@bp.route("/review/payouts")
@login_required
def payouts():
    return _payouts(_int_arg("year") or beijing_today().year - 1)


def _payouts(year, status=200, budget_form=None, reward_form=None, typed_pay=(None, None)):
    """Payouts and budgets; a refused budget, reward or payout comes back with what was typed
    (``typed_pay``: the claim and its bound pay form)."""
    page = services.payable(current_user, page=page_arg())
    form = budget_form or BudgetForm(formdata=None, year=year)
    form.clause.choices = [(c, c) for c in claims.ALL_CLAUSES]
    reward_form = reward_form or ProvincialRewardForm(formdata=None, year=year)
    reward_form.organization.choices = [(o.id, o.name) for o in services.service_agencies()]
    return render_template("review/payouts.html", year=year, payable=page.items, page=page, budgets=claims.budget_status(year),
                           rewards=services.provincial_rewards(year), reward_form=reward_form,
                           payouts=services.recent_payouts(current_user), budget_form=form, pay_form=PayForm(formdata=None),
                           pay_claim=typed_pay[0], typed_pay_form=typed_pay[1],
                           today=claims.today(), can_pay=perm.can(current_user, perm.PAY_CLAIMS),
                           titles=claims.clause_titles(claims.ALL_CLAUSES)), status


def _typed_year(form):
    return form.year.data if isinstance(form.year.data, int) else beijing_today().year - 1


@bp.route("/review/claims/<int:claim_id>/pay", methods=["POST"])
@login_required
def pay(claim_id):
    """A refused payout comes back on the payouts page: the date typed, the reason beside it."""
    return submit(PayForm(), lambda f: services.pay(current_user, claim_id, (f.paid_on.data or "").strip() or None),
                  lambda f, status: _payouts(beijing_today().year - 1, status, typed_pay=(claim_id, f)),
                  lambda _payout: flash_redirect(_("Payout recorded."), "review.payouts"))


@bp.route("/review/rewards", methods=["POST"])
@login_required
def set_provincial_reward():
    form = ProvincialRewardForm()
    form.organization.choices = [(o.id, o.name) for o in services.service_agencies()]
    return submit(form, lambda f: services.record_provincial_reward(current_user, f.organization.data, f.year.data,
                                                                    f.amount.fen),
                  lambda f, status: _payouts(_typed_year(f), status, reward_form=f),
                  lambda _reward: flash_redirect(_("Reward recorded; the year's claims are recomputed."),
                                                 "review.payouts", year=form.year.data))


@bp.route("/review/budgets", methods=["POST"])
@login_required
def set_budget():
    form = BudgetForm()
    form.clause.choices = [(c, c) for c in claims.ALL_CLAUSES]
    return submit(form, lambda f: claims.set_budget(current_user, f.year.data, f.clause.data, f.amount.fen),
                  lambda f, status: _payouts(_typed_year(f), status, budget_form=f),
                  lambda _budget: flash_redirect(_("Budget saved."), "review.payouts", year=form.year.data))


# --- public -------------------------------------------------------------------------------------

@bp.route("/notice")
def notice():
    return _notice(ObjectionForm())


def _notice(form, price_form=None, **extra):
    """The public notice: claims (and agreed prices, 协议定价公示) on notice, with objection forms."""
    from marketplace.conversations.forms import PriceObjectionForm

    page = services.on_notice(page=page_arg())
    blank = PriceObjectionForm(formdata=None)
    return render_template("review/notice.html", claims=page.items, page=page, form=form,
                           titles=claims.clause_titles({c.clause for c in page.items}),
                           price_notices=services.price_notices(), price_form=price_form or blank,
                           blank_price_form=blank, **extra)


def price_objection_page(price_form, notice_id: int, status: int):
    """The notice page again after a refused objection to an agreed price (posted to
    conversations' view): that notice's form open, with what was typed and the reason."""
    return _notice(ObjectionForm(formdata=None), price_form=price_form, objecting_price=notice_id), status


@bp.route("/notice/<int:claim_id>/object", methods=["POST"])
@rate_limit("RATELIMIT_OBJECTION")
def object_to(claim_id):
    form = ObjectionForm()
    return handle_form(
        form, lambda: services.object_to(current_user, claim_id, form.name.data, form.contact.data, form.reason.data),
        done=lambda objection: flash_redirect(
            _("Your objection was recorded; a reviewer decides whether the notice is suspended.")
            if objection.status == "open"
            else _("Check your e-mail: the objection counts once you confirm it by the link we sent."), "review.notice"),
        page=lambda form: _notice(form, objecting=claim_id))


@bp.route("/notice/objections/confirm/<token>", methods=["GET", "POST"])
def confirm_objection(token):
    """The link mailed to an anonymous objector: a page with a button (a mail scanner that
    opens the link confirms nothing), and the POST that confirms."""
    form = ConfirmObjectionForm()
    if form.validate_on_submit():
        services.confirm_objection(token)
        flash(_("Your objection is confirmed; a reviewer decides whether the notice is suspended."), "success")
        return redirect(url_for("review.notice"))
    return render_template("review/confirm_objection.html", form=form, token=token)
