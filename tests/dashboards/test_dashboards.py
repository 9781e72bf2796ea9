"""The city's dashboards and the finance bureau's exports: the figures equal the ledger's,
the county indicator is the engine's, the files open with the right rows and totals, and
only the city gets in."""
import csv
import io
import json
import re
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from marketplace.accounts.models import Organization
from marketplace.audit.models import AuditEvent
from marketplace.core.timeutil import frozen_at
from marketplace.dashboards import services
from marketplace.dashboards.models import INDICATOR_COUNTIES, CountyRD
from marketplace.demo.dashboards import FIGURES
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.scenario import build_scenario
from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.payments import services as payments
from marketplace.subsidies import county_rd_indicator, evaluate
from marketplace.vouchers import services as vouchers
from tests.factories import login
from tests.voucher_helpers import REPORT, give_voucher

YEAR = 2024
KINDS = ("payment", "contract_registered", "booking_completed", "lease_fee", "voucher_redemption")


def _at(month, day, hour=10):
    return datetime(YEAR, month, day, hour)


def _published(user, kind, **data):
    defaults = {"title": f"测试{kind}", "description": "", "price_fen": 5_000_000, "negotiable": False}
    if kind == "achievement":
        defaults.update(ip_kind="invention_patent", maturity="pilot", transfer_modes=["non_exclusive_licence"])
    if kind == "instrument":
        defaults.update(price_unit="hour", price_fen=50_000, internal_price_fen=20_000, open_from_hour=8,
                        open_to_hour=18, financing_lease=True, on_sharing_platform=True)
    defaults.update(data)
    with frozen_at(_at(1, 2)):
        listing = listings.create_listing(user, kind, defaults)
        return listings.publish(user, listing.id)


@pytest.fixture()
def city(factory):
    """A small city-year traded through the real services: a voucher service, a licence with a
    registered contract, an instrument booking, a lease fee and a refunded voucher order; one
    contract of the year after, which must not count."""
    lab = factory.user("provider", kind="agency", service_agency=True, county="临清市", name="临清检测中心")
    uni = factory.user("university", kind="university", county="东昌府区", name="聊城大学")
    small = factory.user("enterprise", size="small", county="冠县")
    service = _published(lab, "service", title="液相色谱检测", price_fen=5_000_000)
    patent = _published(uni, "achievement", title="轴承钢热处理", price_fen=120_000_000)
    instrument = _published(lab, "instrument", title="扫描电镜")
    give_voucher(small.organization, year=YEAR)
    with frozen_at(_at(2, 10)):
        order = orders.order_service(small, service.id, with_voucher=True)
        payments.checkout(small, order.id)
        vouchers.deliver(lab, order.id, "完成", REPORT)
        vouchers.accept(small, order.id)
    with frozen_at(_at(3, 12)):
        bought = orders.buy_achievement(small, patent.id, "non_exclusive_licence")
        payments.checkout(small, bought.id)
    with frozen_at(_at(3, 20)):
        orders.register_contract(uni, bought.contract.id, "2024370015000123", date(YEAR, 3, 20), "transfer")
    with frozen_at(_at(4, 12)):
        booking = orders.book_instrument(small, instrument.id, _at(4, 14, 9), 2)
        payments.checkout(small, booking.order_id)
    with frozen_at(_at(4, 14, 12)):
        orders.complete_booking(lab, booking.id)
        vouchers.accept(small, booking.order_id)
    with frozen_at(_at(5, 10)):
        orders.record_lease_payment(lab, instrument.id, 3_000_000, date(YEAR, 5, 10))
    with frozen_at(_at(6, 6)):
        refunded = orders.order_service(small, service.id, with_voucher=True)
        payments.checkout(small, refunded.id)
    with frozen_at(_at(6, 9)):
        payments.refund(lab, refunded.id, "客户撤回")
    with frozen_at(datetime(YEAR + 1, 1, 5)):  # next year: not in YEAR's figures
        orders.record_lease_payment(lab, instrument.id, 1_000_000, date(YEAR + 1, 1, 5))
    return {"lab": lab, "uni": uni, "small": small}


