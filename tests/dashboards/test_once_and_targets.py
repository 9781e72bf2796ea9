"""The dashboards count one contract once, whatever year its payment and registration fall
in, and measure the county indicator against the target the city set for each year."""
import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from marketplace.core.timeutil import frozen_at
from marketplace.dashboards import services
from marketplace.dashboards.models import INDICATOR_COUNTIES
from marketplace.orders import services as orders
from marketplace.payments import services as payments
from tests.factories import login


def test_a_contract_paid_in_december_and_registered_in_january_counts_once_in_january(client, factory):
    uni = factory.university()
    buyer = factory.enterprise()
    reviewer = factory.user("reviewer")
    patent = factory.listing(uni, "achievement", price_fen=50_000_000, transfer_modes=["assignment"])
    with frozen_at(datetime(2024, 12, 30, 4)):
        order = orders.buy_achievement(buyer, patent.id, "assignment")
        payments.checkout(buyer, order.id)
    with frozen_at(datetime(2025, 1, 6, 4)):
        orders.register_contract(uni, order.contract.id, "2025370015000001", date(2025, 1, 6), "transfer")
    december, january = services.turnover(reviewer, 2024), services.turnover(reviewer, 2025)
    assert (december.total_fen, december.trades) == (0, 0)  # its payment is counted as the registration
    assert (january.total_fen, january.trades) == (50_000_000, 1)
    assert january.by_kind["contract_registered"] == 50_000_000 and january.by_kind["payment"] == 0
    assert services.headline(2025).turnover_fen == 50_000_000
    login(client, reviewer)
    html = client.get("/dashboards/?year=2025").get_data(as_text=True)
    assert 'id="turnover-total" data-fen="50000000"' in html and 'id="trades" data-count="1"' in html


def test_a_service_paid_but_not_otherwise_recorded_counts_as_its_payment(client, factory, provider, enterprise):
    service = factory.listing(provider, price_fen=300_000)
    with frozen_at(datetime(2025, 5, 5, 4)):
        factory.paid(enterprise, factory.order(enterprise, service))
    t = services.turnover(factory.user("finance"), 2025)
    assert (t.total_fen, t.trades, t.by_kind["payment"]) == (300_000, 1, 300_000)


LATER_TARGET = """
  - year: 2024
    rd_intensity: "0.023"
    county_share: "0.50"
    source_zh: 测试用：2024年目标2.3%。
    source_en: For the test, a 2024 target of 2.3 %.
"""


@pytest.fixture
def later_target(monkeypatch, tmp_path):
    """The city publishes a 2024 target: one more entry in the targets file."""
    path = tmp_path / "rd_targets.yaml"
    path.write_text(services.TARGETS_FILE.read_text(encoding="utf-8") + LATER_TARGET, encoding="utf-8")
    monkeypatch.setattr(services, "TARGETS_FILE", path)
    services.rd_targets.cache_clear()
    yield
    services.rd_targets.cache_clear()


def test_the_measures_own_target_is_the_one_in_force_until_the_city_sets_another():
    targets = services.rd_targets()
    assert [(t.year, t.rd_intensity, t.county_share) for t in targets] == [(2022, Decimal("0.022"), Decimal("0.50"))]
    assert services.target_for(2025).kind == "latest" and services.target_for(2025).target.year == 2022


def test_each_year_is_measured_against_its_own_target_kept_as_data(client, factory, later_target):
    targets = {t.year: t for t in services.rd_targets()}
    assert targets[2022].rd_intensity == Decimal("0.022") and targets[2022].county_share == Decimal("0.50")
    assert max(targets) == 2024  # the year the city added, read from the data
    assert services.target_for(2021).kind == "ahead" and services.target_for(2021).target.year == 2022
    assert services.target_for(2099).kind == "latest" and services.target_for(2099).target.year == max(targets)
    reviewer = factory.user("reviewer")
    # 2.25 % reaches 2022's 2.2 % but not a later year's 2.3 %
    for year in (2022, 2024):
        for county in INDICATOR_COUNTIES[:2]:
            services.save_county_rd(reviewer, year, county, 225, 10_000)
    assert targets[2024].rd_intensity == Decimal("0.023")
    assert services.county_indicator(reviewer, 2022).result.reaching == 2
    view = services.county_indicator(reviewer, 2024)
    assert (view.result.reaching, view.result.target_year, view.result.target_intensity) == (0, 2024, Decimal("0.023"))
    login(client, reviewer)
    html = client.get("/dashboards/indicator?year=2024").get_data(as_text=True)
    lead = re.search(r'id="target-of-year".*?</p>', html, re.S).group(0)
    assert 'data-target-year="2024"' in lead and "2024年目标" in lead and "2.30%" in lead and "2022" not in lead
    table = re.search(r'id="targets".*?</section>', html, re.S).group(0)
    for year in targets:
        assert f'data-year="{year}"' in table
    assert re.search(r'data-year="2022".*?2 个中 2 个', table, re.S)
    html = client.get("/dashboards/indicator?year=2099").get_data(as_text=True)
    assert "市里尚未设定2099年目标" in html
