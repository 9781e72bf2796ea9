"""``flask dashboards rebuild [--year YYYY]``, ``flask dashboards status``: the turnover sums
kept in the database (``dashboards.stored``)."""
import click
from flask.cli import AppGroup
from sqlalchemy import select

from marketplace.core.uow import unit_of_work
from marketplace.dashboards import stored
from marketplace.dashboards.models import TurnoverHead
from marketplace.extensions import db

cli = AppGroup("dashboards", help="The dashboards' turnover sums kept in the database.")


@cli.command("rebuild")
@click.option("--year", type=click.IntRange(2000, 2100), help="One year (default: every year of the ledger).")
def rebuild(year):
    """Aggregate the turnover of YEAR afresh from the ledger and store it (the audit of the
    sums the worker keeps: it says how many groups differed, which must be none)."""
    years = [year] if year else sorted(set(stored.ledger_years()) | set(db.session.scalars(select(TurnoverHead.year))))
    if not years:
        click.echo("the ledger holds no turnover: nothing to store")
    failed = False
    for y in years:
        with unit_of_work():
            done = stored.rebuild(y)
        if done.differed is None:
            verdict = "stored afresh"
        elif done.differed:
            verdict, failed = f"{done.differed} groups differed from the kept sums (now mended)", True
        else:
            verdict = "the kept sums agreed"
        click.echo(f"dashboards {y}: {done.groups} groups at ledger entry {done.seq}; {verdict}")
    if failed:
        raise SystemExit(1)


@cli.command("status")
def status():
    """Each stored year's head against the ledger's."""
    seq, _digest = stored._ledger_head()
    rows = db.session.execute(select(TurnoverHead.year, TurnoverHead.seq).order_by(TurnoverHead.year)).all()
    if not rows:
        click.echo("no year is stored (flask dashboards rebuild)")
    for year, head in rows:
        click.echo(f"{year}: at ledger entry {head} of {seq} ({seq - head} behind)")
