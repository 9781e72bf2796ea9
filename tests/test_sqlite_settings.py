"""A file SQLite database runs in WAL mode with the configured synchronous level."""
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from marketplace import create_app
from marketplace.extensions import db


def test_file_database_writes_ahead_and_waits_for_a_busy_writer(database_url, tmp_path):
    if make_url(database_url).get_backend_name() != "sqlite":
        pytest.skip("SQLite settings; this run uses PostgreSQL")
    app = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'w.sqlite'}",
                      "SQLITE_SYNCHRONOUS": "FULL"})
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() == app.config["SQLITE_BUSY_TIMEOUT_MS"] == 30000
        db.engine.dispose()


def test_a_bad_synchronous_level_fails_at_start(tmp_path):
    with pytest.raises(ValueError, match="SQLITE_SYNCHRONOUS"):
        create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
                    "SQLITE_SYNCHRONOUS": "SOMETIMES"})
