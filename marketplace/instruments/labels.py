"""The names of this domain's codes and notices, added to the shared label groups on import."""
from flask_babel import lazy_gettext as _l

from marketplace.core.labels import GROUPS

GROUPS["notice"].update({
    "notice.instrument_request": _l("A booking of one of your instruments waits for your approval."),
    "notice.instrument_approved": _l("Your instrument booking was approved."),
    "notice.instrument_refused": _l("Your instrument booking was refused; the reason is on the booking."),
    "notice.instrument_lapsed": _l("Your instrument booking request was not decided in time and no longer holds "
                                   "its hours."),
    "notice.instrument_moved": _l("Maintenance on an instrument moved your booking; see its new time."),
    "notice.instrument_cancelled": _l("Maintenance on an instrument cancelled your booking."),
    "notice.instrument_qualified": _l("You are now qualified to operate an instrument yourself."),
    "notice.instrument_no_show": _l("A booking of yours was recorded as a no-show."),
    "notice.instrument_slot_offered": _l("A slot you waited for is free: book it before someone else does."),
    "notice.sample_order": _l("Samples were sent to one of your instruments."),
    "notice.sample_received": _l("The facility received your samples."),
    "notice.sample_testing": _l("Your samples are being tested."),
    "notice.sample_reported": _l("The report on your samples is ready."),
})

GROUPS.update({
    "approval_rule": {"instant": _l("Booked at once"), "manager": _l("The manager approves each booking")},
    "late_rule": {"none": _l("Nothing"), "fee": _l("A fee"), "mark": _l("A mark on the record")},
    "billing_rule": {"booked": _l("Hours booked"), "used": _l("Hours used"), "greater": _l("The greater of the two")},
    "booking_purpose": {"use": _l("Self-operation"), "training": _l("Training")},
    "booking_approval": {"instant": _l("Confirmed"), "pending": _l("Waiting for approval"),
                         "approved": _l("Approved"), "refused": _l("Refused"), "lapsed": _l("Lapsed")},
    "attendance": {"": "", "no_show": _l("No-show"), "late_cancel": _l("Cancelled late")},
    "sample_status": {"submitted": _l("Sent, not yet received"), "received": _l("Samples received"),
                      "testing": _l("Testing"), "reported": _l("Report issued"), "cancelled": _l("Cancelled")},
    "outage_kind": {"maintenance": _l("Maintenance"), "outage": _l("Breakdown")},
    "waitlist_status": {"waiting": _l("Waiting for a slot"), "offered": _l("Slot offered"), "withdrawn": _l("Withdrawn")},
})
