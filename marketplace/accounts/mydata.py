"""People's own data: download everything the platform holds about one's organisation, and
close one's account.

Closing keeps history intact: the organisation, its orders, contracts, the ledger and the
audit log stay; the user row is anonymised (name and e-mail replaced, the password hash
made unusable, inactive), never deleted, so every foreign key and every ledger hash still
holds.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import or_, select
from werkzeug.security import check_password_hash

from marketplace import permissions as perm
from marketplace.accounts.models import ApiToken, Membership, User
from marketplace.audit.models import record
from marketplace.core.errors import ServiceError
from marketplace.core.money import fen_to_str
from marketplace.core.timeutil import utcnow
from marketplace.core.uow import transactional
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.listings.models import Listing
from marketplace.notifications.models import Notification, OutgoingMail
from marketplace.orders.models import Booking, Enquiry, LeasePayment, Order, TechContract
from marketplace.programmes import common
from marketplace.programmes.models import EnterpriseProfile, HteFigureSet, IpRight, MajorProject, PoolEntry, Selection

CLOSED_DOMAIN = "closed.invalid"  # RFC 2606: never deliverable
UNUSABLE_HASH_PREFIX = "!closed-"  # no "$": werkzeug's check_password_hash answers False for it
XLSX_MIMETYPE = common.XLSX_MIMETYPE


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _row(obj, columns: tuple[str, ...]) -> dict:
    out = {}
    for c in columns:
        v = getattr(obj, c)
        if c.endswith("_fen") and v is not None:
            out[c[:-4]] = fen_to_str(v)
        else:
            out[c] = _plain(v)
    return out


def _all(stmt) -> list:
    return list(db.session.scalars(stmt))


def own_organization(actor):
    """The organisation whose data the actor may export (refused to anyone else)."""
    org = actor.organization if getattr(actor, "is_authenticated", False) else None
    perm.require(actor, perm.EXPORT_OWN_DATA, org)
    return org


def export_data(actor) -> dict:
    """Everything the platform holds about the actor's organisation, JSON-ready."""
    org = own_organization(actor)
    oid = org.id
    orders = _all(select(Order).where(or_(Order.buyer_org_id == oid, Order.seller_org_id == oid)).order_by(Order.id))
    contracts = _all(select(TechContract).where(or_(TechContract.buyer_org_id == oid, TechContract.seller_org_id == oid,
                                                    TechContract.broker_org_id == oid)).order_by(TechContract.id))
    listings = _all(select(Listing).where(Listing.organization_id == oid).order_by(Listing.id))
    listing_ids = [x.id for x in listings]
    bookings = _all(select(Booking).where(or_(Booking.customer_org_id == oid, Booking.instrument_id.in_(listing_ids)))
                    .order_by(Booking.id))
    # Ledger entries naming the organisation (its credit code), and the corrections of them.
    named = _all(select(LedgerEntry).where(LedgerEntry.payload.contains(org.credit_code)).order_by(LedgerEntry.seq))
    refs = {e.ref for e in named}
    corrections = _all(select(LedgerEntry).where(LedgerEntry.ref.in_(refs), LedgerEntry.seq.not_in(
        [e.seq for e in named] or [-1])).order_by(LedgerEntry.seq)) if refs else []
    ledger = sorted(named + corrections, key=lambda e: e.seq)
    members = _all(select(Membership).where(Membership.organization_id == oid).order_by(Membership.id))
    return {
        "exported_at": utcnow().isoformat(),
        "organization": _row(org, ("id", "name", "name_en", "kind", "size", "county", "in_city", "credit_code",
                                   "transfer_agency_level", "service_agency", "host_level", "description",
                                   "created_at", "verified_at")),
        "members": [{"user_id": m.user_id, "name": m.user.name, "email": m.user.email, "role": m.role,
                     "is_owner": m.is_owner, "active": m.user.active, "since": _plain(m.created_at)} for m in members],
        "listings": [dict(_row(x, ("id", "kind", "title", "description", "field", "county", "status", "price_fen",
                                   "negotiable", "ip_kind", "ip_number", "maturity", "transfer_modes",
                                   "created_at", "published_at")), ref=x.ref) for x in listings],
        "enquiries": [_row(e, ("id", "listing_id", "buyer_org_id", "message", "status", "quote_fen", "created_at"))
                      for e in _all(select(Enquiry).where(or_(Enquiry.buyer_org_id == oid,
                                                              Enquiry.listing_id.in_(listing_ids))).order_by(Enquiry.id))],
        "orders": [dict(_row(o, ("id", "listing_id", "buyer_org_id", "seller_org_id", "kind", "transfer_mode",
                                 "amount_fen", "with_voucher", "province_fen", "city_fen", "enterprise_fen", "status",
                                 "created_at", "paid_at", "delivered_at")), ref=o.ref) for o in orders],
        "tech_contracts": [dict(_row(c, ("id", "order_id", "contract_type", "seller_org_id", "buyer_org_id",
                                         "broker_org_id", "amount_fen", "project", "transformed_in_city",
                                         "registration_no", "registered_on", "signed_on")), ref=c.ref)
                           for c in contracts],
        "bookings": [dict(_row(b, ("id", "instrument_id", "customer_org_id", "order_id", "start_at", "end_at",
                                   "samples", "amount_fen", "self_use", "status")), ref=b.ref) for b in bookings],
        "lease_payments": [_row(p, ("id", "instrument_id", "amount_fen", "paid_on"))
                           for p in _all(select(LeasePayment).where(LeasePayment.lessee_org_id == oid))],
        "ledger": [{"seq": e.seq, "kind": e.kind, "ref": e.ref, "occurred_on": e.occurred_on.isoformat(),
                    "amount": fen_to_str(e.amount_fen), "payload": e.data, "corrects_seq": e.corrects_seq,
                    "hash": e.hash} for e in ledger],
        "hte_figures": [_row(f, ("id", "fiscal_year", "revenue_last_year_fen", "revenue_3y_fen", "rd_3y_fen",
                                 "rd_3y_in_china_fen", "high_tech_revenue_fen", "staff", "st_staff", "core_ip_count",
                                 "founded_on", "entered_at"))
                        for f in _all(select(HteFigureSet).where(HteFigureSet.organization_id == oid))],
        "hte_pool": [dict(_row(p, ("status", "reason", "admitted_on", "reviewed_on", "certificate_no",
                                   "recognised_on")),
                          decisions=[_row(d, ("decision", "reason", "criteria_met", "decided_at")) for d in p.decisions])
                     for p in _all(select(PoolEntry).where(PoolEntry.organization_id == oid))],
        "ip_rights": [_row(i, ("id", "kind", "number", "title", "industry", "granted_on", "status", "listing_id"))
                      for i in _all(select(IpRight).where(IpRight.organization_id == oid))],
        "enterprise_profile": [_row(p, ("above_scale_industrial", "industry", "updated_at"))
                               for p in _all(select(EnterpriseProfile).where(EnterpriseProfile.organization_id == oid))],
        "major_projects": [_row(p, ("id", "title", "county", "industry", "bottleneck", "requested_city_fen", "status",
                                    "review_note", "city_share_fen", "county_share_fen", "funded_on", "completed_on",
                                    "breakthrough", "claim_id"))
                           for p in _all(select(MajorProject).where(MajorProject.organization_id == oid))],
        "commissioner_awards": [_row(s, ("year", "category", "claim_kind", "selected_on", "amount_fen", "claim_id"))
                                for s in _all(select(Selection).where(Selection.organization_id == oid))],
    }