# the kind one trade is counted as, the fullest first (a payment only when nothing else states it)
ONCE = ("contract_registered", "booking_completed", "voucher_redemption", "lease_fee", "payment")


def _inline_scripts(html: str) -> list[str]:
    """Scripts written into the page (the policy allows only the site's own files)."""
    return [t for t in re.findall(r"<script[^>]*>", html) if not re.search(r'\bsrc="/static/[\w.-]+\.js"', t)]


def _ledger_truth(year):
    """Turnover by kind, month and county computed in Python from the ledger rows: each trade
    (ref) once, as the entries of the first kind of ONCE it has anywhere in the ledger."""
    by_kind, by_month, by_county = defaultdict(int), defaultdict(int), defaultdict(int)
    county_of = {o.credit_code: (o.county if o.in_city else None) for o in db.session.scalars(select(Organization))}
    entries = [e for e in db.session.scalars(select(LedgerEntry)) if e.kind in KINDS]
    counted_as = {}
    for e in entries:
        counted_as[e.ref] = min(counted_as.get(e.ref, "payment"), e.kind, key=ONCE.index)
    for e in entries:
        if e.occurred_on.year != year or e.kind != counted_as[e.ref]:
            continue
        by_kind[e.kind] += e.amount_fen
        by_month[e.occurred_on.month] += e.amount_fen
        party = json.loads(e.payload)[services.PARTY_KEY[e.kind]]
        by_county[county_of.get(party) or services.OUTSIDE] += e.amount_fen
    return by_kind, by_month, by_county


def _fen_attr(html, element_id):
    match = re.search(rf'id="{element_id}" data-fen="(-?\d+)"', html)
    assert match, element_id
    return int(match.group(1))


def _reviewer(factory):
    return factory.user("reviewer")


# --- figures against the ledger ----------------------------------------------------------

def test_turnover_equals_the_ledger_by_kind_month_and_county(client, factory, city):
    reviewer = _reviewer(factory)
    by_kind, by_month, by_county = _ledger_truth(YEAR)
    t = services.turnover(reviewer, YEAR)
    assert {k: v for k, v in t.by_kind.items() if v} == dict(by_kind)
    assert {r.key: r.total_fen for r in t.by_month if r.total_fen} == dict(by_month)
    assert {r.key: r.total_fen for r in t.by_county} == dict(by_county)
    # The voucher service is counted for the lab (临清市), the licence for the university (东昌府区).
    assert by_county["临清市"] > 0 and by_county["东昌府区"] == 120_000_000  # the registration, not its payment too
    assert "payment" in by_kind  # the refunded order has only its payment: counted as one
    assert t.total_fen == sum(by_kind.values()) == sum(by_month.values()) == sum(by_county.values())
    assert t.corrections_fen["refund"] > 0  # the refunded order is shown, not subtracted
    assert by_kind["lease_fee"] == 3_000_000  # next year's lease fee is not in YEAR

    login(client, reviewer)
    html = client.get(f"/dashboards/?year={YEAR}").get_data(as_text=True)
    assert _fen_attr(html, "turnover-total") == t.total_fen
    for kind, fen in by_kind.items():
        assert f'data-kind="{kind}" data-fen="{fen}"' in html
    for county, fen in by_county.items():
        assert re.search(rf'data-county="{county}">.*?data-fen="{fen}"', html)


def _engine_by_clause(year):
    expected = defaultdict(int)
    for a in evaluate(build_scenario(db.session, year)).awards:
        expected[a.clause] += int(a.amount * 100)
    return dict(expected)


def _draft_claims(year):
    """Draft the year's claims from the ledger, as the claims module does after each request."""
    from marketplace.claims import drafting

    drafting.recompute_year(year)


