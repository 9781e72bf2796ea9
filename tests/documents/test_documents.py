"""Printable documents in Chinese (issue 21): the receipt of a payment, a contract summary, a
claim's decision notice — real PDFs from WeasyPrint whose text (read back with poppler's
pdftotext) carries the names and amounts, set in the Noto CJK font; only the parties and the
city may print them."""
import shutil
import subprocess

import pytest
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.claims.models import Claim
from marketplace.core.money import format_yuan
from marketplace.demo import loader
from marketplace.extensions import db
from marketplace.orders.models import Order, TechContract
from marketplace.payments.models import Payment
from tests.factories import login as _login

DEMO_PASSWORD = "liaocheng2024"  # marketplace/demo/city.yaml


@pytest.fixture()
def demo(app_ctx):
    if shutil.which("pdftotext") is None or shutil.which("pdffonts") is None:
        pytest.fail("poppler-utils (pdftotext, pdffonts) is missing: scripts/setup installs it")
    loader.load_all()


def _login_as(client, email):
    _login(client, db.session.scalar(select(User).where(User.email == email)), DEMO_PASSWORD)


def _read(pdf: bytes, tmp_path) -> tuple[str, str]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return text, fonts


def test_a_paid_orders_receipt_names_payer_payee_and_amount(demo, client, tmp_path):
    payment = db.session.scalars(select(Payment).where(Payment.status == "succeeded").order_by(Payment.id)).first()
    order = payment.order
    member = order.buyer.memberships[0].user
    _login_as(client, member.email)
    r = client.get(f"/orders/{order.id}/receipt.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    text, fonts = _read(r.data, tmp_path)
    assert "收款凭证" in text and order.buyer.name in text and order.seller.name in text
    assert format_yuan(payment.amount_fen) in text and f"RCPT-{payment.id}" in text
    assert "Noto-Sans-CJK-SC" in fonts  # the Chinese is set in an embedded CJK font, not missing glyphs
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f'href="/orders/{order.id}/receipt.pdf"' in page


def test_an_unpaid_order_has_no_receipt_and_strangers_get_none(demo, client, tmp_path):
    paid = db.session.scalars(select(Payment).where(Payment.status == "succeeded")).first().order
    unpaid = db.session.scalars(select(Order).where(Order.status == "pending_payment")).first()
    stranger = next(u for u in db.session.scalars(select(User)) if u.organization is not None
                    and u.organization.id not in (paid.buyer_org_id, paid.seller_org_id)
                    and u.role in ("enterprise", "university"))
    _login_as(client, stranger.email)
    assert client.get(f"/orders/{paid.id}/receipt.pdf").status_code == 403
    if unpaid is not None:
        client.get("/logout")
        _login_as(client, unpaid.buyer.memberships[0].user.email)
        assert client.get(f"/orders/{unpaid.id}/receipt.pdf").status_code == 404


def test_a_contract_summary_carries_the_registration(demo, client, tmp_path):
    c = db.session.scalars(select(TechContract).where(TechContract.registration_no.is_not(None))).first()
    _login_as(client, "reviewer@kjj.liaocheng.demo")
    r = client.get(f"/contracts/{c.id}.pdf")
    assert r.status_code == 200
    text, _ = _read(r.data, tmp_path)
    assert "技术合同摘要" in text and c.registration_no in text and c.seller.name in text
    assert format_yuan(c.amount_fen) in text


def test_a_decision_notice_only_once_decided(demo, client, tmp_path):
    from marketplace.claims.models import ClaimDecision

    decided = db.session.scalar(select(Claim).join(ClaimDecision).where(ClaimDecision.action == "approved"))
    _login_as(client, "reviewer@kjj.liaocheng.demo")
    if decided is not None:
        r = client.get(f"/claims/{decided.id}/decision.pdf")
        assert r.status_code == 200
        text, _ = _read(r.data, tmp_path)
        assert "审核通过决定书" in text and decided.organization.name in text
    open_claim = db.session.scalar(select(Claim).where(Claim.status == "drafted"))
    assert client.get(f"/claims/{open_claim.id}/decision.pdf").status_code == 404
