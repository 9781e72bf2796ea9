"""Links that leave the site (in mails): built on the configured EXTERNAL_BASE_URL, never on
the Host header of the request that caused them, which the sender of the request chooses."""
from __future__ import annotations

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    base = current_app.config["EXTERNAL_BASE_URL"].rstrip("/")
    path = current_app.url_map.bind("localhost").build(endpoint, values)  # the path only
    return base + path
