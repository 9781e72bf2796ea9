"""What a claim takes from the city's budget of its clause: the city's own share. An A3
claim names two payers — the province's 60 % (owed by the province, tracked apart:
``vouchers.services.province_owed``) and the city's 30 % — and only the city's part is
charged to the city's A3 budget. Every other claim is the city's alone."""
from __future__ import annotations


def budget_fen(item) -> int:
    """The part of a claim's (or a payout's) ``amount_fen`` the city's budget pays."""
    payers = getattr(item, "payers", None)
    if payers is None and getattr(item, "claim", None) is not None:
        payers = item.claim.payers  # a payout: the split of the claim it paid
    if payers and sum(payers.values()) == item.amount_fen:
        return int(payers.get("city", 0))
    return item.amount_fen
