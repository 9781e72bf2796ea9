"""Rules-engine behaviour a mutation run (issue 16, session 5) showed unguarded. Each expectation
is read from the policy (CLAUSES.md, SCENARIO.md) or from the parameter file's own words, never
from the engine's output. Pure: no app, no database."""
from datetime import date
from decimal import Decimal

import pytest

from marketplace.subsidies import (
    HteError,
    IndicatorError,
    ParameterError,
    Parameters,
    compute_claim,
    county_rd_indicator,
    default_parameters,
    evaluate,
    hte_assessment,
    voucher_split,
)

HTE_FIGURES = {"revenue_last_year": "40000000", "revenue_3y": "100000000", "rd_3y": "5000000",
               "rd_3y_in_china": "5000000", "high_tech_revenue": "24000000", "staff": 100, "st_staff": 10,
               "core_ip_count": 1, "founded_on": "2020-03-01"}


# --- C: the county indicator (6.2) ---------------------------------------------------------

@pytest.mark.parametrize("bad", [True, False, 2.2, None, [1]])
def test_a_county_figure_that_is_not_a_decimal_is_refused_naming_county_and_field(bad):
    with pytest.raises(IndicatorError) as refused:
        county_rd_indicator([{"county": "临清市", "rd_spending": bad, "gdp": "100000"}], 2022)
    assert (refused.value.county, refused.value.field) == ("临清市", "rd_spending")


def test_a_county_without_gdp_is_refused_not_divided_by_zero():
    with pytest.raises(IndicatorError) as refused:
        county_rd_indicator([{"county": "阳谷县", "rd_spending": "0", "gdp": "0"}], 2022)
    assert (refused.value.field, refused.value.message) == ("gdp", "must be greater than 0")


def test_the_indicator_trace_shows_each_countys_rd_and_gdp():
    ind = county_rd_indicator([{"county": "东昌府区", "rd_spending": "2200", "gdp": "100000"}], 2022)
    assert "东昌府区: R&D 2,200.00 / GDP 100,000.00 = 2.20%" in "\n".join(ind.explain("en"))


# --- B6 and HTE ----------------------------------------------------------------------------

def test_a_commissioner_project_claim_says_it_matches_the_provincial_support():
    award = compute_claim("B6.project", {"applicant": "ec1", "project": "千企项目", "provincial_support": "120000.00"},
                          date(2024, 12, 1))
    assert "1∶1 match of the provincial support: 120,000.00" in award.explain("en")


def test_hte_figures_with_more_rd_in_china_than_rd_in_all_are_refused_in_words():
    with pytest.raises(HteError) as refused:
        hte_assessment({**HTE_FIGURES, "rd_3y_in_china": "5000001"}, date(2025, 6, 30))
    assert (refused.value.field, refused.value.message) == (
        "rd_3y_in_china", "R&D in China is part of all R&D: it cannot be larger")


# --- A3: the split of a voucher fee (5.3) ----------------------------------------------------

def test_shares_that_round_up_past_the_fee_never_make_the_enterprise_pay_less_than_nothing():
    # CLAUSES.md A3: the three parts add up to the fee exactly; on fees of a few fen the
    # enterprise may pay 0. A reform of 50 % + 50 % on a fee of 0.03: each share is 0.015,
    # rounded half-up 0.02, so the city's part is what is left of the fee.
    params = default_parameters().amended("a3.province_share", date(2030, 1, 1), Decimal("0.5")) \
        .amended("a3.city_share", date(2030, 1, 1), Decimal("0.5"))
    split = voucher_split(Decimal("0.03"), date(2030, 6, 1), parameters=params)
    assert (split.province, split.city, split.enterprise) == (Decimal("0.02"), Decimal("0.01"), Decimal("0.00"))


# --- the readable report and its clause titles ----------------------------------------------

def test_the_chinese_trace_names_each_clause_by_its_chinese_title(example):
    fresh = Parameters.load()  # read here, not taken from the process-wide cache
    a1 = next(a for a in evaluate(example, parameters=fresh).awards if a.clause == "A1.DT")
    assert a1.explain("zh")[0].startswith("A1.DT 技术开发、技术转让合同补助（第四（一）条）")


def test_the_english_report_heads_the_totals_by_payer_never_added_up(example):
    lines = evaluate(example).explain("en").splitlines()
    assert "By payer (city and province are separate payments, never added up)" in lines


# --- parameter files -----------------------------------------------------------------------

def _parameter_file(tmp_path, section='"5.3"', values="[{effective_from: 2020-01-01, effective_to: null, value: 0.30}]"):
    (tmp_path / "p.yaml").write_text(
        "parameters:\n"
        "  a3.city_share:\n"
        f"    section: {section}\n"
        "    sentence_zh: 市财政再给予30%的补助\n"
        "    gloss_en: the city pays 30%\n"
        "    unit: share\n"
        f"    values: {values}\n", encoding="utf-8")
    return tmp_path


def test_a_parameter_whose_values_are_not_a_list_is_refused_saying_so(tmp_path):
    assert Parameters.load(_parameter_file(tmp_path)).value("a3.city_share", date(2024, 1, 1)) == Decimal("0.30")
    one = "{effective_from: 2020-01-01, effective_to: null, value: 0.30}"  # a mapping, not a list of them
    with pytest.raises(ParameterError, match="values must be a non-empty list of dated values"):
        Parameters.load(_parameter_file(tmp_path, values=one))


def test_a_parameter_with_an_empty_section_is_refused_as_missing(tmp_path):
    with pytest.raises(ParameterError, match="parameter a3.city_share: missing section"):
        Parameters.load(_parameter_file(tmp_path, section='""'))
