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

    # Instrument bookings: an unpaid booking expires (its hours are freed) this many minutes
    # after it was made; bookings are taken at most this many days ahead.
    BOOKING_PAYMENT_MINUTES = 30
    BOOKING_HORIZON_DAYS = 180


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
