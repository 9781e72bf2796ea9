"""``flask subsidies scenario --year YYYY [--output FILE]``: the year's scenario from the ledger,
for ``python -m marketplace.subsidies evaluate FILE``."""
import json
import sys

import click
from flask.cli import AppGroup

from marketplace.ledger import services
from marketplace.ledger.scenario import ScenarioExportError, build_scenario

cli = AppGroup("subsidies", help="Subsidy scenarios from the ledger.")


@cli.command("scenario")
@click.option("--year", type=int, required=True, help="The subsidy year.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the JSON here instead of standard output.")
def scenario(year, output):
    """Write the scenario of YEAR (SCENARIO.md format)."""
    seq, head_hash = services.head()
    try:
        data = build_scenario(year=year)
    except ScenarioExportError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        click.echo(text, nl=False)
    click.echo(f"scenario {year}: {len(data['transactions'])} transactions, "
               f"{len(data['organizations'])} organisations; ledger head: entry {seq} "
               f"({head_hash})", err=True)


@cli.command("parameters")
@click.option("--output", type=click.Path(file_okay=False), required=True,
              help="The folder to write parameters.yaml into.")
def parameters(output):
    """Write the parameters in force (the engine's files amended by published reforms), for
    ``python -m marketplace.subsidies evaluate FILE --parameters DIR``."""
    from marketplace.reforms.parameters import in_force

    path = in_force().dump(output)
    click.echo(f"parameters in force written to {path}", err=True)
