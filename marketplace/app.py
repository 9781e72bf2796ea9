"""The application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, jsonify, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import IntegerConverter

import config as config_module
from marketplace import (
    accounts,
    admin,
    api,
    audit,
    claims,
    conversations,
    dashboards,
    demo,
    documents,
    favourites,
    home,
    instruments,
    ledger,
    listings,
    notifications,
    ops,
    orders,
    outbox,
    payments,
    programmes,
    reforms,
    review,
    search,
    vouchers,
    worker,
)
from marketplace.core.errors import ServiceError
from marketplace.extensions import babel, csrf, db, limiter, login_manager, migrate, tune_sqlite

ROOT = Path(__file__).resolve().parent.parent

# The domains, each registering itself (blueprints, commands, outbox topics, timed jobs, home
# actions) in its package's ``init_app``, in this order. The outbox and the worker come first:
# the domains register their topics and jobs with them.
DOMAINS = (outbox, worker, home, accounts, audit, notifications, ledger, admin, listings, favourites, orders, payments,
           search, claims, review, api, dashboards, programmes, reforms, documents,
           conversations, instruments, vouchers, demo, ops)


class _DatabaseInt(IntegerConverter):
    """``<int:...>`` ids that fit the database's INTEGER column (PostgreSQL's is 32-bit):
    a larger number is a 404, not an overflow error (500) inside the query."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def select_locale() -> str:
    languages = config_module.Config.LANGUAGES
    lang = session.get("lang") if request else None
    if lang in languages:
        return lang
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return "zh"


