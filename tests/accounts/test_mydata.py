"""People's own data: the download holds the organisation's listings, orders and ledger refs;
closing an account anonymises the user row (never deletes it) and the ledger still verifies."""
import io
import json

from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.accounts.models import Membership, User
from marketplace.audit.models import AuditEvent
from marketplace.extensions import db
from marketplace.ledger.models import LedgerEntry
from marketplace.ledger.services import verify
from marketplace.listings import services as listings
from marketplace.orders.models import Order
from tests.factories import PASSWORD, login
from tests.voucher_helpers import give_voucher


def _trade(client, factory):
    provider = factory.user("provider", kind="agency", service_agency=True, name="检测中心")
    service = listings.publish(provider, listings.create_listing(provider, "service", {
        "title": "液相色谱检测", "description": "", "price_fen": 5_000_000, "negotiable": False}).id)
    buyer = factory.user("enterprise", size="small")
    give_voucher(buyer.organization)
    login(client, buyer)
    response = client.post(f"/listings/{service.id}/order", data={"with_voucher": "y"})
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert client.post(f"/orders/{order_id}/pay").status_code == 302
    return provider, buyer, service, db.session.get(Order, order_id)


def test_download_holds_the_organisations_listings_orders_and_ledger_refs(client, factory):
    provider, buyer, service, order = _trade(client, factory)
    client.post("/logout")
    login(client, provider)
    response = client.get("/account/data?format=json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert data["organization"]["credit_code"] == provider.organization.credit_code
    assert [x["ref"] for x in data["listings"]] == [service.ref]
    assert [o["ref"] for o in data["orders"]] == [order.ref]
    entries = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).all()
    assert entries and {e["ref"] for e in data["ledger"]} == {e.ref for e in entries}
    assert {e["hash"] for e in data["ledger"]} == {e.hash for e in entries}
    assert [m["email"] for m in data["members"]] == [provider.email]
    xlsx = client.get("/account/data?format=xlsx")
    wb = load_workbook(io.BytesIO(xlsx.get_data()))
    assert {"organization", "listings", "orders", "ledger"} <= set(wb.sheetnames)
    ws = wb["orders"]
    headers = [c.value for c in ws[1]]
    assert ws.cell(row=2, column=headers.index("ref") + 1).value == order.ref
    assert client.get("/account/data?format=pdf").status_code == 400


def test_one_organisation_never_sees_anothers_data(client, factory):
    _trade(client, factory)
    client.post("/logout")
    stranger = factory.user("enterprise")
    login(client, stranger)
    data = json.loads(client.get("/account/data?format=json").get_data(as_text=True))
    assert data["orders"] == [] and data["ledger"] == [] and data["listings"] == []


def test_closing_an_account_anonymises_the_user_and_the_ledger_still_verifies(app, client, factory):
    provider, buyer, service, order = _trade(client, factory)
    user_id, email, org_id = buyer.id, buyer.email, buyer.organization.id
    assert client.post("/account/close", data={"password": "wrong", "confirm": "y"}).status_code == 400
    assert db.session.get(User, user_id).email == email
    response = client.post("/account/close", data={"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    user = db.session.get(User, user_id)  # still there: orders and the audit log point at it
    assert user is not None and not user.active
    assert email not in (user.email, user.name) and user.email.endswith("@closed.invalid")
    assert "$" not in user.password_hash  # no hashing method: no password can match
    assert db.session.scalar(select(Membership.organization_id).where(Membership.user_id == user_id)) == org_id
    assert db.session.get(Order, order.id).created_by_id == user_id
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.close")).one()
    assert event.target_id == str(user_id) and email not in json.dumps(event.after)
    # Logged out, and no way back in.
    assert client.get("/account/data").status_code == 302
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code != 302
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code != 302
    assert verify(db.session).ok
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0 and "ledger intact" in result.output
