"""stripe-python writes two lines for every call to the gateway at INFO: the platform keeps
them out of its log unless LOG_LEVEL_STRIPE asks for them."""
import logging

from marketplace.app import create_app


def test_the_gateways_own_lines_are_left_out_unless_asked_for():
    stripe_log = logging.getLogger("stripe")
    saved = stripe_log.level
    try:
        create_app({"CONFIG_NAME": "test"})
        assert not stripe_log.isEnabledFor(logging.INFO) and stripe_log.isEnabledFor(logging.WARNING)
        create_app({"CONFIG_NAME": "test", "LOG_LEVEL_STRIPE": "info"})
        assert stripe_log.isEnabledFor(logging.INFO)
    finally:
        stripe_log.setLevel(saved)
