"""The scenario of SCENARIO.md: organisations and their transactions, validated.

Bad input raises ``ScenarioError(transaction_id, field, message)``; its ``str``
is the one line the CLI prints (``transaction T1: field amount: must not be
negative: '-5'``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Iterable, Mapping

from .money import AmountError, fen_to_decimal, parse_amount

ORG_KINDS = frozenset({"university", "institute", "enterprise", "agency", "incubator", "park", "maker_team"})
SIZES = frozenset({"large", "medium", "small", "micro"})
AGENCY_LEVELS = frozenset({"city", "provincial", "national"})
HOST_LEVELS = frozenset({"city", "county", "provincial", "national"})
CONTRACT_TYPES = frozenset({"development", "transfer", "consulting", "service"})
STATUSES = frozenset({"paid", "refunded", "cancelled"})
TRANSFER_KINDS = frozenset({"assignment", "licence"})  # 转让 (the right changes hands) / 许可
TRANSACTION_TYPES = ("tech_contract", "voucher_service", "instrument_lease", "instrument_service")


def _one_of(value, allowed) -> bool:
    """``value in allowed`` for a string; anything else (a list, an object, a number) is not."""
    return value.__class__ is str and value in allowed


def _shown(value) -> str:
    """A bad value as the one-line error shows it: JSON spelling, at most 40 characters."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


class ScenarioError(ValueError):
    """Bad input: which transaction (or organisation), which field, what is wrong."""

    def __init__(self, transaction_id, field: str, message: str, *, subject: str = "transaction"):
        self.transaction_id = transaction_id
        self.field = field
        self.message = message
        self.subject = subject
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.subject == "scenario":
            where = "scenario"
        elif self.transaction_id is None:
            where = f"{self.subject} (no id)"
        else:
            where = f"{self.subject} {self.transaction_id}"
        return " ".join(f"{where}: field {self.field}: {self.message}".split())


@dataclass(frozen=True)
class Organization:
    id: str
    kind: str
    in_city: bool
    name: str = ""
    size: str | None = None
    transfer_agency_level: str | None = None
    service_agency: bool = False
    provincial_service_reward: Decimal = Decimal("0.00")
    host_level: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping) -> "Organization":
        if isinstance(d, Organization):
            return d
        if not isinstance(d, Mapping):
            raise ScenarioError(None, "organizations", "each organisation must be an object", subject="organization")
        oid = d.get("id")
        if not isinstance(oid, str) or not oid:
            raise ScenarioError(None, "id", "missing or not a string", subject="organization")

        def err(f, m):
            return ScenarioError(oid, f, m, subject="organization")

        kind = d.get("kind")
        if kind is None:
            raise err("kind", "missing")
        if not _one_of(kind, ORG_KINDS):
            raise err("kind", f"unknown kind {_shown(kind)} (one of {', '.join(sorted(ORG_KINDS))})")
        if "in_city" not in d:
            raise err("in_city", "missing")
        in_city = d["in_city"]
        if not isinstance(in_city, bool):
            raise err("in_city", f"must be true or false, not {_shown(in_city)}")
        size = d.get("size")
        if size is not None and not _one_of(size, SIZES):
            raise err("size", f"unknown size {_shown(size)} (one of large, medium, small, micro)")
        level = d.get("transfer_agency_level")
        if level is not None and not _one_of(level, AGENCY_LEVELS):
            raise err("transfer_agency_level", f"unknown level {_shown(level)} (city, provincial or national)")
        service_agency = d.get("service_agency", False)
        if not isinstance(service_agency, bool):
            raise err("service_agency", f"must be true or false, not {_shown(service_agency)}")
        host = d.get("host_level")
        if host is not None and not _one_of(host, HOST_LEVELS):
            raise err("host_level", f"unknown level {_shown(host)} (one of {', '.join(sorted(HOST_LEVELS))})")
        reward_raw = d.get("provincial_service_reward")
        try:
            reward = fen_to_decimal(parse_amount(reward_raw)) if reward_raw is not None else Decimal("0.00")
        except AmountError as exc:
            raise err("provincial_service_reward", str(exc)) from None
        name = d.get("name")
        if name is not None and not isinstance(name, str):
            raise err("name", f"must be a string, not {_shown(name)}")
        return cls(
            id=oid, kind=kind, in_city=in_city, name=(name or "").strip(),
            size=size, transfer_agency_level=level, service_agency=service_agency,
            provincial_service_reward=reward, host_level=host,
        )


