"""``flask ledger verify`` and ``flask ledger list``."""
import sys

import click
from flask.cli import AppGroup

from marketplace.core.money import fen_to_str
from marketplace.ledger import services

cli = AppGroup("ledger", help="The tamper-evident ledger.")


@cli.command("verify")
def verify():
    """Recompute every hash and link, then check that the money adds up (one payment per
    order, refunds within payments, completed bookings paid); exit 1 naming the first
    broken or inconsistent entry. The result is kept for the admin ops page."""
    from marketplace.ops.services import verify_ledger

    result = verify_ledger(source="cli")
    if result.ok:
        click.echo(f"ledger intact: {result.checked} entries")
        return
    what = "inconsistent" if result.inconsistent else "broken"
    click.echo(f"ledger {what} at entry {result.first_broken_seq}: {result.reason}", err=True)
    sys.exit(1)


@cli.command("list")
@click.option("--ref", help="Only entries of this transaction (e.g. ORD-12).")
@click.option("--kind", help="Only entries of this kind.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="The newest N entries.")
def list_entries(ref, kind, limit):
    """The newest entries, oldest first."""
    for e in reversed(services.entries(ref=ref, kind=kind, limit=limit, newest_first=True)):
        corrects = f" corrects={e.corrects_seq}" if e.corrects_seq is not None else ""
        click.echo(f"{e.seq:>8} {e.occurred_on.isoformat()} {e.kind:<19} {e.ref:<12} "
                   f"{fen_to_str(e.amount_fen):>15}{corrects} {e.hash[:12]} {e.payload}")
