"""Fixtures for the rules-engine tests (pure: no app, no database)."""
import copy

import pytest

from tests.policy import policy_file  # noqa: F401 - the one place that finds ../shared/policy

EXAMPLE = {
    "year": 2024,
    "organizations": [
        {"id": "lcu", "name": "聊城大学", "kind": "university", "in_city": True},
        {"id": "acme", "name": "某机械公司", "kind": "enterprise", "size": "small", "in_city": True},
        {"id": "ag1", "name": "某技术转移中心", "kind": "agency", "in_city": True,
         "transfer_agency_level": "city", "service_agency": True, "provincial_service_reward": "0"},
        {"id": "team1", "name": "某创客团队", "kind": "maker_team", "in_city": True, "host_level": "provincial"},
    ],
    "transactions": [
        {"id": "T1", "type": "tech_contract", "contract_type": "transfer", "seller": "lcu", "buyer": "acme",
         "amount": "1200000.00", "registration_no": "2024370015000123", "registered_on": "2024-03-01",
         "project": "P-7", "broker": "ag1", "transformed_in_city": True, "status": "paid"},
        {"id": "V1", "type": "voucher_service", "buyer": "acme", "provider": "ag1", "amount": "50000.00",
         "date": "2024-05-02", "status": "paid"},
        {"id": "L1", "type": "instrument_lease", "lessee": "ag1", "instrument": "I-3", "amount": "300000.00",
         "date": "2024-01-10", "financing_lease": True, "on_sharing_platform": True},
        {"id": "S1", "type": "instrument_service", "provider": "ag1", "customer": "acme", "instrument": "I-3",
         "amount": "80000.00", "date": "2024-06-01", "status": "paid"},
    ],
}


@pytest.fixture
def example():
    return copy.deepcopy(EXAMPLE)