def create_app(config=None) -> Flask:
    """Build the app. ``config`` is a configuration name, or a dict of overrides on top of
    the configuration chosen by ``MARKETPLACE_CONFIG``."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder="static",
                instance_path=str(ROOT / "instance"))
    overrides = {}
    if isinstance(config, dict):
        overrides = dict(config)
        config = overrides.pop("CONFIG_NAME", None)
    app.config.update(config_module.load(config, overrides=overrides))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine, app.config["SQLITE_SYNCHRONOUS"], app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale,
                   default_translation_directories=str(ROOT / "translations"))
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.session_protection = "strong"
    limiter.init_app(app)

    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    from marketplace.accounts.models import Membership, User, parse_session_id

    # One query for the user, the memberships and their organisations (every page asks for the
    # role and organisation; lazily that was three). The statement is built once, with the id
    # a parameter: a statement keeps its cache key, so a request only binds the number.
    # (``session.get`` with the same options made the statement and its key again at every
    # request: about 40 % of the load's CPU.)
    signed_in_user = (select(User).options(joinedload(User.memberships).joinedload(Membership.organization))
                      .where(User.id == bindparam("user_id")))

    @login_manager.user_loader
    def load_user(session_id: str):
        # The session and the remember cookie carry "<user id>.<session version>": a cookie
        # from before the last logout or password change names an old version and loads nobody.
        parsed = parse_session_id(session_id)
        if parsed is None:
            return None
        user = db.session.execute(signed_in_user, {"user_id": parsed[0]}).unique().scalar_one_or_none()
        if user is None or not user.active or user.session_version != parsed[1]:
            return None
        user.active_organization_id = session.get("active_org")
        user.signed_in_active = True
        return user

    app.url_map.converters["int"] = _DatabaseInt  # before the blueprints add their rules
    for domain in DOMAINS:
        domain.init_app(app)
    _register_rate_limits(app)
    _register_error_handlers(app)
    _register_template_helpers(app)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'")
        return response

    @app.after_request
    def keep_the_latest_flashes(response):
        # A message waits in the session cookie until a page shows it. A client that does not
        # follow the redirects (a script, a form sent again and again) would grow the cookie
        # past the 4 KB a browser keeps, and every request would carry and re-sign all of it:
        # only the latest few are kept.
        # (only a request that wrote to the session can have added one)
        waiting = session.get("_flashes") if session.modified else None
        if waiting is not None and len(waiting) > FLASHES_KEPT:
            session["_flashes"] = waiting[-FLASHES_KEPT:]
        return response

    return app


# The messages a session keeps for the next page to show, the latest ones (keep_the_latest_flashes).
FLASHES_KEPT = 3


def _register_rate_limits(app: Flask) -> None:
    """The limit on the whole /api/v1 blueprint (single routes carry ``rate_limit``
    decorators in their views). The limit string is read from the settings at each request."""
    if getattr(limiter, "_marketplace_wired", False):
        return  # the limiter and the blueprint are module-wide: wired once for every app
    # One counter per address for the whole API, not one per route.
    limiter.shared_limit(lambda: app_config("RATELIMIT_API"), scope="api")(app.blueprints["api"])
    limiter._marketplace_wired = True


def app_config(name: str):
    from flask import current_app

    return current_app.config[name]


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/payments/webhook")) or request.accept_mimetypes.best == "application/json"


def _register_error_handlers(app: Flask) -> None:
    from flask_babel import gettext as _

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        db.session.rollback()
        if _wants_json():
            return jsonify(error=exc.message, field=exc.field), exc.status
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    messages = {
        400: _l("The request could not be understood."),
        403: _l("You are not allowed to do this."),
        404: _l("This page does not exist."),
        405: _l("This method is not allowed here."),
        409: _l("Someone else changed this first. Reload the page and try again."),
        413: _l("The upload is too large."),
        429: _l("Too many requests. Wait a moment and try again."),
        500: _l("Something went wrong on our side. Nothing was saved."),
    }

    def http_error(exc):
        status = getattr(exc, "code", 500) or 500
        if status >= 500:
            db.session.rollback()
        message = str(messages.get(status, exc.description if hasattr(exc, "description") else ""))
        # Keep what the exception says beyond its body: a 405 names the methods allowed (Allow).
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"] \
            if hasattr(exc, "get_headers") else []
        if _wants_json():
            return jsonify(error=message), status, headers
        return render_template("error.html", status=status, message=message), status, headers

    for status in messages:
        app.register_error_handler(status, http_error)

    from sqlalchemy.exc import OperationalError

    @app.errorhandler(OperationalError)
    def database_busy(exc: OperationalError):
        """SQLite's one write lock stayed taken for the whole busy timeout (a burst of writers,
        a long import): the unit of work rolled back, so nothing was saved. Told as 503 with a
        Retry-After, which browsers show and Stripe's webhook deliveries retry, not as a 500.
        Any other database failure is a 500."""
        db.session.rollback()
        if "database is locked" not in str(exc):
            raise exc
        message = _("The platform is busy. Nothing was saved; try again in a moment.")
        headers = {"Retry-After": "5"}
        if _wants_json():
            return jsonify(error=message), 503, headers
        return render_template("error.html", status=503, message=message), 503, headers

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        message = _("The form expired or was sent from elsewhere. Reload the page and try again.")
        if _wants_json():
            return jsonify(error=message), 400
        return render_template("error.html", status=400, message=message), 400


def _register_template_helpers(app: Flask) -> None:
    from marketplace import permissions as perm
    from marketplace.core import errors, i18n, labels, money, timeutil

    i18n.install(app)

    @app.context_processor
    def inject():
        from flask_babel import get_locale

        return {"labels": labels, "current_locale": str(get_locale() or "zh"),
                "languages": app.config["LANGUAGES"]}

    # Templates ask the permission table, never a role: {% if can(perm.SELL, order) %}
    app.jinja_env.globals["can"] = perm.template_can
    app.jinja_env.globals["perm"] = perm
    app.jinja_env.globals.update(back_link=errors.back_link, error_title=errors.status_title)
    app.jinja_env.filters["yuan"] = money.format_yuan
    app.jinja_env.filters["label"] = labels.label
    app.jinja_env.filters["beijing"] = timeutil.format_beijing  # stored UTC → Beijing
    app.jinja_env.filters["wallclock"] = timeutil.format_wallclock  # already Beijing (bookings)

