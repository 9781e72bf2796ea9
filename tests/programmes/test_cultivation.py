"""The cultivation pool through the web routes: an enterprise enters its figures and sees each
criterion; the city admits, keeps and removes with a reason recorded in the audit log."""
from sqlalchemy import select

from marketplace.audit.models import AuditEvent
from marketplace.extensions import db
from marketplace.programmes.models import HteFigureSet, PoolDecision, PoolEntry
from tests.factories import login
from tests.programmes.helpers import FIGURES, count, english


def test_enterprise_enters_figures_and_sees_each_criterion_with_its_shortfall(client, factory):
    boss = factory.user("enterprise")
    login(client, boss)
    english(client)
    figures = dict(FIGURES, rd_3y="4500000", rd_3y_in_china="4500000", st_staff="9")
    response = client.post("/programmes/hte", data=figures)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "4 of 6 criteria met" in html
    assert 'data-criterion="rd_intensity"' in html and "500000.00" in html  # 5 % of 100,000,000 less 4,500,000
    assert 'data-criterion="st_staff"' in html
    stored = db.session.scalars(select(HteFigureSet)).one()
    assert (stored.organization_id, stored.rd_3y_fen, stored.st_staff) == (boss.organization.id, 450_000_000, 9)


def test_figures_that_cannot_be_true_are_refused_and_nothing_is_written(client, factory):
    login(client, factory.user("enterprise"))
    english(client)
    response = client.post("/programmes/hte", data=dict(FIGURES, rd_3y_in_china="6000000"))
    assert response.status_code == 400
    assert "R&amp;D spent in China is part of all R&amp;D" in response.get_data(as_text=True)
    bad_amount = client.post("/programmes/hte", data=dict(FIGURES, revenue_3y="1.234"))
    assert bad_amount.status_code == 400
    assert count(HteFigureSet) == 0


def test_only_an_enterprise_enters_its_own_figures(client, factory):
    login(client, factory.user("university", kind="university"))
    assert client.post("/programmes/hte", data=FIGURES).status_code == 403
    assert count(HteFigureSet) == 0


def test_the_city_admits_keeps_and_removes_with_a_reason_in_the_audit_log(client, factory):
    boss = factory.user("enterprise")
    login(client, boss)
    client.post("/programmes/hte", data=FIGURES)
    client.post("/logout")
    org_id = boss.organization.id
    login(client, factory.user("reviewer"))
    url = f"/programmes/pool/{org_id}"
    no_reason = client.post(url, data={"decision": "admit", "reason": ""})
    assert no_reason.status_code == 400 and count(PoolEntry) == 0 and count(AuditEvent) == 0
    assert client.post(url, data={"decision": "admit", "reason": "指标达标，入库培育"}).status_code == 302
    assert client.post(url, data={"decision": "admit", "reason": "again"}).status_code == 409
    assert client.post(url, data={"decision": "keep", "reason": "年度复核通过"}).status_code == 302
    assert client.post(url, data={"decision": "remove", "reason": "研发投入不足"}).status_code == 302
    entry = db.session.scalars(select(PoolEntry)).one()
    assert (entry.status, entry.reason) == ("removed", "研发投入不足")
    decisions = [(d.decision, d.reason, d.criteria_met) for d in
                 db.session.scalars(select(PoolDecision).order_by(PoolDecision.id))]
    assert decisions == [("admit", "指标达标，入库培育", 6), ("keep", "年度复核通过", 6), ("remove", "研发投入不足", 6)]
    events = [(e.action, e.target_id, e.after["reason"], e.after["status"]) for e in
              db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert events == [("hte_pool.admit", str(org_id), "指标达标，入库培育", "admitted"),
                      ("hte_pool.keep", str(org_id), "年度复核通过", "admitted"),
                      ("hte_pool.remove", str(org_id), "研发投入不足", "removed")]
    page = client.get("/programmes/pool?status=removed").get_data(as_text=True)
    assert boss.organization.name in page


def test_recognition_needs_a_certificate_and_counts_as_recognised(client, factory):
    org = factory.organization(kind="enterprise")
    login(client, factory.user("admin"))
    url = f"/programmes/pool/{org.id}"
    client.post(url, data={"decision": "admit", "reason": "入库"})
    assert client.post(url, data={"decision": "recognise", "reason": "通过认定"}).status_code == 400
    assert client.post(url, data={"decision": "recognise", "reason": "通过认定",
                                  "certificate_no": "GR202437000123"}).status_code == 302
    entry = db.session.scalars(select(PoolEntry)).one()
    assert (entry.status, entry.certificate_no) == ("recognised", "GR202437000123")


def test_members_see_their_own_criteria_and_nobody_else_s(client, factory):
    boss = factory.user("enterprise")
    other = factory.user("enterprise")
    login(client, boss)
    client.post("/programmes/hte", data=FIGURES)
    assert client.get(f"/programmes/pool/{boss.organization.id}").status_code == 200
    assert client.post(f"/programmes/pool/{boss.organization.id}",
                       data={"decision": "admit", "reason": "self"}).status_code == 403
    client.post("/logout")
    login(client, other)
    assert client.get(f"/programmes/pool/{boss.organization.id}").status_code == 403
    assert count(PoolEntry) == 0


def test_finance_sees_the_pool_but_cannot_decide(client, factory):
    org = factory.organization(kind="enterprise")
    login(client, factory.user("finance"))
    assert client.get("/programmes/pool").status_code == 200
    assert client.post(f"/programmes/pool/{org.id}", data={"decision": "admit", "reason": "x"}).status_code == 403


def test_figures_typed_in_wan_or_with_separators_are_read(client, factory):
    boss = factory.user("enterprise")
    login(client, boss)
    typed = dict(FIGURES, revenue_last_year="1,200万", high_tech_revenue="八百万元")
    assert client.post("/programmes/hte", data=typed).status_code == 200
    figures = db.session.scalars(select(HteFigureSet)).one()
    assert (figures.revenue_last_year_fen, figures.high_tech_revenue_fen) == (1_200_000_000, 800_000_000)
