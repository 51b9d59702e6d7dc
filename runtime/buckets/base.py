"""The blob store interface a :class:`~runtime.buckets.binding.Bucket` works over.

A store keeps bytes and their :class:`BucketObject` under a key, and nothing else: keys arrive
already checked, metadata already validated, checksums already computed. The binding owns every
rule of the API (limits, cursors, conditions, ranges, events), so each store behaves the same
behind it. Implementations: :class:`~runtime.buckets.files.FileBlobStore` (the state folder) and
:class:`~runtime.buckets.s3.S3BlobStore` (an S3-compatible service).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

from runtime.buckets.objects import BucketObject
from runtime.errors import BindingError

#: Given the stored object, the byte span ``(start, end)`` to read, or None to read no body
#: (a failed ``only_if``). May raise (an unsatisfiable range) to abandon the read.
Plan = Callable[[BucketObject], tuple[int, int] | None]
#: Given the object stored now (None when there is none), whether a put may replace it.
Condition = Callable[[BucketObject | None], bool]


class BlobStore(ABC):
    """Bytes and metadata by key. Every method may run I/O; none blocks the event loop."""

    #: Where the objects live, for messages: a folder, or an endpoint and bucket.
    where: str

    async def open(self) -> None:
        """Get ready before the first call (migrate an old layout, create a remote bucket)."""
        return None

    @abstractmethod
    async def head(self, key: str) -> BucketObject | None:
        """The object's metadata, or None when the key holds nothing."""

    @abstractmethod
    async def get(self, key: str, plan: Plan) -> tuple[BucketObject, bytes | None] | None:
        """The object and the span of its body ``plan`` asks for (None: no body), or None."""

    @abstractmethod
    async def put(self, obj: BucketObject, data: bytes, condition: Condition | None = None) -> BucketObject | None:
        """Store ``data`` as ``obj`` (its size, etag and checksums match ``data``); returns what
        was stored, or None when ``condition`` refused the object stored now."""

    @abstractmethod
    async def delete(self, keys: Sequence[str]) -> list[str]:
        """Remove ``keys``; returns those that held an object."""

    @abstractmethod
    async def scan(self, prefix: str, after: str | None, limit: int, metadata: bool) -> list[BucketObject]:
        """Up to ``limit`` objects whose key starts with ``prefix`` and sorts after ``after``, in
        key order (code points). ``metadata``: their HTTP and custom metadata is wanted (a store
        that lists without it fetches it; otherwise it may be left empty)."""

    # -- multipart uploads: parts kept apart from objects until the upload completes ---------

    def _no_multipart(self) -> BindingError:
        return BindingError(f"multipart uploads are not available for the bucket in {self.where}")

    async def begin_upload(self, obj: BucketObject) -> str:
        """Start an upload of ``obj.key`` with ``obj``'s metadata; returns its upload id."""
        raise self._no_multipart()

    async def upload_state(self, key: str, upload_id: str) -> tuple[BucketObject, str] | None:
        """The upload's object and state (``in_progress``, ``completed``, ``aborted``), or None
        for an upload of ``key`` this store does not know."""
        raise self._no_multipart()

    async def put_part(self, key: str, upload_id: str, number: int, part: BucketObject, data: bytes) -> str:
        """Keep part ``number`` (``part``: its size, a fresh etag, its MD5 in ``hashes``),
        replacing one; returns the etag that names this upload of it."""
        raise self._no_multipart()

    async def parts(self, key: str, upload_id: str) -> dict[int, BucketObject]:
        """The parts uploaded so far, by number (their size, etag and ``hashes["part_md5"]``)."""
        raise self._no_multipart()

    async def finish_upload(
        self, key: str, upload_id: str, numbers: Sequence[int], obj: BucketObject | None
    ) -> BucketObject | None:
        """Complete the upload as ``obj`` (the parts ``numbers``, in that order, are its body)
        and return what was stored or, with ``obj`` None, abort it; its parts are removed."""
        raise self._no_multipart()
