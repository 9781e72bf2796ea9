"""All configuration lives here. Nothing else in the project reads ``os.environ``.

Each class is a complete configuration; an environment variable of the same name as an
attribute overrides it (``DATABASE_URL`` overrides ``SQLALCHEMY_DATABASE_URI``). Select a
class with ``MARKETPLACE_CONFIG`` (development, test, production).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"
SECRET_KEY_FILE = "secret_key"  # in the instance folder (git-ignored): development only

# Values that once shipped in this file or in the repository's scripts and tests. Anyone can
# read them, so a production server that uses one is as good as keyless: it refuses to start.
KNOWN_DEFAULTS = {
    "SECRET_KEY": {"dev-only-secret-change-me", "test-secret", "browser-journeys-secret", "bench-secret",
                   "change-me", "CHANGE-ME", "secret", "dev", "development"},
    "STRIPE_SECRET_KEY": {"sk_test_liaochengDemoKey2024", "sk_test_123", "sk_test_", "CHANGE-ME"},
    "STRIPE_WEBHOOK_SECRET": {"whsec_liaocheng_demo", "whsec_test", "whsec_", "CHANGE-ME"},
    "EXTERNAL_BASE_URL": {"http://127.0.0.1:5000", "http://localhost:5000", "http://marketplace.test"},
}
# Settings production cannot run without; each is read from the environment.
PRODUCTION_REQUIRED = ("SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "EXTERNAL_BASE_URL")
MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(SystemExit):
    """A configuration the platform refuses to run with. A ``SystemExit``: uncaught, it ends the
    process with status 1 and prints its one line, naming the variable, on stderr."""


class Config:
    SECRET_KEY: str | None = None  # development: generated into instance/; production: from the environment
    # Links sent by mail (password reset, invitations) start with this, never with the Host
    # header of the request that caused them.
    EXTERNAL_BASE_URL = "http://127.0.0.1:5000"
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'marketplace.sqlite'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # SQLite only (WAL journal always): NORMAL syncs to disk at checkpoints, not at every
    # commit (a power cut may lose the last commits, never corrupts); FULL syncs every commit.
    SQLITE_SYNCHRONOUS = "NORMAL"
    # SQLite has one writer at a time: a unit of work waits this long for the write lock (its
    # turn) before the request fails. PostgreSQL waits on row locks without a limit.
    SQLITE_BUSY_TIMEOUT_MS = 30000

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
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 14 * 24 * 3600  # seconds "stay logged in" lasts
    PASSWORD_RESET_MAX_AGE = 3600  # seconds a reset link stays valid
    INVITATION_MAX_AGE = 7 * 24 * 3600
    REGISTRATION_MAX_AGE = 24 * 3600  # seconds a registration's confirmation link stays valid
    # Failed logins: after LOGIN_MAX_FAILURES for one e-mail from one address, that pair
    # waits LOGIN_BACKOFF_SECONDS, doubling with every further failure up to
    # LOGIN_BACKOFF_MAX_SECONDS; the same for one address over any e-mails after
    # LOGIN_MAX_FAILURES_PER_ADDRESS. The account itself is never locked.
    LOGIN_MAX_FAILURES = 5
    LOGIN_MAX_FAILURES_PER_ADDRESS = 50
    LOGIN_BACKOFF_SECONDS = 60
    LOGIN_BACKOFF_MAX_SECONDS = 3600
    LOGIN_FAILURE_MEMORY_SECONDS = 24 * 3600  # failures older than this are forgotten

    # Request rate limits (Flask-Limiter; "N per second|minute|hour|day", ";" between several),
    # counted per client address. The storage is shared by the server's workers in production
    # (e.g. redis://host:6379); memory:// counts per process.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # A storage that cannot be reached counts in memory meanwhile, and never turns a request into a 500.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_LOGIN = "10 per minute; 100 per hour"
    RATELIMIT_REGISTER = "5 per minute; 30 per hour"
    RATELIMIT_PASSWORD_RESET = "5 per minute; 30 per hour"
    RATELIMIT_OBJECTION = "5 per minute; 30 per hour"
    RATELIMIT_API = "120 per minute"
    # Webhook deliveries refused (a signature or body that does not verify) per address: valid
    # ones are not counted, since the gateway sends one or more for every payment from a few
    # addresses (100 checkouts/s are 100 deliveries/s). An address past it is refused outright.
    RATELIMIT_WEBHOOK = "300 per minute"

    # Uploads (marketplace/core/storage.py): "local" keeps them in UPLOAD_DIR, outside the web
    # root (one machine); "s3" in a bucket of an S3-compatible object store that every web node
    # reaches (several machines): S3_ENDPOINT_URL (empty: AWS itself), S3_BUCKET (created if
    # missing), the key pair, S3_REGION and S3_PREFIX (prepended to every object name).
    STORAGE_BACKEND = "local"
    UPLOAD_DIR = str(INSTANCE_DIR / "uploads")
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    S3_ENDPOINT_URL = ""
    S3_BUCKET = "marketplace-uploads"
    S3_ACCESS_KEY_ID = ""
    S3_SECRET_ACCESS_KEY = ""
    S3_REGION = "us-east-1"
    S3_PREFIX = ""

    # How many machines serve the web app behind the proxy. Above 1 every node must share
    # what it keeps: uploads in S3 (STORAGE_BACKEND=s3), search in Elasticsearch (the embedded
    # index is a file on one machine: the app refuses to start with it).
    WEB_NODES = 1

    # Search: "embedded" (SQLite FTS5 file) or "elasticsearch".
    SEARCH_BACKEND = "embedded"
    SEARCH_SQLITE_PATH = str(INSTANCE_DIR / "search.sqlite")
    # The embedded index prepares a reindex in a helper process on a machine with two CPUs or
    # more; true keeps it in the reindexing process (a machine whose CPUs are busy elsewhere).
    SEARCH_REINDEX_INLINE = False
    ELASTICSEARCH_URL = "http://127.0.0.1:9200"
    ELASTICSEARCH_INDEX = "marketplace-listings"

    # Payments: "stripe" (stripe-python against Stripe or stripe-mock) or "memory" (unit tests).
    PAYMENT_GATEWAY = "stripe"
    STRIPE_API_BASE = "http://127.0.0.1:12111"
    STRIPE_SECRET_KEY: str | None = "sk_test_liaochengDemoKey2024"  # stripe-mock's; production sets its own
    STRIPE_WEBHOOK_SECRET: str | None = "whsec_liaocheng_demo"
    # stripe-mock sends no webhooks; in development the platform relays the signed event
    # to its own webhook endpoint, as `stripe listen --forward-to` would.
    STRIPE_RELAY_WEBHOOKS = False
    # How long one attempt at a call to the gateway may wait to connect, and then for its
    # answer (seconds; a connection that fails is tried twice more under the same idempotency
    # key). stripe-python's own 80 would hold a web worker for minutes while the gateway hangs.
    STRIPE_TIMEOUT_S = 20
    # Bank transfer (对公转账): the account buyers transfer to — the platform's escrow account,
    # from which finance pays the sellers — shown beside the reference to write in the remark.
    BANK_ESCROW_ACCOUNT_NAME = "聊城创新服务平台资金监管账户"
    BANK_ESCROW_ACCOUNT_NO = "3721 0000 0000 0000 000"
    BANK_ESCROW_BANK = "示例银行聊城分行"

    # Subsidy claims: days an approved claim stays on public notice (公示).
    PUBLIC_NOTICE_DAYS = 7
    # Objections to a claim on notice, per verified contact (e-mail): per claim, per 24 hours;
    # and how long an anonymous objector's confirmation link stays valid (seconds).
    OBJECTIONS_PER_CLAIM = 1
    OBJECTIONS_PER_DAY = 5
    OBJECTION_CONFIRM_MAX_AGE = 2 * 24 * 3600
    # Negotiation: days a quote or proposal stays open unless its author says otherwise, and
    # the default period of the agreed-price public notice (协议定价公示) a university or
    # public institute's negotiated sale stands on before the contract is signed.
    QUOTE_VALID_DAYS = 30
    PRICE_NOTICE_DAYS = 15

    # After-commit work (marketplace/outbox.py): "inline" drains at the end of the request that
    # wrote it; "worker" leaves it to `flask --app wsgi worker` (one or more processes).
    OUTBOX_DRAIN = "inline"
    OUTBOX_MAX_ATTEMPTS = 8  # a row that failed this often is parked for an administrator
    OUTBOX_RETRY_BASE_SECONDS = 10  # waits between tries: at once, 10 s, 20 s, 40 s ...
    OUTBOX_RETRY_MAX_SECONDS = 3600
    WORKER_IDLE_MS = 500  # how long an idle worker sleeps between rounds
    # After a round that found only a little work (a trickle of requests), wait this long before
    # the next, so that the next round finds a batch: every round costs the same fixed reads
    # (each topic, the timed jobs, the heartbeat) however little it does, and one round per
    # checkout cost the worker ~13 ms of CPU a checkout. A round with WORKER_BUSY_ROWS rows or
    # more (a backlog) goes on at once. 0: no wait.
    WORKER_LINGER_MS = 200
    WORKER_BUSY_ROWS = 100

    # Outgoing mail (marketplace/notifications/mail.py), sent by the outbox after commit.
    # MAIL_BACKEND: "smtp" (a real server), "console" (printed), "locmem" (kept in memory, tests).
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 25
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_TIMEOUT = 10  # seconds
    MAIL_DEFAULT_SENDER = "聊城创新服务平台 <noreply@localhost>"

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
    # stripe-python's own lines: at INFO two for every call to the gateway ("Request to Stripe
    # api", "Stripe API response"), four a card payment. The platform logs what the calls
    # decide (the request line, a refusal, a failure); set INFO or DEBUG to see the calls too.
    LOG_LEVEL_STRIPE = "WARNING"
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
    # /dashboards: how long a process reuses the counties of the year's parties (a county map
    # of thousands of organisations per view is most of the page at province volume). New
    # ledger entries and new organisations show at once; a county changed in the database
    # directly shows within this many seconds.
    DASHBOARD_COUNTIES_MAX_AGE_SECONDS = 60
    # The background worker's heartbeat must be younger than this; 0 = no worker is
    # deployed (the outbox is drained after each request) and the check says "not configured".
    WORKER_HEARTBEAT_MAX_AGE = 0
    # Backups (`flask backup create`): where they go, how many of the newest are kept, and
    # the directory of pg_dump/pg_restore (empty: the newest /usr/lib/postgresql/*/bin, else PATH).
    BACKUP_DIR = str(INSTANCE_DIR / "backups")
    BACKUP_KEEP = 14
    PG_BIN = ""

    # Instrument bookings: an unpaid booking expires (its hours are freed) this many minutes
    # after it was made; bookings are taken at most this many days ahead.
    BOOKING_PAYMENT_MINUTES = 30
    BOOKING_HORIZON_DAYS = 180
    # Innovation vouchers: a delivered service the buyer neither accepts nor disputes is
    # accepted automatically after this many days; a service delivered within this many days
    # of payment counts as on time (shown to the city at admission review).
    VOUCHER_AUTO_ACCEPT_DAYS = 15
    VOUCHER_DELIVERY_DAYS = 30

    # The demo city (`flask demo load`, marketplace/demo/): "full" is the believable city of a
    # few hundred organisations and a thousand listings with a year of their trade; "named" is
    # only the named organisations of city.yaml and their year (what most tests need: it loads
    # in seconds).
    DEMO_CITY = "full"


class DevelopmentConfig(Config):
    DEBUG = True
    MAIL_BACKEND = "console"
    STRIPE_RELAY_WEBHOOKS = True


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    EXTERNAL_BASE_URL = "http://marketplace.test"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    PAYMENT_GATEWAY = "memory"
    STRIPE_RELAY_WEBHOOKS = True
    LOGIN_MAX_FAILURES = 5
    MAIL_BACKEND = "locmem"
    # The suite logs in thousands of times from one address; a test of a limit sets its own.
    RATELIMIT_LOGIN = RATELIMIT_REGISTER = RATELIMIT_PASSWORD_RESET = RATELIMIT_OBJECTION = \
        RATELIMIT_API = RATELIMIT_WEBHOOK = "100000 per minute"
    LOGIN_MAX_FAILURES_PER_ADDRESS = 100000
    DEMO_CITY = "named"  # tests of the whole city ask for "full" themselves
    DASHBOARD_COUNTIES_MAX_AGE_SECONDS = 0  # a test that keeps them sets its own


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # No usable default: each must come from the environment (checked by ``load``).
    SECRET_KEY = None
    STRIPE_SECRET_KEY = None
    STRIPE_WEBHOOK_SECRET = None
    EXTERNAL_BASE_URL = None


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


def _instance_secret_key(instance_dir: Path) -> str:
    """The development key: generated once into the instance folder, then reused, so sessions
    survive a restart and every worker signs with the same key."""
    path = Path(instance_dir) / SECRET_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic; the first of several starting workers wins
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def check_nodes(settings: dict) -> None:
    """Several web machines cannot share the embedded search index (a file on one machine)."""
    nodes = int(settings.get("WEB_NODES", 1))
    if nodes < 1:
        raise ConfigurationError("configuration error: WEB_NODES must be 1 or more")
    if nodes > 1 and settings.get("SEARCH_BACKEND") not in ("elasticsearch", "es"):
        raise ConfigurationError(f"configuration error: WEB_NODES is {nodes} but SEARCH_BACKEND is "
                                 f"{settings.get('SEARCH_BACKEND')!r}; the embedded index lives on one machine, "
                                 f"so several web nodes need SEARCH_BACKEND=elasticsearch")
    if settings.get("STORAGE_BACKEND", "local") not in ("local", "s3"):
        raise ConfigurationError("configuration error: STORAGE_BACKEND must be local or s3")


def check_gateway(settings: dict) -> None:
    """A gateway timeout a web worker can live with."""
    if not 1 <= int(settings.get("STRIPE_TIMEOUT_S", 20)) <= 300:
        raise ConfigurationError("configuration error: STRIPE_TIMEOUT_S must be a number of seconds from 1 to 300")


def check_production(settings: dict) -> None:
    """Refuse a production configuration whose secrets are missing or public."""
    for key in PRODUCTION_REQUIRED:
        value = settings.get(key)
        if not value:
            raise ConfigurationError(f"configuration error: {key} is not set; production needs its own value "
                                     f"in the environment")
        if value in KNOWN_DEFAULTS.get(key, ()):
            raise ConfigurationError(f"configuration error: {key} is a published default value; "
                                     f"set a private one in the environment")
    if len(settings["SECRET_KEY"]) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(f"configuration error: SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} "
                                 f"characters; generate one, e.g. python -c 'import secrets; print(secrets.token_hex(32))'")
    if not settings["EXTERNAL_BASE_URL"].startswith("https://"):
        raise ConfigurationError("configuration error: EXTERNAL_BASE_URL must start with https://")


def load(name: str | None = None, environ=None, instance_dir: Path | None = None, overrides: dict | None = None) -> dict:
    """Return the settings of configuration ``name`` with environment overrides applied, then
    ``overrides`` (a dict given by code: tests, scripts).

    Production raises ``ConfigurationError`` on a missing or default secret; development
    without a SECRET_KEY uses one generated into ``instance_dir`` (``instance/``)."""
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
    settings.update(overrides or {})
    url = settings["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):  # psycopg 3 is the driver we ship
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    settings["SQLALCHEMY_DATABASE_URI"] = url
    settings["CONFIG_NAME"] = name
    check_nodes(settings)
    check_gateway(settings)
    if name == "production":
        check_production(settings)
    elif not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = _instance_secret_key(instance_dir or INSTANCE_DIR)
    return settings