def test_turnover_follows_a_new_entry_and_a_county_move_between_views(client, factory, city):
    """The year's sums are kept per ledger head: a new entry shows on the next view, and so
    does an organisation that moved county (its county is read at every view)."""
    from marketplace.core.uow import unit_of_work
    from marketplace.ledger import services as ledger

    reviewer = _reviewer(factory)
    before = services.turnover(reviewer, YEAR)
    lab = db.session.scalars(select(Organization).where(Organization.in_city.is_(True),
                                                        Organization.county == "临清市")).first()
    with unit_of_work():
        ledger.append("lease_fee", "LSE-CACHE-1", date(YEAR, 7, 25), 123_400, {
            "lessee": lab.credit_code, "instrument": "INS-CACHE", "amount": "1234.00", "financing_lease": True,
            "on_sharing_platform": True})
    after = services.turnover(reviewer, YEAR)
    assert after.total_fen == before.total_fen + 123_400
    assert after.by_kind["lease_fee"] == before.by_kind["lease_fee"] + 123_400
    assert services.turnover(reviewer, YEAR).total_fen == after.total_fen  # the same head: the same sums

    linqing = {r.key: r.total_fen for r in after.by_county}["临清市"]
    with unit_of_work():
        lab.county = "冠县"
    moved = {r.key: r.total_fen for r in services.turnover(reviewer, YEAR).by_county}
    assert moved.get("临清市", 0) < linqing and moved["冠县"] > 0
    by_kind, by_month, by_county = _ledger_truth(YEAR)
    assert moved == dict(by_county)


def test_a_process_keeps_the_parties_counties_for_their_max_age(client, factory, city, app, monkeypatch):
    """Within DASHBOARD_COUNTIES_MAX_AGE_SECONDS a view reuses the counties it read; a new
    ledger entry or a new organisation makes them read again, and so does their age."""
    import time

    from marketplace.core.uow import unit_of_work
    from marketplace.ledger import services as ledger

    monkeypatch.setitem(app.config, "DASHBOARD_COUNTIES_MAX_AGE_SECONDS", 3600)
    reviewer = _reviewer(factory)
    services.turnover(reviewer, YEAR)
    lab = db.session.scalars(select(Organization).where(Organization.in_city.is_(True),
                                                        Organization.county == "临清市")).first()
    before = {r.key: r.total_fen for r in services.turnover(reviewer, YEAR).by_county}
    with unit_of_work():
        lab.county = "冠县"
    assert {r.key: r.total_fen for r in services.turnover(reviewer, YEAR).by_county} == before  # kept

    factory.organization(kind="enterprise", name="新来的企业")  # a new organisation: read again
    moved = {r.key: r.total_fen for r in services.turnover(reviewer, YEAR).by_county}
    assert moved != before and moved == dict(_ledger_truth(YEAR)[2])

    with unit_of_work():
        lab.county = "临清市"
    assert {r.key: r.total_fen for r in services.turnover(reviewer, YEAR).by_county} == moved  # kept again
    with unit_of_work():  # a new ledger entry: read again
        ledger.append("lease_fee", "LSE-COUNTY-1", date(YEAR, 8, 1), 100_00, {
            "lessee": lab.credit_code, "instrument": "INS-COUNTY", "amount": "100.00", "financing_lease": True,
            "on_sharing_platform": True})
    assert {r.key: r.total_fen for r in services.turnover(reviewer, YEAR).by_county} == dict(_ledger_truth(YEAR)[2])

    with unit_of_work():
        lab.county = "冠县"
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + 3601)  # older than their max age: read again
    assert {r.key: r.total_fen for r in services.turnover(reviewer, YEAR).by_county} == dict(_ledger_truth(YEAR)[2])


def test_drafted_claims_equal_the_engine_and_the_dashboard_shows_them(client, factory, city):
    from marketplace.claims import services as claims

    _draft_claims(YEAR)
    finance = factory.user("finance")
    a = services.awards(finance, YEAR)
    assert {r.clause: r.drafted_fen for r in a.rows} == _engine_by_clause(YEAR)
    truth = claims.awards_by_clause(YEAR)
    assert {r.clause: (r.approved_fen, r.paid_fen, r.count) for r in a.rows} == {
        c: (d["approved_fen"], d["paid_fen"], d["count"]) for c, d in truth.items()}
    assert [r.clause for r in services.budgets(finance, YEAR)] == [d["clause"] for d in claims.budget_status(YEAR)]
    login(client, finance)
    html = client.get(f"/dashboards/?year={YEAR}").get_data(as_text=True)
    assert _fen_attr(html, "awards-total") == sum(d["drafted_fen"] for d in truth.values())
    for clause in truth:
        assert f'data-clause="{clause}"' in html