def export_xlsx(data: dict) -> bytes:
    """The export as a workbook: one sheet per section (nested values as JSON text)."""
    import json

    sheets = {}
    for section, value in data.items():
        rows = value if isinstance(value, list) else [value] if isinstance(value, dict) else [{"value": value}]
        headers = sorted({k for r in rows for k in r}) if rows else ["—"]
        body = [[json.dumps(r.get(h), ensure_ascii=False) if isinstance(r.get(h), (dict, list)) else r.get(h)
                 for h in headers] for r in rows]
        sheets[section] = (headers, body)
    return common.workbook(sheets)


@transactional
def close_account(actor, password: str) -> None:
    """Anonymise the actor's user row (never delete it) and end every way back in."""
    perm.require(actor, perm.CLOSE_ACCOUNT, actor)
    if not check_password_hash(actor.password_hash, password or ""):
        raise ServiceError(_("The password is not right."), "password")
    user = db.session.get(User, actor.id)
    old_email = user.email
    user.name = f"closed-user-{user.id}"
    user.email = f"closed-{user.id}@{CLOSED_DOMAIN}"
    user.password_hash = UNUSABLE_HASH_PREFIX + secrets.token_hex(16)
    user.active = False
    user.signed_in_active = False  # this request's own sign-in ends too
    user.locale = None
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, None
    for mail in db.session.scalars(select(OutgoingMail).where(OutgoingMail.recipient == old_email)):
        mail.recipient, mail.body = user.email, ""
    for note in db.session.scalars(select(Notification).where(Notification.user_id == user.id)):
        note.read = True
    _revoke_api_tokens(user.id)
    record(actor, "account.close", "user", user.id, after={"active": False, "anonymised": True})


def _revoke_api_tokens(user_id: int) -> None:
    for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id,
                                                           ApiToken.revoked_at.is_(None))):
        token.revoked_at = utcnow()


def closed(user: User) -> bool:
    return user.email.endswith("@" + CLOSED_DOMAIN) and not user.active

