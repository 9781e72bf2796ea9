"""A year of trade among the generated organisations, replayed through the real services in
the order it happened (each step frozen at its own moment): innovation vouchers applied for,
issued, spent on services and instrument time, delivered, accepted, disputed or accepted
automatically, refunded; technology contracts bought, paid and registered (认定登记), some
brokered; instrument bookings (customers' and the owners' own use), a few cancelled or
refunded; lease fees of financially leased instruments; the city paying each month's voucher
batch. How much of each is in ``data/trade.yaml``; the draw is seeded, so it is reproducible.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable

from sqlalchemy import select

from marketplace.core.errors import ServiceError
from marketplace.core.timeutil import frozen_at
from marketplace.demo.city import data
from marketplace.extensions import db
from marketplace.listings.models import Listing, ListingStatus
from marketplace.orders import services as orders
from marketplace.payments import services as payments
from marketplace.vouchers import services as vouchers
from marketplace.vouchers.models import RedemptionBatch

REVIEWER, FINANCE = "reviewer@kjj.liaocheng.demo", "finance@czj.liaocheng.demo"
REPORT = b"%PDF-1.4\n% test report\n"
PROVINCE_AND_CITY = 0.9  # the public share of a voucher purchase (60 % + 30 %)


@dataclass
class Plan:
    """Steps of the year: (moment in UTC, order of planning, what to do)."""
    steps: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    def at(self, when: datetime, fn: Callable[[], None]) -> None:
        self.steps.append((when, len(self.steps), fn))

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def run(self) -> None:
        for when, _, fn in sorted(self.steps, key=lambda s: (s[0], s[1])):
            with frozen_at(when):
                fn()


def _day(rnd: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rnd.randrange(max(1, (end - start).days)))


def _office(day: date, hour: int = 2) -> datetime:
    """``hour`` UTC of a day: 10:00 in Beijing by default."""
    return datetime(day.year, day.month, day.day, hour)


def _published(org_ids, kind: str) -> list[Listing]:
    return list(db.session.scalars(select(Listing).where(
        Listing.organization_id.in_(org_ids), Listing.kind == kind, Listing.status == ListingStatus.PUBLISHED)
        .order_by(Listing.id)))


class Year:
    def __init__(self, context: dict, year: int):
        self.year = year
        self.rnd = random.Random(data("trade")["seed"])
        self.size = data("trade")["year"]
        self.u = context["users"]
        self.reviewer, self.finance = self.u[REVIEWER], self.u[FINANCE]
        specs = context["generated"]
        self.user_of = {s["org"].id: s["user"] for s in specs}
        self.org_of = {s["org"].id: s["org"] for s in specs}
        enterprises = [s for s in specs if s["kind"] == "enterprise"]
        self.voucher_buyers = [s for s in enterprises if s["size"] != "large"] + \
            [s for s in specs if s["kind"] == "maker_team" and s["host_level"] in ("provincial", "national")]
        self.enterprises = enterprises
        agencies = [s["org"].id for s in specs if s.get("service_agency")]
        self.services = [x for x in _published(agencies, "service") if x.price_fen and x.price_fen <= 6_000_000]
        owners = list(self.org_of)
        self.instruments = _published(owners, "instrument")
        self.agency_instruments = [x for x in self.instruments if x.organization_id in set(agencies)]
        self.achievements = [x for x in _published(owners + [context["organizations"][k].id for k in ("lcu", "nky")],
                                                   "achievement")
                             if x.price_fen and not x.negotiable and x.created_at.year < year]
        self.seller_user = dict(self.user_of)
        for key, email in (("lcu", "tech-transfer@lcu.liaocheng.demo"), ("nky", "office@nky.liaocheng.demo")):
            self.seller_user[context["organizations"][key].id] = self.u[email]
        self.brokers = [s["org"] for s in specs if s.get("transfer_agency_level")] + \
            [context["organizations"][k] for k in ("zyzx", "sdzy")]
        self.slots: set[tuple[int, date]] = set()
        self.plan = Plan()
        self.registration = 100

    # --- vouchers ---------------------------------------------------------------------------

    def vouchers(self) -> None:
        rnd, y, n = self.rnd, self.year, self.size
        applicants = rnd.sample(self.voucher_buyers, min(n["voucher_applicants"], len(self.voucher_buyers)))
        for spec in applicants:
            user = spec["user"]
            uses = []
            for _ in range(rnd.choice((1, 1, 2, 2, 3))):
                kind = "booking" if self.agency_instruments and rnd.random() < 0.25 else "service"
                listing = rnd.choice(self.agency_instruments if kind == "booking" else self.services)
                uses.append((kind, listing, self._price(kind, listing)))
            applied = _day(rnd, date(y, 1, 5), date(y, 4, 20))
            decided = applied + timedelta(days=rnd.randrange(3, 12))
            outcome = rnd.choices(("approve", "reject", "material"), weights=(86, 7, 7))[0]
            planned = sum(size[0] for _, _, size in uses)
            amount = max(1, math.ceil(planned * PROVINCE_AND_CITY * 1.15 / 1_000_000)) * 1_000_000
            purpose = self._purpose(uses)
            state: dict = {}
            self.plan.at(_office(applied), lambda user=user, amount=amount, purpose=purpose, state=state:
                         state.update(app=vouchers.apply(user, y, amount, purpose)))
            self.plan.count("voucher_applications")
            if outcome == "reject":
                self.plan.at(_office(decided), lambda state=state: vouchers.decide_application(
                    self.reviewer, state["app"].id, "reject", None,
                    self.rnd.choice(("申请单位上年度研发投入为零，不符合申领条件。",
                                     "服务内容属于日常生产检验，不属于创新券支持范围。"))))
                self.plan.count("vouchers_rejected")
                continue
            if outcome == "material":
                self.plan.at(_office(decided), lambda state=state: vouchers.decide_application(
                    self.reviewer, state["app"].id, "material", None, "请补充服务机构报价单和拟开展项目的技术方案。"))
                self.plan.count("vouchers_material_requested")
                continue
            self.plan.at(_office(decided), lambda state=state, amount=amount: vouchers.decide_application(
                self.reviewer, state["app"].id, "approve", amount))
            self.plan.count("vouchers_issued")
            start = decided + timedelta(days=7)
            for kind, listing, size in uses:
                when = _day(rnd, start, date(y, 11, 25))
                if kind == "service":
                    self._voucher_service(user, listing, when)
                else:
                    self._booking(user, listing, when, voucher=True, size=size)

    def _price(self, kind: str, listing: Listing) -> tuple[int, int, int | None]:
        """(amount, hours, samples) of a purchase of ``listing``."""
        if kind == "service":
            return listing.price_fen, 0, None
        if listing.price_unit == "sample":
            samples = self.rnd.randrange(4, 30)
            return listing.price_fen * samples, 1, samples
        hours = self.rnd.randrange(2, min(8, listing.open_to_hour - listing.open_from_hour) + 1)
        return listing.price_fen * hours, hours, None

    def _purpose(self, uses) -> str:
        titles = "、".join(dict.fromkeys(x.title for _, x, _ in uses))
        return f"委托{titles}，用于新产品研发和工艺改进。"

    def _voucher_service(self, user, listing: Listing, when: date) -> None:
        rnd, state = self.rnd, {}
        provider = self.user_of[listing.organization_id]
        outcome = rnd.choices(("accept", "dispute", "auto", "refund"), weights=(80, 6, 8, 6))[0]
        self.plan.at(_office(when), lambda: state.update(order=self._pay(
            user, lambda: orders.order_service(user, listing.id, with_voucher=True))))
        self.plan.count("voucher_orders")
        if outcome == "refund":
            self.plan.at(_office(when + timedelta(days=2)), lambda: payments.refund(
                provider, state["order"].id, rnd.choice(("客户撤回委托，样品未送达。", "客户调整检测项目，重新下单。"))))
            self.plan.count("refunds")
            return
        delivered = when + timedelta(days=rnd.randrange(3, 12))
        self.plan.at(_office(delivered, 6), lambda: vouchers.deliver(
            provider, state["order"].id, "服务已完成，报告见附件。", [("检测报告.pdf", REPORT)]))
        answered = delivered + timedelta(days=rnd.randrange(1, 6))
        if outcome == "accept":
            self.plan.at(_office(answered), lambda: (vouchers.accept(user, state["order"].id),
                                                     vouchers.rate(user, state["order"].id, rnd.choice((4, 5, 5, 5)),
                                                                   rnd.choice(("报告规范，出具及时。", "服务周到，数据可靠。",
                                                                               "沟通顺畅，比预期提前完成。")))))
        elif outcome == "dispute":
            self.plan.at(_office(answered), lambda: vouchers.dispute(
                user, state["order"].id, rnd.choice(("报告缺少样品编号和检测依据，请补充。", "检测项目少于委托单所列项目。"))))
            self.plan.count("disputes")
            if rnd.random() < 0.5:  # the provider put it right; the buyer accepts
                self.plan.at(_office(answered + timedelta(days=8)), lambda: vouchers.accept(user, state["order"].id))
        else:
            self.plan.count("auto_accepted")

    def _pay(self, user, make):
        order = make()
        payments.checkout(user, order.id)
        return order

    # --- instrument bookings ----------------------------------------------------------------

    def _free_day(self, instrument: Listing, day: date) -> date:
        while (instrument.id, day) in self.slots or day.weekday() == 6:
            day += timedelta(days=1)
        self.slots.add((instrument.id, day))
        return day

    def _booking(self, user, instrument: Listing, day: date, voucher: bool = False, outcome: str = "done",
                 size: tuple | None = None) -> None:
        day = self._free_day(instrument, day)
        _, hours, samples = size or self._price("booking", instrument)
        start = datetime(day.year, day.month, day.day, instrument.open_from_hour)  # Beijing wall clock
        own = user.organization.id == instrument.organization_id
        owner = self.seller_user.get(instrument.organization_id)
        state: dict = {}

        def book():
            booking = orders.book_instrument(user, instrument.id, start, hours, samples, with_voucher=voucher)
            if booking.order_id and outcome != "unpaid":
                payments.checkout(user, booking.order_id)
            state["booking"] = booking

        self.plan.at(start - timedelta(days=3), book)
        self.plan.count("own_use_bookings" if own else "bookings")
        if outcome == "unpaid":  # changed their mind before paying
            self.plan.at(start - timedelta(days=2), lambda: orders.cancel_booking(user, state["booking"].id))
            self.plan.count("bookings_cancelled")
            return
        if outcome == "refund":
            self.plan.at(start - timedelta(days=1), lambda: payments.refund(
                owner, state["booking"].order_id, "仪器临时检修，无法按期上机，全额退款。"))
            self.plan.count("refunds")
            return
        ended = start + timedelta(hours=hours) - timedelta(hours=8)  # to UTC
        self.plan.at(ended + timedelta(hours=1), lambda: orders.complete_booking(owner, state["booking"].id))
        if not own:
            self.plan.at(ended + timedelta(days=1), lambda: vouchers.accept(user, state["booking"].order_id))

    def bookings(self) -> None:
        rnd, y, n = self.rnd, self.year, self.size
        customers = [s["user"] for s in self.enterprises]
        for i in range(n["bookings"]):
            instrument = rnd.choice(self.instruments)
            user = rnd.choice(customers)
            if user.organization.id == instrument.organization_id:
                continue
            outcome = "refund" if i % 17 == 5 else "unpaid" if i % 13 == 7 else "done"
            self._booking(user, instrument, _day(rnd, date(y, 1, 15), date(y, 12, 15)), outcome=outcome)
        for _ in range(n["own_use_bookings"]):
            instrument = rnd.choice(self.instruments)
            owner = self.seller_user.get(instrument.organization_id)
            self._booking(owner, instrument, _day(rnd, date(y, 1, 15), date(y, 12, 15)))

    # --- services without vouchers, contracts, leases, batches ----------------------------------

    def services_paid(self) -> None:
        rnd, y = self.rnd, self.year
        buyers = [s["user"] for s in self.enterprises if s["size"] in ("large", "medium")]
        for _ in range(self.size["paid_services"]):
            user, listing = rnd.choice(buyers), rnd.choice(self.services)
            when = _day(rnd, date(y, 1, 10), date(y, 12, 10))
            state: dict = {}
            self.plan.at(_office(when), lambda user=user, listing=listing, state=state: state.update(
                order=self._pay(user, lambda: orders.order_service(user, listing.id))))
            self.plan.at(_office(when + timedelta(days=rnd.randrange(5, 20))),
                         lambda user=user, state=state: orders.confirm_delivery(user, state["order"].id))
            self.plan.count("paid_services")

    def contracts(self) -> None:
        rnd, y = self.rnd, self.year
        buyers = [s["user"] for s in self.enterprises]
        chosen = rnd.sample(self.achievements, min(self.size["contracts"], len(self.achievements)))
        for listing in chosen:
            user = rnd.choice(buyers)
            mode = rnd.choice(listing.modes)
            signed = _day(rnd, date(y, 1, 20), date(y, 12, 5))
            state: dict = {}
            self.plan.at(_office(signed), lambda user=user, listing=listing, mode=mode, state=state: state.update(
                order=self._pay(user, lambda: orders.buy_achievement(user, listing.id, mode))))
            self.plan.count("contracts")
            if rnd.random() < self.size["registered_share"]:
                self.registration += 1
                number = f"{y}3715{self.registration:06d}"
                on = min(signed + timedelta(days=rnd.randrange(5, 25)), date(y, 12, 28))
                broker = rnd.choice(self.brokers) if rnd.random() < self.size["brokered_share"] else None
                seller = self.seller_user[listing.organization_id]
                self.plan.at(_office(on), lambda seller=seller, state=state, number=number, on=on, broker=broker:
                             orders.register_contract(seller, state["order"].contract.id, number, on, None,
                                                      broker.id if broker else None))
                self.plan.count("contracts_registered")
                if broker is not None:
                    self.plan.count("contracts_brokered")

    def leases(self) -> None:
        y = self.year
        for instrument in (x for x in self.instruments if x.financing_lease):
            owner = self.seller_user[instrument.organization_id]
            fee = self.rnd.randrange(20, 120) * 100_000
            for month in (6, 12):  # half-yearly instalments
                on = date(y, month, 10)
                self.plan.at(_office(on), lambda owner=owner, instrument=instrument, fee=fee, on=on:
                             orders.record_lease_payment(owner, instrument.id, fee, on))
                self.plan.count("lease_payments")

    def batches(self) -> None:
        """City finance pays each month's voucher batches ten days after the month, January to
        October; November's and December's are still open."""
        y = self.year

        def pay(month: str):
            for batch in db.session.scalars(select(RedemptionBatch).where(
                    RedemptionBatch.month == month, RedemptionBatch.status == "open")):
                vouchers.pay_batch(self.finance, batch.id)

        for m in range(1, 11):
            self.plan.at(_office(date(y, m + 1, 10)), lambda m=m: pay(f"{y}-{m:02d}"))
        for m in range(2, 13):  # the hourly sweep, as the worker runs it, once a month here
            self.plan.at(_office(date(y, m, 1), 1), vouchers.auto_accept)
        self.plan.at(datetime(y, 12, 31, 8), vouchers.auto_accept)


def load_trade(context: dict, year: int) -> dict:
    """Plan the year, then replay it; returns how many of each were made."""
    y = Year(context, year)
    for part in (y.vouchers, y.bookings, y.services_paid, y.contracts, y.leases, y.batches):
        part()
    try:
        y.plan.run()
    except ServiceError as exc:  # a plan the services refuse is a bug of the demo: say which
        raise RuntimeError(f"the demo year's trade was refused: {exc}") from exc
    return y.plan.counts


def this_year(context: dict, now: datetime) -> None:
    """The current year's voucher applications from the generated enterprises, in the last
    three weeks: most waiting for the reviewer, two asked for material."""
    if not context["generated"]:
        return
    rnd = random.Random(now.year)
    reviewer = context["users"][REVIEWER]
    buyers = [s for s in context.get("generated", []) if s["kind"] == "enterprise" and s["size"] != "large"]
    for i, spec in enumerate(rnd.sample(buyers, min(12, len(buyers)))):
        with frozen_at(now - timedelta(days=rnd.randrange(1, 21), hours=rnd.randrange(8))):
            app = vouchers.apply(spec["user"], now.year, rnd.randrange(3, 16) * 1_000_000,
                                 rnd.choice(("委托开展新产品型式检验和可靠性试验。", "委托检测原材料成分和力学性能。",
                                             "委托专利导航分析和高新技术企业认定辅导。", "共享大型仪器开展研发测试。")))
        if i < 2:
            with frozen_at(now - timedelta(hours=6)):
                vouchers.decide_application(reviewer, app.id, "material", None, "请补充服务机构报价单。")
