"""Where uploaded files live: one small interface, two places.

* ``local`` (the default): a folder, ``UPLOAD_DIR``, outside the web root. Right for one
  machine (or several that mount the same network folder).
* ``s3``: an S3-compatible object store (``S3_ENDPOINT_URL``, ``S3_BUCKET``,
  ``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY``, ``S3_REGION``, ``S3_PREFIX``) — what
  several web nodes use, so that a file uploaded through one node is served by any other
  and no node keeps anything the others need. Tested against a real SeaweedFS server
  (scripts/components/seaweedfs.sh).

Keys are ``<area>/<name>`` (``claims/3f2a...``); names are made by ``marketplace.core.uploads``.
A put never replaces an existing key silently on the local disk (names are random and
new); a delete of a missing key is no error; a read of a missing key raises
``FileNotFoundError`` on both.
"""
from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

BACKENDS = ("local", "s3")


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def open(self, key: str) -> BinaryIO:
        """The stored bytes, to read (``FileNotFoundError`` when missing)."""

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str = "") -> Iterator[str]: ...


def _check_key(key: str) -> str:
    parts = key.split("/")
    if len(parts) != 2 or not all(parts) or any(p in (".", "..") for p in parts) or "\\" in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class LocalStorage:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        except BaseException:
            try:
                os.remove(path)
            except OSError:
                pass
            raise

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return open(path, "rb")

    def delete(self, key: str) -> None:
        try:
            os.remove(self._path(key))
        except FileNotFoundError:
            pass

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str = "") -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in sorted(self.root.rglob("*")):
            if path.is_file():
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key


class S3Storage:
    """Objects ``<prefix><key>`` in one bucket of an S3-compatible store (boto3, path-style
    addressing, signature v4), created on first use if missing."""

    def __init__(self, endpoint_url: str, bucket: str, access_key_id: str, secret_access_key: str,
                 region: str = "us-east-1", prefix: str = "", timeout: int = 10) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key, region_name=region,
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", connect_timeout=timeout,
                          read_timeout=timeout, retries={"max_attempts": 3, "mode": "standard"}))
        self._bucket_ready = False
        self._lock = threading.Lock()

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        from botocore.exceptions import ClientError

        with self._lock:
            if self._bucket_ready:
                return
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                    raise
                try:
                    self.client.create_bucket(Bucket=self.bucket)
                except ClientError as again:  # another node made it meanwhile
                    if again.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou",
                                                                          "BucketAlreadyExists"):
                        raise
            self._bucket_ready = True

    def _name(self, key: str) -> str:
        return self.prefix + _check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._ensure_bucket()
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data, ContentType=content_type)

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        self._ensure_bucket()
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(key) from None
            raise
        with body:
            return io.BytesIO(body.read())  # at most 10 MB (uploads.MAX_UPLOAD_BYTES)

    def delete(self, key: str) -> None:
        self._ensure_bucket()
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        self._ensure_bucket()
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def keys(self, prefix: str = "") -> Iterator[str]:
        self._ensure_bucket()
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix):]


def make_storage(config) -> Storage:
    """The storage ``config`` (a Flask config or dict) describes."""
    kind = config.get("STORAGE_BACKEND", "local")
    if kind == "local":
        return LocalStorage(config["UPLOAD_DIR"])
    if kind == "s3":
        return S3Storage(config["S3_ENDPOINT_URL"], config["S3_BUCKET"], config["S3_ACCESS_KEY_ID"],
                         config["S3_SECRET_ACCESS_KEY"], config.get("S3_REGION") or "us-east-1",
                         config.get("S3_PREFIX") or "")
    raise ValueError(f"unknown STORAGE_BACKEND {kind!r} (local | s3)")


def storage() -> Storage:
    """The app's storage. The local one is made from the settings of the moment (cheap); the
    S3 client is made once per app and settings (it keeps its connections)."""
    config = current_app.config
    if config.get("STORAGE_BACKEND", "local") == "local":
        return LocalStorage(config["UPLOAD_DIR"])
    key = tuple(config.get(k) for k in ("STORAGE_BACKEND", "S3_ENDPOINT_URL", "S3_BUCKET", "S3_ACCESS_KEY_ID",
                                        "S3_SECRET_ACCESS_KEY", "S3_REGION", "S3_PREFIX"))
    cached = current_app.extensions.get("marketplace_storage")
    if cached is None or cached[0] != key:
        cached = (key, make_storage(config))
        current_app.extensions["marketplace_storage"] = cached
    return cached[1]
