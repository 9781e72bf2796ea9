"""A believable year at volume, for benchmarks and capacity planning: ``flask demo volume``.

``city`` ≈ 3,000 organisations, 10,000 listings and 50,000 ledger entries; ``province`` is
16 times that (≈ 800,000 entries). Reproducible: the same ``--seed`` gives the same data.
Names come from the word lists in ``volume.yaml`` beside this file.

The year's trade goes through the ledger's bulk path (``ledger.services.append_many``:
validated and hash-chained like every entry, in chunks): innovation-voucher services (the
enterprise's card payment, then the redemption with the province's 60 % and the city's 30 %),
instrument bookings (payment, then completion), registered technology contracts (some
brokered, some repeated assignments of one achievement), monthly lease fees of financially
leased instruments, and refunds and cancellations of a few of them. Organisations and
listings, which have no bulk service, are inserted as rows (published listings; run
``flask search reindex`` afterwards). The claims of the year are then drafted once, in full.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml
from sqlalchemy import func, select

from marketplace.accounts import credit_code
from marketplace.accounts.models import Organization
from marketplace.core.money import fen_to_str
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.listings.models import FIELDS, Listing

WORDS = yaml.safe_load((Path(__file__).with_name("volume.yaml")).read_text(encoding="utf-8"))
CODE_PREFIX = "91371500MW"  # 10 characters + a 7-digit counter = the 17 before the check character

# Per ``city`` unit; ``province`` multiplies by 16.
SCALES = {"city": 1, "province": 16}
PER_CITY = {"organizations": 3000, "listings": 10_000, "vouchers": 15_000, "bookings": 4_000, "contracts": 3_000,
            "leased_instruments": 300}


@dataclass
class Plan:
    scale: str
    year: int
    seed: int
    counts: dict = field(default_factory=dict)

    @classmethod
    def of(cls, scale: str, year: int, seed: int) -> "Plan":
        k = SCALES[scale]
        return cls(scale, year, seed, {name: n * k for name, n in PER_CITY.items()})

    @property
    def ledger_entries(self) -> int:
        c = self.counts
        return 2 * (c["vouchers"] + c["bookings"] + c["contracts"]) + 12 * c["leased_instruments"]


def already_loaded() -> bool:
    return db.session.scalar(select(func.count()).select_from(Organization)
                             .where(Organization.credit_code.like(CODE_PREFIX + "%"))) > 0


# --- organisations and listings --------------------------------------------------------------------

def _name(rnd: random.Random, kind: str, county: str) -> str:
    w = rnd.choice(WORDS["trade_words"])
    if kind == "enterprise":
        return f"{county}{w}{rnd.choice(WORDS['industries'])}{rnd.choice(WORDS['enterprise_suffix'])}"
    if kind == "agency":
        return f"{county}{w}{rnd.choice(WORDS['agency_kinds'])}"
    if kind in ("university", "institute"):
        return f"{county}{w}{rnd.choice(WORDS['university_kinds'])}"
    return f"{county}{w}{rnd.choice(WORDS['maker_kinds'])}"


def organizations(rnd: random.Random, n: int) -> list[dict]:
    """``n`` organisations: 80 % enterprises (most small or micro), 6 % service agencies (some
    filed transfer agencies), 2 % universities and institutes, 2 % maker teams; one in twenty
    registered outside Liaocheng (a province is sixteen cities: its parties stay "outside")."""
    rows = []
    now = utcnow()
    for i in range(n):
        r = rnd.random()
        kind = ("enterprise" if r < 0.88 else "agency" if r < 0.95 else "university" if r < 0.97
                else "institute" if r < 0.98 else "maker_team")
        in_city = rnd.random() >= 0.05
        county = rnd.choice(WORDS["counties"]) if in_city else rnd.choice(WORDS["cities"])
        row = {"name": _name(rnd, kind, county), "kind": kind, "county": county if in_city else None,
               "in_city": in_city, "credit_code": credit_code.make(f"{CODE_PREFIX}{i + 1:07d}"),
               "size": None, "transfer_agency_level": None, "service_agency": False, "host_level": None,
               "description": "", "created_at": now, "verified_at": now}
        if kind == "enterprise":
            row["size"] = rnd.choices(["micro", "small", "medium", "large"], [35, 40, 17, 8])[0]
        elif kind == "agency":
            row["service_agency"] = True
            if rnd.random() < 0.3:
                row["transfer_agency_level"] = rnd.choices(["city", "provincial", "national"], [80, 15, 5])[0]
        elif kind == "maker_team":
            row["host_level"] = rnd.choice(["city", "provincial", "national"])
        rows.append(row)
    return rows


def listings(rnd: random.Random, n: int, orgs: list[dict], ids: dict[str, int]) -> list[dict]:
    by_kind: dict[str, list[dict]] = {}
    for o in orgs:
        by_kind.setdefault(o["kind"], []).append(o)
    labs = by_kind.get("agency", []) + by_kind.get("university", []) + by_kind.get("institute", [])
    now = utcnow()
    rows = []
    for _ in range(n):
        r = rnd.random()
        kind = "service" if r < 0.5 else "achievement" if r < 0.8 else "instrument" if r < 0.95 else "demand"
        if kind == "service":
            owner, title = rnd.choice(by_kind["agency"]), rnd.choice(WORDS["service_titles"])
        elif kind == "achievement":
            owner = rnd.choice(by_kind.get("university", []) + by_kind.get("institute", []))
            title = rnd.choice(WORDS["achievement_titles"])
        elif kind == "instrument":
            owner, title = rnd.choice(labs), rnd.choice(WORDS["instrument_titles"])
        else:
            owner, title = rnd.choice(by_kind["enterprise"]), rnd.choice(WORDS["demand_titles"])
        row = {"kind": kind, "organization_id": ids[owner["credit_code"]], "title": title,
               "description": f"{owner['name']}：{title}", "field": rnd.choice(FIELDS), "county": owner["county"],
               "status": "published", "price_fen": rnd.choice([50_000, 200_000, 800_000, 5_000_000]) * 100,
               "negotiable": rnd.random() < 0.3, "created_at": now, "published_at": now,
               "financing_lease": False, "on_sharing_platform": False,
               # every row names the same columns: one executemany chunk may mix kinds
               "price_unit": None, "internal_price_fen": None, "open_from_hour": None, "open_to_hour": None}
        if kind == "instrument":
            row.update(price_unit="hour", internal_price_fen=row["price_fen"] // 2, open_from_hour=8, open_to_hour=18,
                       financing_lease=rnd.random() < 0.3, on_sharing_platform=rnd.random() < 0.7)
        rows.append(row)
    return rows


# --- the year's ledger -----------------------------------------------------------------------------

def _fee(rnd: random.Random) -> int:
    """A service fee in fen: mostly a few thousand yuan, now and then a large test programme."""
    return int(rnd.lognormvariate(9.2, 1.0)) * 100 + rnd.choice([0, 50])


def _split(fee: int) -> tuple[int, int, int]:
    province = (fee * 6 + 5) // 10
    city = (fee * 3 + 5) // 10
    return province, city, fee - province - city


def ledger_entries(rnd: random.Random, plan: Plan, orgs: list[dict], first_seq: int):
    """The year's entries in date order, as ``append_many`` takes them; ``first_seq`` is the seq
    the first will get (refunds name the seq of what they correct)."""
    year, c = plan.year, plan.counts
    enterprises = [o for o in orgs if o["kind"] == "enterprise"]
    agencies = [o for o in orgs if o["kind"] == "agency"]
    sellers = [o for o in orgs if o["kind"] in ("university", "institute")] + rnd.sample(enterprises, 50)
    brokers = [o for o in agencies if o["transfer_agency_level"]] or agencies
    labs = agencies + [o for o in orgs if o["kind"] in ("university", "institute")]
    leased = [(rnd.choice(labs), f"INS-W{i + 1}") for i in range(c["leased_instruments"])]
    instruments = leased + [(rnd.choice(labs), f"INS-W{len(leased) + i + 1}") for i in range(len(leased) * 2)]
    # some busy agencies, a long tail of quiet ones (the busiest sells a few per cent of the
    # city's vouchers; a province has more agencies, not larger ones)
    agency_weights = [rnd.lognormvariate(0, 1.0) for _ in agencies]
    days = (date(year, 12, 31) - date(year, 1, 1)).days + 1

    events: list[list] = [[] for _ in range(days)]  # per day: (kind, args)
    for n in range(c["vouchers"]):
        events[rnd.randrange(days)].append(("voucher", n))
    for n in range(c["bookings"]):
        events[rnd.randrange(days)].append(("booking", n))
    for n in range(c["contracts"]):
        events[rnd.randrange(days)].append(("contract", n))
    for month in range(12):
        day = (date(year, month + 1, 25) - date(year, 1, 1)).days
        for i in range(len(leased)):
            events[day].append(("lease", (i, month)))

    seq = first_seq
    projects: list[str] = []
    later: dict[int, list] = {}  # day -> corrections (kind, ref, amount, seq corrected)
    code = {id(o): o["credit_code"] for o in orgs}
    for d in range(days):
        on = date(year, 1, 1) + timedelta(days=d)
        for kind, ref, amount, target in later.pop(d, ()):
            yield (kind, ref, on, amount, {"reason": "服务未完成，已退款" if kind == "refund" else "合同解除",
                                           "amount": fen_to_str(amount)}, target)
            seq += 1
        rnd.shuffle(events[d])
        for what, arg in events[d]:
            if what == "voucher":
                buyer = rnd.choice(enterprises)
                provider = rnd.choices(agencies, agency_weights)[0]
                fee = _fee(rnd)
                province, city, enterprise = _split(fee)
                ref = f"VCH-W{arg + 1}"
                yield ("payment", ref, on, enterprise, {"payer": code[id(buyer)], "payee": code[id(provider)],
                                                        "amount": fen_to_str(enterprise), "method": "card",
                                                        "gateway_id": f"pi_w{arg + 1}"}, None)
                yield ("voucher_redemption", ref, on, fee, {
                    "buyer": code[id(buyer)], "provider": code[id(provider)], "amount": fen_to_str(fee),
                    "province": fen_to_str(province), "city": fen_to_str(city),
                    "enterprise": fen_to_str(enterprise), "order_ref": f"ORD-W{arg + 1}"}, None)
                seq += 2
                if rnd.random() < 0.02 and d + 7 < days:  # the card payment refunded: the voucher with it
                    later.setdefault(d + rnd.randint(1, 7), []).append(("refund", ref, enterprise, seq - 2))
            elif what == "booking":
                owner, instrument = rnd.choice(instruments)
                customer = rnd.choice(enterprises)
                fee = rnd.choice([200, 400, 800, 1500, 3000]) * 100 * rnd.randint(1, 8)
                ref = f"BKG-W{arg + 1}"
                yield ("payment", ref, on, fee, {"payer": code[id(customer)], "payee": code[id(owner)],
                                                 "amount": fen_to_str(fee), "method": "card",
                                                 "gateway_id": f"pi_wb{arg + 1}"}, None)
                yield ("booking_completed", ref, on, fee, {"provider": code[id(owner)], "customer": code[id(customer)],
                                                           "instrument": instrument, "amount": fen_to_str(fee)}, None)
                seq += 2
                if rnd.random() < 0.01 and d + 7 < days:
                    later.setdefault(d + rnd.randint(1, 7), []).append(("refund", ref, fee, seq - 2))
            elif what == "contract":
                seller, buyer = rnd.choice(sellers), rnd.choice(enterprises)
                ctype = rnd.choices(["development", "transfer", "consulting", "service"], [35, 30, 15, 20])[0]
                price = rnd.choice([5, 10, 20, 50, 80, 120, 300]) * 10_000_00 + rnd.randint(0, 99) * 100_00
                project = None
                if ctype == "transfer":
                    if projects and rnd.random() < 0.1:
                        project = rnd.choice(projects)  # the same achievement sold on again
                    else:
                        project = f"ACH-W{len(projects) + 1}"
                        projects.append(project)
                broker = rnd.choice(brokers) if rnd.random() < 0.25 else None
                ref = f"CTR-W{arg + 1}"
                payload = {"contract_type": ctype, "seller": code[id(seller)], "buyer": code[id(buyer)],
                           "amount": fen_to_str(price), "registration_no": f"{year}3715W{arg + 1:07d}",
                           "registered_on": on.isoformat(), "project": project,
                           "broker": code[id(broker)] if broker else None, "transformed_in_city": rnd.random() < 0.8}
                if ctype == "transfer":
                    payload["transfer_kind"] = "licence" if rnd.random() < 0.3 else "assignment"
                yield ("contract_registered", ref, on, price, payload, None)
                yield ("payment", ref, on, price, {"payer": code[id(buyer)], "payee": code[id(seller)],
                                                   "amount": fen_to_str(price), "method": "card",
                                                   "gateway_id": f"pi_wc{arg + 1}"}, None)
                seq += 2
                if rnd.random() < 0.01 and d + 7 < days:
                    later.setdefault(d + rnd.randint(1, 7), []).append(("cancellation", ref, price, seq - 2))
            else:  # a month's lease fee of a financially leased instrument
                i, month = arg
                lessee, instrument = leased[i]
                fee = rnd.choice([8_000, 12_000, 20_000, 35_000]) * 100
                yield ("lease_fee", f"LSE-W{i + 1}-{month + 1:02d}", on, fee, {
                    "lessee": code[id(lessee)], "instrument": instrument, "amount": fen_to_str(fee),
                    "financing_lease": True, "on_sharing_platform": rnd.random() < 0.9}, None)
                seq += 1


# --- the whole load --------------------------------------------------------------------------------

def load(scale: str, year: int, seed: int = 2025, echo=print, bar=None) -> dict:
    """Generate ``scale``'s year into the database; returns what was made. ``bar(length, label)``
    makes a progress bar (a context manager with ``update(n)``), e.g. ``click.progressbar``."""
    from marketplace.claims import drafting
    from marketplace.core.uow import unit_of_work
    from marketplace.ledger.services import append_many, head

    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    if already_loaded():
        raise RuntimeError("volume data is already loaded in this database")
    plan = Plan.of(scale, year, seed)
    rnd = random.Random(seed)
    bar = bar or _no_bar

    orgs = organizations(rnd, plan.counts["organizations"])
    with unit_of_work():
        with bar(len(orgs), "organisations") as b:
            for i in range(0, len(orgs), 2000):
                db.session.execute(Organization.__table__.insert(), orgs[i:i + 2000])
                b.update(len(orgs[i:i + 2000]))
    ids = dict(db.session.execute(select(Organization.credit_code, Organization.id)
                                  .where(Organization.credit_code.like(CODE_PREFIX + "%"))).tuples().all())
    rows = listings(rnd, plan.counts["listings"], orgs, ids)
    with unit_of_work():
        with bar(len(rows), "listings") as b:
            for i in range(0, len(rows), 2000):
                db.session.execute(Listing.__table__.insert(), rows[i:i + 2000])
                b.update(len(rows[i:i + 2000]))
    with unit_of_work():
        first = head()[0] + 1
        with bar(plan.ledger_entries + plan.counts["vouchers"] // 40, "ledger") as b:
            entries = append_many(ledger_entries(rnd, plan, orgs, first), progress=b.update)
    groups, _scenario = drafting.engine_groups(year)
    with bar(drafting.steps(year, groups), f"claims {year}") as b:
        counts = drafting.recompute_year(year, progress=b.update, groups=groups)
    drafting.clear_pending({year})
    made = {"scale": scale, "year": year, "seed": seed, "organizations": len(orgs), "listings": len(rows),
            "ledger_entries": entries, "claims": counts}
    echo(f"volume {scale} {year} (seed {seed}): {len(orgs)} organisations, {len(rows)} listings, "
         f"{entries} ledger entries; claims {counts}; run `flask search reindex` to index the listings")
    return made


class _no_bar:
    def __init__(self, length, label):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass
