"""Shared fixtures.

Real components (Elasticsearch, stripe-mock, Chromium, PostgreSQL) are started by
``scripts/test`` and announced through environment variables. A test that needs one asks
for its fixture: without the variable the test is skipped on a developer machine, and
fails under ``CI=true`` — in CI a component that did not start is a failure, never a skip.
"""
import contextvars
import os
import signal

import pytest
from flask.testing import FlaskClient


def _stop(signum, frame):
    # A TERM (scripts/test forwards its own and Ctrl-C's; CI's cancel) ends the run as Ctrl-C
    # does: pytest then tears its fixtures down, and the servers they started (live gunicorns,
    # clusters) stop with them. Python's default for TERM is to die on the spot, leaving them
    # running. A second TERM kills at once, as a second Ctrl-C would.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise KeyboardInterrupt(f"signal {signum}")


signal.signal(signal.SIGTERM, _stop)


def _component(var: str, what: str) -> str:
    value = os.environ.get(var)
    if value:
        return value
    message = f"{what} is not running ({var} is unset); start it with scripts/test"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def elasticsearch_url() -> str:
    return _component("ELASTICSEARCH_URL", "Elasticsearch")


@pytest.fixture(scope="session")
def stripe_api_base() -> str:
    return _component("STRIPE_API_BASE", "stripe-mock")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return _component("CHROMIUM_PATH", "Chromium")


@pytest.fixture(scope="session")
def axe_core_path() -> str:
    """axe.min.js from npm (scripts/components/axe-core.sh), for the accessibility checks."""
    return _component("AXE_CORE_PATH", "axe-core")


@pytest.fixture(scope="session")
def nginx_path() -> str:
    return _component("NGINX_PATH", "nginx")


@pytest.fixture(scope="session")
def s3_server() -> dict:
    """A real S3-compatible server (SeaweedFS, scripts/components/seaweedfs.sh): endpoint and keys."""
    return {"endpoint_url": _component("S3_TEST_ENDPOINT_URL", "SeaweedFS (S3)"),
            "access_key_id": os.environ.get("S3_TEST_ACCESS_KEY_ID", ""),
            "secret_access_key": os.environ.get("S3_TEST_SECRET_ACCESS_KEY", "")}


# --- the application under test -------------------------------------------------------

@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """SQLite in a temporary file by default; PostgreSQL when TEST_DATABASE_URL is set."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture()
def empty_database_url(database_url, tmp_path):
    """A new, empty database beside the test run's: a SQLite file, or a PostgreSQL database on
    the same server that is dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    name = f"empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from marketplace import create_app
    from marketplace.extensions import db

    instance = tmp_path_factory.mktemp("instance")
    application = create_app({
        "CONFIG_NAME": "test",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "UPLOAD_DIR": str(instance / "uploads"),
        "SEARCH_SQLITE_PATH": str(instance / "search.sqlite"),
        "SERVER_NAME": "marketplace.test",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    })
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture()
def app_ctx(app):
    from marketplace.extensions import db

    with app.app_context():
        yield app
        db.session.rollback()
        db.session.remove()
        # Empty every table, children first, so each test starts from nothing.
        # (The ledger refuses deletes; the test harness lifts its guards to clean up.)
        from marketplace.core import append_only
        from marketplace.ledger.models import install_guards, remove_guards

        tables = db.metadata.sorted_tables
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Replica mode skips triggers (the ledger's guards and the foreign-key checks)
                # for this session only; DELETE takes no lock that an idle reader blocks.
                conn.exec_driver_sql("SET session_replication_role = replica")
                for table in tables:
                    conn.execute(table.delete())
                conn.exec_driver_sql("SET session_replication_role = origin")
            else:
                remove_guards(conn)
                append_only.remove_all(conn)
                for table in reversed(tables):
                    conn.execute(table.delete())
                install_guards(conn)
                append_only.install_all(conn)
        # The search index lives outside the database: empty it too.
        backend = app.extensions.get("search_backend")
        if backend is not None:
            backend.reindex([])
        # So does the in-memory payment gateway: its idempotency keys name order ids, which
        # the emptied tables hand out again (a later test's "order-1-pay-1" got an earlier
        # test's intent, of another amount).
        from marketplace.payments import services as payment_services

        payment_services._memory_gateway = None


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as a real server would: its own app context,
    ``g`` and database session, not the test's."""

    def open(self, *args, **kwargs):
        response = contextvars.Context().run(super().open, *args, **kwargs)
        db_session_expire()
        return response


def db_session_expire():
    from marketplace.extensions import db

    db.session.expire_all()


@pytest.fixture()
def client(app_ctx):
    app_ctx.test_client_class = IsolatedClient
    return app_ctx.test_client()


@pytest.fixture()
def factory(app_ctx):
    from tests.factories import Factory

    return Factory()


@pytest.fixture()
def fresh_gateway(monkeypatch):
    """An in-memory payment gateway of this test's own: the shared one lives for the session,
    and its idempotency keys (``order-<id>-pay-1``) repeat in every test's fresh database, so a
    refund would find an earlier test's payment of another amount."""
    from marketplace.payments import services

    monkeypatch.setattr(services, "_memory_gateway", None)


@pytest.fixture()
def provider(factory):
    """A member of a verified in-city service agency (its services take vouchers)."""
    return factory.provider()


@pytest.fixture()
def enterprise(factory):
    """A member of a verified small enterprise of the city."""
    return factory.enterprise()


@pytest.fixture()
def university(factory):
    return factory.university(name="聊城大学")


def pytest_sessionstart(session):
    """Compile the translation catalogues the app reads (they are built, not committed)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    po = root / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        return  # already compiled from this catalogue (mutation runs start pytest hundreds of times)
    subprocess.run([sys.executable, str(root / "scripts" / "i18n.py"), "compile"], check=True)
