"""Buckets (``bucket`` and ``smartbucket`` blocks): the R2-shaped API of ``env.<BUCKET>``.

Objects live on the filesystem under the state directory, one file per object plus a JSON
sidecar for its metadata. File names are the percent-encoded key (a SHA-256 for very long
keys), so every key, ``../../etc/passwd`` included, stays inside the bucket's folder.
Writes are atomic (write to a temporary file, then rename). Puts and deletes are reported to
bucket observers as the platform's event body.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from runtime.arguments import utf8
from runtime.errors import BindingError, LimitError
from runtime.naming import platform_names

MAX_KEY_BYTES = 1024
MAX_LIST = 1000
_CURSOR = "c1."  # marks the cursors this runtime makes
MAX_CUSTOM_METADATA = 2048  # bytes of custom metadata keys and values, as R2 counts them

EventSink = Callable[[str, str, str, int | None, str | None], Awaitable[None]]  # bucket, action, key, size, etag


@dataclass
class BucketObject:
    """An object's metadata (``head``), as the platform's ``R2Object``."""

    key: str
    size: int
    etag: str
    uploaded: datetime
    version: str
    http_metadata: dict[str, str] = field(default_factory=dict)
    custom_metadata: dict[str, str] = field(default_factory=dict)
    range: dict[str, int] | None = None
    storage_class: str = "Standard"

    @property
    def http_etag(self) -> str:
        return f'"{self.etag}"'

    @property
    def checksums(self) -> dict[str, str]:
        return {"md5": self.etag}

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "http_etag": self.http_etag,
            "uploaded": self.uploaded.isoformat(),
            "version": self.version,
            "http_metadata": self.http_metadata,
            "custom_metadata": self.custom_metadata,
            "storage_class": self.storage_class,
        }


@dataclass
class BucketObjectBody(BucketObject):
    """An object with its body (``get``): ``await text()``, ``json()``, ``bytes()``/``array_buffer()``."""

    body: builtins.bytes = b""

    async def text(self) -> str:
        return self.body.decode()

    async def json(self) -> Any:
        return json.loads(self.body)

    async def bytes(self) -> bytes:
        return self.body

    async def array_buffer(self) -> builtins.bytes:
        return self.body


@platform_names
class Bucket:
    """``env.<BUCKET>``: ``put``, ``get``, ``head``, ``delete``, ``list``."""

    def __init__(
        self, name: str, folder: Path, on_event: EventSink | None = None, now: Callable[[], float] | None = None
    ) -> None:
        self.name = name
        self.folder = folder
        self._on_event = on_event
        self._now = now or time.time  # the app's clock: `uploaded` moves with the fake clock in tests
        folder.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"<Bucket {self.name!r}>"

    # -- paths --------------------------------------------------------------------------------

    def _check(self, key: object) -> str:
        if not isinstance(key, str):  # the empty key is a key, as on R2
            raise BindingError(f"bucket {self.name!r}: keys are strings, not {key!r}")
        if "\x00" in key:
            raise BindingError(f"bucket {self.name!r}: key {key!r} contains a NUL character")
        size = len(utf8(key, f"bucket {self.name!r}: key {key[:40]!r}"))
        if size > MAX_KEY_BYTES:
            raise LimitError(f"bucket {self.name!r}: key is {size} bytes; the limit is 1024")
        return key

    def _stem(self, key: str) -> Path:
        encoded = quote(key, safe="")
        if not encoded:  # the empty key: a lone "%" is a name percent-encoding never makes
            encoded = "%"
        elif encoded in (".", ".."):  # the only names percent-encoding leaves that a path would resolve
            encoded = encoded.replace(".", "%2E")
        elif len(encoded) > 200:
            encoded = "sha256-" + hashlib.sha256(key.encode()).hexdigest()
        path = self.folder / encoded
        assert path.parent == self.folder  # percent-encoding leaves no separator to escape through
        return path

    def _meta_path(self, key: str) -> Path:
        return self._stem(key).with_name(self._stem(key).name + ".meta.json")

    def _read_meta(self, key: str) -> BucketObject | None:
        try:
            meta = json.loads(self._meta_path(key).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return _object(meta)

    # -- API ------------------------------------------------------------------------------------

    async def put(
        self,
        key: str,
        value: str | bytes | bytearray | memoryview | None,
        *,
        http_metadata: dict[str, str] | None = None,
        custom_metadata: dict[str, str] | None = None,
        md5: str | None = None,
    ) -> BucketObject:
        """Store ``value`` under ``key``; returns the new object's metadata.

        :raises BindingError: for a bad key, a value that is not text or bytes, or an ``md5``
            that does not match the body.
        """
        key = self._check(key)
        if value is None:
            data = b""
        elif isinstance(value, str):
            data = utf8(value, f"bucket {self.name!r}: value for {key!r}")
        elif isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
        else:
            raise BindingError(f"bucket {self.name!r}: value for {key!r} is a {type(value).__name__}; put str or bytes")
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if md5 is not None and md5.lower() != etag:
            raise BindingError(f"bucket {self.name!r}: md5 {md5!r} does not match the body of {key!r} ({etag})")
        for label, mapping in (("http_metadata", http_metadata), ("custom_metadata", custom_metadata)):
            if mapping is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
                raise BindingError(f"bucket {self.name!r}: {label} must map str to str")
        custom_size = sum(len(k.encode()) + len(v.encode()) for k, v in (custom_metadata or {}).items())
        if custom_size > MAX_CUSTOM_METADATA:
            raise LimitError(
                f"bucket {self.name!r}: put: Your metadata headers exceed the maximum allowed metadata size. (10012): "
                f"custom_metadata of {key!r} is {custom_size} bytes (keys and values); the limit is {MAX_CUSTOM_METADATA}"
            )
        obj = BucketObject(
            key=key,
            size=len(data),
            etag=etag,
            uploaded=datetime.fromtimestamp(self._now(), UTC),
            version=os.urandom(16).hex(),
            http_metadata=dict(http_metadata or {}),
            custom_metadata=dict(custom_metadata or {}),
        )
        _atomic_write(self._stem(key), data)
        _atomic_write(self._meta_path(key), json.dumps(obj.as_dict()).encode())
        if self._on_event is not None:
            await self._on_event(self.name, "PutObject", key, obj.size, obj.etag)
        return obj

    async def head(self, key: str) -> BucketObject | None:
        """The object's metadata (its ``range`` is the whole object), or None."""
        meta = self._read_meta(self._check(key))
        if meta is not None:
            meta.range = {"offset": 0, "length": meta.size}
        return meta

    async def get(self, key: str, *, range: dict[str, int] | None = None) -> BucketObjectBody | None:
        """The object with its body, or None. ``range`` is ``{"offset", "length"}`` or ``{"suffix"}``."""
        key = self._check(key)
        meta = self._read_meta(key)
        if meta is None:
            return None
        try:
            data = self._stem(key).read_bytes()
        except FileNotFoundError:
            return None
        start, end = _satisfy(range, len(data), f"bucket {self.name!r}")
        applied = {"offset": start, "length": end - start}
        data = data[start:end]
        return BucketObjectBody(**{**meta.__dict__, "range": applied}, body=data)

    async def delete(self, keys: str | Sequence[str]) -> None:
        """Delete one key or a list of keys; missing keys are not an error."""
        for key in [keys] if isinstance(keys, str) else list(keys):
            key = self._check(key)
            existed = self._meta_path(key).exists()
            for path in (self._stem(key), self._meta_path(key)):
                path.unlink(missing_ok=True)
            if existed and self._on_event is not None:
                await self._on_event(self.name, "DeleteObject", key, None, None)

    async def list(
        self,
        *,
        prefix: str | None = None,
        limit: int = MAX_LIST,
        cursor: str | None = None,
        delimiter: str | None = None,
        start_after: str | None = None,
    ) -> dict[str, Any]:
        """``{"objects": [...], "delimited_prefixes": [...], "truncated": bool, "cursor": str | None}``."""
        self._check_limit(limit)
        if cursor:
            after = self._decode_cursor(cursor)
            if after is None:  # not a cursor this bucket made: an empty page, as R2 answers
                return {"objects": [], "delimited_prefixes": [], "truncated": False, "cursor": None}
        else:
            after = start_after
        objects: list[BucketObject] = []
        prefixes: list[str] = []
        last = None
        truncated = False
        for key in sorted(self._keys()):
            if prefix and not key.startswith(prefix):
                continue
            if after is not None and key <= after:
                continue
            group = None
            if delimiter:
                rest = key[len(prefix or "") :]
                if delimiter in rest:
                    group = (prefix or "") + rest.split(delimiter, 1)[0] + delimiter
                    if group in prefixes:  # one more key of a listed group: it costs no room
                        last = key
                        continue
            if len(objects) + len(prefixes) >= limit:  # the limit counts objects and prefixes
                truncated = True
                break
            last = key
            if group is not None:
                prefixes.append(group)
                continue
            meta = self._read_meta(key)
            if meta is not None:
                objects.append(meta)
        next_cursor = self._encode_cursor(last) if truncated and last is not None else None
        return {"objects": objects, "delimited_prefixes": prefixes, "truncated": truncated, "cursor": next_cursor}

    def _check_limit(self, limit: object) -> None:
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
            raise BindingError(f"bucket {self.name!r}: list limit must be 1 to 1000, not {limit!r}")

    def _decode_cursor(self, cursor: str) -> str | None:
        """The key a cursor of ours continues after; None for anything else."""
        if not cursor.startswith(_CURSOR):
            return None
        try:
            body = cursor[len(_CURSOR) :]
            return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None

    @staticmethod
    def _encode_cursor(text: str) -> str:
        return _CURSOR + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def _keys(self) -> builtins.list[str]:
        found = []
        for path in self.folder.glob("*.meta.json"):
            try:
                found.append(json.loads(path.read_text())["key"])
            except (ValueError, KeyError, FileNotFoundError):
                continue
        return found


