"""The admin ops page: component status, outbox backlog by topic, the last ledger verification
(kept by the CLI and by the page's button); administrators only."""
import re
from datetime import timedelta

from sqlalchemy import select

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ops.models import LedgerVerification
from marketplace.outbox import OutboxEntry
from tests.factories import login
from tests.ledger.helpers import append_payments


def _cells(html: str) -> str:
    """The page without the cells' phone labels (data-label), so a row reads as its cells."""
    return re.sub(r' data-label="[^"]*"', "", html)


def test_admin_sees_components_outbox_and_runs_a_verification(client, factory):
    append_payments(3)
    db.session.commit()
    login(client, factory.user("admin"))
    client.post("/lang/en")  # (a POST: drains the outbox the appends filled)
    db.session.add_all([OutboxEntry(topic="claims", key="2025", created_at=utcnow() - timedelta(minutes=5)),
                        OutboxEntry(topic="search", key="7")])
    db.session.commit()
    page = _cells(client.get("/admin/ops").get_data(as_text=True))
    assert 'data-component="database" data-status="ok"' in page
    assert 'data-component="worker" data-status="not_configured"' in page
    assert "<code>claims</code></td><td class=\"num\">1</td><td class=\"num\">3" in page  # >= 300 s old
    assert "The ledger has not been verified yet." in page

    response = client.post("/admin/ops/verify-ledger")
    assert response.status_code == 302
    row = db.session.scalars(select(LedgerVerification)).one()
    assert (row.ok, row.checked, row.source) == (True, 3, "admin")
    page = _cells(client.get("/admin/ops").get_data(as_text=True))
    assert "Intact: 3 entries checked" in page


def test_ledger_verify_cli_keeps_its_result_broken_or_not(app_ctx, factory):
    append_payments(2)
    db.session.commit()
    runner = app_ctx.test_cli_runner()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0 and "ledger intact: 2 entries" in result.output
    # Tamper with an entry behind the guards' back, as an attacker with database access would.
    from marketplace.ledger.models import install_guards, remove_guards

    with db.engine.begin() as conn:
        remove_guards(conn)
        conn.execute(LedgerEntry.__table__.update().where(LedgerEntry.seq == 2).values(amount_fen=1))
        install_guards(conn)
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    rows = list(db.session.scalars(select(LedgerVerification).order_by(LedgerVerification.id)))
    assert [(r.ok, r.source, r.first_broken_seq) for r in rows] == [(True, "cli", None), (False, "cli", 2)]


def test_only_administrators_reach_the_ops_page(client, factory):
    for role in ("reviewer", "finance", "enterprise"):
        login(client, factory.user(role))
        assert client.get("/admin/ops").status_code == 403
        assert client.post("/admin/ops/verify-ledger").status_code == 403
        client.post("/logout")
    assert db.session.scalar(select(LedgerVerification.id)) is None


def test_the_first_administrator_is_created_from_the_command_line(app_ctx, client):
    from marketplace.accounts.credit_code import make
    from tests.factories import login as log_in

    runner = app_ctx.test_cli_runner()
    code = make("11371500004308000")
    args = ["ops", "create-admin", "--email", "Ops@Example.gov.cn", "--name", "运维", "--credit-code", code,
            "--password", "long-enough-pw"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    from marketplace.accounts.models import User

    user = db.session.scalar(select(User).where(User.email == "ops@example.gov.cn"))
    assert user.role == "admin" and user.organization.verified
    log_in(client, user, "long-enough-pw")
    assert client.get("/admin/ops").status_code == 200
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "exists" in again.output
    short = runner.invoke(args=["ops", "create-admin", "--email", "b@example.gov.cn", "--name", "b",
                                "--credit-code", code, "--password", "short"])
    assert short.exit_code != 0 and "10 characters" in short.output


def test_parked_work_is_listed_with_its_error_and_an_admin_puts_it_back(client, factory, app, monkeypatch):
    from marketplace.audit.models import AuditEvent

    monkeypatch.setitem(app.config, "OUTBOX_DRAIN", "worker")  # so the row waits for a worker once back

    db.session.add_all([
        OutboxEntry(topic="mail", key="41", attempts=8, last_error="SMTPServerDisconnected: gone",
                    parked_at=utcnow() - timedelta(hours=1)),
        OutboxEntry(topic="search", key="9")])
    db.session.commit()
    login(client, factory.user("admin"))
    client.post("/lang/en")
    page = _cells(client.get("/admin/ops").get_data(as_text=True))
    assert "<code>mail</code></td><td><code>41</code></td><td class=\"num\">8</td>" in page
    assert "SMTPServerDisconnected: gone" in page
    assert "Retry all parked work" in page

    response = client.post("/admin/ops/outbox/retry")
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.scalars(select(OutboxEntry).where(OutboxEntry.topic == "mail")).one()
    assert (row.parked_at, row.attempts) == (None, 0)  # back in the queue, tries counted afresh
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "ops.outbox_retry")).one()
    assert event.after == {"rows": 1}
    assert "Nothing parked." in client.get("/admin/ops").get_data(as_text=True)


def test_only_an_administrator_puts_parked_work_back(client, factory):
    db.session.add(OutboxEntry(topic="mail", key="5", attempts=8, parked_at=utcnow()))
    db.session.commit()
    login(client, factory.user("finance"))
    assert client.post("/admin/ops/outbox/retry").status_code == 403
    db.session.expire_all()
    assert db.session.scalars(select(OutboxEntry)).one().parked_at is not None


def test_timed_jobs_show_their_last_run_duration_and_failures(client, factory, app):
    from marketplace import worker

    def broken(now):
        raise RuntimeError("no route to the mail server")

    worker.schedule(app, "probe-ops-job", 60, broken)
    try:
        worker.run_due_jobs("w1")
    finally:
        worker._jobs(app).pop("probe-ops-job", None)
    login(client, factory.user("admin"))
    client.post("/lang/en")
    page = _cells(client.get("/admin/ops").get_data(as_text=True))
    assert "<code>probe-ops-job</code>" in page and "no route to the mail server" in page
    job = db.session.get(worker.ScheduledJob, "probe-ops-job")
    assert job.failures == 1 and job.last_duration_ms is not None
