"""/healthz, /readyz and /metrics for machines; /admin/ops for the city's administrator."""
from __future__ import annotations

import ipaddress
import secrets

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.ops import services

health_bp = Blueprint("health", __name__)
bp = Blueprint("ops", __name__, url_prefix="/admin/ops")


@health_bp.route("/healthz")
def healthz():
    """The process answers. Touches nothing else (no database), so a load balancer can tell
    a stuck process from a sick dependency."""
    return jsonify(status="ok")


@health_bp.route("/readyz")
def readyz():
    ready, checks = services.readiness()
    return jsonify(status="ok" if ready else "fail", checks=checks), 200 if ready else 503


def _metrics_allowed() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and secrets.compare_digest(header[7:].strip(), token):
        return True
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@health_bp.route("/metrics")
def metrics():
    if not _metrics_allowed():
        abort(403)
    from marketplace.ops.metrics import render

    body, content_type = render()
    return Response(body, content_type=content_type)


@bp.route("")
@login_required
def index():
    return render_template("admin/ops.html", ops=services.overview(current_user))


@bp.route("/verify-ledger", methods=["POST"])
@login_required
def verify_ledger():
    row = services.verify_ledger(current_user, source="admin")
    if row.ok:
        flash(_("Ledger intact: %(n)s entries checked.", n=row.checked), "success")
    else:
        flash(_("Ledger broken at entry %(seq)s.", seq=row.first_broken_seq), "error")
    return redirect(url_for("ops.index"))


@bp.route("/outbox/retry", methods=["POST"])
@login_required
def retry_parked():
    topic = (request.form.get("topic") or "").strip() or None
    count = services.retry_parked(current_user, topic)
    flash(_("%(n)s parked rows are back in the queue.", n=count), "success")
    return redirect(url_for("ops.index"))