@dataclass(slots=True)
class Transaction:
    """One validated transaction. ``amount_fen`` is the amount in integer fen.

    ``date`` is the ISO date that places the transaction in a year: the
    registration date (认定登记日期) of a registered technology contract, else
    its ``date``. ``year`` is ``None`` for an unregistered contract without date.
    """

    id: str
    type: str
    amount_fen: int
    status: str
    date: str | None
    year: int | None
    contract_type: str | None = None
    seller: str | None = None
    buyer: str | None = None
    registration_no: str | None = None  # 认定登记编号
    transfer_kind: str | None = None  # transfer contracts: "assignment" (转让) or "licence" (许可)
    project: str | None = None
    broker: str | None = None
    transformed_in_city: bool = False
    provider: str | None = None
    customer: str | None = None
    lessee: str | None = None
    instrument: str | None = None
    financing_lease: bool = False
    on_sharing_platform: bool = False

    @property
    def amount(self) -> Decimal:
        return fen_to_decimal(self.amount_fen)


def _date_field(d, tid, name, required=True):
    v = d.get(name)
    if v is None:
        if required:
            raise ScenarioError(tid, name, "missing")
        return None
    if v.__class__ is str and v in _VALID_DATES:  # fast path: a city-year has a few hundred distinct dates
        return v
    if isinstance(v, date):
        return v.isoformat()
    if not isinstance(v, str) or len(v) != 10 or v[4] != "-" or v[7] != "-":
        raise ScenarioError(tid, name, f"not a date (YYYY-MM-DD): {_shown(v)}")
    try:
        date.fromisoformat(v)
    except ValueError:
        raise ScenarioError(tid, name, f"not a date (YYYY-MM-DD): {_shown(v)}") from None
    if len(_VALID_DATES) < 20_000:
        _VALID_DATES.add(v)
    return v


_VALID_DATES: set[str] = set()


def _org_field(d, tid, name, orgs):
    v = d.get(name)
    if v is None:
        raise ScenarioError(tid, name, "missing")
    if v.__class__ is not str or v not in orgs:
        raise ScenarioError(tid, name, f"unknown organisation {_shown(v)}")
    return v


def _str_field(d, tid, name, required=True):
    v = d.get(name)
    if v is None:
        if required:
            raise ScenarioError(tid, name, "missing")
        return None
    if not isinstance(v, str) or not v:
        raise ScenarioError(tid, name, f"must be a non-empty string, not {_shown(v)}")
    return v


def _bool_field(d, tid, name):
    v = d.get(name, False)
    if v is None:
        return False
    if v is not True and v is not False:
        raise ScenarioError(tid, name, f"must be true or false, not {_shown(v)}")
    return v


