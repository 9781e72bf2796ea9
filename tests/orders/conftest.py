"""Shared by the orders tests that freeze the clock: noon Beijing time (04:00 UTC) on
10 June 2026, in a request context, in English."""
from datetime import date, datetime

import pytest

NOON_BEIJING = datetime(2026, 6, 10, 4, 0)  # UTC
TODAY = date(2026, 6, 10)


@pytest.fixture()
def noon_in_english(app_ctx):
    from flask_babel import force_locale

    from marketplace.core.timeutil import frozen_at

    with frozen_at(NOON_BEIJING), app_ctx.test_request_context(), force_locale("en"):
        yield
