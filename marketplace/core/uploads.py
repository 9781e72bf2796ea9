"""Uploaded files (claim evidence, listing attachments): PDF, JPEG or PNG, checked by their
first bytes and not only the name, at most 10 MB each, stored under ``UPLOAD_DIR/<area>``
(outside the web root) by a random name.

``check`` validates everything before anything is written; ``store`` writes the checked files
and returns the paths so the caller can remove them if its transaction does not commit.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from marketplace.core.errors import ServiceError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_FILES = 10
# content type: (magic bytes, allowed extensions)
TYPES = {
    "application/pdf": (b"%PDF-", (".pdf",)),
    "image/jpeg": (b"\xff\xd8\xff", (".jpg", ".jpeg")),
    "image/png": (b"\x89PNG\r\n\x1a\n", (".png",)),
}


@dataclass(frozen=True)
class CheckedFile:
    original_name: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _clean_name(filename: str) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>')
    return name.strip()[:200]


def check(files) -> list[CheckedFile]:
    """``files``: (filename, bytes) pairs. Raises ServiceError (field "files") on the first bad one."""
    files = [f for f in files or () if f is not None]
    if len(files) > MAX_FILES:
        raise ServiceError(_("Attach at most %(n)d files.", n=MAX_FILES), "files")
    checked = []
    for filename, data in files:
        name = _clean_name(filename)
        if not isinstance(data, (bytes, bytearray)) or not name:
            raise ServiceError(_("A file could not be read."), "files")
        if len(data) == 0:
            raise ServiceError(_("The file %(name)s is empty.", name=name), "files")
        if len(data) > MAX_UPLOAD_BYTES:
            raise ServiceError(_("The file %(name)s is larger than 10 MB.", name=name), "files")
        ext = os.path.splitext(name)[1].lower()
        kind = next((t for t, (magic, exts) in TYPES.items() if bytes(data[:len(magic)]) == magic), None)
        if kind is None or ext not in TYPES[kind][1]:
            raise ServiceError(_("The file %(name)s is not a PDF, JPEG or PNG file.", name=name), "files")
        checked.append(CheckedFile(name, kind, bytes(data)))
    return checked


AREAS = ("claims", "listings", "vouchers")


def upload_dir(area: str) -> Path:
    if area not in AREAS:
        raise ValueError(f"unknown upload area {area!r}")
    return Path(current_app.config["UPLOAD_DIR"]) / area


def store(checked: list[CheckedFile], area: str) -> list[tuple[CheckedFile, str, Path]]:
    """Write each file under a new random name; returns (file, stored name, path) triples."""
    directory = upload_dir(area)
    directory.mkdir(parents=True, exist_ok=True)
    written: list[tuple[CheckedFile, str, Path]] = []
    try:
        for f in checked:
            stored = secrets.token_hex(20)
            path = directory / stored
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            with os.fdopen(fd, "wb") as fh:
                fh.write(f.data)
            written.append((f, stored, path))
    except OSError:
        remove([p for _f, _s, p in written])
        raise
    return written


def remove(paths) -> None:
    for path in paths:
        try:
            os.remove(path)
        except OSError:
            pass


def path_of(area: str, stored_name: str) -> Path:
    if not stored_name or not all(c in "0123456789abcdef" for c in stored_name):
        raise ValueError("not a stored file name")
    return upload_dir(area) / stored_name


def commit_with_files(checked: list[CheckedFile], area: str, make_row) -> None:
    """Write the checked files, add one row per file (``make_row(file, stored_name)``) to the
    session and commit. If anything fails the transaction rolls back and the written
    files are removed, so no row points at a missing file and no file is orphaned."""
    from marketplace.extensions import db

    written = []
    try:
        written = store(checked, area)
        for f, stored, _path in written:
            db.session.add(make_row(f, stored))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        remove([p for _f, _s, p in written])
        raise
