"""``flask ops status``: the /readyz checks from the command line."""
import json
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("ops", help="Operations: component status.")


@cli.command("status")
def status():
    """Print the readiness checks as JSON; exit 1 when one fails."""
    from marketplace.ops.services import readiness

    ready, checks = readiness()
    click.echo(json.dumps({"status": "ok" if ready else "fail", "checks": checks}, indent=2, ensure_ascii=False))
    if not ready:
        sys.exit(1)
