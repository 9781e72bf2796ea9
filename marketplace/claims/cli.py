"""``flask claims draft --year YYYY``, ``flask claims list --year YYYY [--json]``, ``flask claims drain``."""
import json
import sys

import click
from flask.cli import AppGroup

from marketplace.claims import drafting, services
from marketplace.core.money import fen_to_str
from marketplace.ledger.scenario import ScenarioExportError

cli = AppGroup("claims", help="Subsidy claims drafted from the ledger.")


@cli.command("draft")
@click.option("--year", type=click.IntRange(1900, 9999), required=True, help="The subsidy year.")
def draft(year):
    """Recompute the claims of YEAR from the ledger with the rules engine."""
    try:
        groups, _scenario = drafting.engine_groups(year)
    except ScenarioExportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    with click.progressbar(length=drafting.steps(year, groups), label=f"claims {year}") as bar:
        counts = drafting.recompute_year(year, progress=bar.update, groups=groups)
    drafting.clear_pending({year})
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to do"
    click.echo(f"claims {year}: {summary}")


@cli.command("list")
@click.option("--year", type=click.IntRange(1900, 9999), required=True, help="The subsidy year.")
@click.option("--json", "as_json", is_flag=True, help='Print {"awards": [{"clause", "beneficiary", "amount"}]}.')
def list_claims(year, as_json):
    """The awards of YEAR's claims; with --json, as the rules engine's CLI prints them."""
    if as_json:
        click.echo(json.dumps({"awards": services.awards_list(year)}, ensure_ascii=False, indent=2))
        return
    for claim in services.claims_for_export(year):
        click.echo(f"{claim.id:>6} {claim.clause:<14} {claim.organization.credit_code} {claim.status:<18} "
                   f"{fen_to_str(claim.amount_fen):>14}  {claim.organization.name}")


@cli.command("drain")
def drain():
    """Recompute the years named in pending outbox rows (after a crash, say)."""
    click.echo(f"applied {drafting.drain()} outbox rows")
