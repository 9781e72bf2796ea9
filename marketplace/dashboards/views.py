"""The city's dashboards, the county R&D figures and the finance bureau's exports."""
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace import permissions as perm
from marketplace.core.errors import ServiceError
from marketplace.core.forms import attach_error
from marketplace.dashboards import exports, pages, services
from marketplace.dashboards.forms import CountyRDForm

bp = Blueprint("dashboards", __name__, url_prefix="/dashboards")



def _year(action: str = perm.VIEW_DASHBOARD) -> int:
    return services.year_for(current_user, request.args.get("year"), action)


@bp.route("/")
@login_required
def overview():
    year = _year()
    return render_template("dashboards/overview.html", **pages.overview(current_user, year))


@bp.route("/indicator")
@login_required
def indicator():
    year = _year()
    return render_template("dashboards/indicator.html", **pages.indicator(current_user, year))


@bp.route("/indicator/edit", methods=["GET", "POST"])
@login_required
def edit_county_rd():
    form = CountyRDForm()
    if request.method == "GET":
        year = _year(perm.EDIT_COUNTY_RD)
        county = request.args.get("county") or services.INDICATOR_COUNTIES[0]
        row = services.county_rd_for_edit(current_user, year, county)
        form.year.data, form.county.data = year, county
        if row is not None:
            form.rd_spending.data = str(pages.yuan(row.rd_spending_fen))
            form.gdp.data = str(pages.yuan(row.gdp_fen))
        return render_template("dashboards/county_rd.html", form=form, year=year)
    services.require_edit(current_user)
    if form.validate_on_submit():
        try:
            row = services.save_county_rd(current_user, form.year.data, form.county.data, form.rd_spending.fen,
                                          form.gdp.fen)
        except ServiceError as exc:
            attach_error(form, exc)
        else:
            flash(_("Figures for %(county)s saved.", county=row.county), "success")
            return redirect(url_for("dashboards.indicator", year=row.year))
    return render_template("dashboards/county_rd.html", form=form, year=form.year.data), 400


@bp.route("/exports", endpoint="exports")
@login_required
def exports_page():
    year = _year()
    return render_template("dashboards/exports.html", **pages.exports(current_user, year))


@bp.route("/exports/ledger")
@login_required
def export_ledger():
    return _send(exports.ledger_export(current_user, _year(), exports.parse_format(request.args.get("format"))))


@bp.route("/exports/awards")
@login_required
def export_awards():
    return _send(exports.awards_export(current_user, _year(), exports.parse_format(request.args.get("format"))))


def _send(export: exports.Export) -> Response:
    response = Response(export.content, mimetype=export.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/claims/<int:claim_id>/notice")
@login_required
def claim_notice(claim_id):
    return render_template("dashboards/notice.html", **pages.notice(current_user, claim_id))
