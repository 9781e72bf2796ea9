"""A recompute encodes and writes a claim's trace only when its awards changed (issue 18:
trace encoding once per changed group): an unchanged year leaves every drafted claim's row as
it was; a group whose awards change gets its new trace, equal to encoding the engine's awards."""
from sqlalchemy import event, select

from marketplace.claims import drafting, traces
from marketplace.claims import models as m
from marketplace.core.uow import unit_of_work
from marketplace.demo import loader
from marketplace.demo.year import demo_year
from marketplace.extensions import db


def _claim_updates(fn) -> list[str]:
    """The UPDATE statements on claims that ``fn()`` issues."""
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE CLAIMS"):
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return seen


def test_an_unchanged_year_rewrites_no_claim_and_encodes_no_trace(app_ctx, monkeypatch):
    loader.load_all()
    year = demo_year()
    claims = db.session.scalars(select(m.Claim).where(m.Claim.year == year, m.Claim.source == m.ENGINE)).all()
    assert claims and all(c.trace_digest for c in claims)  # drafted with their digest
    db.session.expire_all()

    encoded: list = []
    real = traces.encode_award
    monkeypatch.setattr(drafting, "encode_award", lambda award: encoded.append(award) or real(award))
    updates = _claim_updates(lambda: drafting.recompute_year(year))
    assert updates == []
    assert encoded == []


def test_a_changed_group_gets_its_new_trace(app_ctx):
    loader.load_all()
    year = demo_year()
    groups, _scenario = drafting.engine_groups(year)
    claim = db.session.scalars(select(m.Claim).where(m.Claim.year == year, m.Claim.source == m.ENGINE,
                                                     m.Claim.status == m.DRAFTED)).first()
    key = (claim.clause, claim.organization.credit_code)
    with unit_of_work():
        claim.trace_digest = "stale"  # as if its awards had been different
        claim.trace = [{"amount": "0.00", "transactions": [], "steps": []}]
        claim.part_count = 1

    updates = _claim_updates(lambda: drafting.recompute_year(year))
    assert len(updates) == 1
    db.session.expire_all()
    claim = db.session.get(m.Claim, claim.id)
    assert claim.trace == [traces.encode_award(a) for a in groups[key].awards]
    assert claim.part_count == len(groups[key].awards)
    assert claim.trace_digest == groups[key].digest


def test_equal_awards_have_equal_digests_and_different_ones_differ(app_ctx):
    loader.load_all()
    year = demo_year()
    first, _ = drafting.engine_groups(year)
    again, _ = drafting.engine_groups(year)
    assert {k: g.digest for k, g in first.items()} == {k: g.digest for k, g in again.items()}
    assert len({g.digest for g in first.values()}) == len(first)  # no two groups of the year alike
