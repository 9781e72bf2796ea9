"""Test helpers for the ledger."""
from __future__ import annotations

from datetime import date

from sqlalchemy import delete

from marketplace.extensions import db
from marketplace.ledger import services
from marketplace.ledger.models import LedgerEntry, install_guards, remove_guards


def purge_ledger(bind=None) -> None:
    """Empty ledger_entries between tests, as only a test may: drop the guard, delete, re-install.
    (Also what the suite-wide table cleanup needs once other tests append entries.)"""
    bind = bind or db.engine
    with bind.begin() as conn:
        remove_guards(conn)
        conn.execute(delete(LedgerEntry.__table__))
        install_guards(conn)


def payment(ref: str, amount: str, payer="P", payee="Q", on=date(2024, 1, 1), **kw) -> LedgerEntry:
    return services.append("payment", ref, on, _fen(amount),
                           {"payer": payer, "payee": payee, "amount": amount, "method": "card",
                            "gateway_id": f"pi_{ref}"}, **kw)


def _fen(amount: str) -> int:
    from marketplace.core.money import yuan_to_fen

    return yuan_to_fen(amount)


def append_payments(n: int, start: int = 1) -> list[LedgerEntry]:
    return [payment(f"ORD-{i}", f"{i * 100}.00", on=date(2024, 1, min(i, 28))) for i in range(start, start + n)]
