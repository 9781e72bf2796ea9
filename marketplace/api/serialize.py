"""Domain objects as JSON. Money: decimal yuan strings ("50000.00"); timestamps: UTC ISO 8601
with "Z"; booking times: wall-clock ISO without offset, as they are booked."""
from __future__ import annotations

from datetime import date, datetime

from marketplace.core.money import fen_to_str


def money(fen: int | None) -> str | None:
    return None if fen is None else fen_to_str(fen)


def timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "Z"


def wall_clock(moment: datetime | None) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat()


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def organization_ref(org) -> dict | None:
    return None if org is None else {"id": org.id, "name": org.name}


def listing(item, viewer=None) -> dict:
    own = viewer is not None and viewer.organization is not None and viewer.organization.id == item.organization_id
    data = {
        "id": item.id, "ref": item.ref, "kind": item.kind, "status": item.status, "title": item.title,
        "description": item.description or "", "field": item.field, "county": item.county,
        "price": money(item.price_fen), "negotiable": bool(item.negotiable),
        "voucher_eligible": bool(item.voucher_eligible), "organization": organization_ref(item.organization),
        "created_at": timestamp(item.created_at), "published_at": timestamp(item.published_at),
        "moderation_note": item.moderation_note if own else None,
    }
    if item.kind == "achievement":
        data.update(ip_kind=item.ip_kind, ip_number=item.ip_number, maturity=item.maturity,
                    transfer_modes=item.modes)
    if item.kind == "instrument":
        data.update(category=item.category, model=item.model, location=item.location, price_unit=item.price_unit,
                    internal_price=money(item.internal_price_fen) if own else None,
                    financing_lease=bool(item.financing_lease), on_sharing_platform=bool(item.on_sharing_platform),
                    open_from_hour=item.open_from_hour, open_to_hour=item.open_to_hour)
    return data


def contract(item) -> dict | None:
    if item is None:
        return None
    return {"id": item.id, "ref": item.ref, "contract_type": item.contract_type, "amount": money(item.amount_fen),
            "project": item.project, "signed_on": day(item.signed_on), "registration_no": item.registration_no,
            "registered_on": day(item.registered_on), "seller": organization_ref(item.seller),
            "buyer": organization_ref(item.buyer), "order_id": item.order_id}


def order(item, payments=None, receivables=None) -> dict:
    data = {
        "id": item.id, "ref": item.ref, "kind": item.kind, "status": item.status,
        "listing": {"id": item.listing_id, "kind": item.listing.kind, "title": item.listing.title},
        "buyer": organization_ref(item.buyer), "seller": organization_ref(item.seller),
        "transfer_mode": item.transfer_mode, "amount": money(item.amount_fen), "with_voucher": bool(item.with_voucher),
        # Who pays what: the buyer pays its share through the gateway; the province and city owe theirs (A3).
        "shares": {"buyer": money(item.enterprise_fen), "province": money(item.province_fen),
                   "city": money(item.city_fen)},
        "related_party": bool(item.related_party),
        "created_at": timestamp(item.created_at), "paid_at": timestamp(item.paid_at),
        "delivered_at": timestamp(item.delivered_at),
        "contract": contract(item.contract), "booking_id": item.booking.id if item.booking else None,
    }
    if payments is not None:
        data["payments"] = [{"id": p.id, "amount": money(p.amount_fen), "currency": p.currency, "status": p.status,
                             "created_at": timestamp(p.created_at), "succeeded_at": timestamp(p.succeeded_at)}
                            for p in payments]
    if receivables is not None:
        data["voucher_receivables"] = [{"payer": r.payer, "amount": money(r.amount_fen), "status": r.status}
                                       for r in receivables]
    return data


def booking(item) -> dict:
    hours = int((item.end_at - item.start_at).total_seconds() // 3600)
    return {"id": item.id, "ref": item.ref, "status": item.status,
            "instrument": {"id": item.instrument_id, "title": item.instrument.title},
            "customer": organization_ref(item.customer), "start_at": wall_clock(item.start_at),
            "end_at": wall_clock(item.end_at), "hours": hours, "samples": item.samples,
            "amount": money(item.amount_fen), "self_use": bool(item.self_use), "order_id": item.order_id,
            "created_at": timestamp(item.created_at)}


def facility_booking(item, terms) -> dict:
    return {"id": item.id, "ref": item.ref, "status": item.status,
            "instrument": {"id": item.instrument_id, "title": item.instrument.title},
            "purpose": terms.purpose, "approval": terms.approval, "refusal_reason": terms.refusal_reason,
            "start_at": wall_clock(item.start_at), "end_at": wall_clock(item.end_at),
            "moved_from": wall_clock(terms.moved_from), "amount": money(item.amount_fen), "order_id": item.order_id,
            "attendance": terms.attendance or None, "penalty": money(terms.penalty_fen),
            "used_hours": terms.used_hours}


def sample_order(item) -> dict:
    return {"id": item.id, "ref": item.ref, "status": item.status,
            "instrument": {"id": item.instrument_id, "title": item.instrument.title},
            "samples": item.samples, "samples_done": item.samples_done, "description": item.description,
            "amount": money(item.amount_fen), "order_id": item.order_id, "report": item.report,
            "created_at": timestamp(item.created_at), "received_at": timestamp(item.received_at),
            "reported_at": timestamp(item.reported_at)}


def qualification(item, today) -> dict:
    return {"instrument": {"id": item.instrument_id, "title": item.instrument.title},
            "qualified_on": day(item.qualified_on), "expires_on": day(item.expires_on),
            "valid": item.valid_on(today)}


def me(user) -> dict:
    org = user.organization
    return {
        "user": {"id": user.id, "name": user.name, "email": user.email, "locale": user.locale},
        "role": user.role,
        "organization": None if org is None else {
            "id": org.id, "name": org.name, "kind": org.kind, "size": org.size, "county": org.county,
            "credit_code": org.credit_code, "in_city": bool(org.in_city), "service_agency": bool(org.service_agency)},
        "verified": bool(org is not None and org.verified),
    }
