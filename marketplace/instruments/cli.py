"""``flask instruments sweep``: pending booking requests past their hold lapse and free their
hours (the worker runs it every minute; booking over them also lapses them)."""
import click
from flask import Flask
from flask.cli import AppGroup

from marketplace.instruments import services

cli = AppGroup("instruments", help="Shared instruments.")


@cli.command("sweep")
def sweep():
    """Lapse booking requests not approved within the instrument's hold time."""
    n = services.lapse_pending_requests()
    click.echo(f"lapsed {n} booking request(s)")


def init_app(app: Flask) -> None:
    from marketplace import worker

    app.cli.add_command(cli)
    worker.schedule(app, "instruments.lapse", 60, lambda now: services.lapse_pending_requests())
