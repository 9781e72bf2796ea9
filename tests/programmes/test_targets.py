"""The targets page: every figure is computed from the platform's data, within the target's
period; targets are dated data quoting the measures' own sentences."""
import re
from datetime import date, datetime
from pathlib import Path

import yaml

from marketplace.core.timeutil import frozen_at
from marketplace.extensions import db
from marketplace.orders.models import TechContract
from marketplace.programmes import common, cultivation, projects, targets
from tests.factories import login
from tests.policy import policy_file
from tests.programmes.helpers import english

ORIGINAL = "liaocheng-innovative-city-measures.zh.txt"  # in ../shared/policy (tests/policy.py)


def _figure(html, key):
    row = re.search(rf'<tr data-target="{key}" data-state="(\w+)">(.*?)</tr>', html, re.S)
    cell = re.search(r'<td class="num figure">(.*?)</td>', row.group(2), re.S).group(1)
    return row.group(1), re.sub(r"<[^>]+>", " ", cell).split()


def _project(lead, reviewer, title, status, when):
    with frozen_at(when):
        p = projects.propose(lead, lead.organization.id, {"title": title, "county": "东昌府区",
                                                          "industry": "new_materials", "bottleneck": "b",
                                                          "requested_city": "1000000"})
        if status == "proposed":
            return p
        projects.review(reviewer, p.id, "reserve", "ok")
        if status == "reserved":
            return p
        projects.fund(reviewer, p.id, "1000000", None, when.date())
        if status == "completed":
            projects.complete(reviewer, p.id, True, when.date())
    return p


def test_targets_page_figures_come_from_the_data(client, factory):
    reviewer = factory.user("reviewer")
    lead = factory.user("enterprise")
    for i, status in enumerate(("proposed", "reserved", "reserved", "funded", "completed")):
        _project(lead, reviewer, f"项目{i}", status, datetime(2023, 3, 1 + i))
    _project(lead, reviewer, "期后项目", "completed", datetime(2025, 6, 1))  # after the period: not counted in it
    a, b = factory.organization(kind="enterprise"), factory.organization(kind="enterprise")
    with frozen_at(datetime(2023, 4, 1)):
        cultivation.decide(reviewer, a.id, "admit", "入库")
        cultivation.decide(reviewer, b.id, "admit", "入库")
        cultivation.decide(reviewer, b.id, "recognise", "通过认定", certificate_no="GR1")
    seller = factory.organization(kind="university")
    for n, registered in ((1, date(2022, 5, 1)), (2, None), (3, date(2019, 12, 31))):
        db.session.add(TechContract(contract_type="transfer", seller_org_id=seller.id, buyer_org_id=a.id,
                                    amount_fen=100, registration_no=f"R{n}" if registered else None,
                                    registered_on=registered, signed_on=date(2022, 1, 1)))
    db.session.commit()
    login(client, reviewer)
    english(client)
    html = client.get("/programmes/targets").get_data(as_text=True)
    assert _figure(html, "projects_reserve")[0] == "computed" and _figure(html, "projects_reserve")[1][0] == "2"
    assert _figure(html, "projects_implemented")[1][0] == "2"  # funded + completed in 2020–2024
    assert _figure(html, "key_technologies")[1][0] == "1"
    assert _figure(html, "hte_pool")[1][0] == "1"
    assert _figure(html, "hte_recognised")[1][0] == "1"
    assert _figure(html, "achievements_transferred")[1][0] == "1"  # registered, inside the period
    assert _figure(html, "platforms") == ("not_held", ["not", "held", "on", "the", "platform"])
    assert "力争5年内新增省级以上各类创新平台100家" in html


def test_county_rd_is_not_entered_until_someone_enters_it(client, factory):
    reviewer = factory.user("reviewer")
    login(client, reviewer)
    english(client)
    state, words = _figure(client.get("/programmes/targets").get_data(as_text=True), "county_rd")
    assert (state, words) == ("not_entered", ["not", "entered"])
    from marketplace.dashboards import models

    for county, rd in (("东昌府区", 2200), ("临清市", 1000), ("阳谷县", 3000)):
        db.session.add(models.CountyRD(year=2022, county=county, rd_spending_fen=rd * 100, gdp_fen=100_000 * 100,
                                       entered_by_id=reviewer.id))
    db.session.commit()
    state, words = _figure(client.get("/programmes/targets").get_data(as_text=True), "county_rd")
    assert state == "computed" and words[0] == "66%" and "(2/3," in words


def test_only_the_city_sees_the_targets(client, factory):
    login(client, factory.user("enterprise"))
    assert client.get("/programmes/targets").status_code == 403


def test_targets_and_industries_quote_the_original_text():
    text = policy_file(ORIGINAL).read_text(encoding="utf-8")
    for t in targets.load_targets():
        assert t.sentence_zh in text, t.key
        assert t.values and all(v.period[0] < v.period[1] for v in t.values)
    doc = yaml.safe_load((Path(common.__file__).parent / "industries.yaml").read_text(encoding="utf-8"))
    assert doc["sentence_zh"] in text
    for ind in common.industries().values():
        assert ind.sentence_zh in text, ind.key
    # The text names "九大产业" but lists none of them: the list used is the six fields of 1.2.
    assert "九大产业" in text and len(common.industries()) == 6
