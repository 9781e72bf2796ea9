"""Running the platform for a city: health, structured logs, metrics, backups, the ops page.

``register(app)`` is the one call ``create_app`` makes; deploy/README.md is the operator's side.
"""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from marketplace.ops import metrics, requestlog, views
    from marketplace.ops.backup import cli as backup_cli
    from marketplace.ops.cli import cli as ops_cli

    requestlog.configure_logging(app)
    _proxy_fix(app)
    app.register_blueprint(views.health_bp)
    app.register_blueprint(views.bp)
    app.cli.add_command(backup_cli)
    app.cli.add_command(ops_cli)
    metrics.install_session_hooks()

    app.before_request_funcs.setdefault(None, []).insert(0, requestlog.start_request)
    # after_request functions run last-registered first: these two run after every other one
    # (the outbox drains included), so the duration and status are the ones the client gets.
    app.after_request_funcs.setdefault(None, []).insert(0, requestlog.finish_request)
    app.after_request_funcs[None].insert(0, metrics.observe_request)

    from flask_babel import lazy_gettext as _l

    from marketplace import permissions as perm
    from marketplace.home.services import EXTRA_ACTIONS, Action

    actions = EXTRA_ACTIONS.setdefault(perm.ADMIN, [])
    if not any(a.endpoint == "ops.index" for a in actions):
        actions.append(Action(_l("Operations"), "ops.index",
                              _l("Component status, outbox backlog, ledger verification.")))


def _proxy_fix(app: Flask) -> None:
    """Trust X-Forwarded-* from as many proxies as configured (none by default)."""
    counts = {name: int(app.config[f"PROXY_FIX_X_{name.upper()}"])
              for name in ("for", "proto", "host", "port", "prefix")}
    if any(counts.values()):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=counts["for"], x_proto=counts["proto"],
                                x_host=counts["host"], x_port=counts["port"], x_prefix=counts["prefix"])
