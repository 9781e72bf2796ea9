import click
from flask.cli import AppGroup

from marketplace.demo import loader

cli = AppGroup("demo", help="The demo city-year.")


@cli.command("load")
def load():
    """Load the demo city (idempotent)."""
    from marketplace.core.errors import ServiceError

    try:
        context = loader.load_all(echo=click.echo)
    except (ServiceError, RuntimeError) as exc:
        raise click.ClickException(f"the demo could not be loaded: {exc}")
    click.echo(f"demo loaded; every demo account's password is {context['password']}")
    for email, user in sorted(context["users"].items()):
        click.echo(f"  {user.role:<11} {email}")


@cli.command("volume")
@click.option("--scale", type=click.Choice(["city", "province"]), default="city", show_default=True,
              help="city: ~3,000 organisations, 10,000 listings, 50,000 ledger entries; province: 16 times that.")
@click.option("--year", type=int, default=None, help="The year to generate (default: last year).")
@click.option("--seed", type=int, default=2025, show_default=True, help="The same seed gives the same data.")
def volume(scale, year, seed):
    """Generate a believable year at volume (for benchmarks), through the ledger's bulk path."""
    from marketplace.core.timeutil import beijing_today
    from marketplace.demo import volume as vol

    year = year or beijing_today().year - 1
    try:
        vol.load(scale, year, seed, echo=click.echo,
                 bar=lambda length, label: click.progressbar(length=length, label=label))
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc))
