"""User-facing names of the codes the data model stores (kinds, sizes, roles, ...)."""
from flask_babel import lazy_gettext as _l

from marketplace.core.i18n import text_of

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
        "notice.claim_approved": _l("A subsidy claim of your organisation was approved."),
        "notice.claim_on_notice": _l("A subsidy claim of your organisation is on public notice."),
        "notice.claim_rejected": _l("A subsidy claim of your organisation was rejected."),
        "notice.claim_evidence_requested": _l("The city asks for more evidence on a subsidy claim."),
        "notice.claim_objection": _l("Someone objected to a subsidy claim of your organisation on public notice; "
                                     "a reviewer decides whether the notice is suspended."),
        "notice.claim_objection_upheld": _l("A reviewer upheld an objection to a subsidy claim of your organisation: "
                                            "the public notice is suspended and the claim is reviewed again."),
        "notice.objection_to_review": _l("An objection to a subsidy claim on public notice waits for a reviewer's "
                                         "decision."),
        "notice.claim_paid": _l("A subsidy claim of your organisation was paid."),
        "notice.claim_recomputed": _l("A subsidy claim changed with new ledger entries and goes back to review."),
        "notice.claim_clawback": _l("A paid subsidy claim must be partly returned after a refund or cancellation."),
    },
    "objection_status": {
        "unconfirmed": _l("Not confirmed"), "open": _l("Open"), "upheld": _l("Upheld: notice suspended"),
        "dismissed": _l("Dismissed"), "resolved": _l("Resolved"),
    },
    # A listing's field (技术领域) is stored as its Chinese name; English readers see this.
    "listing_field": {
        "新材料": _l("New materials"),
        "高端装备": _l("High-end equipment"),
        "生物医药": _l("Biomedicine"),
        "新一代信息技术": _l("New-generation information technology"),
        "现代农业": _l("Modern agriculture"),
        "节能环保": _l("Energy saving and environmental protection"),
        "新能源": _l("New energy"),
        "检验检测": _l("Inspection and testing"),
        "精细化工": _l("Fine chemicals"),
        "轻工纺织": _l("Light industry and textiles"),
    },
    "listing_kind": {
        "achievement": _l("Achievement"),
        "instrument": _l("Instrument"),
        "service": _l("Service"),
        "demand": _l("Demand"),
    },
    "listing_status": {
        "draft": _l("Draft"), "published": _l("Published"), "withdrawn": _l("Withdrawn"), "rejected": _l("Rejected"),
        "pending": _l("Awaiting moderation"),
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
    "payment_method": {"card": _l("Bank card (online)"), "bank": _l("Bank transfer (对公转账)")},
    "transfer_status": {"matched": _l("Matched"), "partial": _l("Partial: less than is due"),
                        "excess": _l("More than is due"), "unmatched": _l("No reference found"),
                        "returned": _l("Sent back"), "duplicate": _l("Already recorded by hand")},
    "payer": {"province": _l("Province"), "city": _l("City")},
    "receivable_status": {"owed": _l("Owed"), "settled": _l("Settled"), "void": _l("Void")},
    "enquiry_status": {"open": _l("Open"), "quoted": _l("Quoted"), "ordered": _l("Ordered"), "closed": _l("Closed"),
                       "on_notice": _l("Accepted, price on public notice")},
    "version_status": {"open": _l("Waiting for a decision"), "accepted": _l("Accepted"), "declined": _l("Declined"),
                       "countered": _l("Countered"), "withdrawn": _l("Replaced"), "expired": _l("Expired")},
    "price_notice_status": {"on_notice": _l("On public notice"), "cleared": _l("Ended without upheld objection"),
                            "withdrawn": _l("Withdrawn after an upheld objection")},
    "price_objection_status": {"open": _l("Waiting for the seller's decision"), "upheld": _l("Upheld"),
                               "dismissed": _l("Dismissed")},
    "sort": {"relevance": _l("Relevance"), "price_asc": _l("Price, low to high"),
             "price_desc": _l("Price, high to low"), "newest": _l("Newest")},
    "facet": {"kind": _l("Kind"), "field": _l("Field"), "county": _l("County or district"),
              "transfer_mode": _l("Ways to transfer"), "voucher_eligible": _l("Innovation voucher"),
              "price_range": _l("Price")},
    "price_range": {"lt_1w": _l("Under 10,000 yuan"), "1w_10w": _l("10,000–100,000 yuan"),
                    "10w_100w": _l("100,000–1,000,000 yuan"), "gte_100w": _l("1,000,000 yuan and more"),
                    "negotiable": _l("Negotiable")},
    "booking_status": {"booked": _l("Booked"), "completed": _l("Completed"), "cancelled": _l("Cancelled"),
                       "expired": _l("Expired: not paid in time")},
    "claim_status": {
        "drafted": _l("Drafted"), "submitted": _l("Under review"), "evidence_requested": _l("Waiting for evidence"),
        "waiting_budget": _l("Approved, waiting for budget"), "on_notice": _l("Approved, on public notice"),
        "paid": _l("Paid"), "rejected": _l("Rejected"), "withdrawn": _l("Withdrawn"),
    },
    "claim_source": {"engine": _l("Drafted from the ledger"), "filed": _l("Filed with evidence")},
    "claim_action": {
        "drafted": _l("Drafted by the rules engine"), "filed": _l("Filed with evidence"),
        "submitted": _l("Submitted"), "recomputed": _l("Recomputed from new ledger entries"),
        "withdrawn": _l("Withdrawn: the award disappeared"), "restored": _l("Drafted again: the award is back"),
        "evidence_requested": _l("More evidence asked for"), "evidence_provided": _l("Evidence provided"),
        "approved": _l("Approved"), "rejected": _l("Rejected"), "notice": _l("Put on public notice"),
        "objection": _l("Objection during the public notice"), "paid": _l("Paid"),
        "clawback": _l("Clawback after a refund or cancellation"),
    },
    "claim_flag": {"overlap": _l("Same contract under A1 and A2"), "related_party": _l("Related-party order"),
                   "repeated_transfer": _l("Repeated transfer of one project")},
    "claim_category": {"national_demonstration": _l("National demonstration enterprise"),
                       "national_cultivation": _l("National cultivation enterprise (champion product)"),
                       "provincial": _l("Provincial single champion")},
    "ledger_kind": {"contract_registered": _l("Registered contract"), "payment": _l("Payment"),
                    "refund": _l("Refund"), "cancellation": _l("Cancellation"),
                    "voucher_redemption": _l("Voucher redemption"), "booking_completed": _l("Completed booking"),
                    "lease_fee": _l("Lease fee")},
    # programmes (marketplace.programmes)
    "pool_status": {"admitted": _l("In the pool"), "removed": _l("Removed from the pool"),
                    "recognised": _l("Recognised as a high-tech enterprise")},
    "pool_decision": {"admit": _l("Admit to the pool"), "keep": _l("Keep in the pool"),
                      "remove": _l("Remove from the pool"), "recognise": _l("Record recognition")},
    "hte_criterion": {"age": _l("Registered at least one year"), "core_ip": _l("Core IP held"),
                      "st_staff": _l("S&T staff at least 10% of staff"),
                      "rd_intensity": _l("R&D of three years over revenue of the same years"),
                      "rd_in_china": _l("R&D in China at least 60% of all R&D"),
                      "high_tech_revenue": _l("High-tech revenue at least 60% of last year's revenue")},
    "ip_right_kind": {"invention_patent": _l("Invention patent"), "utility_model": _l("Utility model"),
                      "design_patent": _l("Design patent"), "software_copyright": _l("Software copyright"),
                      "new_variety": _l("New plant variety"),
                      "integrated_circuit_layout": _l("Integrated circuit layout design")},
    "ip_status": {"valid": _l("Valid"), "lapsed": _l("Lapsed")},
    "commissioner_kind": {"rural": _l("Rural commissioner"), "enterprise": _l("Enterprise commissioner")},
    "base_kind": {"base": _l("Demonstration base (project)"), "station": _l("Agricultural science station"),
                  "star": _l("Star innovation space")},
    "selection_category": {"base": _l("Demonstration base (project)"), "excellent": _l("Excellent commissioner"),
                           "advanced": _l("Advanced individual"),
                           "star": _l("Provincial-or-higher star innovation space (one-time)"),
                           "station": _l("Provincially filed agricultural science station (one-time)"),
                           "enterprise": _l("Enterprise commissioner cooperation, 1:1"),
                           "project": _l("Enterprise commissioner project, 1:1")},
    "project_status": {"proposed": _l("Proposed"), "reserved": _l("In the reserve"), "rejected": _l("Rejected"),
                       "funded": _l("Funded"), "completed": _l("Completed")},
    "project_decision": {"reserve": _l("Into the reserve"), "reject": _l("Reject")},
    "target_qualifier": {"about": _l("about"), "at_least": _l("at least")},
    "target_state": {"not_entered": _l("not entered"), "not_held": _l("not held on the platform")},
}


def label(value, group: str) -> str:
    if value is None:
        return "—"
    return text_of(GROUPS.get(group, {}).get(value, value))


def choices(group: str, values=None) -> list[tuple[str, str]]:
    items = GROUPS[group]
    return [(key, items[key]) for key in (values or items)]
