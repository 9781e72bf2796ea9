"""/api/v1: thin JSON views over the same services as the web pages.

Authentication is ``Authorization: Bearer <token>`` only — no session cookie is read for
identity — so the blueprint is exempt from CSRF. Every view parses its input strictly
(marketplace.api.validation), calls one service with the token's user as the actor, and
answers JSON. Refusals are ServiceErrors, which the app renders as {"error", "field"}.
"""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _

from marketplace.accounts import services as accounts
from marketplace.api import serialize
from marketplace.api.openapi import document
from marketplace.api.validation import (
    Field,
    Invalid,
    body,
    boolean,
    field_for,
    integer,
    iso_date,
    json_object,
    local_datetime,
    parse,
    query,
    query_integer,
    search_text,
    string,
)
from marketplace.core import paging
from marketplace.core.errors import NotFound, ServiceError
from marketplace.core.timeutil import beijing_today, utcnow
from marketplace.extensions import csrf, db
from marketplace.instruments import services as instruments
from marketplace.listings import schema as listing_schema
from marketplace.listings import services as listings
from marketplace.listings.models import KINDS, TRANSFER_MODES, Listing
from marketplace.orders import services as orders
from marketplace.orders.models import CONTRACT_TYPES
from marketplace.payments import services as payments
from marketplace.programmes import services as programmes
from marketplace.search import indexing as search_index
from search.documents import SearchQuery

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

PUBLIC_ENDPOINTS = {"api.openapi"}
MAX_ID = 2**31 - 1


class Unauthorized(ServiceError):
    status = 401


