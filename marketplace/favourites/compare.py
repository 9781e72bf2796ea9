"""The comparison (对比): up to four listings side by side, held in the visitor's session.

The session keeps only listing ids; what the page shows is read afresh (a listing that left
the market drops out). The rows are the facts a buyer weighs for the kinds on the page:
price and unit, voucher eligibility, provider and county for all; IP kind, maturity and the
ways to transfer for achievements; category, model, place, opening hours, internal price,
financing lease and the sharing platform for instruments. A row whose values differ is
marked, so the eye goes to what distinguishes the candidates.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.core.errors import Conflict
from marketplace.core.labels import label
from marketplace.core.money import format_yuan
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.listings.models import Listing

MAX_COMPARED = 4
SESSION_KEY = "compare"


def held_ids(raw) -> list[int]:
    """The ids a session holds, cleaned: whole numbers, no repeats, at most four."""
    out: list[int] = []
    for value in raw if isinstance(raw, list) else []:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0 and value not in out:
            out.append(value)
    return out[:MAX_COMPARED]


def add(viewer, held: list[int], listing_id: int) -> list[int]:
    """``held`` with ``listing_id`` added; a fifth is refused (409) and nothing changes."""
    listing = listings.get_listing(viewer, listing_id)  # 404 for what the viewer cannot see
    held = held_ids(held)
    if listing.id in held:
        return held
    if len(held) >= MAX_COMPARED:
        raise Conflict(_("You can compare up to %(n)d listings. Remove one from the comparison first.",
                         n=MAX_COMPARED))
    return held + [listing.id]


def remove(held: list[int], listing_id: int) -> list[int]:
    return [i for i in held_ids(held) if i != listing_id]


@dataclass
class Row:
    title: str
    values: list[str]
    differs: bool = False


@dataclass
class Comparison:
    listings: list[Listing]
    rows: list[Row] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return len(self.listings) >= MAX_COMPARED


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _price(listing: Listing) -> str:
    if listing.negotiable or listing.price_fen is None:
        return _("Negotiable")
    text = format_yuan(listing.price_fen)
    if listing.price_unit:
        text += " / " + label(listing.price_unit, "price_unit")
    return text


def _hours(listing: Listing) -> str:
    if listing.open_from_hour is None or listing.open_to_hour is None:
        return "—"
    return f"{listing.open_from_hour:02d}:00–{listing.open_to_hour:02d}:00"


def _voucher(listing: Listing) -> str:
    if listing.kind not in ("service", "instrument"):
        return _("Not applicable")
    return _yes_no(listing.voucher_eligible)


# (row title, the kinds it is shown for (None: all), the value of one listing)
ROWS = [
    (_l("Kind"), None, lambda x: label(x.kind, "listing_kind")),
    (_l("Offered by"), None, lambda x: x.organization.name),
    (_l("County or district"), None, lambda x: x.county or x.organization.county or "—"),
    (_l("Field"), None, lambda x: x.field or "—"),
    (_l("Price"), None, _price),
    (_l("Innovation voucher"), None, _voucher),
    (_l("IP kind"), {"achievement"}, lambda x: label(x.ip_kind, "ip_kind") if x.ip_kind else "—"),
    (_l("Patent or registration number"), {"achievement"}, lambda x: x.ip_number or "—"),
    (_l("Maturity"), {"achievement"}, lambda x: label(x.maturity, "maturity") if x.maturity else "—"),
    (_l("Ways to transfer"), {"achievement"},
     lambda x: "、".join(label(m, "transfer_mode") for m in x.modes) or "—"),
    (_l("Category"), {"instrument"}, lambda x: x.category or "—"),
    (_l("Model"), {"instrument"}, lambda x: x.model or "—"),
    (_l("Location"), {"instrument"}, lambda x: x.location or "—"),
    (_l("Bookable hours each day"), {"instrument"}, _hours),
    (_l("Internal price"), {"instrument"},
     lambda x: format_yuan(x.internal_price_fen) if x.internal_price_fen is not None else "—"),
    (_l("Financing lease"), {"instrument"}, lambda x: _yes_no(x.financing_lease)),
    (_l("On the sharing platform"), {"instrument"}, lambda x: _yes_no(x.on_sharing_platform)),
]


def comparison(viewer, held) -> Comparison:
    """The listings of ``held`` the viewer can see, in the order they were added, and the
    rows that matter for their kinds."""
    ids = held_ids(held)
    found = {x.id: x for x in db.session.scalars(
        select(Listing).options(joinedload(Listing.organization)).where(Listing.id.in_(ids)))} if ids else {}
    shown = [found[i] for i in ids if i in found and listings.visible_to(viewer, found[i])]
    kinds = {x.kind for x in shown}
    rows = []
    for title, only, value in ROWS:
        if only is not None and not (kinds & only):
            continue
        values = [value(x) if only is None or x.kind in only else "—" for x in shown]
        rows.append(Row(str(title), values, differs=len(set(values)) > 1))
    return Comparison(shown, rows)
