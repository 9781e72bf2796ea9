"""What a claim takes from the city's budget of its clause: the city's own share. An A3
claim's trace names two payers — the province's 60 % (owed by the province, tracked apart:
``vouchers.services.province_owed``) and the city's 30 % — and only the city's part is
charged to the city's A3 budget. Every other claim is the city's alone."""
from __future__ import annotations

from marketplace.claims.traces import payer_totals


def budget_fen(claim) -> int:
    """The part of ``claim.amount_fen`` the city's budget pays (a payout, with its trace and
    amount, works the same)."""
    payers = payer_totals(claim.trace, claim.amount_fen)
    if payers is None:
        return claim.amount_fen
    return payers.get("city", 0)
