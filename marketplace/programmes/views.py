"""Programme pages: cultivation pool, IP database, commissioners, project reserve, targets,
and one's own data. Thin: parse, call one service, render or redirect."""
import json

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from marketplace import permissions as perm
from marketplace.core.errors import ServiceError
from marketplace.core.forms import attach_error
from marketplace.core.money import format_yuan
from marketplace.core.paging import page_arg
from marketplace.programmes import commissioners as comm
from marketplace.programmes import common, cultivation, ipdb, mydata, projects, targets
from marketplace.programmes.forms import (BaseForm, CloseAccountForm, CommissionerForm, CommissionerProjectForm,
                                          CompleteForm, FundForm, HteFiguresForm, IpForm, LinkForm, PoolDecisionForm,
                                          ProfileForm, ProjectForm, ReviewForm, SelectionForm)
from marketplace.programmes.models import POOL_STATUSES, PROJECT_STATUSES

bp = Blueprint("programmes", __name__, url_prefix="/programmes")
bp.add_app_template_filter(common.industry_label, "industry")


def _status(form):
    return 400 if form.errors or form.form_errors else 200


def _download(body: bytes, mimetype: str, name: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/")
@login_required
def index():
    return render_template("programmes/index.html")


# --- cultivation pool -------------------------------------------------------------------

@bp.route("/hte", methods=["GET", "POST"])
@login_required
def hte_figures():
    org = cultivation.own_enterprise(current_user)
    form = HteFiguresForm()
    assessment = None
    if form.validate_on_submit():
        try:
            assessment = cultivation.enter_figures(current_user, org.id, form.data_for_service())[1]
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("Your figures are saved and checked."), "success")
    candidate = cultivation.assessment_for(current_user, org.id)
    return render_template("programmes/hte_figures.html", form=form, candidate=candidate,
                           assessment=assessment or candidate.assessment), _status(form)


@bp.route("/pool")
@login_required
def pool():
    status = request.args.get("status", "admitted")
    return render_template("programmes/pool.html", status=status, statuses=POOL_STATUSES,
                           candidates=cultivation.candidates(current_user, status or None),
                           counts=cultivation.pool_counts())


@bp.route("/pool/<int:organization_id>", methods=["GET", "POST"])
@login_required
def pool_entry(organization_id):
    candidate = cultivation.assessment_for(current_user, organization_id, deciding=request.method == "POST")
    form = PoolDecisionForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                entry = cultivation.decide(current_user, organization_id, form.decision.data, form.reason.data,
                                           form.certificate_no.data or None)
            except ServiceError as exc:
                attach_error(form, exc)
            else:
                flash(_("Decision recorded: %(status)s.", status=entry.status), "success")
                return redirect(url_for("programmes.pool_entry", organization_id=organization_id))
        candidate = cultivation.assessment_for(current_user, organization_id)
    return render_template("programmes/pool_entry.html", candidate=candidate, form=form), _status(form)


# --- IP database ------------------------------------------------------------------------

def _ip_filters():
    return {"q": request.args.get("q") or None, "industry": request.args.get("industry") or None,
            "kind": request.args.get("kind") or None, "status": request.args.get("status") or None}


@bp.route("/ip")
@login_required
def ip_search():
    fmt = request.args.get("format")
    if fmt:
        body, mimetype = ipdb.export_ip(current_user, fmt, **_ip_filters())
        return _download(body, mimetype, f"ip.{fmt}")
    filters = _ip_filters()
    page = ipdb.ip_page(current_user, page=page_arg(), **filters)
    return render_template("programmes/ip_search.html", rights=page.items, page=page,
                           filters=filters, export_args={k: v for k, v in filters.items() if v},
                           industries=common.industries())


