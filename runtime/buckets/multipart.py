"""Multipart uploads: ``create_multipart_upload``, ``resume_multipart_upload`` and the
:class:`MultipartUpload` they return (``upload_part``, ``abort``, ``complete``), with R2's rules:
part numbers 1 to 10,000; every part but the last at least the minimum part size (5 MiB) and all
of one size, the last no bigger; the parts named at ``complete`` must be the latest uploaded
under their numbers; the object's etag is the MD5 of the parts' MD5s, then ``-<count>``."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from runtime.buckets import checks
from runtime.buckets.objects import BucketObject
from runtime.errors import BindingError
from runtime.naming import platform_names
from runtime.output_gate import before_effect

if TYPE_CHECKING:
    from runtime.buckets.binding import Bucket

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000


def _error(operation: str, text: str) -> BindingError:
    return BindingError(f"{operation}: {text}")


def no_upload(operation: str) -> BindingError:
    return _error(operation, "The specified multipart upload does not exist. (10024)")


def internal(operation: str, why: str) -> BindingError:
    return _error(operation, f"We encountered an internal error. Please try again. (10001) ({why})")


@platform_names
class MultipartUpload:
    """An upload in progress: ``key``, ``upload_id``; ``upload_part``, ``abort``, ``complete``."""

    def __init__(self, bucket: Bucket, key: str, upload_id: str) -> None:
        self.bucket = bucket
        self.key = key
        self.upload_id = upload_id

    def __repr__(self) -> str:
        return f"<MultipartUpload {self.key!r} {self.upload_id} of {self.bucket.name!r}>"

    async def _state(self, operation: str) -> tuple[BucketObject, str] | None:
        checks.key(self.bucket.name, self.key)
        if not isinstance(self.upload_id, str) or not self.upload_id:
            return None
        return await self.bucket.store.upload_state(self.key, self.upload_id)

    async def upload_part(self, part_number: int, value: str | bytes | bytearray | memoryview) -> dict[str, Any]:
        """Upload part ``part_number`` (1 to 10,000; a later upload of a number replaces it);
        returns ``{"part_number", "etag"}`` for :meth:`complete`."""
        operation = "uploadPart"
        if not isinstance(part_number, int) or isinstance(part_number, bool) or not 1 <= part_number <= MAX_PART_NUMBER:
            raise BindingError(
                f"bucket {self.bucket.name!r}: part_number is 1 to {MAX_PART_NUMBER}, not {part_number!r}"
            )
        data = await checks.body(self.bucket.name, self.key, value)
        state = await self._state(operation)
        if state is None or state[1] != "in_progress":
            raise no_upload(operation)
        md5, _ = await checks.digests(self.bucket.name, self.key, data, {})
        etag = os.urandom(16).hex()  # R2's part etags are not the part's MD5
        part = BucketObject(f"part {part_number}", len(data), etag, _now(self.bucket), etag, hashes={"part_md5": md5})
        etag = await self.bucket.store.put_part(self.key, self.upload_id, part_number, part, data)
        return {"part_number": part_number, "etag": etag}

    async def abort(self) -> None:
        """Abandon the upload: its parts are removed (aborting twice is not an error)."""
        state = await self._state("abortMultipartUpload")
        if state is None:
            raise internal("abortMultipartUpload", f"no upload {self.upload_id!r} of {self.key!r}")
        if state[1] == "in_progress":
            await self.bucket.store.finish_upload(self.key, self.upload_id, [], None)

    async def complete(self, uploaded_parts: Sequence[dict[str, Any]]) -> BucketObject:
        """Make the object of ``uploaded_parts`` (``{"part_number", "etag"}`` as
        :meth:`upload_part` returned them), in part-number order, and end the upload."""
        operation = "completeMultipartUpload"
        chosen = _chosen(self.bucket.name, uploaded_parts)
        state = await self._state(operation)
        if state is None:
            raise internal(operation, f"no upload {self.upload_id!r} of {self.key!r}")
        meta, progress = state
        if progress != "in_progress":
            raise no_upload(operation)
        numbers = [n for n, _ in chosen]
        if len(set(numbers)) != len(numbers):
            raise internal(operation, "a part number is named twice")
        stored = await self.bucket.store.parts(self.key, self.upload_id)
        parts = []
        for number, etag in chosen:
            part = stored.get(number)
            if part is None or part.etag != etag:
                raise _error(operation, "One or more of the specified parts could not be found. (10025)")
            parts.append((number, part))
        minimum = self.bucket.min_part_size
        if any(p.size < minimum for _, p in parts[:-1]):
            raise _error(operation, "Your proposed upload is smaller than the minimum allowed object size. (10011)")
        parts.sort(key=lambda item: item[0])
        sizes = [p.size for _, p in parts]
        if sizes and (
            any(s < minimum or s != sizes[0] for s in sizes[:-1]) or (len(sizes) > 1 and sizes[-1] > sizes[0])
        ):
            raise _error(operation, "There was a problem with the multipart upload. (10048)")
        digest = hashlib.md5(b"".join(bytes.fromhex(p.hashes["part_md5"]) for _, p in parts), usedforsecurity=False)
        obj = BucketObject(
            key=self.key,
            size=sum(sizes),
            etag=f"{digest.hexdigest()}-{len(parts)}",
            uploaded=_now(self.bucket),
            version=os.urandom(16).hex(),
            http_metadata=meta.http_metadata,
            custom_metadata=meta.custom_metadata,
            storage_class=meta.storage_class,
        )
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        done = await self.bucket.store.finish_upload(self.key, self.upload_id, [n for n, _ in parts], obj)
        if done is None:
            raise no_upload(operation)
        await self.bucket._event("CompleteMultipartUpload", done.key, done.size, done.etag)
        return done


def _chosen(bucket: str, uploaded_parts: object) -> list[tuple[int, str]]:
    if isinstance(uploaded_parts, str | bytes) or not isinstance(uploaded_parts, Sequence):
        raise BindingError(f"bucket {bucket!r}: complete takes a list of {{'part_number', 'etag'}}")
    chosen = []
    for part in uploaded_parts:
        if (
            not isinstance(part, dict)
            or not isinstance(part.get("part_number"), int)
            or not isinstance(part.get("etag"), str)
        ):
            hint = " (part_number, not partNumber)" if isinstance(part, dict) and "partNumber" in part else ""
            raise BindingError(
                f"bucket {bucket!r}: complete takes parts as upload_part returned them, "
                f"{{'part_number': int, 'etag': str}}{hint}; not {part!r:.80}"
            )
        chosen.append((part["part_number"], part["etag"]))
    return chosen


def _now(bucket: Bucket) -> datetime:
    return datetime.fromtimestamp(bucket._now(), UTC)


async def create(
    bucket: Bucket, key: str, http_metadata: object, custom_metadata: object, storage_class: object
) -> MultipartUpload:
    key = checks.key(bucket.name, key)
    http, custom = checks.metadata(bucket.name, key, http_metadata, custom_metadata)
    if storage_class not in (None, "Standard", "InfrequentAccess"):
        raise BindingError(f"bucket {bucket.name!r}: storage_class is 'Standard' or 'InfrequentAccess'")
    obj = BucketObject(key, 0, "", _now(bucket), "", http, custom, None, str(storage_class or "Standard"))
    return MultipartUpload(bucket, key, await bucket.store.begin_upload(obj))
