"""The demo city loads idempotently and every demo account reaches its home page in both languages."""
import pytest
from sqlalchemy import func, select

from marketplace.demo import loader
from marketplace.extensions import db


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def _state() -> dict:
    """Rows in every table, and the ledger's head hash: what a second load must not change."""
    from marketplace.ledger.models import LedgerEntry

    counts = {table.name: db.session.scalar(select(func.count()).select_from(table))
              for table in db.metadata.sorted_tables}
    head = db.session.scalar(select(LedgerEntry.hash).order_by(LedgerEntry.seq.desc()).limit(1))
    return {"rows": counts, "ledger_head": head}


def test_demo_load_is_idempotent(app_ctx):
    from marketplace.ledger.services import verify

    loader.load_all()
    first = _state()
    loader.load_all()
    db.session.expire_all()
    assert _state() == first
    assert first["rows"]["organizations"] >= 15 and first["rows"]["users"] >= 10
    # what the second load must find rather than write again: the trade, the ledger, the claims
    assert min(first["rows"][t] for t in ("listings", "orders", "ledger_entries", "claims", "payments")) > 0
    assert first["ledger_head"] is not None
    assert verify(db.session).ok


def test_demo_city_covers_what_the_clauses_need(app_ctx):
    orgs = loader.load_all()["organizations"].values()
    kinds = {o.kind for o in orgs}
    assert {"university", "institute", "enterprise", "agency", "incubator", "maker_team"} <= kinds
    assert {o.size for o in orgs if o.kind == "enterprise"} == {"large", "medium", "small", "micro"}
    assert {o.transfer_agency_level for o in orgs} >= {"city", "provincial"}
    assert any(not o.in_city for o in orgs)
    assert len({o.county for o in orgs if o.county}) >= 8
    assert any(not o.verified for o in orgs)


@pytest.mark.parametrize("lang, expected", [("zh", "欢迎"), ("en", "Welcome")])
def test_every_demo_account_reaches_its_home_page(client, lang, expected):
    context = loader.load_all()
    roles = set()
    for email, user in context["users"].items():
        client.post(f"/lang/{lang}")
        response = client.post("/login", data={"email": email, "password": context["password"]})
        assert response.status_code == 302, email
        page = client.get("/home")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert expected in html and user.name in html
        roles.add(user.role)
        client.post("/logout")
    assert roles == {"enterprise", "university", "provider", "agency", "reviewer", "finance", "admin"}


def test_volume_progress_shows_in_a_log_at_every_tenth(capsys):
    """Without a terminal click draws nothing but the label; ``flask demo volume`` into a log
    (a province run takes minutes) writes a line at each tenth instead, and one at the end."""
    from marketplace.demo.cli import _bar

    with _bar(1000, "ledger") as bar:
        for _ in range(40):
            bar.update(25)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("ledger:")]
    assert len(lines) == 10, lines
    assert lines[0].startswith("ledger: 100/1,000 (10 %)") and lines[-1].startswith("ledger: 1,000/1,000 (100 %)")
