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
