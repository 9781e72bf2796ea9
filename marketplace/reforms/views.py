"""Pages of the reforms: drafts, their replay and forecast, publication."""
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.errors import ServiceError
from marketplace.core.forms import attach_error
from marketplace.reforms import pages, services
from marketplace.reforms.forms import EditValueForm, NewDraftForm, PublishForm

bp = Blueprint("reforms", __name__, url_prefix="/reforms")


def _register_home_actions() -> None:
    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.home.services import EXTRA_ACTIONS, Action

    action = Action(_l("Policy reforms"), "reforms.index",
                    _l("What would a year have cost under other rates, caps or thresholds? Draft, replay, forecast."))
    for role in perm.CITY_ROLES:
        listed = EXTRA_ACTIONS.setdefault(role, [])
        if all(a.endpoint != action.endpoint for a in listed):
            listed.append(action)


_register_home_actions()


@bp.route("/")
@login_required
def index():
    return _index(NewDraftForm())


def _index(form, status=200):
    return render_template("reforms/index.html", form=form, drafts=services.list_drafts(current_user),
                           published=services.published_values(current_user)), status


@bp.route("/new", methods=["POST"])
@login_required
def create():
    form = NewDraftForm()
    if form.validate_on_submit():
        try:
            draft = services.create_draft(current_user, form.name.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("Draft “%(name)s” made from the parameters in force.", name=draft.name), "success")
            return redirect(url_for("reforms.draft", draft_id=draft.id))
    return _index(form, 400)


def _edit_form() -> EditValueForm:
    form = EditValueForm()
    form.parameter.choices = pages.parameter_choices()
    return form


@bp.route("/<int:draft_id>")
@login_required
def draft(draft_id):
    d = services.get_draft(current_user, draft_id)
    return _draft(d, _edit_form(), PublishForm(effective_from=services.earliest_effective_date()))


def _draft(d, edit_form, publish_form, status=200):
    return render_template("reforms/draft.html", **pages.draft_page(current_user, d), edit_form=edit_form,
                           publish_form=publish_form), status


@bp.route("/<int:draft_id>/edit", methods=["POST"])
@login_required
def edit(draft_id):
    d = services.get_draft(current_user, draft_id)
    form = _edit_form()
    if form.validate_on_submit():
        try:
            services.edit_value(current_user, d, form.parameter.data, form.value.data, form.reason.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("Value changed in the draft."), "success")
            return redirect(url_for("reforms.draft", draft_id=d.id))
    return _draft(d, form, PublishForm(effective_from=services.earliest_effective_date()), 400)


@bp.route("/<int:draft_id>/revert", methods=["POST"])
@login_required
def revert(draft_id):
    d = services.get_draft(current_user, draft_id)
    services.revert_value(current_user, d, request.form.get("parameter", ""))
    flash(_("The parameter is back to the value in force."), "success")
    return redirect(url_for("reforms.draft", draft_id=d.id))


@bp.route("/<int:draft_id>/replay/<int:year>")
@login_required
def replay(draft_id, year):
    d = services.get_draft(current_user, draft_id)
    return render_template("reforms/replay.html", **pages.replay_page(current_user, d, year))


@bp.route("/<int:draft_id>/replay/<int:year>.xlsx")
@login_required
def replay_export(draft_id, year):
    d = services.get_draft(current_user, draft_id)
    export = pages.replay_export(current_user, d, year)
    return Response(export.content, mimetype=export.mimetype,
                    headers={"Content-Disposition": f"attachment; filename={export.filename}"})


@bp.route("/<int:draft_id>/forecast")
@login_required
def forecast(draft_id):
    d = services.get_draft(current_user, draft_id)
    return render_template("reforms/forecast.html", **pages.forecast_page(current_user, d, request.args))


@bp.route("/<int:draft_id>/publish", methods=["POST"])
@login_required
def publish(draft_id):
    d = services.get_draft(current_user, draft_id)
    services.require_publisher(current_user)
    form = PublishForm()
    if form.validate_on_submit():
        try:
            services.publish(current_user, d, form.effective_from.data, form.document_no.data)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("Published: the new values are in force from %(d)s.", d=form.effective_from.data.isoformat()),
                  "success")
            return redirect(url_for("reforms.draft", draft_id=d.id))
    return _draft(d, _edit_form(), form, 400)
