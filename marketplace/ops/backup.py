"""Backups: the database, the uploads and a manifest, in one directory per backup.

``flask --app wsgi backup create [--output DIR]`` writes ``DIR/marketplace-<UTC time>/``:

- ``database.dump`` (PostgreSQL, ``pg_dump`` custom format) or ``database.sqlite`` (SQLite,
  the online backup API: a consistent copy while the platform keeps writing);
- ``uploads.tar.gz``, the upload folder (claim evidence, listing attachments);
- ``manifest.json``: when, which database, the Alembic revision, the ledger's entry count and
  head hash, every table's row count, and the SHA-256 of each file.

On PostgreSQL the figures of the manifest are read in the very snapshot ``pg_dump`` dumps
(``pg_export_snapshot``), so the manifest describes the dump exactly even while payments and
ledger entries are being written. The uploads are copied after the snapshot: a file the
dumped rows name was written before its row was committed, so it is in the archive (files
of later rows may be too; they are harmless).

The backup is assembled under a hidden name and renamed when complete, then all but the
BACKUP_KEEP newest backups in the directory are deleted.

``flask --app wsgi backup restore BACKUP`` loads a backup into the configured database, which
must be empty (a new database: restoring over live data is refused), and the upload folder,
which must be empty too; then it compares the restored ledger and row counts with the manifest.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db

PREFIX = "marketplace-"
FORMAT = 1


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why and what to do."""


# --- helpers --------------------------------------------------------------------------------

def pg_bin(tool: str) -> str:
    """``pg_dump``/``pg_restore``: from PG_BIN, else the newest /usr/lib/postgresql/*/bin
    (as scripts/components/postgres.sh finds initdb), else the PATH."""
    configured = current_app.config.get("PG_BIN")
    if configured:
        return str(Path(configured) / tool)
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: [int(p) if p.isdigit() else p for p in
                                                                         Path(d).parent.name.split(".")])
    for directory in reversed(dirs):
        if os.access(Path(directory) / tool, os.X_OK):
            return str(Path(directory) / tool)
    found = shutil.which(tool)
    if not found:
        raise BackupError(f"{tool} not found: install postgresql-client or set PG_BIN")
    return found


@contextmanager
def _libpq(url) -> Iterator[str]:
    """A libpq connection URL without the password (a password on the command line would show
    in the process list): the password is in a passfile only this user reads, named by the
    URL's ``passfile`` parameter and removed afterwards."""
    url = make_url(url)
    plain = url.set(drivername="postgresql", password=None)
    if not url.password:
        yield plain.render_as_string(hide_password=False)
        return
    secret = url.password.replace("\\", "\\\\").replace(":", "\\:")
    fd, passfile = tempfile.mkstemp(prefix="marketplace-pgpass-")
    try:
        with os.fdopen(fd, "w") as fh:  # mkstemp: mode 0600, as libpq requires
            fh.write(f"*:*:*:*:{secret}\n")
        yield plain.update_query_dict({"passfile": passfile}).render_as_string(hide_password=False)
    finally:
        os.remove(passfile)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(url) -> Path:
    url = make_url(url)
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def figures(conn: Connection) -> dict:
    """What the manifest records about a database and a restore compares: the Alembic
    revision, the ledger's entry count and head, and every table's row count."""
    names = sorted(inspect(conn).get_table_names())
    revision = None
    if "alembic_version" in names:
        revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
    ledger = {"entries": 0, "head_seq": 0, "head_hash": None}
    if "ledger_entries" in names:
        head = conn.execute(text("SELECT seq, hash FROM ledger_entries ORDER BY seq DESC LIMIT 1")).first()
        ledger = {"entries": conn.scalar(text("SELECT count(*) FROM ledger_entries")),
                  "head_seq": head[0] if head else 0, "head_hash": head[1] if head else None}
    counts = {name: conn.scalar(text(f'SELECT count(*) FROM "{name}"')) for name in names}
    return {"alembic_revision": revision, "ledger": ledger, "tables": counts}


# --- create -----------------------------------------------------------------------------------

def _dump_postgresql(url, target: Path) -> dict:
    engine = db.engine
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
            found = figures(conn)
            # The snapshot stays valid while this transaction is open: pg_dump dumps what
            # `found` counted, whatever commits meanwhile.
            with _libpq(url) as dsn:
                result = subprocess.run([pg_bin("pg_dump"), "--format=custom", f"--snapshot={snapshot}",
                                         "--no-owner", "--no-privileges", f"--file={target}", f"--dbname={dsn}"],
                                        capture_output=True, text=True)
            if result.returncode != 0:
                raise BackupError(f"pg_dump failed: {result.stderr.strip()[-500:]}")
    return found


