"""The audit log: who did what to which record, before and after (append-only)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from marketplace.audit import (
        models,  # noqa: F401 - the table
        names,
    )

    names.install(app)  # describe(), person(), |named: names, not codes, on pages
