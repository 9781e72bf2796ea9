"""Append-only tables: rows are written once and never updated or deleted.

``guard(Model, message, error)`` enforces it twice, as the ledger does
(``marketplace.ledger.models``):

* in the ORM: flushing a modified or deleted row, or an ORM bulk ``update()`` / ``delete()``
  of the model, raises ``error``;
* in the database: triggers refuse ``UPDATE`` and ``DELETE`` (and ``TRUNCATE`` on
  PostgreSQL). ``create_all`` installs them (``after_create``); a migration calls
  ``install(bind, table)`` / ``remove(bind, table)``.

``install_all`` / ``remove_all`` act on every guarded table (the test harness lifts the guards
to empty the database between tests).
"""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

_GUARDED: dict[str, str] = {}  # table name -> message


def _sqlite(table: str, message: str) -> tuple[str, ...]:
    return (f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


def _sqlite_remove(table: str) -> tuple[str, ...]:
    return (f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete")


def _postgresql(table: str, message: str) -> tuple[str, ...]:
    return (f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION USING MESSAGE = '{message} (' || TG_OP || ' refused)'; END $$",
            f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}",
            f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()")


def _postgresql_remove(table: str) -> tuple[str, ...]:
    return (f"DROP TRIGGER IF EXISTS {table}_no_update_delete ON {table}",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_append_only()")


def run_statements(bind, statements) -> None:
    """Run DDL ``statements`` on a Connection (migrations, DDL events) or an Engine."""
    if hasattr(bind, "exec_driver_sql"):  # a Connection (op.get_bind(), DDL events)
        for sql in statements:
            bind.exec_driver_sql(sql)
    else:  # an Engine
        with bind.begin() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)


def _dialect(bind) -> str:
    name = bind.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"no append-only guard for the {name} dialect")
    return name


def install(bind, table: str, message: str | None = None) -> None:
    """Create the triggers that refuse UPDATE and DELETE on ``table``. Idempotent."""
    message = message or _GUARDED[table]
    run_statements(bind, (_sqlite if _dialect(bind) == "sqlite" else _postgresql)(table, message))


def remove(bind, table: str) -> None:
    """Drop the triggers (and on PostgreSQL their function). Idempotent."""
    run_statements(bind, (_sqlite_remove if _dialect(bind) == "sqlite" else _postgresql_remove)(table))


def install_all(bind) -> None:
    for table in _GUARDED:
        install(bind, table)


def remove_all(bind) -> None:
    for table in _GUARDED:
        remove(bind, table)


def refuse_changes(models, message: str, error: type[Exception]) -> None:
    """The ORM half alone: flushing a modified or deleted row of ``models`` (a class or a tuple
    of classes) raises ``error``."""

    @event.listens_for(Session, "before_flush")
    def _refuse_changes(session, flush_context, instances):
        for obj in session.deleted:
            if isinstance(obj, models):
                raise error(f"{message}: refusing to delete a row")
        for obj in session.dirty:
            if isinstance(obj, models) and session.is_modified(obj, include_collections=False):
                raise error(f"{message}: refusing to update a row")


def guard(model, message: str, error: type[Exception]) -> None:
    """Make ``model``'s table append-only in the ORM and in the database (see the module)."""
    table = model.__table__
    _GUARDED[table.name] = message
    refuse_changes(model, message, error)

    @event.listens_for(Session, "do_orm_execute")
    def _refuse_bulk_changes(state):
        if (state.is_update or state.is_delete) and state.bind_mapper is not None \
                and state.bind_mapper.class_ is model:
            raise error(f"{message}: refusing a bulk update or delete")

    @event.listens_for(table, "after_create")
    def _after_create(target, connection, **kw):
        install(connection, table.name)

    @event.listens_for(table, "after_drop")
    def _after_drop(target, connection, **kw):
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {table.name}_append_only()")
