"""``env.<BUCKET>``: the R2-shaped bucket API over a :class:`~runtime.buckets.base.BlobStore`.

The binding owns every rule: keys and values checked, metadata limits, checksums, ``only_if``
conditions, ranges, ``list`` paging (its cursors, delimiters and ``include``) and the events
bucket observers receive. The store behind it (files in the state folder, or S3) only keeps
bytes, so both behave the same. Every subclass answers the platform's camelCase names with a
clear error, by construction (:meth:`Bucket.__init_subclass__`), not by a decorator it could lose.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from runtime.buckets import checks, multipart
from runtime.buckets.base import BlobStore
from runtime.buckets.files import FileBlobStore
from runtime.buckets.objects import BucketObject, BucketObjectBody, EventSink
from runtime.errors import BindingError
from runtime.naming import platform_names
from runtime.output_gate import before_effect

_CURSOR = "c1."  # marks the cursors this runtime makes


@platform_names
class Bucket:
    """``env.<BUCKET>``: ``put``, ``get``, ``head``, ``delete``, ``list``.

    ``Bucket(name, folder)`` keeps objects in ``folder``; ``Bucket(name, store=...)`` in any
    :class:`BlobStore`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        platform_names(cls)  # a subclass's own methods get the same keyword checks

    def __init__(
        self,
        name: str,
        folder: Path | None = None,
        on_event: EventSink | None = None,
        now: Callable[[], float] | None = None,
        *,
        store: BlobStore | None = None,
    ) -> None:
        if store is None:
            if folder is None:
                raise TypeError("Bucket needs a folder or a store")
            store = FileBlobStore(folder)
        self.name = name
        self.store = store
        self.folder = folder
        self._on_event = on_event
        self._now = now or time.time  # the app's clock: `uploaded` moves with the fake clock in tests

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} in {self.store.where}>"

    def _key(self, key: object) -> str:
        return checks.key(self.name, key)

    async def _event(self, action: str, key: str, size: int | None, etag: str | None) -> None:
        if self._on_event is not None:
            await self._on_event(self.name, action, key, size, etag)

    # -- API ------------------------------------------------------------------------------------

    @overload
    async def put(
        self,
        key: str,
        value: str | bytes | bytearray | memoryview | None,
        *,
        http_metadata: dict[str, str] | None = None,
        custom_metadata: dict[str, str] | None = None,
        md5: str | bytes | None = None,
        sha1: str | bytes | None = None,
        sha256: str | bytes | None = None,
        sha384: str | bytes | None = None,
        sha512: str | bytes | None = None,
        only_if: None = None,
        storage_class: str | None = None,
    ) -> BucketObject: ...

    @overload
    async def put(
        self,
        key: str,
        value: str | bytes | bytearray | memoryview | None,
        *,
        http_metadata: dict[str, str] | None = None,
        custom_metadata: dict[str, str] | None = None,
        md5: str | bytes | None = None,
        sha1: str | bytes | None = None,
        sha256: str | bytes | None = None,
        sha384: str | bytes | None = None,
        sha512: str | bytes | None = None,
        only_if: dict[str, Any],
        storage_class: str | None = None,
    ) -> BucketObject | None: ...

    async def put(
        self,
        key: str,
        value: str | bytes | bytearray | memoryview | None,
        *,
        http_metadata: dict[str, str] | None = None,
        custom_metadata: dict[str, str] | None = None,
        md5: str | bytes | None = None,
        sha1: str | bytes | None = None,
        sha256: str | bytes | None = None,
        sha384: str | bytes | None = None,
        sha512: str | bytes | None = None,
        only_if: dict[str, Any] | None = None,
        storage_class: str | None = None,
    ) -> BucketObject | None:
        """Store ``value`` under ``key``; returns the new object's metadata, or None when
        ``only_if`` refused the object stored now.

        :raises BindingError: for a bad key, a value that is not text or bytes, a checksum that
            does not match the body, or a malformed ``only_if``.
        :raises LimitError: for a key over 1024 bytes or custom metadata over 2 KB.
        """
        key = self._key(key)
        data = await checks.body(self.name, key, value)
        http, custom = checks.metadata(self.name, key, http_metadata, custom_metadata)
        condition = checks.conditions(self.name, only_if)
        if storage_class not in (None, "Standard", "InfrequentAccess"):
            raise BindingError(f"bucket {self.name!r}: storage_class is 'Standard' or 'InfrequentAccess'")
        given: dict[str, object] = {"md5": md5, "sha1": sha1, "sha256": sha256, "sha384": sha384, "sha512": sha512}
        etag, hashes = await checks.digests(self.name, key, data, given)
        obj = BucketObject(
            key=key,
            size=len(data),
            etag=etag,
            uploaded=datetime.fromtimestamp(self._now(), UTC),
            version=os.urandom(16).hex(),
            http_metadata=http,
            custom_metadata=custom,
            storage_class=storage_class or "Standard",
            hashes=hashes,
        )
        test = None if condition is None else (lambda current: checks.passes(condition, current))
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        stored = await self.store.put(obj, data, test)
        if stored is not None:
            await self._event("PutObject", key, stored.size, stored.etag)
        return stored

    async def head(self, key: str) -> BucketObject | None:
        """The object's metadata (its ``range`` is the whole object), or None."""
        meta = await self.store.head(self._key(key))
        if meta is not None:
            meta.range = {"offset": 0, "length": meta.size}
        return meta

    @overload
    async def get(
        self, key: str, *, range: Mapping[str, Any] | None = None, only_if: None = None
    ) -> BucketObjectBody | None: ...

    @overload
    async def get(
        self, key: str, *, range: Mapping[str, Any] | None = None, only_if: dict[str, Any]
    ) -> BucketObjectBody | BucketObject | None: ...

    async def get(
        self, key: str, *, range: Mapping[str, Any] | None = None, only_if: dict[str, Any] | None = None
    ) -> BucketObjectBody | BucketObject | None:
        """The object with its body, or None. ``range`` is ``{"offset", "length"}`` or
        ``{"suffix"}``, or request headers whose ``Range`` header says which bytes. When
        ``only_if`` is not met, the object's metadata without a body."""
        key = self._key(key)
        condition = checks.conditions(self.name, only_if)
        wanted = checks.range_shape(self.name, range) if range is not None else None

        def plan(obj: BucketObject) -> tuple[int, int] | None:
            if condition is not None and not checks.passes(condition, obj):
                return None
            return checks.span(self.name, wanted, obj.size)

        found = await self.store.get(key, plan)
        if found is None:
            return None
        obj, data = found
        if data is None:
            return obj
        start, end = checks.span(self.name, wanted, obj.size)
        applied = {"offset": start, "length": end - start}
        return BucketObjectBody(**{**obj.__dict__, "range": applied}, body=data)

    async def delete(self, keys: str | Sequence[str]) -> None:
        """Delete one key or a list of keys; missing keys are not an error."""
        if isinstance(keys, str):
            names = [keys]
        elif isinstance(keys, list | tuple):
            names = list(keys)
        else:
            raise BindingError(f"bucket {self.name!r}: delete takes a key or a list of keys, not {keys!r:.80}")
        if len(names) > checks.MAX_LIST:
            raise BindingError(f"bucket {self.name!r}: delete takes at most {checks.MAX_LIST} keys, not {len(names)}")
        names = [self._key(k) for k in names]
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        for key in await self.store.delete(names):
            await self._event("DeleteObject", key, None, None)

    async def list(
        self,
        *,
        prefix: str | None = None,
        limit: int = checks.MAX_LIST,
        cursor: str | None = None,
        delimiter: str | None = None,
        start_after: str | None = None,
        include: builtins.list[str] | None = None,
    ) -> dict[str, Any]:
        """``{"objects": [...], "delimited_prefixes": [...], "truncated": bool, "cursor": str | None}``.

        Objects carry their HTTP and custom metadata only when ``include`` names them
        (``["http_metadata", "custom_metadata"]``), as on the platform."""
        limit = checks.limit(self.name, limit)
        wanted = checks.include(self.name, include)
        prefix = checks.optional_text(self.name, "prefix", prefix) or ""
        delimiter = checks.optional_text(self.name, "delimiter", delimiter)
        after = checks.optional_text(self.name, "start_after", start_after)
        if cursor:
            after = self._decode_cursor(checks.optional_text(self.name, "cursor", cursor) or "")
            if after is None:  # not a cursor this bucket made: an empty page, as R2 answers
                return {"objects": [], "delimited_prefixes": [], "truncated": False, "cursor": None}
        objects: builtins.list[BucketObject] = []
        prefixes: builtins.list[str] = []
        last = None
        truncated = False
        batch = min(checks.MAX_LIST, limit + 1) if delimiter is None else checks.MAX_LIST
        while not truncated:
            found = await self.store.scan(prefix, after, batch, bool(wanted))
            for obj in found:
                after = obj.key
                group = None
                if delimiter:
                    rest = obj.key[len(prefix) :]
                    if delimiter in rest:
                        group = prefix + rest.split(delimiter, 1)[0] + delimiter
                        if group in prefixes:  # one more key of a listed group: it costs no room
                            last = obj.key
                            continue
                if len(objects) + len(prefixes) >= limit:  # the limit counts objects and prefixes
                    truncated = True
                    break
                last = obj.key
                if group is not None:
                    prefixes.append(group)
                else:
                    objects.append(
                        obj.without(http="http_metadata" not in wanted, custom="custom_metadata" not in wanted)
                    )
            if len(found) < batch:
                break
            batch = min(batch * 2, 16 * checks.MAX_LIST)  # a long run of one group: fewer, larger scans
        next_cursor = self._encode_cursor(last) if truncated and last is not None else None
        return {"objects": objects, "delimited_prefixes": prefixes, "truncated": truncated, "cursor": next_cursor}

    # -- multipart uploads ------------------------------------------------------------------------

    #: Every part of a multipart upload but the last is at least this big (R2: 5 MiB).
    min_part_size = multipart.MIN_PART_SIZE

    async def create_multipart_upload(
        self,
        key: str,
        *,
        http_metadata: dict[str, str] | None = None,
        custom_metadata: dict[str, str] | None = None,
        storage_class: str | None = None,
    ) -> multipart.MultipartUpload:
        """Start uploading ``key`` in parts; the object appears when the upload completes."""
        return await multipart.create(self, key, http_metadata, custom_metadata, storage_class)

    def resume_multipart_upload(self, key: str, upload_id: str) -> multipart.MultipartUpload:
        """The upload ``upload_id`` of ``key`` again (checked when it is next used, as on R2)."""
        return multipart.MultipartUpload(self, key, upload_id)

    # -- cursors ----------------------------------------------------------------------------------

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