def test_the_demo_citys_turnover_is_the_sum_of_its_ledger(client):
    from marketplace.demo import loader

    context = loader.load_all()
    year = services.default_year()
    ledger_sum = db.session.scalar(select(func.sum(LedgerEntry.amount_fen)).where(
        LedgerEntry.kind.in_(KINDS), LedgerEntry.occurred_on.between(date(year, 1, 1), date(year, 12, 31))))
    by_kind, _, _ = _ledger_truth(year)
    once = sum(by_kind.values())
    assert ledger_sum and 0 < once < ledger_sum  # the demo's contracts are paid and registered: counted once
    login(client, context["users"]["finance@czj.liaocheng.demo"], context["password"])
    html = client.get("/dashboards/").get_data(as_text=True)  # default: the last complete year
    assert f"{year}" in html
    assert _fen_attr(html, "turnover-total") == once
    # The demo counties against the year's target (rd_targets.yaml), as the engine says.
    target = services.target_for(year).target
    indicator = county_rd_indicator([{"county": c, "rd_spending": Decimal(rd), "gdp": Decimal(gdp)}
                                     for c, (rd, gdp) in FIGURES.items()], year,
                                    parameters=services.indicator_parameters(year, target))
    assert indicator.target_intensity == target.rd_intensity
    met = "yes" if indicator.met else "no"
    assert f'data-reaching="{indicator.reaching}" data-total="8" data-met="{met}"' in html
    assert "高唐县" in html


# --- charts ---------------------------------------------------------------------------------

def test_charts_are_local_accessible_svg_with_tables_and_no_inline_style(client, factory, city):
    reviewer = _reviewer(factory)
    for i, county in enumerate(INDICATOR_COUNTIES[:3]):
        services.save_county_rd(reviewer, YEAR, county, 200 + i * 100, 10_000)
    login(client, reviewer)
    for path in (f"/dashboards/?year={YEAR}", f"/dashboards/indicator?year={YEAR}"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "<svg" in html and 'role="img"' in html
        assert html.count("<svg class=\"chart\"") == html.count("<title id=") == html.count("<desc id=")
        assert html.count("<svg class=\"chart\"") <= html.count("<table class=\"table\"")
        assert "style=" not in html and not _inline_scripts(html)
        assert not re.search(r'(src|href)="(https?:)?//', html)  # local assets only
    html = client.get(f"/dashboards/?year={YEAR}").get_data(as_text=True)
    assert html.count('<svg class="chart"') == 4  # months, counties, awards, indicator (no budgets yet)
    assert 'class="target-line"' in html


# --- the C indicator --------------------------------------------------------------------------

def test_city_enters_county_figures_and_the_engine_computes_the_indicator(client, factory):
    reviewer = _reviewer(factory)
    login(client, reviewer)
    client.post("/lang/en")
    figures = {"东昌府区": ("1600000000", "64000000000"), "临清市": ("840000000", "42000000000"),
               "高唐县": ("572000000", "26000000000"), "莘县": ("450000000.50", "30000000000")}
    for county, (rd, gdp) in figures.items():
        response = client.post("/dashboards/indicator/edit", data={"year": YEAR, "county": county,
                                                                   "rd_spending": rd, "gdp": gdp})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
    # the engine, with the target in force put in (2022's measures: 2.2 % of GDP, half of the counties)
    expected = county_rd_indicator([{"county": c, "rd_spending": rd, "gdp": gdp}
                                    for c, (rd, gdp) in figures.items()], YEAR,
                                   parameters=services.indicator_parameters(YEAR, services.target_for(YEAR).target))
    assert (expected.reaching, expected.total, expected.met) == (2, 4, True)  # 东昌府区 2.5 %, 高唐县 2.2 %
    html = client.get(f"/dashboards/indicator?year={YEAR}").get_data(as_text=True)
    assert 'data-reaching="2" data-total="4" data-met="yes"' in html
    for c in expected.counties:
        row = re.search(rf'<tr data-county="{c.county}">(.*?)</tr>', html, re.S).group(1)
        assert c.intensity_pct in row and ("Yes" if c.reaches else "No") in row
    for county in set(INDICATOR_COUNTIES) - set(figures):
        assert county in html  # listed as missing
    # Correcting a county rewrites its row and leaves an audit trail of before and after.
    client.post("/dashboards/indicator/edit", data={"year": YEAR, "county": "莘县", "rd_spending": "700000000",
                                                    "gdp": "30000000000"})
    row = db.session.scalar(select(CountyRD).where(CountyRD.county == "莘县"))
    assert (row.rd_spending_fen, row.entered_by_id) == (70_000_000_000, reviewer.id)
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "county_rd.save")
                                      .order_by(AuditEvent.id)))
    assert len(events) == 5 and events[-1].before == {"rd_spending_fen": 45_000_000_050, "gdp_fen": 3_000_000_000_000}
    html = client.get(f"/dashboards/indicator?year={YEAR}").get_data(as_text=True)
    assert 'data-reaching="3" data-total="4" data-met="yes"' in html  # 莘县 now at 2.33 %