@bp.before_request
def authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _sep, secret = header.partition(" ")
    user = accounts.authenticate_token(secret.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise Unauthorized(_("Send a valid API token: Authorization: Bearer <token>."))
    g.api_user = user
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound(_("This does not exist."))
    return None


@bp.after_request
def challenge(response):
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _user():
    return g.api_user


# --- the document --------------------------------------------------------------------------

@bp.route("/openapi.json")
def openapi():
    return jsonify(document())


@bp.route("/me")
def me():
    return jsonify(serialize.me(_user()))


# --- listings ------------------------------------------------------------------------------

# The listing fields, from their one declaration (marketplace/listings/schema.py).
COMMON_FIELDS = {f.name: field_for(f) for f in listing_schema.COMMON}
KIND_FIELDS = {kind: {f.name: field_for(f) for f in fields} for kind, fields in listing_schema.BY_KIND.items()}
PATCH_FIELDS = {kind: {f.name: field_for(f, required=False) for f in listing_schema.fields_of(kind)}
                for kind in listing_schema.BY_KIND}
RENAMED = {f.name: f.column for f in listing_schema.COMMON + sum(listing_schema.BY_KIND.values(), ()) if f.column}


def _for_service(values: dict) -> dict:
    return {RENAMED.get(k, k): v for k, v in values.items()}


def _current(listing: Listing) -> dict:
    """What a listing holds now, as the service takes it (the base a PATCH is applied to)."""
    names = listing_schema.service_names(listing_schema.fields_of(listing.kind))
    data = {name: getattr(listing, name) for name in names}
    if listing.kind == "achievement":
        data["transfer_modes"] = listing.modes
    return data


@bp.route("/listings")
def listing_index():
    args = query({"kind": Field(string(12, KINDS)), "q": Field(string(200)), "county": Field(string(40)),
                  "field": Field(string(40)), "page": Field(query_integer(1, 500)),
                  "per_page": Field(query_integer(1, 100))})
    text = args.get("q", "")
    search = SearchQuery(text=text, kind=args.get("kind"), county=args.get("county") or None,
                         field=args.get("field") or None, sort="relevance" if text else "newest",
                         page=args.get("page", 1), per_page=args.get("per_page", 20), facets=False)
    results = search_index.query(search)
    ids = [int(hit.id.split(":", 1)[1]) for hit in results.hits]
    found = {listing.id: listing for listing in db.session.scalars(db.select(Listing).where(Listing.id.in_(ids)))} if ids else {}
    # The index follows the database after commit; a hit whose listing is no longer published is left out.
    items = [found[i] for i, hit in zip(ids, results.hits)
             if i in found and found[i].status == "published" and found[i].kind == hit.kind]
    return jsonify(items=[serialize.listing(listing, _user()) for listing in items], total=results.total,
                   page=search.page, per_page=search.per_page)


@bp.route("/listings/<int:listing_id>")
def listing_detail(listing_id):
    return jsonify(serialize.listing(listings.get_listing(_user(), listing_id), _user()))


@bp.route("/listings", methods=["POST"])
def listing_create():
    data = json_object()
    kind = parse({"kind": data.get("kind")} if "kind" in data else {},
                 {"kind": Field(string(12, KINDS), required=True)})["kind"]
    values = parse(data, {"kind": Field(string(12, KINDS), required=True), **COMMON_FIELDS, **KIND_FIELDS[kind]})
    values.pop("kind")
    listing = listings.create_listing(_user(), kind, _for_service(values))
    return jsonify(serialize.listing(listing, _user())), 201


@bp.route("/listings/<int:listing_id>", methods=["PATCH"])
def listing_update(listing_id):
    listing = listings.get_listing(_user(), listing_id)
    values = body(PATCH_FIELDS[listing.kind])
    merged = _current(listing)
    merged.update(_for_service(values))
    listing = listings.update_listing(_user(), listing.id, merged)
    return jsonify(serialize.listing(listing, _user()))


@bp.route("/listings/<int:listing_id>/publish", methods=["POST"])
def listing_publish(listing_id):
    body({})
    return jsonify(serialize.listing(listings.publish(_user(), listing_id), _user()))


@bp.route("/listings/<int:listing_id>/withdraw", methods=["POST"])
def listing_withdraw(listing_id):
    body({})
    return jsonify(serialize.listing(listings.withdraw(_user(), listing_id), _user()))


def _paging() -> dict:
    args = query({"page": Field(query_integer(1, paging.MAX_PAGE)), "per_page": Field(query_integer(1, paging.MAX_PER_PAGE))})
    return {"page": args.get("page", 1), "per_page": args.get("per_page", paging.PER_PAGE)}


def _page_meta(page: paging.Page) -> dict:
    return {"page": page.number, "per_page": page.per_page, "has_next": page.has_next}


# --- orders --------------------------------------------------------------------------------

def _order_detail(order):
    return serialize.order(order, payments.payments_of(order), payments.receivables_of(order))


@bp.route("/orders")
def order_index():
    page = orders.orders_of(_user(), **_paging())
    return jsonify(items=[serialize.order(o) for o in page], **_page_meta(page))


@bp.route("/orders/<int:order_id>")
def order_detail(order_id):
    return jsonify(_order_detail(orders.get_order(_user(), order_id)))


@bp.route("/orders", methods=["POST"])
def order_create():
    values = body({"listing_id": Field(integer(1), required=True), "with_voucher": Field(boolean),
                   "transfer_mode": Field(string(24, TRANSFER_MODES))})
    listing = listings.get_listing(_user(), values["listing_id"])
    if listing.kind == "service":
        if "transfer_mode" in values:
            raise Invalid(_("Only achievements are bought with a transfer mode."), "transfer_mode")
        order = orders.order_service(_user(), listing.id, values.get("with_voucher", False))
    elif listing.kind == "achievement":
        if values.get("with_voucher"):
            raise Invalid(_("Innovation vouchers pay for services and instrument time only."), "with_voucher")
        if "transfer_mode" not in values:
            raise Invalid(_("Choose how you take the achievement (transfer_mode)."), "transfer_mode")
        order = orders.buy_achievement(_user(), listing.id, values["transfer_mode"])
    elif listing.kind == "instrument":
        raise Invalid(_("Instrument time is booked: use POST /api/v1/bookings."), "listing_id")
    else:
        raise Invalid(_("A demand cannot be ordered: answer it with a proposal on its page."), "listing_id")
    return jsonify(_order_detail(order)), 201


@bp.route("/orders/<int:order_id>/pay", methods=["POST"])
def order_pay(order_id):
    body({})
    payments.checkout(_user(), order_id)
    return jsonify(_order_detail(orders.get_order(_user(), order_id)))


@bp.route("/orders/<int:order_id>/confirm", methods=["POST"])
def order_confirm(order_id):
    body({})
    return jsonify(_order_detail(orders.confirm_delivery(_user(), order_id)))


@bp.route("/orders/<int:order_id>/refund", methods=["POST"])
def order_refund(order_id):
    values = body({"reason": Field(string(300), required=True)})
    payments.refund(_user(), order_id, values["reason"])
    return jsonify(_order_detail(orders.get_order(_user(), order_id)))


# --- bookings ------------------------------------------------------------------------------

@bp.route("/bookings")
def booking_index():
    page = orders.bookings_of(_user(), **_paging())
    return jsonify(items=[serialize.booking(b) for b in page], **_page_meta(page))


@bp.route("/bookings", methods=["POST"])
def booking_create():
    values = body({"instrument_id": Field(integer(1), required=True), "start_at": Field(local_datetime, required=True),
                   "hours": Field(integer(1, orders.MAX_BOOKING_HOURS), required=True), "samples": Field(integer(1, 10_000), nullable=True),
                   "with_voucher": Field(boolean)})
    booking = orders.book_instrument(_user(), values["instrument_id"], values["start_at"], values["hours"],
                                     values.get("samples"), values.get("with_voucher", False))
    return jsonify(serialize.booking(booking)), 201


@bp.route("/instruments/<int:instrument_id>/calendar")
def instrument_calendar(instrument_id):
    args = query({"from": Field(iso_date), "days": Field(query_integer(1, 31))})
    instrument = listings.get_listing(_user(), instrument_id)
    if instrument.kind != "instrument":
        raise NotFound(_("This listing does not exist."))
    start, days = args.get("from") or utcnow().date(), args.get("days", 7)
    taken = orders.calendar(instrument.id, start, days)
    calendar = [{"date": (start + timedelta(days=i)).isoformat(),
                 "booked_hours": sorted(taken.get(start + timedelta(days=i), ()))} for i in range(days)]
    return jsonify(instrument_id=instrument.id, open_from_hour=instrument.open_from_hour,
                   open_to_hour=instrument.open_to_hour, days=calendar)


# --- shared instruments: facility bookings, samples, qualifications, iCal ----------------------

@bp.route("/instruments/bookings")
def facility_booking_index():
    query({})
    return jsonify(items=[serialize.facility_booking(b, t) for b, t in instruments.bookings_of(_user())])


@bp.route("/instruments/<int:instrument_id>/bookings", methods=["POST"])
def facility_booking_create(instrument_id):
    values = body({"start_at": Field(local_datetime, required=True), "hours": Field(integer(1, 168), required=True),
                   "purpose": Field(string(8, ("use", "training"))), "repeat_weeks": Field(integer(1, 8)),
                   "with_voucher": Field(boolean)})
    made = instruments.book(_user(), instrument_id, values["start_at"], values["hours"], values.get("purpose", "use"),
                            values.get("repeat_weeks", 1), values.get("with_voucher", False))
    return jsonify(items=[serialize.facility_booking(b, instruments.terms_of(b.id)) for b in made]), 201


@bp.route("/instruments/samples")
def sample_order_index():
    query({})
    return jsonify(items=[serialize.sample_order(s) for s in instruments.sample_orders_of(_user())])


@bp.route("/instruments/<int:instrument_id>/samples", methods=["POST"])
def sample_order_create(instrument_id):
    values = body({"samples": Field(integer(1, 10_000), required=True),
                   "description": Field(string(3000), required=True), "with_voucher": Field(boolean)})
    made = instruments.send_samples(_user(), instrument_id, values["samples"], values["description"],
                                    values.get("with_voucher", False))
    return jsonify(serialize.sample_order(made)), 201


@bp.route("/instruments/qualifications")
def qualification_index():
    query({})
    today = beijing_today()
    return jsonify(items=[serialize.qualification(q, today) for q in instruments.my_qualifications(_user())])


@bp.route("/instruments/feed")
def calendar_feed():
    query({})
    found = instruments.feed(_user())
    return jsonify(url=url_for("instruments.ical_feed", token=found.token, _external=True))


# --- contracts -----------------------------------------------------------------------------

@bp.route("/contracts/<int:contract_id>/register", methods=["POST"])
def contract_register(contract_id):
    values = body({"registration_no": Field(string(40), required=True), "registered_on": Field(iso_date, required=True),
                   "contract_type": Field(string(12, CONTRACT_TYPES), nullable=True)})
    contract = orders.register_contract(_user(), contract_id, values["registration_no"], values["registered_on"],
                                        values.get("contract_type"))
    return jsonify(serialize.contract(contract))


# --- programmes: the city's registries (read-only) ------------------------------------------

POOL_STATUS_CHOICES = programmes.POOL_STATUSES + ("all",)


@bp.route("/programmes/pool")
def programme_pool():
    args = query({"status": Field(string(12, POOL_STATUS_CHOICES))})
    status = args.get("status", "admitted")
    return jsonify(items=programmes.list_pool(_user(), None if status == "all" else status))


@bp.route("/programmes/ip")
def programme_ip():
    args = query({"q": Field(search_text(200)), "industry": Field(string(40, tuple(programmes.industries()))),
                  "kind": Field(string(30, programmes.IP_RIGHT_KINDS))})
    return jsonify(items=programmes.list_ip(_user(), q=args.get("q") or None, industry=args.get("industry"),
                                            kind=args.get("kind")))


@bp.route("/programmes/commissioners")
def programme_commissioners():
    query({})
    return jsonify(items=programmes.list_commissioners(_user()))


@bp.route("/programmes/projects")
def programme_projects():
    args = query({"status": Field(string(12, programmes.PROJECT_STATUSES))})
    return jsonify(items=programmes.list_projects(_user(), args.get("status")))


# Innovation vouchers add their routes (and document entries) to this blueprint.
from marketplace.vouchers import api as _voucher_api  # noqa: E402,F401
