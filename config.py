"""All configuration lives here. Nothing else in the project reads ``os.environ``.

Each class is a complete configuration; an environment variable of the same name as an
attribute overrides it (``DATABASE_URL`` overrides ``SQLALCHEMY_DATABASE_URI``). Select a
class with ``MARKETPLACE_CONFIG`` (development, test, production).
"""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


class Config:
    SECRET_KEY = "dev-only-secret-change-me"
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'marketplace.sqlite'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # SQLite only (WAL journal always): NORMAL syncs to disk at checkpoints, not at every
    # commit (a power cut may lose the last commits, never corrupts); FULL syncs every commit.
    SQLITE_SYNCHRONOUS = "NORMAL"

    # Languages: Chinese by default, English on switch.
    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh", "en")

    # Forms and sessions.
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    PASSWORD_RESET_MAX_AGE = 3600  # seconds a reset link stays valid
    INVITATION_MAX_AGE = 7 * 24 * 3600
    LOGIN_MAX_FAILURES = 5  # failed logins per account before a pause
    LOGIN_LOCK_SECONDS = 300

    # Uploads are stored outside the web root.
    UPLOAD_DIR = str(INSTANCE_DIR / "uploads")
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024

    # Search: "embedded" (SQLite FTS5 file) or "elasticsearch".
    SEARCH_BACKEND = "embedded"
    SEARCH_SQLITE_PATH = str(INSTANCE_DIR / "search.sqlite")
    ELASTICSEARCH_URL = "http://127.0.0.1:9200"
    ELASTICSEARCH_INDEX = "marketplace-listings"

    # Payments: "stripe" (stripe-python against Stripe or stripe-mock) or "memory" (unit tests).
    PAYMENT_GATEWAY = "stripe"
    STRIPE_API_BASE = "http://127.0.0.1:12111"
    STRIPE_SECRET_KEY = "sk_test_liaochengDemoKey2024"
    STRIPE_WEBHOOK_SECRET = "whsec_liaocheng_demo"
    # stripe-mock sends no webhooks; in development the platform relays the signed event
    # to its own webhook endpoint, as `stripe listen --forward-to` would.
    STRIPE_RELAY_WEBHOOKS = False

    # Subsidy claims: days an approved claim stays on public notice (公示).
    PUBLIC_NOTICE_DAYS = 7

    # --- Operations (marketplace/ops; deploy/README.md) ---------------------------------
    # Reverse proxies in front of the app that set each X-Forwarded-* header (werkzeug
    # ProxyFix). 0 = trust none (no proxy, the development server). Behind the nginx site of
    # deploy/ set FOR=1 and PROTO=1 (one proxy); never more than the proxies you run, or a
    # client can forge its address.
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    PROXY_FIX_X_PORT = 0
    PROXY_FIX_X_PREFIX = 0
    # Logging: "json" (one JSON object a line, for journald/log shippers) or "text".
    LOG_FORMAT = "json"
    LOG_LEVEL = "INFO"
    # /metrics answers loopback clients; others need "Authorization: Bearer <METRICS_TOKEN>"
    # (empty: loopback only).
    METRICS_TOKEN = ""
    # Directory shared by a gunicorn node's worker processes for Prometheus' multiprocess
    # mode; empty: single process. The env var of the same name must be set too (the
    # prometheus_client library reads it itself) - deploy/marketplace.env does both.
    PROMETHEUS_MULTIPROC_DIR = ""
    # /readyz: seconds a probe of Elasticsearch or the payment gateway is reused (polling
    # every second must not hit them every second), and the probes' own timeout.
    READYZ_CACHE_SECONDS = 5
    READYZ_PROBE_TIMEOUT = 2
    # /readyz is 503 when the outbox holds more rows than this, or its oldest row is older.
    OUTBOX_BACKLOG_MAX = 1000
    OUTBOX_MAX_AGE_SECONDS = 600
    # The background worker's heartbeat must be younger than this; 0 = no worker is
    # deployed (the outbox is drained after each request) and the check says "not configured".
    WORKER_HEARTBEAT_MAX_AGE = 0
    # Backups (`flask backup create`): where they go, how many of the newest are kept, and
    # the directory of pg_dump/pg_restore (empty: the newest /usr/lib/postgresql/*/bin, else PATH).
    BACKUP_DIR = str(INSTANCE_DIR / "backups")
    BACKUP_KEEP = 14
    PG_BIN = ""


class DevelopmentConfig(Config):
    DEBUG = True
    STRIPE_RELAY_WEBHOOKS = True


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    PAYMENT_GATEWAY = "memory"
    STRIPE_RELAY_WEBHOOKS = True
    LOGIN_MAX_FAILURES = 5


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}

# Environment variables whose name differs from the attribute they set.
ALIASES = {"DATABASE_URL": "SQLALCHEMY_DATABASE_URI"}


def _coerce(current, raw: str):
    if isinstance(current, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def load(name: str | None = None, environ=None) -> dict:
    """Return the settings of configuration ``name`` with environment overrides applied."""
    environ = os.environ if environ is None else environ
    name = name or environ.get("MARKETPLACE_CONFIG", "development")
    try:
        cls = CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown configuration {name!r}; choose one of {sorted(CONFIGS)}")
    settings = {key: getattr(cls, key) for key in dir(cls) if key.isupper()}
    for key, value in environ.items():
        target = ALIASES.get(key, key)
        if target in settings:
            settings[target] = _coerce(settings[target], value)
    url = settings["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):  # psycopg 3 is the driver we ship
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    settings["SQLALCHEMY_DATABASE_URI"] = url
    settings["CONFIG_NAME"] = name
    return settings
