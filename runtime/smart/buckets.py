"""SmartBuckets (``smartbucket`` blocks): every Bucket method, plus search over what is stored.

Objects are stored as in any bucket (filesystem or S3). After a ``put`` the object is indexed
in the background, as on the platform: its text is extracted (:mod:`runtime.smart.extract`),
cut into overlapping chunks, embedded, and written to the app's retrieval index; a ``delete``
drops it from the index. ``app.drain()`` waits for indexing. Each object's indexing state
(``pending``, ``indexed``, ``not_indexed`` with the reason, ``failed`` with the error) is kept
with the index and shown by :meth:`SmartBucket.index_status` and the dashboard; objects still
pending when a process stops are indexed when the app starts again.

Partitions: an object belongs to the partition named by its ``custom_metadata["partition"]``,
else ``"default"``; a search with ``partition=None`` looks in every partition.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from runtime.arguments import checked_arguments, utf8
from runtime.buckets import Bucket, BucketObject
from runtime.errors import BindingError, LimitError
from runtime.naming import platform_names
from runtime.smart.bucket_rows import SEARCH_TTL, BucketRows, page_of
from runtime.smart.embeddings import Embedder
from runtime.smart.extract import MAX_DOCUMENT_BYTES, NotIndexable, content_type_of
from runtime.smart.indexer import Indexer
from runtime.smart.retrieval import Hit, RetrievalIndex

if TYPE_CHECKING:
    from runtime.ai import AI

log = logging.getLogger("raindrop.smartbucket")

DEFAULT_PARTITION = "default"
DEFAULT_PAGE_SIZE = 10
MAX_RESULTS = 100  # a search keeps at most this many results across its pages
CHUNK_RESULTS = 10
CHAT_MODEL = "llama-3.3-70b"
Spawn = Callable[[Awaitable[Any]], "asyncio.Task[Any]"]


@platform_names
@checked_arguments
class SmartBucket:
    """``env.<SMARTBUCKET>``: ``put``, ``get``, ``head``, ``delete``, ``list`` as a bucket, and
    ``search``, ``chunk_search``, ``document_chat``, ``get_paginated_results``,
    ``create_page_summary``."""

    def __init__(
        self,
        name: str,
        bucket: Bucket,
        index: RetrievalIndex,
        embedder: Embedder,
        ai: AI,
        indexer: Indexer,
        now: Callable[[], float],
    ) -> None:
        self.name = name
        self._bucket = bucket
        self._index = index
        self._embedder = embedder
        self._ai = ai
        self._indexer = indexer
        self._now = now
        self._collection = f"bucket:{name}"
        self._rows = BucketRows(index.conn, name)

    @property
    def bucket(self) -> Bucket:
        """The plain bucket that holds the objects (the dashboard's browser lists it)."""
        return self._bucket

    def __repr__(self) -> str:
        return f"<SmartBucket {self.name!r}>"

    if not TYPE_CHECKING:  # hidden from type checkers: a misspelt method (chunkSearch) is an error

        def __getattr__(self, name: str) -> Any:
            return getattr(self._bucket, name)  # any other Bucket method, unchanged

    # -- the Bucket API --------------------------------------------------------------------------

    async def put(self, key: str, value: Any, **options: Any) -> BucketObject | None:
        """Store an object as a bucket does, then index it in the background.

        :raises LimitError: for a document over the 50 MiB the platform indexes (nothing is stored).
        """
        try:
            if isinstance(value, str):
                size = len(utf8(value, f"smartbucket {self.name!r}: value for {key!r}"))
            else:
                size = len(value) if value is not None else 0
        except TypeError:
            raise BindingError(
                f"smartbucket {self.name!r}: value for {key!r} is a {type(value).__name__}; put str or bytes"
            ) from None
        if size > MAX_DOCUMENT_BYTES:
            raise LimitError(
                f"smartbucket {self.name!r}: {key!r} is {size} bytes; a SmartBucket document is at most "
                f"{MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB"
            )
        stored: BucketObject | None = await self._bucket.put(key, value, **options)
        if stored is None:  # only_if refused the object stored now: nothing changed
            return None
        partition = stored.custom_metadata.get("partition", DEFAULT_PARTITION)
        content_type = content_type_of(key, stored.http_metadata.get("contentType"))
        self._rows.pending(key, partition, content_type, stored.etag, stored.size, self._now())
        self._enqueue(key)
        return stored

    async def get(self, key: str, **options: Any) -> Any:
        """The object and its body, as ``Bucket.get``."""
        return await self._bucket.get(key, **options)

    async def head(self, key: str) -> BucketObject | None:
        """The object's metadata, as ``Bucket.head``."""
        return await self._bucket.head(key)

    async def list(self, **options: Any) -> Any:
        """Objects by key, as ``Bucket.list``."""
        return await self._bucket.list(**options)

    async def delete(self, keys: str | Sequence[str]) -> None:
        """Delete objects and drop them from the index."""
        await self._bucket.delete(keys)
        for key in [keys] if isinstance(keys, str) else list(keys):
            self._indexer.discard(self.name, key)
            self._rows.forget(key)
            await self._indexer.drop(self._collection, key)

    # -- indexing (the work runs off the loop: runtime.smart.indexer) -----------------------------

    def resume(self) -> None:
        """Queue the objects a previous process left pending (called when the app starts)."""
        for key in self._rows.pending_keys():
            self._enqueue(key)

    def _enqueue(self, key: str) -> None:
        self._indexer.enqueue(self, key)

    async def index_one(self, key: str, indexer: Indexer) -> None:
        """Index one object (the indexer calls this from one of its workers); a failure is
        recorded as the object's state, never raised."""
        try:
            await self._index_one(key, indexer)
        except Exception as exc:  # noqa: BLE001 - one object's failure must not stop the others
            log.warning("smartbucket %s: indexing %r failed: %s", self.name, key, exc)
            self._set_state(key, "failed", f"{type(exc).__name__}: {exc}", 0)

    async def _index_one(self, key: str, indexer: Indexer) -> None:
        found = await self._bucket.get(key)
        if found is None:  # deleted meanwhile
            return
        partition, content_type = self._rows.placement(key) or (DEFAULT_PARTITION, content_type_of(key, None))
        try:
            extracted = await indexer.extract(key, found.body, content_type, dict(found.custom_metadata))
            texts = await indexer.chunk(extracted.text)
        except NotIndexable as reason:
            await indexer.drop(self._collection, key)
            self._set_state(key, "not_indexed", str(reason), 0)
            return
        vectors = await indexer.embed(texts)
        staged = await indexer.write(self._collection, partition, key, texts, vectors)
        current = await self._bucket.head(key)
        if current is None or current.etag != found.etag:
            await staged.drop()  # replaced or deleted while this ran: the newer put is queued
            return
        await staged.commit()
        detail = (
            "indexed by name and metadata only (images are not read locally)" if extracted.kind == "image" else None
        )
        if not self._set_state(key, "indexed", detail, len(texts)):
            await indexer.drop(self._collection, key)  # deleted while the chunks were swapped in

    def _set_state(self, key: str, state: str, detail: str | None, chunks: int) -> bool:
        """Record an object's indexing state; False when the object is no longer known."""
        return self._rows.set_state(key, state, detail, chunks, self._now())

    def index_status(self, key: str | None = None) -> Any:
        """``{"key", "state", "detail", "chunks", "content_type", "size", "partition"}`` for one
        object (None when unknown), or a list of them for every object when ``key`` is None."""
        found = self._rows.status(key)
        if key is not None:
            return found[0] if found else None
        return found

    # -- search -----------------------------------------------------------------------------------

    async def _hits(
        self, text: str, partition: str | None, keys: builtins.list[str] | None = None
    ) -> builtins.list[Hit]:
        if not isinstance(text, str) or not text.strip():
            raise BindingError(f"smartbucket {self.name!r}: the search input is empty; give the words to look for")
        # A query is short: embedding it (tens of microseconds) costs less than a thread hop.
        (vector,) = (
            self._embedder.embed([text])
            if len(text) < 4000
            else await anyio.to_thread.run_sync(self._embedder.embed, [text])
        )
        # In a worker thread: a search reads SQLite and the vector index (a graph file's pages may
        # come from disk), which must not hold up the event loop.
        return await anyio.to_thread.run_sync(
            functools.partial(
                self._index.search,
                self._collection,
                text,
                vector,
                partitions=None if partition is None else [partition],
                keys=keys,
                limit=MAX_RESULTS * 3,
            )
        )

    def _results(self, hits: builtins.list[Hit]) -> builtins.list[dict[str, Any]]:
        """SearchResult dicts for ``hits``, with their documents' etag and type read at once."""
        meta = self._rows.etags_and_types(sorted({hit.key for hit in hits}))
        results = []
        for hit in hits:
            etag, content_type = meta.get(hit.key, (None, None))
            signature = hashlib.sha256(f"{self.name}\0{hit.key}\0{hit.seq}\0{hit.text}".encode()).hexdigest()[:32]
            results.append(
                {
                    "chunk_signature": signature,
                    "text": hit.text,
                    "source": hit.key,
                    "payload_signature": etag,
                    "score": hit.score,
                    "similarity": hit.similarity,
                    "embed": None,
                    "type": content_type,
                }
            )
        return results

    async def search(self, input: str, request_id: str | None = None, partition: str | None = None) -> dict[str, Any]:
        """The documents that best match ``input`` (each by its best chunk), first page of
        ``DEFAULT_PAGE_SIZE``: ``{"results": [...], "pagination": {...}}``. All pages are kept
        under ``request_id`` for :meth:`get_paginated_results`.

        :raises BindingError: for an empty input.
        """
        hits = await self._hits(input, partition)
        seen: set[str] = set()
        best = []
        for hit in hits:
            if hit.key not in seen:
                seen.add(hit.key)
                best.append(hit)
        results = self._results(best[:MAX_RESULTS])
        request_id = request_id or uuid.uuid4().hex
        self._rows.keep_search(request_id, partition, input, results, DEFAULT_PAGE_SIZE, self._now())
        return page_of(results, 1, DEFAULT_PAGE_SIZE)

    async def chunk_search(
        self, input: str, request_id: str | None = None, partition: str | None = None
    ) -> dict[str, Any]:
        """The chunks that best match ``input`` (several may come from one document):
        ``{"results": [...]}``, at most ``CHUNK_RESULTS``."""
        hits = await self._hits(input, partition)
        return {"results": self._results(hits[:CHUNK_RESULTS])}

    async def get_paginated_results(
        self, request_id: str, page: int = 1, page_size: int | None = None, partition: str | None = None
    ) -> dict[str, Any]:
        """Another page of an earlier :meth:`search` (``page_size`` defaults to the previous one).

        :raises BindingError: for a request id no search used, or a page number below 1.
        """
        kept = self._rows.search(request_id, partition, self._now())
        if kept is None:
            raise BindingError(
                f"smartbucket {self.name!r}: no search was made with request_id {request_id!r} (or it expired: "
                f"searches are kept {SEARCH_TTL // 60} minutes)"
            )
        if not isinstance(page, int) or page < 1:
            raise BindingError(f"smartbucket {self.name!r}: page counts from 1, not {page!r}")
        results, kept_size = kept
        size = page_size or kept_size
        if not isinstance(size, int) or size < 1:
            raise BindingError(f"smartbucket {self.name!r}: page_size must be a positive whole number, not {size!r}")
        if page_size:
            self._rows.set_page_size(request_id, partition, size)
        return page_of(results, page, size)

    async def document_chat(
        self, object_id: str, input: str, request_id: str | None = None, partition: str | None = None
    ) -> dict[str, Any]:
        """An answer to ``input`` about one stored object, through ``env.AI``: ``{"answer": str}``.

        :raises BindingError: for an empty input, or an object that is not indexed.
        """
        status = self.index_status(object_id)
        if status is None or status["state"] != "indexed":
            state = (
                "not stored"
                if status is None
                else f"{status['state']}" + (f" ({status['detail']})" if status["detail"] else "")
            )
            raise BindingError(f"smartbucket {self.name!r}: {object_id!r} cannot be chatted with: it is {state}")
        hits = await self._hits(input, partition, keys=[object_id])
        context = "\n\n".join(hit.text for hit in hits[:6])
        reply = await self._ai.run(
            CHAT_MODEL,
            {
                "messages": [
                    {"role": "system", "content": context},  # the document's passages closest to the question
                    {"role": "user", "content": f"Answer from the document above ({object_id}) only: {input}"},
                ]
            },
        )
        return {"answer": reply["response"]}

    async def create_page_summary(
        self, page: int, page_size: int, request_id: str | None = None, partition: str | None = None
    ) -> dict[str, Any]:
        """A summary of one page of an earlier search's results, through ``env.AI``: ``{"summary": str}``."""
        if request_id is None:
            raise BindingError(f"smartbucket {self.name!r}: create_page_summary needs the request_id of a search")
        shown = await self.get_paginated_results(request_id, page, page_size, partition)
        if not shown["results"]:
            return {"summary": "There are no results on this page."}
        text = "\n\n".join(f"[{r['source']}] {r['text']}" for r in shown["results"])
        reply = await self._ai.run(
            CHAT_MODEL,
            {
                "messages": [
                    {"role": "system", "content": text},
                    {"role": "user", "content": "Summarize the search results above in a few sentences."},
                ]
            },
        )
        return {"summary": reply["response"]}
