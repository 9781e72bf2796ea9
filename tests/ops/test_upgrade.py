"""`flask db upgrade` on a populated database of the previous release's schema keeps the data.

The previous release's database is built by its own migrations (`flask db upgrade 0007`) and
filled with the demo city: the demo is loaded through the services into the test run's
database, then every row of every table and column that exist at 0007 is copied across.
After the upgrade to head, every copied row reads back the same, the ledger verifies and the
application works on it. On SQLite and PostgreSQL."""

from flask_migrate import upgrade
from sqlalchemy import MetaData, func, select, text

from marketplace import create_app
from marketplace.demo import loader
from marketplace.extensions import db
from marketplace.ledger import services as ledger

PREVIOUS = "0007"


def _copy(source_engine, target_engine) -> dict[str, list[tuple]]:
    """Copy the rows of every table the target has, in the columns it has; return them."""
    target_meta = MetaData()
    target_meta.reflect(target_engine)
    source_meta = MetaData()
    source_meta.reflect(source_engine)
    copied = {}
    with source_engine.connect() as src, target_engine.begin() as dst:
        if dst.dialect.name == "postgresql":
            # the foreign keys point both ways between some tables (users <-> organisations)
            dst.exec_driver_sql("SET session_replication_role = replica")
        for table in target_meta.sorted_tables:
            if table.name == "alembic_version" or table.name not in source_meta.tables:
                continue
            source_table = source_meta.tables[table.name]
            columns = [c.name for c in table.columns if c.name in source_table.columns]
            rows = [dict(r._mapping) for r in src.execute(select(*[source_table.c[c] for c in columns]))]
            if rows:
                dst.execute(table.insert(), rows)
            copied[table.name] = (columns, [tuple(r[c] for c in columns) for r in rows])
        if dst.dialect.name == "postgresql":
            dst.exec_driver_sql("SET session_replication_role = origin")
            # the copied ids came with the rows: move each sequence past them
            for table in target_meta.sorted_tables:
                if "id" in table.columns and table.name in copied and copied[table.name][1]:
                    dst.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                        f"(SELECT max(id) FROM \"{table.name}\"))")
    return copied


def test_upgrade_from_the_previous_release_keeps_a_populated_database(app_ctx, empty_database_url, tmp_path):
    context = loader.load_all()
    assert ledger.verify().checked > 0
    source_engine = db.engine
    previous = create_app({"CONFIG_NAME": "test", "SQLALCHEMY_DATABASE_URI": empty_database_url,
                           "UPLOAD_DIR": str(tmp_path / "uploads"), "SEARCH_SQLITE_PATH": str(tmp_path / "s.sqlite")})
    with previous.app_context():
        upgrade(revision=PREVIOUS)
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == PREVIOUS
        copied = _copy(source_engine, db.engine)
        assert len(copied["ledger_entries"][1]) > 10 and len(copied["organizations"][1]) >= 15

        upgrade(revision="head")

        after = MetaData()
        after.reflect(db.engine)
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) != PREVIOUS
            for name, (columns, rows) in copied.items():
                table = after.tables[name]
                now = [tuple(r) for r in conn.execute(select(*[table.c[c] for c in columns]))]
                assert sorted(now, key=lambda t: tuple(str(v) for v in t)) == \
                    sorted(rows, key=lambda t: tuple(str(v) for v in t)), name
            assert conn.scalar(select(func.count()).select_from(after.tables["outbox"])
                               .where(after.tables["outbox"].c.request_id.isnot(None))) == 0
        assert ledger.verify().ok
        # The application works on the upgraded data: a demo user logs in and sees the home page.
        client = previous.test_client()
        email = next(iter(context["users"]))
        assert client.post("/login", data={"email": email, "password": context["password"]}).status_code == 302
        assert client.get("/home").status_code == 200
        db.session.remove()
        db.engine.dispose()
