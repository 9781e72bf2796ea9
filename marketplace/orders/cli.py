"""``flask bookings expire``: the sweep the worker runs to free the hours of unpaid bookings."""
import click
from flask import Flask
from flask.cli import AppGroup

from marketplace.orders import services

cli = AppGroup("bookings", help="Instrument bookings.")


@cli.command("expire")
def expire():
    """Expire unpaid bookings past BOOKING_PAYMENT_MINUTES and free their hours."""
    n = services.expire_unpaid_bookings()
    click.echo(f"expired {n} unpaid booking(s)")


def init_app(app: Flask) -> None:
    from marketplace import worker

    app.cli.add_command(cli)
    # Every minute, in one of the workers: a booking whose payment time ran out frees its hours
    # even when nobody tries to book them (booking itself also expires the ones in its way).
    worker.schedule(app, "bookings.expire", 60, lambda now: services.expire_unpaid_bookings())
