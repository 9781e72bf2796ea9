"""Fixtures shared by the payment tests."""
import pytest


@pytest.fixture()
def no_relay(app):
    """Webhooks arrive only when the test posts them (as in production)."""
    app.config["STRIPE_RELAY_WEBHOOKS"] = False
    yield
    app.config["STRIPE_RELAY_WEBHOOKS"] = True


@pytest.fixture()
def finance(factory):
    return factory.user("finance", name="聊城市财政局（测试）")
