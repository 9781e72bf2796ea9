"""The shape of the code, kept by tests: one unit of work commits, services compose.

A service that commits on its own cannot be called from another one: what it wrote stays
when the caller fails after it. These tests read the source for stray commits, and call
services inside one another to see that a failure anywhere writes nothing — no row and no
stored file."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from marketplace.claims import models as m
from marketplace.claims import services as claims
from marketplace.core.uow import transactional, unit_of_work
from marketplace.extensions import db

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "marketplace"
# The one module that commits: the unit of work.
MAY_COMMIT = {PACKAGE / "core" / "uow.py"}
PDF = b"%PDF-1.4\n%test evidence\n%%EOF\n"
YEAR = date.today().year - 1
B5 = {"programme": "泰山学者", "level": "provincial", "funding": "300000", "awarded_on": f"{YEAR}-06-01"}


def test_nothing_in_the_application_commits_except_the_unit_of_work():
    pattern = re.compile(r"\bsession\s*\.\s*commit\s*\(")
    offenders = [f"{path.relative_to(ROOT)}:{n}"
                 for path in sorted(PACKAGE.rglob("*.py")) if path not in MAY_COMMIT
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == [], "commit through marketplace.core.uow (unit_of_work / @transactional): " \
                            + ", ".join(offenders)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def upload_dir(app, tmp_path):
    previous = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads" / "claims"
    app.config["UPLOAD_DIR"] = previous


def _stored(directory: Path) -> list[Path]:
    return sorted(directory.iterdir()) if directory.exists() else []


def test_a_caller_that_fails_after_a_nested_service_leaves_nothing_written(app_ctx, factory, upload_dir):
    """file_claim (which stores files) inside a caller's unit of work: the caller fails after
    it returned, so its claim, its file rows and the files on disk all go."""
    applicant = factory.user("enterprise")

    @transactional
    def caller():
        claim = claims.file_claim(applicant, applicant.organization.id, "B5", dict(B5), YEAR,
                                  files=[("evidence.pdf", PDF)])
        assert claim.id is not None and len(_stored(upload_dir)) == 1  # written, inside the transaction
        raise RuntimeError("the caller fails after the nested service returned")

    with pytest.raises(RuntimeError):
        caller()
    assert (_count(m.Claim), _count(m.ClaimFile), _stored(upload_dir)) == (0, 0, [])

    # The same call on its own commits, and its file stays.
    claims.file_claim(applicant, applicant.organization.id, "B5", dict(B5), YEAR,
                      files=[("evidence.pdf", PDF)])
    db.session.rollback()  # nothing pending: what is seen now was committed
    assert (_count(m.Claim), _count(m.ClaimFile), len(_stored(upload_dir))) == (1, 1, 1)


def test_a_project_whose_claim_is_filed_but_whose_own_step_fails_keeps_no_claim(app_ctx, factory, monkeypatch):
    """programmes.projects.file_project_claim calls claims.file_claim, then records its own
    step: if that step fails, the claim filed a moment before is not left behind."""
    from marketplace.programmes import projects
    from marketplace.programmes.models import MajorProject

    lead = factory.user("enterprise")
    reviewer = factory.user("reviewer")
    p = projects.propose(lead, lead.organization.id, {
        "title": "长寿命轴承关键技术攻关", "county": "临清市", "industry": "optomechatronics",
        "bottleneck": "热处理变形", "requested_city": "3000000"})
    projects.review(reviewer, p.id, "reserve", "ok")
    projects.fund(reviewer, p.id, city_share="3000000", county_share="0", funded_on=f"{YEAR}-05-15")

    def failing_record(actor, action, *args, **kwargs):
        if action == "project.claim_filed":
            raise RuntimeError("the audit write fails")

    monkeypatch.setattr(projects, "record", failing_record)
    with pytest.raises(RuntimeError):
        projects.file_project_claim(reviewer, p.id)
    db.session.rollback()
    assert _count(m.Claim) == 0
    assert db.session.get(MajorProject, p.id).claim_id is None


def test_on_rollback_and_on_commit_run_once_for_the_outermost_block(app_ctx):
    events = []
    with pytest.raises(ValueError):
        with unit_of_work() as outer:
            outer.on_rollback(lambda: events.append("outer rolled back"))
            with unit_of_work() as inner:
                assert inner is outer  # joined, not a second transaction
                inner.on_rollback(lambda: events.append("inner rolled back"))
                inner.on_commit(lambda: events.append("never"))
            raise ValueError
    assert events == ["outer rolled back", "inner rolled back"]
    events.clear()
    with unit_of_work() as uow:
        uow.on_commit(lambda: events.append("committed"))
        uow.on_rollback(lambda: events.append("never"))
    assert events == ["committed"]


# --- one place per rule -------------------------------------------------------------------------

def test_nothing_but_config_reads_the_environment():
    pattern = re.compile(r"\bos\s*\.\s*(environ|getenv)\b|\bgetenv\s*\(")
    offenders = [f"{path.relative_to(ROOT)}:{n}"
                 for root in (PACKAGE, ROOT / "search") for path in sorted(root.rglob("*.py"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == [], "settings come from config.py (app.config): " + ", ".join(offenders)


def test_the_apps_money_is_the_engines():
    from marketplace.core import money
    from marketplace.subsidies import money as engine

    assert (money.FEN, money.MAX_FEN) == (engine.FEN, engine.MAX_FEN)
    assert issubclass(money.MoneyError, engine.AmountError)
    pattern = re.compile(money.YUAN_PATTERN)
    for text in ("0", "5", "0.5", "12000.50", "999999999999.99", "007", "1.", ".5", "1e3", "-1", "1,000",
                 "1000000000000", "0.001", "５"):
        try:
            expected = engine.parse_amount(text)
        except engine.AmountError:
            expected = None
        try:
            got = money.parse_yuan(text)
        except money.MoneyError:
            got = None
        assert got == expected, text
        assert bool(pattern.match(text)) == (expected is not None), text


def test_the_audit_log_refuses_update_and_delete_in_the_orm_and_in_the_database(app_ctx, factory):
    from sqlalchemy import text, update

    from marketplace.audit.models import AuditEvent, AuditImmutableError, record

    actor = factory.user("admin")
    with unit_of_work():
        event = record(actor, "test.event", "user", actor.id, after={"x": 1})
    event_id = event.id
    with pytest.raises(AuditImmutableError):
        with unit_of_work():
            db.session.get(AuditEvent, event_id).action = "rewritten"
    with pytest.raises(AuditImmutableError):
        with unit_of_work():
            db.session.delete(db.session.get(AuditEvent, event_id))
    with pytest.raises(AuditImmutableError):  # an ORM bulk statement
        with unit_of_work():
            db.session.execute(update(AuditEvent).where(AuditEvent.id == event_id).values(action="rewritten"))
    for sql in ("UPDATE audit_events SET action = 'rewritten'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"):
            with db.engine.begin() as conn:
                conn.execute(text(sql))
    db.session.rollback()
    assert db.session.get(AuditEvent, event_id).action == "test.event"


def test_templates_ask_can_not_the_role():
    """Who may do what is permissions.py's: a template asks ``can(...)``, it never compares a role
    (showing the user's role as a label is fine)."""
    pattern = re.compile(r"\.role\s*(==|!=|\bin\b|\bnot in\b)|\brole\s*(==|!=)\s*['\"]|['\"]\s*(==|!=)\s*\w*\.?role\b")
    offenders = [f"{path.relative_to(ROOT)}:{n}"
                 for path in sorted((ROOT / "templates").rglob("*.html"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == [], "use can(action, target) in templates: " + ", ".join(offenders)


def test_the_programme_pages_hold_no_permission_rule_and_no_query():
    text = (PACKAGE / "programmes" / "views.py").read_text(encoding="utf-8")
    found = re.findall(r"\bperm\.\w+|\bdb\.\w+|\bselect\(|\.query\b|\.role\b", text)
    assert found == [], f"programmes/views.py asks its services, not the rules or the tables: {found}"


def test_a_page_may_reach_another_domain_through_its_services_only():
    """The checker's own contract (tests/importrules.py), on a graph small enough to read."""
    import grimp

    from tests.importrules import DomainPagesContract

    def check(*imported):
        g = grimp.ImportGraph()
        for module in ("marketplace", "marketplace.core", "marketplace.core.forms", "marketplace.a",
                       "marketplace.a.views", "marketplace.a.models", "marketplace.b", "marketplace.b.services",
                       "marketplace.b.models", "marketplace.b.views"):
            g.add_module(module)
        for target in imported:
            g.add_import(importer="marketplace.a.views", imported=target, line_number=1, line_contents="import")
        contract = DomainPagesContract(name="pages", session_options={}, contract_options={
            "root": "marketplace", "pages": ["views", "forms"], "entrances": ["services"], "shared": ["core"]})
        result = contract.check(g, verbose=False)
        return result.kept, [(i, t) for i, t, _lines in result.metadata["illegal"]]

    assert check("marketplace.b.services", "marketplace.core.forms", "marketplace.a.models") == (True, [])
    assert check("marketplace.b.services", "marketplace.b.models", "marketplace.b.views") == (False, [
        ("marketplace.a.views", "marketplace.b.models"), ("marketplace.a.views", "marketplace.b.views")])