@bp.route("/ip/new", methods=["GET", "POST"])
@login_required
def ip_new():
    holders = ipdb.holders_for(current_user)
    chosen = request.form.get("organization_id", type=int) or (holders[0].id if holders else None)
    form = IpForm(holders=holders, achievements=ipdb.achievements_of(chosen) if chosen else ())
    if form.validate_on_submit():
        try:
            ip = ipdb.register_ip(current_user, form.organization_id.data, form.data_for_service())
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("Added to the IP database: %(number)s.", number=ip.number), "success")
            return redirect(url_for("programmes.ip_search", q=ip.number))
    return render_template("programmes/ip_new.html", form=form), _status(form)


@bp.route("/ip/<int:ip_id>/link", methods=["POST"])
@login_required
def ip_link(ip_id):
    form = LinkForm()
    if not form.validate_on_submit():
        raise ServiceError(_("Choose one of your organisation's achievements."), "listing_id")
    ip = ipdb.link_achievement(current_user, ip_id, form.listing_id.data)
    flash(_("Linked to the achievement."), "success")
    return redirect(url_for("programmes.ip_search", q=ip.number))


@bp.route("/ip/zero-patent")
@login_required
def zero_patent():
    industry = request.args.get("industry") or None
    fmt = request.args.get("format")
    if fmt:
        body, mimetype = ipdb.export_zero_patent(current_user, fmt, industry)
        return _download(body, mimetype, f"zero-patent.{fmt}")
    page = ipdb.zero_patent_page(current_user, industry, page=page_arg())
    return render_template("programmes/zero_patent.html", profiles=page.items, page=page,
                           industry=industry, industries=common.industries(), form=ProfileForm(),
                           enterprises=ipdb.enterprises(current_user))


@bp.route("/profiles/<int:organization_id>", methods=["POST"])
@login_required
def profile(organization_id):
    form = ProfileForm()
    if not form.validate_on_submit():
        raise ServiceError(_("Choose one of the options."), "industry")
    ipdb.set_profile(current_user, organization_id, form.above_scale_industrial.data, form.industry.data or None)
    flash(_("Saved."), "success")
    return redirect(url_for("programmes.zero_patent"))


# --- commissioners ----------------------------------------------------------------------

@bp.route("/commissioners")
@login_required
def commissioners():
    return render_template("programmes/commissioners.html", registry=comm.registry(current_user),
                           selections=comm.selections(current_user), subject_label=comm.subject_label)


def _manage_form(form_cls, service, template, message, *choices):
    offered = comm.form_choices(current_user)  # managers only
    form = form_cls(**{name: offered[name] for name in choices})
    if form.validate_on_submit():
        try:
            service(current_user, {k: v for k, v in form.data.items() if k != "csrf_token"})
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(message, "success")
            return redirect(url_for("programmes.commissioners"))
    return render_template("programmes/form.html", form=form, title=template), _status(form)


@bp.route("/commissioners/new", methods=["GET", "POST"])
@login_required
def commissioner_new():
    return _manage_form(CommissionerForm, comm.add_commissioner, _("New commissioner"), _("Commissioner added."),
                        "organizations")


@bp.route("/commissioners/bases/new", methods=["GET", "POST"])
@login_required
def base_new():
    return _manage_form(BaseForm, comm.add_base, _("New base, station or star innovation space"), _("Added."),
                        "organizations", "commissioners")


@bp.route("/commissioners/projects/new", methods=["GET", "POST"])
@login_required
def commissioner_project_new():
    return _manage_form(CommissionerProjectForm, comm.add_project, _("New commissioner project"), _("Added."),
                        "organizations", "commissioners")


@bp.route("/commissioners/selections/new", methods=["GET", "POST"])
@login_required
def selection_new():
    comm.form_choices(current_user)  # managers only
    form = SelectionForm()
    if form.validate_on_submit():
        try:
            s = comm.select_for_award(current_user, form.year.data, form.category.data, form.subject_id.data,
                                      form.selected_on.data, {"provincial_post_subsidy": form.provincial_post_subsidy.data,
                                                              "provincial_support": form.provincial_support.data})
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("Selection entered: %(kind)s, %(amount)s.", kind=s.claim_kind, amount=format_yuan(s.amount_fen)),
                  "success")
            return redirect(url_for("programmes.commissioners"))
    return render_template("programmes/form.html", form=form, title=_("Enter a selection")), _status(form)


