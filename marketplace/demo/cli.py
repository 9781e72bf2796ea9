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
        vol.load(scale, year, seed, echo=click.echo, bar=_bar)
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc))


def _bar(length: int, label: str):
    """click's progress bar on a terminal; in a log (no terminal, where click draws nothing
    but the label) a line at every tenth with the time so far, so a province run shows progress."""
    import sys

    if sys.stdout.isatty():
        return click.progressbar(length=length, label=label)
    return _LogBar(length, label)


class _LogBar:
    def __init__(self, length: int, label: str):
        import time

        self.length, self.label, self.done, self.shown = max(1, length), label, 0, 0
        self.start = time.monotonic()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if not exc[0]:
            self._line()
        return False

    def update(self, n: int) -> None:
        self.done += n
        if self.done * 10 // self.length > self.shown:
            self.shown = self.done * 10 // self.length
            if self.done < self.length:
                self._line()

    def _line(self) -> None:
        import time

        click.echo(f"{self.label}: {self.done:,}/{self.length:,} ({100 * self.done // self.length} %) "
                   f"{time.monotonic() - self.start:.0f} s")