def _satisfy(range: dict[str, int] | None, size: int, where: str) -> tuple[int, int]:
    """``(start, end)`` of ``range`` in an object of ``size`` bytes, as R2 reads it: a length
    or suffix past the object is cut to it; an offset past its end, a zero length or a zero
    suffix cannot be satisfied."""
    if range is None:
        return 0, size
    unsatisfiable = BindingError(
        f"{where}: get: The requested range is not satisfiable (10039): {range!r} of {size} bytes"
    )
    if "suffix" in range:
        suffix = int(range["suffix"])
        if suffix <= 0 or "offset" in range or "length" in range:
            raise unsatisfiable
        return max(0, size - suffix), size
    offset = int(range.get("offset", 0))
    if offset < 0 or (offset >= size and size > 0) or (offset > 0 and size == 0):
        raise unsatisfiable
    if "length" not in range:
        return offset, size
    length = int(range["length"])
    if length <= 0:
        raise unsatisfiable
    return offset, min(size, offset + length)


def _object(meta: dict[str, Any]) -> BucketObject:
    return BucketObject(
        key=meta["key"],
        size=meta["size"],
        etag=meta["etag"],
        uploaded=datetime.fromisoformat(meta["uploaded"]),
        version=meta["version"],
        http_metadata=meta.get("http_metadata", {}),
        custom_metadata=meta.get("custom_metadata", {}),
    )


def _atomic_write(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def event_body(bucket: str, action: str, key: str, size: int | None, etag: str | None, now: float) -> dict[str, Any]:
    """The platform's bucket event: ``{action, bucket, object: {key, size, eTag}, eventTime}``."""
    obj: dict[str, Any] = {"key": key}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    return {
        "action": action,
        "bucket": bucket,
        "object": obj,
        "eventTime": datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"),
    }
