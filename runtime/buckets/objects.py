"""What a bucket hands back: ``BucketObject`` (``head``, ``put``, ``list``) and ``BucketObjectBody``
(``get``), shaped as the platform's ``R2Object`` and ``R2ObjectBody``, and the bucket event body."""

from __future__ import annotations

import builtins
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EventSink = Callable[[str, str, str, int | None, str | None], Awaitable[None]]  # bucket, action, key, size, etag


@dataclass
class BucketObject:
    """An object's metadata (``head``), as the platform's ``R2Object``.

    ``hashes`` holds the checksums given to ``put`` beyond MD5 (``sha1`` .. ``sha512``, hex)."""

    key: str
    size: int
    etag: str
    uploaded: datetime
    version: str
    http_metadata: dict[str, str] = field(default_factory=dict)
    custom_metadata: dict[str, str] = field(default_factory=dict)
    range: dict[str, int] | None = None
    storage_class: str = "Standard"
    hashes: dict[str, str] = field(default_factory=dict)

    @property
    def http_etag(self) -> str:
        return f'"{self.etag}"'

    @property
    def checksums(self) -> dict[str, str]:
        if "-" in self.etag:  # a multipart object's etag is no MD5 of its body
            return dict(self.hashes)
        return {"md5": self.etag, **self.hashes}

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
            "checksums": self.checksums,
        }

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> BucketObject:
        """The object :meth:`as_dict` described; ``KeyError``/``TypeError``/``ValueError`` when it
        is not such a description."""
        http = meta.get("http_metadata", {})
        custom = meta.get("custom_metadata", {})
        hashes = {k: v for k, v in meta.get("checksums", {}).items() if k != "md5"}
        for mapping in (http, custom, hashes):
            if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
                raise TypeError("metadata maps str to str")
        size, key = meta["size"], meta["key"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 or not isinstance(key, str):
            raise TypeError("size is a count of bytes and key a string")
        etag, version = meta["etag"], meta["version"]
        if not isinstance(etag, str) or not isinstance(version, str):
            raise TypeError("etag and version are strings")
        uploaded = datetime.fromisoformat(meta["uploaded"])
        if uploaded.tzinfo is None:
            uploaded = uploaded.replace(tzinfo=UTC)
        return cls(key, size, etag, uploaded, version, dict(http), dict(custom), None, "Standard", hashes)

    def without(self, *, http: bool, custom: bool) -> BucketObject:
        """This object with its HTTP and/or custom metadata left out (``list`` without ``include``)."""
        return BucketObject(
            self.key, self.size, self.etag, self.uploaded, self.version,
            {} if http else dict(self.http_metadata), {} if custom else dict(self.custom_metadata),
            None, self.storage_class, dict(self.hashes),
        )  # fmt: skip


@dataclass
class BucketObjectBody(BucketObject):
    """An object with its body (``get``): ``await text()``, ``json()``, ``bytes()``/``array_buffer()``."""

    body: builtins.bytes = b""

    async def text(self) -> str:
        return self.body.decode()

    async def json(self) -> Any:
        return json.loads(self.body)

    async def bytes(self) -> builtins.bytes:
        return self.body

    async def array_buffer(self) -> builtins.bytes:
        return self.body


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
