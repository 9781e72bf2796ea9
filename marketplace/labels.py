"""User-facing names of the codes the data model stores (kinds, sizes, roles, ...)."""
from flask_babel import lazy_gettext as _l

GROUPS = {
    "kind": {
        "university": _l("University"),
        "institute": _l("Research institute"),
        "enterprise": _l("Enterprise"),
        "agency": _l("Service agency"),
        "incubator": _l("Incubator"),
        "park": _l("Science park"),
        "maker_team": _l("Maker team"),
        "government": _l("Government bureau"),
    },
    "size": {
        "large": _l("Large"),
        "medium": _l("Medium"),
        "small": _l("Small"),
        "micro": _l("Micro"),
    },
    "level": {
        "city": _l("City level"),
        "provincial": _l("Provincial level"),
        "national": _l("National level"),
    },
    "role": {
        "enterprise": _l("Enterprise member"),
        "university": _l("University / institute member"),
        "provider": _l("Service provider"),
        "agency": _l("Technology-transfer agency"),
        "reviewer": _l("City reviewer (Science and Technology Bureau)"),
        "finance": _l("City finance (Finance Bureau)"),
        "admin": _l("Administrator"),
    },
    "notice": {
        "notice.organization_verified": _l("Your organisation has been verified: you can now trade."),
    },
}


def label(value, group: str) -> str:
    if value is None:
        return "—"
    return str(GROUPS.get(group, {}).get(value, value))


def choices(group: str, values=None) -> list[tuple[str, str]]:
    items = GROUPS[group]
    return [(key, items[key]) for key in (values or items)]