@pytest.mark.parametrize("data", [
    {"county": "东昌府区", "rd_spending": "0", "gdp": "1000"},  # not positive
    {"county": "东昌府区", "rd_spending": "-5", "gdp": "1000"},  # negative
    {"county": "东昌府区", "rd_spending": "1000", "gdp": "1000"},  # R&D not below GDP
    {"county": "东昌府区", "rd_spending": "2000", "gdp": "1000"},
    {"county": "东昌府区", "rd_spending": "abc", "gdp": "1000"},  # not an amount
    {"county": "东昌府区", "rd_spending": "1.234", "gdp": "1000"},  # more than two decimals
    {"county": "东昌府区", "rd_spending": "10", "gdp": ""},  # missing
    {"county": "聊城高新技术产业开发区", "rd_spending": "10", "gdp": "1000"},  # a zone, not a county
    {"county": "北京市", "rd_spending": "10", "gdp": "1000"},  # not in the city
    {"county": "东昌府区", "rd_spending": "10", "gdp": "1000", "year": "20x4"},
])
def test_bad_county_figures_are_refused_and_nothing_is_written(client, factory, data):
    login(client, _reviewer(factory))
    client.post("/lang/en")
    response = client.post("/dashboards/indicator/edit", data={"year": YEAR, **data})
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True) or "flash error" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(CountyRD)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_rd_not_below_gdp_is_named_beside_the_field(client, factory):
    login(client, _reviewer(factory))
    client.post("/lang/en")
    html = client.post("/dashboards/indicator/edit", data={"year": YEAR, "county": "冠县", "rd_spending": "50",
                                                           "gdp": "40"}).get_data(as_text=True)
    assert "R&amp;D spending must be less than the GDP." in html


# --- exports ------------------------------------------------------------------------------

def _ledger_rows(year):
    return [e for e in db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))
            if e.occurred_on.year == year]


def test_ledger_export_xlsx_has_every_entry_of_the_year_in_yuan(client, factory, city):
    login(client, factory.user("finance"))
    client.post("/lang/en")
    response = client.get(f"/dashboards/exports/ledger?year={YEAR}&format=xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="ledger-{YEAR}.xlsx"'
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:5] == ("Seq", "Date", "Kind", "Reference", "Amount (yuan)")
    entries = _ledger_rows(YEAR)
    assert [r[0] for r in body] == [e.seq for e in entries]
    assert sum(Decimal(str(r[4])) for r in body) == Decimal(sum(e.amount_fen for e in entries)) / 100
    amount_cells = [row[4] for row in ws.iter_rows(min_row=2)]
    assert all(c.number_format == "#,##0.00" and c.data_type == "n" for c in amount_cells)
    refund = next(r for r in body if r[2] == "Refund")
    assert refund[9]  # names the entry it corrects


