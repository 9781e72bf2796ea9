"""Policy reforms through the pages (issue 23): finance drafts "A3 city share 20 %", replays the
demo year, sees the city's A3 total fall by a third and the province's unchanged, exports the
comparison; an administrator publishes it for next 1 January and only next year's money changes."""
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.audit.models import AuditEvent
from marketplace.claims.models import Claim
from marketplace.core.timeutil import beijing_today
from marketplace.demo import loader
from marketplace.demo.year import demo_year
from marketplace.extensions import db
from marketplace.reforms.models import ParameterDraft, ParameterDraftEdit, PublishedParameterValue
from marketplace.reforms.parameters import in_force
from marketplace.subsidies import voucher_split
from tests.factories import login as _login

DEMO_PASSWORD = "liaocheng2024"  # marketplace/demo/city.yaml


def login(client, user):
    return _login(client, user, DEMO_PASSWORD)


def _user(email):
    return db.session.scalar(select(User).where(User.email == email))


@pytest.fixture()
def demo(app_ctx):
    loader.load_all()
    return demo_year()


def _draft(client, name="A3 city share 20 %"):
    r = client.post("/reforms/new", data={"name": name})
    assert r.status_code == 302, r.data[:400]
    return db.session.scalar(select(ParameterDraft).where(ParameterDraft.name == name))


def _yuan(html, element_id):
    text = html.split(f'id="{element_id}">', 1)[1].split("<", 1)[0]
    return Decimal(text.replace("¥", "").replace(",", ""))


def _row(html, table_id, key):
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    row = table.split(f'data-key="{key}"', 1)[1].split("</tr>", 1)[0]
    return [Decimal(v.split('"', 1)[0]) for v in row.split('data-yuan="')[1:]]


def test_finance_replays_a_lower_city_share_on_the_demo_year(demo, client):
    login(client, _user("finance@czj.liaocheng.demo"))
    draft = _draft(client)
    r = client.post(f"/reforms/{draft.id}/edit",
                    data={"parameter": "a3.city_share", "value": "20%", "reason": "财政承受能力测算"})
    assert r.status_code == 302, r.data[:600]

    page = client.get(f"/reforms/{draft.id}/replay/{demo}").get_data(as_text=True)
    base_city, draft_city, city_change, base_prov, draft_prov, prov_change = _row(page, "by-clause", "A3")
    assert base_city > 0 and base_prov > 0
    # each voucher's city part goes from 30 % to 20 % of its fee: a third less, to the fen per voucher
    vouchers = len(page.split('data-key="A3"')) - 1
    assert abs(draft_city - base_city * 2 / 3) <= Decimal("0.01") * max(vouchers, 1) * 3
    assert draft_city < base_city
    assert draft_prov == base_prov and prov_change == 0
    # other clauses do not move
    a1 = _row(page, "by-clause", "A1.DT")
    assert a1[0] == a1[1]
    assert "a3.city_share: 30 % → <strong>20 %</strong>" in page

    xlsx = client.get(f"/reforms/{draft.id}/replay/{demo}.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    a3 = next(row for row in sheet.iter_rows(values_only=True) if row[1] == "A3")
    assert Decimal(str(a3[2])) == base_city and Decimal(str(a3[3])) == draft_city
    assert Decimal(str(a3[5])) == Decimal(str(a3[6])) == base_prov


def test_a_draft_never_changes_a_claim(demo, client):
    before = db.session.execute(select(Claim.id, Claim.amount_fen).order_by(Claim.id)).all()
    assert before
    login(client, _user("finance@czj.liaocheng.demo"))
    draft = _draft(client)
    client.post(f"/reforms/{draft.id}/edit", data={"parameter": "a3.city_share", "value": "0.2", "reason": "测算"})
    client.get(f"/reforms/{draft.id}/replay/{demo}")
    assert db.session.execute(select(Claim.id, Claim.amount_fen).order_by(Claim.id)).all() == before
    assert in_force().value("a3.city_share", date(beijing_today().year + 1, 1, 1)) == Decimal("0.30")


@pytest.mark.parametrize("value, message", [
    ("1.5", "须在 0 到 1 之间"), ("150%", "须在 0 到 1 之间"), ("三成", "请输入数字"), ("", 'class="field has-error"'),
])
def test_a_refused_value_is_shown_beside_the_field_and_nothing_is_written(demo, client, value, message):
    login(client, _user("finance@czj.liaocheng.demo"))
    draft = _draft(client)
    r = client.post(f"/reforms/{draft.id}/edit",
                    data={"parameter": "a3.city_share", "value": value, "reason": "测算"})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert message in html and f'value="{value}"' in html and "测算" in html
    assert db.session.scalar(select(func.count(ParameterDraftEdit.id))) == 0


def test_only_the_city_drafts_and_only_an_administrator_publishes(demo, client):
    login(client, _user("boss@jx.liaocheng.demo"))
    assert client.get("/reforms/").status_code == 403
    assert client.post("/reforms/new", data={"name": "x"}).status_code == 403
    client.get("/logout")
    login(client, _user("finance@czj.liaocheng.demo"))
    draft = _draft(client)
    client.post(f"/reforms/{draft.id}/edit", data={"parameter": "a3.city_share", "value": "20%", "reason": "测算"})
    next_year = date(beijing_today().year + 1, 1, 1)
    r = client.post(f"/reforms/{draft.id}/publish",
                    data={"effective_from": next_year.isoformat(), "document_no": "聊政字〔2026〕1号"})
    assert r.status_code == 403
    assert db.session.scalar(select(func.count(PublishedParameterValue.id))) == 0


def test_publishing_for_next_year_changes_next_years_money_only(demo, client):
    login(client, _user("finance@czj.liaocheng.demo"))
    draft = _draft(client)
    client.post(f"/reforms/{draft.id}/edit", data={"parameter": "a3.city_share", "value": "20%", "reason": "测算"})
    client.get("/logout")
    claims_before = db.session.execute(select(Claim.id, Claim.amount_fen).order_by(Claim.id)).all()
    login(client, _user("admin@kjj.liaocheng.demo"))
    today = beijing_today()
    # a date within this year would rewrite this year's claims: refused, nothing written
    r = client.post(f"/reforms/{draft.id}/publish",
                    data={"effective_from": today.isoformat(), "document_no": "聊政字〔2026〕1号"})
    assert r.status_code == 400 and "1月1日" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PublishedParameterValue.id))) == 0
    next_year = date(today.year + 1, 1, 1)
    r = client.post(f"/reforms/{draft.id}/publish",
                    data={"effective_from": next_year.isoformat(), "document_no": "聊政字〔2026〕1号"})
    assert r.status_code == 302, r.data[:600]
    # published once: a second try is a conflict and writes nothing more
    again = client.post(f"/reforms/{draft.id}/publish",
                        data={"effective_from": next_year.isoformat(), "document_no": "聊政字〔2026〕2号"})
    assert again.status_code == 409
    assert db.session.scalar(select(func.count(PublishedParameterValue.id))) == 1

    params = in_force()
    assert params.value("a3.city_share", date(today.year, 12, 31)) == Decimal("0.30")
    assert params.value("a3.city_share", next_year) == Decimal("0.20")
    assert voucher_split(Decimal("50000.00"), next_year, parameters=params).city == Decimal("10000.00")
    assert voucher_split(Decimal("50000.00"), today, parameters=params).city == Decimal("15000.00")
    # this year's and last year's claims are recomputed under the parameters in force: unchanged
    from marketplace.claims.drafting import recompute_year

    recompute_year(demo)
    recompute_year(today.year)
    assert db.session.execute(select(Claim.id, Claim.amount_fen).order_by(Claim.id)).all() == claims_before
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "reform.publish"))
    assert event.after["document_no"] == "聊政字〔2026〕1号" and event.before == {"a3.city_share": "0.30"}


