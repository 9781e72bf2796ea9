"""Property-based: schemathesis generates requests from the OpenAPI document for every
operation and sends them to the app over WSGI, authenticated with a real token of a verified
enterprise member on a small seeded database (the market and the city's programmes); the
programme registries are also called with a reviewer's token, so that their answers are not
only refusals. No 5xx, and every answer matches the document."""
import contextvars
from datetime import datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from marketplace.core.timeutil import utcnow
from marketplace.listings import services as listings
from marketplace.orders import services as orders
from marketplace.payments import services as payments
from marketplace.programmes import projects
from marketplace.search import indexing as search_index
from tests.api.conftest import bearer, programme_data, published
from tests.voucher_helpers import give_voucher

MAX_EXAMPLES = 25


@pytest.fixture()
def seeded(factory):
    """A small market: a provider's service and instrument, a university's patent, one paid order;
    and the programmes: a cultivation pool, IP, commissioners and projects (one of them the enterprise's)."""
    provider = factory.user("provider", kind="agency", service_agency=True)
    university = factory.user("university", kind="university")
    enterprise = factory.user("enterprise", size="small")
    service = published(provider, "service", title="检测服务", price_fen=5_000_000)
    instrument = published(provider, "instrument", title="扫描电子显微镜")
    published(university, "achievement", title="轴承钢热处理方法", price_fen=120_000_000)
    give_voucher(enterprise.organization)
    order = orders.order_service(enterprise, service.id, with_voucher=True)
    payments.checkout(enterprise, order.id)
    tomorrow = datetime.combine(utcnow().date() + timedelta(days=1), datetime.min.time()).replace(hour=9)
    orders.book_instrument(enterprise, instrument.id, tomorrow, 2)
    draft = listings.create_listing(enterprise, "demand", {"title": "寻求轴承热处理技术"})
    programmes = programme_data(factory)
    projects.propose(enterprise, enterprise.organization.id, {
        "title": "轴承热处理技术改造", "industry": "optomechatronics", "bottleneck": "热处理变形",
        "requested_city": "500000.50"})
    search_index.reindex()
    # Ids that exist, so that generated calls reach the services and not only their 404s.
    ids = {"listing_id": [service.id, instrument.id, draft.id], "order_id": [order.id],
           "instrument_id": [instrument.id], "contract_id": [1]}
    return enterprise, programmes["reviewer"], ids


def test_every_operation_answers_as_documented(app, client, seeded):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    user, reviewer, ids = seeded
    headers, city_headers = bearer(user), bearer(reviewer)
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    # The document's own operation is left out by schemathesis (it is where the schema came from).
    assert len({op.label for op in operations} - {"GET /api/v1/openapi.json"}) == 34  # 21, the instruments' 6, the vouchers' 7
    registries = [op for op in operations if op.path.startswith("/api/v1/programmes/")]
    assert len(registries) == 4
    runs = [(op, headers) for op in operations] + [(op, city_headers) for op in registries]
    answered = set()  # the registries that answered with data at least once

    for operation, headers in runs:
        names = [p.name for p in operation.path_parameters]
        strategy = operation.as_strategy()
        if names:
            strategy = st.one_of(strategy, st.fixed_dictionaries({n: st.sampled_from(ids[n]) for n in names}).flatmap(
                lambda fixed: operation.as_strategy(path_parameters=fixed)))

        @given(case=strategy)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            # Each request runs in its own context with its own database session, as on a server.
            response = contextvars.Context().run(case.call, app=app, headers=headers)
            case.validate_response(response, checks=checks)
            if operation in registries and response.status_code == 200 and response.json()["items"]:
                answered.add(operation.path)

        run()
    assert answered == {op.path for op in registries}