def test_ledger_export_csv_is_utf8_with_bom_and_chinese_by_default(client, factory, city):
    login(client, factory.user("finance"))
    response = client.get(f"/dashboards/exports/ledger?year={YEAR}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    entries = _ledger_rows(YEAR)
    assert len(rows) == len(entries) + 1
    assert sum(Decimal(r[4]) for r in rows[1:]) == Decimal(sum(e.amount_fen for e in entries)) / 100
    assert all(re.fullmatch(r"\d+\.\d\d", r[4]) for r in rows[1:])
    assert "聊城大学" in {r[5] for r in rows[1:]}  # organisation names kept in Chinese
    client.post("/lang/en")
    english = client.get(f"/dashboards/exports/ledger?year={YEAR}&format=csv").data.decode("utf-8-sig")
    assert english.splitlines()[0].startswith("Seq,Date,Kind,Reference,Amount (yuan)")


def test_claims_export_has_every_claim_of_the_year(client, factory, city):
    from marketplace.claims import services as claims

    _draft_claims(YEAR)
    expected = claims.claims_for_export(YEAR)
    assert expected
    login(client, factory.user("finance"))
    client.post("/lang/en")
    response = client.get(f"/dashboards/exports/awards?year={YEAR}&format=xlsx")
    assert response.headers["Content-Disposition"] == f'attachment; filename="claims-{YEAR}.xlsx"'
    ws = load_workbook(io.BytesIO(response.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:7] == ("Claim", "Clause", "Clause title", "Beneficiary", "Unified social credit code",
                           "County or district", "Amount (yuan)")
    assert [r[0] for r in rows[1:]] == [c.id for c in expected]
    assert sum(Decimal(str(r[6])) for r in rows[1:]) == Decimal(sum(c.amount_fen for c in expected)) / 100
    assert all(c.number_format == "#,##0.00" for (c,) in ws.iter_rows(min_row=2, min_col=7, max_col=7))
    text = client.get(f"/dashboards/exports/awards?year={YEAR}&format=csv").data.decode("utf-8-sig")
    body = list(csv.reader(io.StringIO(text)))[1:]
    assert [int(r[0]) for r in body] == [c.id for c in expected]
    assert sum(Decimal(r[6]) for r in body) == Decimal(sum(c.amount_fen for c in expected)) / 100


def test_a_claims_decision_notice_prints_for_the_city_only(client, factory, city):
    from marketplace.claims import services as claims

    _draft_claims(YEAR)
    claim = claims.claims_for_export(YEAR)[0]
    login(client, factory.user("reviewer"))
    client.post("/lang/en")
    response = client.get(f"/dashboards/claims/{claim.id}/notice")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'data-claim="{claim.id}"' in html and claim.organization.name in html
    assert claim.clause in html and f"{claim.amount_fen // 100:,}" in html
    assert "style=" not in html and not _inline_scripts(html)
    css = client.get("/static/site.css").get_data(as_text=True)
    assert "@media print" in css and ".no-print" in css
    client.post("/logout")
    login(client, city["uni"])
    assert client.get(f"/dashboards/claims/{claim.id}/notice").status_code == 403


def test_an_unknown_export_format_or_year_is_a_clear_400(client, factory):
    login(client, factory.user("finance"))
    assert client.get("/dashboards/exports/ledger?format=pdf").status_code == 400
    assert client.get("/dashboards/exports/awards?year=abc").status_code == 400
    assert client.get("/dashboards/?year=1800").status_code == 400


# --- access ------------------------------------------------------------------------------

VIEW_PATHS = ["/dashboards/", "/dashboards/indicator", "/dashboards/exports", "/dashboards/exports/ledger",
              "/dashboards/exports/awards?format=csv", "/dashboards/indicator/edit"]


@pytest.mark.parametrize("role", ["enterprise", "university", "provider", "agency"])
def test_market_roles_get_403(client, factory, role):
    login(client, factory.user(role))
    for path in VIEW_PATHS + ["/dashboards/claims/1/notice"]:
        assert client.get(path).status_code == 403, path
    response = client.post("/dashboards/indicator/edit", data={"year": YEAR, "county": "冠县",
                                                               "rd_spending": "10", "gdp": "1000"})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(CountyRD)) == 0


def test_anonymous_is_sent_to_login(client):
    for path in VIEW_PATHS + ["/dashboards/claims/1/notice"]:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    response = client.post("/dashboards/indicator/edit", data={"year": YEAR, "county": "冠县",
                                                               "rd_spending": "10", "gdp": "1000"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_finance_sees_but_does_not_enter_county_figures(client, factory):
    login(client, factory.user("finance"))
    for path in VIEW_PATHS[:-1]:
        assert client.get(path).status_code == 200, path
    assert client.get("/dashboards/indicator/edit").status_code == 403
    response = client.post("/dashboards/indicator/edit", data={"year": YEAR, "county": "冠县",
                                                               "rd_spending": "10", "gdp": "1000"})
    assert response.status_code == 403
    assert db.session.scalar(select(func.count()).select_from(CountyRD)) == 0


@pytest.mark.parametrize("role", ["reviewer", "admin"])
def test_reviewer_and_admin_enter_county_figures(client, factory, role):
    login(client, factory.user(role))
    assert client.get("/dashboards/indicator/edit?county=冠县").status_code == 200
    assert client.get("/dashboards/indicator/edit?county=nowhere").status_code == 404
    response = client.post("/dashboards/indicator/edit", data={"year": YEAR, "county": "冠县",
                                                               "rd_spending": "10", "gdp": "1000"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(CountyRD)) == 1


@pytest.mark.parametrize("role, shown", [("reviewer", True), ("finance", True), ("admin", True),
                                         ("enterprise", False)])
def test_home_links_for_city_roles(client, factory, role, shown):
    login(client, factory.user(role))
    html = client.get("/home").get_data(as_text=True)
    assert ('href="/dashboards/"' in html) is shown
    assert ('href="/dashboards/exports"' in html) is shown


def test_a_claim_notice_that_does_not_exist_is_404(client, factory):
    login(client, factory.user("reviewer"))
    assert client.get("/dashboards/claims/999999/notice").status_code == 404


def test_budget_used_against_budget_follows_approvals(client, factory, city):
    from marketplace.claims import budgets as claims_budgets
    from marketplace.claims import services as claims
    from marketplace.claims.models import Claim
    from marketplace.review import services as review

    _draft_claims(YEAR)
    finance, reviewer = factory.user("finance"), factory.user("reviewer")
    claim = db.session.scalars(select(Claim).where(Claim.year == YEAR, Claim.clause == "A1.DT")).one()
    claims_budgets.set_budget(finance, YEAR, "A1.DT", 10_000_000)  # ¥100,000.00
    claims.submit(city["uni"], claim.id)
    review.approve(reviewer, claim.id)
    rows = {r.clause: r for r in services.budgets(finance, YEAR)}
    truth = {d["clause"]: d for d in claims.budget_status(YEAR)}
    assert rows["A1.DT"].budget_fen == 10_000_000
    assert rows["A1.DT"].used_fen == truth["A1.DT"]["committed_fen"] == claim.amount_fen
    assert rows["A1.DT"].remaining_fen == 10_000_000 - claim.amount_fen
    a = {r.clause: r for r in services.awards(finance, YEAR).rows}
    assert a["A1.DT"].approved_fen == claim.amount_fen
    login(client, finance)
    html = client.get(f"/dashboards/?year={YEAR}").get_data(as_text=True)
    assert html.count('<svg class="chart"') == 4  # months, counties, awards, budgets (no county figures)
    assert 'class="bar-budget"' in html and 'class="bar-used"' in html
    assert "¥100,000.00" in html


def test_a_market_user_asking_for_a_bad_year_still_gets_403(client, factory):
    login(client, factory.user("enterprise"))
    for path in ("/dashboards/?year=abc", "/dashboards/exports/ledger?year=abc", "/dashboards/indicator/edit?year=x"):
        assert client.get(path).status_code == 403, path
