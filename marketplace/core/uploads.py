"""Uploaded files (claim evidence, listing attachments): PDF, JPEG or PNG, checked by their
first bytes and not only the name, at most 10 MB each, stored by a random name under the key
``<area>/<name>`` in the app's storage (``marketplace.core.storage``: ``UPLOAD_DIR`` outside
the web root by default, or an S3-compatible object store shared by several web nodes).

``check`` validates everything before anything is written; ``store`` writes the checked files
and returns their keys so the caller can remove them if its transaction does not commit.
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import gettext as _

from marketplace.core.errors import ServiceError
from marketplace.core.storage import storage
from marketplace.core.uow import unit_of_work

log = logging.getLogger(__name__)

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


AREAS = ("claims", "listings", "threads", "vouchers")


def key_of(area: str, stored_name: str) -> str:
    """The storage key of a stored file (``marketplace.core.storage``)."""
    if area not in AREAS:
        raise ValueError(f"unknown upload area {area!r}")
    if not stored_name or not all(c in "0123456789abcdef" for c in stored_name):
        raise ValueError("not a stored file name")
    return f"{area}/{stored_name}"


def store(checked: list[CheckedFile], area: str) -> list[tuple[CheckedFile, str, str]]:
    """Write each file under a new random name; returns (file, stored name, key) triples. If
    one write fails, those already written are removed."""
    target = storage()
    written: list[tuple[CheckedFile, str, str]] = []
    try:
        for f in checked:
            stored = secrets.token_hex(20)
            key = key_of(area, stored)
            target.put(key, f.data, f.content_type)
            written.append((f, stored, key))
    except BaseException:
        remove([k for _f, _s, k in written])
        raise
    return written


def remove(keys) -> None:
    """Delete stored files by key; a failure is logged, never raised (the rows are gone)."""
    target = storage()
    for key in keys:
        try:
            target.delete(key)
        except Exception:  # an orphaned file is logged, the caller's work stands
            log.exception("could not delete stored file %s", key)


def open_stored(area: str, stored_name: str) -> BinaryIO:
    """The stored file to read; ``FileNotFoundError`` if it is not there."""
    return storage().open(key_of(area, stored_name))


def save_with_rows(checked: list[CheckedFile], area: str, make_row) -> None:
    """Write the checked files and add one row per file (``make_row(file, stored_name)``) in
    the caller's unit of work (or one of its own). If that unit of work rolls back — here or
    in the service that called this one — the written files are removed, so no row points at
    a missing file and no file is orphaned."""
    from marketplace.extensions import db

    with unit_of_work() as uow:
        written = store(checked, area)
        uow.on_rollback(lambda: remove([k for _f, _s, k in written]))
        for f, stored, _key in written:
            db.session.add(make_row(f, stored))
        db.session.flush()