def _dump_sqlite(url, target: Path) -> dict:
    source = sqlite3.connect(_sqlite_path(url), timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # one step: a consistent copy of the WAL database
    finally:
        copy.close()
        source.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return figures(conn)
    finally:
        engine.dispose()


_UPLOADS = "uploads/"
# (Python 3.11.4 and later also apply tarfile's own "data" filter, which checks the same again)
_DATA_FILTER = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def _archive_uploads(upload_dir: Path, target: Path) -> dict:
    files = size = 0
    with tarfile.open(target, "w:gz") as tar:
        if upload_dir.is_dir():
            for path in sorted(upload_dir.rglob("*")):
                if path.is_file():
                    tar.add(path, arcname=_UPLOADS + path.relative_to(upload_dir).as_posix())
                    files += 1
                    size += path.stat().st_size
    return {"files": files, "bytes": size}


def create_backup(output: str | os.PathLike | None = None, keep: int | None = None) -> Path:
    """Write a complete backup into ``output`` (BACKUP_DIR) and prune to ``keep``
    (BACKUP_KEEP) newest. Returns the backup's directory."""
    config = current_app.config
    out = Path(output or config["BACKUP_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    now = utcnow()
    name = PREFIX + now.strftime("%Y%m%dT%H%M%S%fZ")
    final = out / name
    partial = out / f".partial-{name}-{os.getpid()}"
    partial.mkdir()
    url = db.engine.url
    backend = url.get_backend_name()
    try:
        if backend == "postgresql":
            db_file = partial / "database.dump"
            found = _dump_postgresql(url, db_file)
        elif backend == "sqlite":
            db_file = partial / "database.sqlite"
            found = _dump_sqlite(url, db_file)
        else:
            raise BackupError(f"no backup method for a {backend} database")
        uploads = _archive_uploads(Path(config["UPLOAD_DIR"]), partial / "uploads.tar.gz")
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(timespec="seconds") + "Z",
            "host": socket.gethostname(),
            "database": {"backend": backend, "file": db_file.name, "sha256": _sha256(db_file)},
            "uploads": {"file": "uploads.tar.gz", "sha256": _sha256(partial / "uploads.tar.gz"), **uploads},
            **found,
        }
        (partial / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    prune(out, config["BACKUP_KEEP"] if keep is None else keep)
    return final


def backups_in(directory: Path) -> list[Path]:
    """Complete backups in ``directory``, oldest first (their names sort by time)."""
    return sorted(p for p in directory.glob(PREFIX + "*") if (p / "manifest.json").is_file())


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest complete backups; returns what was deleted."""
    if keep < 1:
        return []
    doomed = backups_in(directory)[:-keep]
    for path in doomed:
        shutil.rmtree(path)
    return doomed


# --- restore ----------------------------------------------------------------------------------

@dataclass
class RestoreReport:
    manifest: dict
    restored: dict
    mismatches: list[str]


def read_manifest(backup: Path) -> dict:
    path = backup / "manifest.json"
    if not path.is_file():
        raise BackupError(f"{backup} is not a backup: it has no manifest.json")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{backup}: unknown backup format {manifest.get('format')!r}")
    for part in ("database", "uploads"):
        file = backup / manifest[part]["file"]
        if not file.is_file() or _sha256(file) != manifest[part]["sha256"]:
            raise BackupError(f"{file} is missing or damaged (its SHA-256 differs from the manifest)")
    return manifest


def _require_empty(engine, upload_dir: Path) -> None:
    with engine.connect() as conn:
        tables = inspect(conn).get_table_names()
    if tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise BackupError(
            f"the target database is not empty ({len(tables)} tables: {shown}); a backup is restored "
            "only into an empty database: create a new one and point DATABASE_URL at it")
    if upload_dir.is_dir() and any(upload_dir.iterdir()):
        raise BackupError(f"the upload folder {upload_dir} is not empty; restore into an empty folder "
                          "(set UPLOAD_DIR to a new one)")


def _upload_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The uploads archive's members, named below the upload folder, if it holds only what a
    folder of uploads holds: plain files and folders at relative paths that stay inside it.
    Their owner becomes the restoring user's; their permissions lose the set-id and sticky bits,
    the group's and others' write, and (a file's) every execute bit. Anything else (a link, a
    device, an absolute path, a ``..``) refuses the archive.

    This is what tarfile's "data" filter does, done here because Debian 12's Python, 3.11.2,
    the one production runs (deploy/README.md), has no extraction filters (they came in 3.11.4)."""
    members = []
    for member in tar.getmembers():
        if not member.name.startswith(_UPLOADS):
            continue
        name = member.name[len(_UPLOADS):].rstrip("/")
        if not name and member.isdir():  # (the folder itself)
            continue
        parts = PurePosixPath(name).parts
        if not name or name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
            raise BackupError(f"the uploads archive holds {member.name!r}: only plain files and folders inside "
                              f"{_UPLOADS} are restored")
        member.name = name
        member.uid, member.gid, member.uname, member.gname = os.geteuid(), os.getegid(), "", ""
        member.mode = (member.mode & 0o755) | 0o700 if member.isdir() else member.mode & 0o644
        members.append(member)
    return members


def restore_backup(backup: str | os.PathLike) -> RestoreReport:
    """Load ``backup`` into the configured (empty) database and upload folder, then compare
    the restored figures with the manifest."""
    backup = Path(backup)
    manifest = read_manifest(backup)
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    engine = db.engine
    backend = engine.url.get_backend_name()
    if backend != manifest["database"]["backend"]:
        raise BackupError(f"this is a {manifest['database']['backend']} backup; the configured database "
                          f"is {backend}")
    _require_empty(engine, upload_dir)
    with tarfile.open(backup / manifest["uploads"]["file"], "r:gz") as tar:
        members = _upload_members(tar)  # (an archive refused is refused before anything is written)
        _load_database(engine, backup / manifest["database"]["file"])
        upload_dir.mkdir(parents=True, exist_ok=True)
        tar.extractall(upload_dir, members=members, **_DATA_FILTER)
    with engine.connect() as conn:
        restored = figures(conn)
    mismatches = [f"{key}: backup {manifest.get(key)!r}, restored {restored.get(key)!r}"
                  for key in ("alembic_revision", "ledger") if manifest.get(key) != restored.get(key)]
    for table, count in manifest["tables"].items():
        if restored["tables"].get(table) != count:
            mismatches.append(f"table {table}: backup {count} rows, restored {restored['tables'].get(table)}")
    return RestoreReport(manifest, restored, mismatches)


def _load_database(engine, db_file: Path) -> None:
    """The backup's database file into the configured (empty) database."""
    db.session.remove()
    if engine.url.get_backend_name() == "postgresql":
        with _libpq(engine.url) as dsn:
            result = subprocess.run([pg_restore := pg_bin("pg_restore"), "--no-owner", "--no-privileges",
                                     "--exit-on-error", "--single-transaction", f"--dbname={dsn}", str(db_file)],
                                    capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError(f"{Path(pg_restore).name} failed: {result.stderr.strip()[-500:]}")
    else:
        engine.dispose()
        target = sqlite3.connect(_sqlite_path(engine.url), timeout=30)
        source = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
    engine.dispose()


# --- the commands -----------------------------------------------------------------------------

cli = AppGroup("backup", help="Back up and restore the database and the uploads.")


@cli.command("create")
@click.option("--output", type=click.Path(file_okay=False), help="Directory for backups (default BACKUP_DIR).")
@click.option("--keep", type=click.IntRange(min=0), help="Keep this many newest backups (default BACKUP_KEEP; 0: all).")
def create_command(output, keep):
    """Back up the database and the uploads, then delete the oldest beyond the retention."""
    try:
        path = create_backup(output, keep)
    except BackupError as exc:
        click.echo(f"backup failed: {exc}", err=True)
        sys.exit(1)
    manifest = json.loads((path / "manifest.json").read_text())
    ledger = manifest["ledger"]
    click.echo(f"backup written: {path}")
    click.echo(f"ledger: {ledger['entries']} entries, head {ledger['head_seq']} {ledger['head_hash']}; "
               f"uploads: {manifest['uploads']['files']} files")


@cli.command("restore")
@click.argument("backup", type=click.Path(exists=True, file_okay=False))
def restore_command(backup):
    """Restore BACKUP into the configured database, which must be empty, and verify it."""
    from marketplace.ops.services import verify_ledger

    try:
        report = restore_backup(backup)
    except BackupError as exc:
        click.echo(f"restore refused: {exc}", err=True)
        sys.exit(1)
    ledger = report.restored["ledger"]
    click.echo(f"restored {backup}: revision {report.restored['alembic_revision']}, "
               f"ledger {ledger['entries']} entries, head {ledger['head_seq']} {ledger['head_hash']}")
    for line in report.mismatches:
        click.echo(f"MISMATCH {line}", err=True)
    result = verify_ledger(source="cli")
    if result.ok:
        click.echo(f"ledger intact: {result.checked} entries")
    else:
        click.echo(f"ledger broken at entry {result.first_broken_seq}: {result.reason}", err=True)
    if report.mismatches or not result.ok:
        sys.exit(1)
