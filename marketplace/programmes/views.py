"""Programme pages: cultivation pool, IP database, commissioners, project reserve, targets.
Thin: parse, call one service, render or redirect (one's own data is under accounts/)."""
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.errors import ServiceError
from marketplace.core.forms import attach_error
from marketplace.core.money import format_yuan
from marketplace.core.paging import page_arg
from marketplace.core.views import flash_redirect, form_status, handle_form
from marketplace.programmes import commissioners as comm
from marketplace.programmes import common, cultivation, ipdb, projects, targets
from marketplace.programmes.forms import (
    BaseForm,
    CommissionerForm,
    CommissionerProjectForm,
    CompleteForm,
    FundForm,
    HteFiguresForm,
    IpForm,
    LinkForm,
    PoolDecisionForm,
    ProfileForm,
    ProjectForm,
    ReviewForm,
    SelectionForm,
)
from marketplace.reforms import services as reforms

bp = Blueprint("programmes", __name__, url_prefix="/programmes")
bp.add_app_template_filter(common.industry_label, "industry")


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

    def page(form, assessment=None):
        candidate = cultivation.assessment_for(current_user, org.id)
        return render_template("programmes/hte_figures.html", form=form, candidate=candidate,
                               assessment=assessment or candidate.assessment)

    def done(entered):  # the page again, with the check of what was just entered
        flash(_("Your figures are saved and checked."), "success")
        return page(form, entered[1]), form_status(form)

    return handle_form(form, lambda: cultivation.enter_figures(current_user, org.id, form.data_for_service()),
                       done=done, page=page)


@bp.route("/pool")
@login_required
def pool():
    status = request.args.get("status", "admitted")
    return render_template("programmes/pool.html", status=status, statuses=cultivation.POOL_STATUSES,
                           candidates=cultivation.candidates(current_user, status or None),
                           counts=cultivation.pool_counts())


@bp.route("/pool/<int:organization_id>", methods=["GET", "POST"])
@login_required
def pool_entry(organization_id):
    candidate = cultivation.assessment_for(current_user, organization_id, deciding=request.method == "POST")
    form = PoolDecisionForm()

    def page(form):
        shown = cultivation.assessment_for(current_user, organization_id) if request.method == "POST" else candidate
        return render_template("programmes/pool_entry.html", candidate=shown, form=form)

    return handle_form(
        form, lambda: cultivation.decide(current_user, organization_id, form.decision.data, form.reason.data,
                                         form.certificate_no.data or None),
        done=lambda entry: flash_redirect(_("Decision recorded: %(status)s.", status=entry.status),
                                          "programmes.pool_entry", organization_id=organization_id),
        page=page)


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
    return handle_form(
        form, lambda: ipdb.register_ip(current_user, form.organization_id.data, form.data_for_service()),
        done=lambda ip: flash_redirect(_("Added to the IP database: %(number)s.", number=ip.number),
                                       "programmes.ip_search", q=ip.number),
        page=lambda form: render_template("programmes/ip_new.html", form=form))


@bp.route("/ip/<int:ip_id>/link", methods=["POST"])
@login_required
def ip_link(ip_id):
    form = LinkForm()
    if not form.validate_on_submit():
        raise ServiceError(_("Choose one of your organisation's achievements."), "listing_id")
    ip = ipdb.link_achievement(current_user, ip_id, form.listing_id.data)
    return flash_redirect(_("Linked to the achievement."), "programmes.ip_search", q=ip.number)


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
    return flash_redirect(_("Saved."), "programmes.zero_patent")


# --- commissioners ----------------------------------------------------------------------

@bp.route("/commissioners")
@login_required
def commissioners():
    return render_template("programmes/commissioners.html", registry=comm.registry(current_user),
                           selections=comm.selections(current_user), subject_label=comm.subject_label)


def _manage_form(form_cls, service, template, message, *choices):
    offered = comm.form_choices(current_user)  # managers only
    form = form_cls(**{name: offered[name] for name in choices})
    return handle_form(form, lambda: service(current_user, _typed(form)),
                       done=lambda _result: flash_redirect(message, "programmes.commissioners"),
                       page=lambda form: render_template("programmes/form.html", form=form, title=template))


def _typed(form) -> dict:
    return {k: v for k, v in form.data.items() if k != "csrf_token"}


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
    return handle_form(
        form, lambda: comm.select_for_award(
            current_user, form.year.data, form.category.data, form.subject_id.data, form.selected_on.data,
            {"provincial_post_subsidy": form.provincial_post_subsidy.data,
             "provincial_support": form.provincial_support.data}),
        done=lambda s: flash_redirect(_("Selection entered: %(kind)s, %(amount)s.", kind=s.claim_kind,
                                        amount=format_yuan(s.amount_fen)), "programmes.commissioners"),
        page=lambda form: render_template("programmes/form.html", form=form, title=_("Enter a selection")))


@bp.route("/commissioners/selections/<int:selection_id>/claim", methods=["POST"])
@login_required
def selection_claim(selection_id):
    claim = comm.file_selection_claim(current_user, selection_id)
    return flash_redirect(_("Claim %(id)d filed.", id=claim.id), "programmes.commissioners")


# --- project reserve --------------------------------------------------------------------

@bp.route("/projects")
@login_required
def project_list():
    status = request.args.get("status") or None
    page = projects.projects(current_user, status, page=page_arg())
    return render_template("programmes/projects.html", projects=page.items, page=page,
                           status=status, statuses=projects.PROJECT_STATUSES, counts=projects.project_counts())


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def project_new():
    org = projects.proposing_organization(current_user)
    form = ProjectForm(county=org.county)
    return handle_form(
        form, lambda: projects.propose(current_user, org.id, _typed(form)),
        done=lambda p: flash_redirect(_("Project proposed."), "programmes.project", project_id=p.id),
        page=lambda form: render_template("programmes/form.html", form=form,
                                          title=_("Propose a city-county joint project")))


@bp.route("/projects/<int:project_id>")
@login_required
def project(project_id):
    return _project_page(project_id)


def _project_page(project_id, status=200, **typed):
    """The project's page; ``typed``: the step form just refused, with its input and reason."""
    forms = {"review_form": ReviewForm, "fund_form": FundForm, "complete_form": CompleteForm}
    forms = {name: typed.get(name) or make(formdata=None) for name, make in forms.items()}
    return render_template("programmes/project.html", project=projects.get_project(current_user, project_id),
                           **forms), status


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
    try:
        projects.take_step(current_user, project_id, step, form.data if form else {}, invalid)
    except ServiceError as exc:
        if form is None or exc.status not in (400, 409):
            raise  # no such step, not allowed, not found: the error page says so
        if not invalid:  # an invalid form already carries its errors beside the fields
            attach_error(form, exc, keep=(400, 409))
        return _project_page(project_id, exc.status, **{f"{step}_form": form})
    return flash_redirect(_("Saved."), "programmes.project", project_id=project_id)


# --- targets ----------------------------------------------------------------------------

@bp.route("/targets")
@login_required
def targets_page():
    return render_template("programmes/targets.html", rows=targets.targets_page(current_user),
                           **reforms.targets_under_draft(current_user, request.args))
