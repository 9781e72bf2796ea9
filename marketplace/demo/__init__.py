"""The demo city-year: organisations, a year of trade, claims and programmes (`flask demo load`)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.demo import cli

    app.cli.add_command(cli.cli)
