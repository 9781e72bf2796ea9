"""Names of the voucher domain's codes, added to the shared label groups."""
from flask_babel import lazy_gettext as _l

from marketplace.core.labels import GROUPS

GROUPS.setdefault("notice", {}).update({
    "notice.voucher_decided": _l("Your voucher application was decided."),
    "notice.admission_decided": _l("The city decided on your voucher admission."),
    "notice.delivered": _l("A service you bought was delivered: accept it or dispute it."),
    "notice.accepted": _l("A buyer accepted your service."),
    "notice.disputed": _l("A buyer disputed your delivery."),
})
GROUPS["application_status"] = {
    "pending": _l("Waiting for review"), "material_requested": _l("Material requested"),
    "approved": _l("Approved"), "rejected": _l("Rejected"),
}
GROUPS["voucher_status"] = {"active": _l("Active"), "lapsed": _l("Lapsed")}
GROUPS["reservation_status"] = {"reserved": _l("Reserved"), "redeemed": _l("Redeemed"),
                                "released": _l("Released")}
GROUPS["admission_status"] = {
    "pending": _l("Waiting for review"), "admitted": _l("Admitted"), "suspended": _l("Suspended"),
    "removed": _l("Removed"), "rejected": _l("Rejected"),
}
GROUPS["delivery_status"] = {
    "delivered": _l("Delivered, waiting for acceptance"), "accepted": _l("Accepted"),
    "auto_accepted": _l("Accepted automatically"), "disputed": _l("Disputed"),
}
GROUPS["batch_status"] = {"open": _l("Open"), "paid": _l("Paid")}
GROUPS["voucher_mode"] = {"exchange": _l("Exchange (通兑): the provider is paid the public shares"),
                          "general": _l("General (通用): you pay in full and are reimbursed")}
GROUPS["voucher_setting"] = {"yearly_cap_fen": _l("Yearly cap per organisation (yuan)"),
                             "use_months": _l("Months a voucher can be used"),
                             "redeem_months": _l("Months after use-by to redeem")}
