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
        "notice.new_order": _l("A new order for one of your listings."),
        "notice.new_enquiry": _l("A new enquiry for one of your listings."),
        "notice.quoted": _l("Your enquiry has a quote."),
        "notice.paid": _l("Your payment was received."),
        "notice.refunded": _l("Your order was refunded."),
    },
    "listing_kind": {
        "achievement": _l("Achievement"),
        "instrument": _l("Instrument"),
        "service": _l("Service"),
        "demand": _l("Demand"),
    },
    "listing_status": {
        "draft": _l("Draft"), "published": _l("Published"), "withdrawn": _l("Withdrawn"), "rejected": _l("Rejected"),
    },
    "ip_kind": {
        "invention_patent": _l("Invention patent"), "utility_model": _l("Utility model"),
        "software_copyright": _l("Software copyright"), "new_variety": _l("New plant variety"),
        "know_how": _l("Know-how"),
    },
    "maturity": {"lab": _l("Laboratory"), "pilot": _l("Pilot"), "industrial": _l("Industrial")},
    "transfer_mode": {
        "assignment": _l("Assignment"), "exclusive_licence": _l("Exclusive licence"),
        "non_exclusive_licence": _l("Non-exclusive licence"), "co_development": _l("Co-development"),
        "equity": _l("Equity investment"),
    },
    "price_unit": {"hour": _l("hour"), "sample": _l("sample")},
    "contract_type": {
        "development": _l("Technology development"), "transfer": _l("Technology transfer"),
        "consulting": _l("Technology consulting"), "service": _l("Technology service"),
    },
    "order_status": {
        "pending_payment": _l("Waiting for payment"), "paid": _l("Paid"), "delivered": _l("Delivered"),
        "refunded": _l("Refunded"), "cancelled": _l("Cancelled"),
    },
    "payment_status": {
        "processing": _l("Processing"), "succeeded": _l("Succeeded"), "failed": _l("Failed"),
        "refunded": _l("Refunded"),
    },
    "payer": {"province": _l("Province"), "city": _l("City")},
    "receivable_status": {"owed": _l("Owed"), "settled": _l("Settled"), "void": _l("Void")},
    "enquiry_status": {"open": _l("Open"), "quoted": _l("Quoted"), "ordered": _l("Ordered"), "closed": _l("Closed")},
    "sort": {"relevance": _l("Relevance"), "price_asc": _l("Price, low to high"),
             "price_desc": _l("Price, high to low"), "newest": _l("Newest")},
    "facet": {"kind": _l("Kind"), "field": _l("Field"), "county": _l("County or district"),
              "transfer_mode": _l("Ways to transfer"), "voucher_eligible": _l("Innovation voucher"),
              "price_range": _l("Price")},
    "price_range": {"lt_1w": _l("Under 10,000 yuan"), "1w_10w": _l("10,000–100,000 yuan"),
                    "10w_100w": _l("100,000–1,000,000 yuan"), "gte_100w": _l("1,000,000 yuan and more"),
                    "negotiable": _l("Negotiable")},
    "booking_status": {"booked": _l("Booked"), "completed": _l("Completed"), "cancelled": _l("Cancelled")},
}


def label(value, group: str) -> str:
    if value is None:
        return "—"
    return str(GROUPS.get(group, {}).get(value, value))


def choices(group: str, values=None) -> list[tuple[str, str]]:
    items = GROUPS[group]
    return [(key, items[key]) for key in (values or items)]
