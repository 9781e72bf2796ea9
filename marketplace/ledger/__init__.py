"""The tamper-evident ledger (账本): every money or contract event, append-only and
chained by SHA-256. ``services.append`` writes, ``services.verify`` checks the chain,
``scenario.build_scenario`` turns a year of it into the rules engine's input."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.ledger import cli, models, scenario_cli  # noqa: F401 - models: the tables

    app.cli.add_command(cli.cli)
    app.cli.add_command(scenario_cli.cli)