def test_the_forecast_states_its_assumption_and_gives_a_range(demo, client):
    login(client, _user("finance@czj.liaocheng.demo"))
    draft = _draft(client)
    client.post(f"/reforms/{draft.id}/edit", data={"parameter": "a3.city_share", "value": "20%", "reason": "测算"})
    page = client.get(f"/reforms/{draft.id}/forecast").get_data(as_text=True)
    assert 'id="assumption"' in page and 'data-clause="A3"' in page
    typed = client.get(f"/reforms/{draft.id}/forecast?growth-A3=50").get_data(as_text=True)
    assert 'value="50"' in typed
    bad = client.get(f"/reforms/{draft.id}/forecast?growth-A3=lots").get_data(as_text=True)
    assert 'role="alert"' in bad


def test_the_targets_page_shows_what_a_draft_would_cost_per_contract_transferred(demo, client):
    login(client, _user("reviewer@kjj.liaocheng.demo"))
    draft = _draft(client, "A1 技术开发 1%")
    r = client.post(f"/reforms/{draft.id}/edit", data={"parameter": "a1.dt.rate", "value": "1%", "reason": "测算"})
    assert r.status_code == 302, r.data[:600]
    plain = client.get("/programmes/targets").get_data(as_text=True)
    assert 'id="reform-form"' in plain and "reform-effect" not in plain
    page = client.get(f"/programmes/targets?draft={draft.id}&year={demo}").get_data(as_text=True)
    row = page.split('data-target="achievements_transferred"', 1)[1].split("</tr>", 1)[0]
    cell = row.split('class="reform-effect">', 1)[1].split("</td>", 1)[0]
    import re

    amounts = re.findall(r"¥([0-9,]+\.[0-9]{2})", cell)
    base, draft_amount = (Decimal(a.replace(",", "")) for a in amounts[:2])
    assert draft_amount < base  # A1's rate fell from 1.5 % to 1 %
    assert "每单位" in cell
    # an enterprise never sees the comparison
    client.get("/logout")
    login(client, _user("boss@jx.liaocheng.demo"))
    assert client.get(f"/programmes/targets?draft={draft.id}").status_code == 403