def parse_transaction(d, orgs: Mapping[str, Organization]) -> Transaction:
    """Validate one transaction (a JSON object) against the organisations."""
    if d.__class__ is Transaction:
        return d
    if d.__class__ is not dict and not isinstance(d, Mapping):
        raise ScenarioError(None, "transactions", "each transaction must be an object")
    tid = d.get("id")
    if tid is None:
        raise ScenarioError(None, "id", "missing")
    if tid.__class__ is not str:
        if isinstance(tid, int) and not isinstance(tid, bool):
            tid = str(tid)
        else:
            raise ScenarioError(None, "id", f"must be a string, not {_shown(tid)}")
    ttype = d.get("type")
    if ttype is None:
        raise ScenarioError(tid, "type", "missing")
    raw = d.get("amount")
    if raw is None:
        raise ScenarioError(tid, "amount", "missing")
    try:
        fen = parse_amount(raw)
    except AmountError as exc:
        raise ScenarioError(tid, "amount", str(exc)) from None
    status = d.get("status", "paid")
    if status.__class__ is not str or status not in STATUSES:
        raise ScenarioError(tid, "status", f"unknown status {_shown(status)} (paid, refunded or cancelled)")

    if ttype == "voucher_service":
        buyer = _org_field(d, tid, "buyer", orgs)
        provider = _org_field(d, tid, "provider", orgs)
        day = _date_field(d, tid, "date")
        return Transaction(tid, ttype, fen, status, day, int(day[:4]), buyer=buyer, provider=provider)
    if ttype == "instrument_service":
        provider = _org_field(d, tid, "provider", orgs)
        customer = _org_field(d, tid, "customer", orgs)
        instrument = _str_field(d, tid, "instrument")
        day = _date_field(d, tid, "date")
        return Transaction(tid, ttype, fen, status, day, int(day[:4]), provider=provider,
                           customer=customer, instrument=instrument)
    if ttype == "tech_contract":
        ctype = d.get("contract_type")
        if ctype is None:
            raise ScenarioError(tid, "contract_type", "missing")
        if not _one_of(ctype, CONTRACT_TYPES):
            raise ScenarioError(tid, "contract_type",
                                f"unknown contract type {_shown(ctype)} (development, transfer, consulting or service)")
        seller = _org_field(d, tid, "seller", orgs)
        buyer = _org_field(d, tid, "buyer", orgs)
        reg = d.get("registration_no")
        if reg is not None:
            if isinstance(reg, int) and not isinstance(reg, bool):
                reg = str(reg)
            elif not isinstance(reg, str):
                raise ScenarioError(tid, "registration_no", f"must be a string or null, not {_shown(reg)}")
            reg = reg.strip() or None
        if reg is not None:
            day = _date_field(d, tid, "registered_on")
        else:
            day = _date_field(d, tid, "registered_on", required=False) or _date_field(d, tid, "date", required=False)
        broker = d.get("broker")
        if broker is not None:
            broker = _org_field(d, tid, "broker", orgs)
        kind = d.get("transfer_kind")
        if kind is not None and not _one_of(kind, TRANSFER_KINDS):
            raise ScenarioError(tid, "transfer_kind", f"unknown transfer kind {_shown(kind)} (assignment or licence)")
        if ctype == "transfer":
            kind = kind or "assignment"
        elif kind is not None:
            raise ScenarioError(tid, "transfer_kind", f"only a transfer contract has a transfer kind, not a {ctype} contract")
        return Transaction(
            tid, ttype, fen, status, day, int(day[:4]) if day else None,
            contract_type=ctype, seller=seller, buyer=buyer, registration_no=reg, transfer_kind=kind,
            project=_str_field(d, tid, "project", required=False), broker=broker,
            transformed_in_city=_bool_field(d, tid, "transformed_in_city"),
        )
    if ttype == "instrument_lease":
        lessee = _org_field(d, tid, "lessee", orgs)
        instrument = _str_field(d, tid, "instrument")
        day = _date_field(d, tid, "date")
        return Transaction(tid, ttype, fen, status, day, int(day[:4]), lessee=lessee, instrument=instrument,
                           financing_lease=_bool_field(d, tid, "financing_lease"),
                           on_sharing_platform=_bool_field(d, tid, "on_sharing_platform"))
    raise ScenarioError(tid, "type", f"unknown type {_shown(ttype)} (one of {', '.join(TRANSACTION_TYPES)})")


def parse_year(value) -> int:
    if value is None:
        raise ScenarioError(None, "year", "missing", subject="scenario")
    if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 9999:
        raise ScenarioError(None, "year", f"must be a four-digit integer year, not {_shown(value)}", subject="scenario")
    return value


def parse_organizations(items) -> dict[str, Organization]:
    if items is None:
        raise ScenarioError(None, "organizations", "missing", subject="scenario")
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise ScenarioError(None, "organizations", "must be a list", subject="scenario")
    orgs: dict[str, Organization] = {}
    for item in items:
        org = Organization.from_dict(item)
        if org.id in orgs:
            raise ScenarioError(org.id, "id", "duplicate organisation id", subject="organization")
        orgs[org.id] = org
    return orgs


@dataclass
class Scenario:
    """A validated scenario: the year, organisations by id, transactions."""

    year: int
    organizations: dict[str, Organization]
    transactions: list[Transaction] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: Mapping) -> "Scenario":
        if not isinstance(d, Mapping):
            raise ScenarioError(None, "(top level)", "the scenario must be a JSON object", subject="scenario")
        year = parse_year(d.get("year"))
        orgs = parse_organizations(d.get("organizations"))
        items = d.get("transactions")
        if items is None:
            raise ScenarioError(None, "transactions", "missing", subject="scenario")
        if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
            raise ScenarioError(None, "transactions", "must be a list", subject="scenario")
        txns: list[Transaction] = []
        seen: set[str] = set()
        for item in items:
            t = parse_transaction(item, orgs)
            if t.id in seen:
                raise ScenarioError(t.id, "id", "duplicate transaction id")
            seen.add(t.id)
            txns.append(t)
        return cls(year=year, organizations=orgs, transactions=txns)
