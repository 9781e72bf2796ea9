from tests.live import live_app_server  # noqa: F401 - the gunicorn server of the race tests
