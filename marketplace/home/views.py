"""The public front page (the portal), each role's home page, and the site's icon."""
from flask import Blueprint, current_app, render_template, send_from_directory
from flask_login import current_user, login_required

from marketplace.dashboards.services import clause_title
from marketplace.home import services

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    from marketplace.claims.services import lang

    portal = services.portal()
    titles = {c.clause: clause_title(c.clause, lang()) for c in portal.claims_on_notice}
    actions = services.home_for(current_user).actions if current_user.is_authenticated else []
    return render_template("home/index.html", portal=portal, titles=titles, actions=actions)


@bp.route("/home")
@login_required
def dashboard():
    return render_template("home/dashboard.html", home=services.home_for(current_user))


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask /favicon.ico of every site; the pages also link it in their <head>."""
    response = send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                                   max_age=7 * 24 * 3600)
    return response