@bp.route("/commissioners/selections/<int:selection_id>/claim", methods=["POST"])
@login_required
def selection_claim(selection_id):
    claim = comm.file_selection_claim(current_user, selection_id)
    flash(_("Claim %(id)d filed.", id=claim.id), "success")
    return redirect(url_for("programmes.commissioners"))


# --- project reserve --------------------------------------------------------------------

@bp.route("/projects")
@login_required
def project_list():
    status = request.args.get("status") or None
    page = projects.projects(current_user, status, page=page_arg())
    return render_template("programmes/projects.html", projects=page.items, page=page,
                           status=status, statuses=PROJECT_STATUSES, counts=projects.project_counts())


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def project_new():
    org = projects.proposing_organization(current_user)
    form = ProjectForm(county=org.county)
    if form.validate_on_submit():
        try:
            p = projects.propose(current_user, org.id, {k: v for k, v in form.data.items() if k != "csrf_token"})
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("Project proposed."), "success")
            return redirect(url_for("programmes.project", project_id=p.id))
    return render_template("programmes/form.html", form=form, title=_("Propose a city-county joint project")), \
        _status(form)


@bp.route("/projects/<int:project_id>")
@login_required
def project(project_id):
    return render_template("programmes/project.html", project=projects.get_project(current_user, project_id),
                           review_form=ReviewForm(), fund_form=FundForm(), complete_form=CompleteForm())


@bp.route("/projects/<int:project_id>/<step>", methods=["POST"])
@login_required
def project_step(project_id, step):
    forms = {"review": ReviewForm, "fund": FundForm, "complete": CompleteForm}
    if step == "claim":
        claim = projects.file_project_claim(current_user, project_id)
        flash(_("Claim %(id)d filed.", id=claim.id), "success")
        return redirect(url_for("programmes.project", project_id=project_id))
    form = forms[step]() if step in forms else None
    invalid = None if form is None or form.validate_on_submit() else next(iter(form.errors.values()))[0]
    projects.take_step(current_user, project_id, step, form.data if form else {}, invalid)
    flash(_("Saved."), "success")
    return redirect(url_for("programmes.project", project_id=project_id))


# --- targets ----------------------------------------------------------------------------

@bp.route("/targets")
@login_required
def targets_page():
    from marketplace.reforms import pages as reforms

    return render_template("programmes/targets.html", rows=targets.targets_page(current_user),
                           **reforms.targets_under_draft(current_user, request.args))


# --- one's own data ---------------------------------------------------------------------

@bp.route("/my-data")
@login_required
def my_data():
    fmt = request.args.get("format")
    if fmt == "json":
        data = mydata.export_data(current_user)
        return _download(json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"),
                         "application/json; charset=utf-8", "my-organisation.json")
    if fmt == "xlsx":
        return _download(mydata.export_xlsx(mydata.export_data(current_user)), common.XLSX_MIMETYPE,
                         "my-organisation.xlsx")
    if fmt:
        raise ServiceError(_("Choose JSON or Excel."), "format")
    mydata.own_organization(current_user)
    return render_template("programmes/my_data.html", form=CloseAccountForm())


@bp.route("/my-data/close", methods=["POST"])
@login_required
def close_account():
    form = CloseAccountForm()
    if form.validate_on_submit():
        try:
            mydata.close_account(current_user, form.password.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            logout_user()
            flash(_("Your account is closed. The organisation's history stays; your personal data is removed."),
                  "success")
            return redirect(url_for("home.index"))
    return render_template("programmes/my_data.html", form=form), 400


def _register_home_actions() -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace.home.services import EXTRA_ACTIONS, Action

    programmes = Action(_l("City programmes"), "programmes.index",
                        _l("Cultivation pool, IP database, commissioners, project reserve, targets."))
    for role in perm.ROLES:
        actions = EXTRA_ACTIONS.setdefault(role, [])
        if not any(a.endpoint == "programmes.index" for a in actions):
            actions.append(programmes)


_register_home_actions()
