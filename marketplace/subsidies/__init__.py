"""Liaocheng innovative-city subsidy rules engine (聊城创新型城市建设补贴规则引擎).

Pure Python: no Flask, no SQLAlchemy, no database, no clock. A scenario in,
awards out; every award carries a trace quoting its clause.

Public API::

    evaluate(scenario) -> Result                      # Scenario or its JSON dict
    evaluate_stream(year, organizations, transactions) -> Result
    Scenario.from_dict(d) / ScenarioError(transaction_id, field, message)
    voucher_split(fee, on) -> VoucherSplit(province, city, enterprise)
    compute_claim(kind, evidence, on) -> Award ; CLAIM_KINDS ; claim_kinds()
    county_rd_indicator(figures, year) -> Indicator
    hte_assessment(figures, on) -> HteAssessment      # high-tech enterprise criteria (1.3)
    Parameters.load(directory) / default_parameters()
"""
from .clauses.claims import CLAIM_KINDS, ClaimError, ClaimKind, EvidenceField, claim_kinds, compute_claim
from .clauses.hte import HteAssessment, HteCriterion, HteError, HteFigures, hte_assessment
from .clauses.indicator import CountyFigure, CountyResult, Indicator, IndicatorError, county_rd_indicator
from .clauses.vouchers import VoucherSplit, voucher_split
from .engine import evaluate, evaluate_stream
from .parameters import ParameterError, Parameters, default_parameters
from .result import Award, Exclusion, Flag, Result
from .scenario import Organization, Scenario, ScenarioError, Transaction

__all__ = [
    "Award", "CLAIM_KINDS", "ClaimError", "ClaimKind", "CountyFigure", "CountyResult", "EvidenceField",
    "Exclusion", "Flag", "Indicator", "IndicatorError", "Organization", "ParameterError", "Parameters",
    "Result", "Scenario", "ScenarioError", "Transaction", "VoucherSplit", "claim_kinds", "compute_claim",
    "county_rd_indicator", "default_parameters", "evaluate", "evaluate_stream", "voucher_split",
    "HteAssessment", "HteCriterion", "HteError", "HteFigures", "hte_assessment",
]
