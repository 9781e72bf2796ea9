"""Pages of the reforms: drafts, their replay and forecast, publication."""
from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.core.views import flash_redirect, handle_form
from marketplace.reforms import pages, services
from marketplace.reforms.forms import EditValueForm, NewDraftForm, PublishForm

bp = Blueprint("reforms", __name__, url_prefix="/reforms")


@bp.route("/")
@login_required
def index():
    return _index(NewDraftForm()), 200


def _index(form):
    return render_template("reforms/index.html", form=form, drafts=services.list_drafts(current_user),
                           published=services.published_values(current_user))


@bp.route("/new", methods=["POST"])
@login_required
def create():
    form = NewDraftForm()
    return handle_form(
        form, lambda: services.create_draft(current_user, form.name.data),
        done=lambda draft: flash_redirect(_("Draft “%(name)s” made from the parameters in force.", name=draft.name),
                                          "reforms.draft", draft_id=draft.id),
        page=_index)


def _edit_form() -> EditValueForm:
    form = EditValueForm()
    form.parameter.choices = pages.parameter_choices()
    return form


@bp.route("/<int:draft_id>")
@login_required
def draft(draft_id):
    d = services.get_draft(current_user, draft_id)
    return _draft(d, _edit_form(), PublishForm(effective_from=services.earliest_effective_date())), 200


def _draft(d, edit_form, publish_form):
    return render_template("reforms/draft.html", **pages.draft_page(current_user, d), edit_form=edit_form,
                           publish_form=publish_form)


@bp.route("/<int:draft_id>/edit", methods=["POST"])
@login_required
def edit(draft_id):
    d = services.get_draft(current_user, draft_id)
    form = _edit_form()
    return handle_form(
        form, lambda: services.edit_value(current_user, d, form.parameter.data, form.value.data, form.reason.data),
        done=lambda _edit: flash_redirect(_("Value changed in the draft."), "reforms.draft", draft_id=d.id),
        page=lambda form: _draft(d, form, PublishForm(effective_from=services.earliest_effective_date())))


@bp.route("/<int:draft_id>/revert", methods=["POST"])
@login_required
def revert(draft_id):
    d = services.get_draft(current_user, draft_id)
    services.revert_value(current_user, d, request.form.get("parameter", ""))
    return flash_redirect(_("The parameter is back to the value in force."), "reforms.draft", draft_id=d.id)


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
    return handle_form(
        form, lambda: services.publish(current_user, d, form.effective_from.data, form.document_no.data),
        done=lambda _published: flash_redirect(
            _("Published: the new values are in force from %(d)s.", d=form.effective_from.data.isoformat()),
            "reforms.draft", draft_id=d.id),
        page=lambda form: _draft(d, _edit_form(), form))
