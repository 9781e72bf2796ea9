"""Extensions, created once and bound to the app in ``create_app``."""
from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase

from marketplace.core import writers

# Named constraints keep Alembic migrations portable (SQLite batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Request rate limits per client address; storage and switches come from the app's
# RATELIMIT_* settings (config.py). Behind a reverse proxy the address is only right once
# the proxy's X-Forwarded-For is trusted (werkzeug's ProxyFix).
limiter = Limiter(key_func=get_remote_address)


def rate_limit(setting: str, deduct_when=None):
    """A limit read from the named setting at each request (so a test or an operator changes
    it without code): ``@rate_limit("RATELIMIT_LOGIN")``. Only POSTs count: reading a form
    is free, sending it is what is limited. ``deduct_when(response)``: only the requests
    whose answer it accepts count (all of them without it); past the limit every request
    is refused."""
    return limiter.limit(lambda: current_app.config[setting], methods=["POST"], deduct_when=deduct_when)


def tune_sqlite(engine, synchronous: str = "NORMAL", busy_timeout_ms: int = 5000) -> None:
    """SQLite only: every new connection writes ahead (WAL: readers and the one writer do not
    block each other, so several server workers share the file), syncs to disk at checkpoints
    rather than at every commit (``synchronous``, NORMAL: a power cut may lose the last commits
    but never corrupts; FULL: a sync at every commit) and waits for a busy writer instead of
    failing at once. Other databases are left alone."""
    if engine.dialect.name != "sqlite":
        return
    if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")

    writers.register(engine, busy_timeout_ms)  # (units of work wait their turn to write: core.writers)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")  # stays "memory" for an in-memory database
            cursor.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        finally:
            cursor.close()
