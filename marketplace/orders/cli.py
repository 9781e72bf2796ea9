"""``flask bookings expire``: the sweep the worker runs to free the hours of unpaid bookings."""
import click
from flask.cli import AppGroup

from marketplace.orders import services

cli = AppGroup("bookings", help="Instrument bookings.")


@cli.command("expire")
def expire():
    """Expire unpaid bookings past BOOKING_PAYMENT_MINUTES and free their hours."""
    n = services.expire_unpaid_bookings()
    click.echo(f"expired {n} unpaid booking(s)")
