"""The public front page and each role's home page."""
from flask import Blueprint, render_template
from flask_login import current_user, login_required

from marketplace.home import services

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    return render_template("home/index.html", stats=services.public_stats())


@bp.route("/home")
@login_required
def dashboard():
    return render_template("home/dashboard.html", home=services.home_for(current_user))

