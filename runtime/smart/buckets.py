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
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from runtime.arguments import checked_arguments, utf8
from runtime.buckets import Bucket, BucketObject
from runtime.errors import BindingError, LimitError
from runtime.naming import platform_names
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
SEARCH_TTL = 30 * 60  # seconds a search's pages stay readable by its request_id
MAX_SEARCHES = 200  # searches kept per bucket (the oldest go first)

SCHEMA = """
CREATE TABLE IF NOT EXISTS smartbucket_documents (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    partition TEXT NOT NULL,
    content_type TEXT,
    etag TEXT,
    size INTEGER,
    state TEXT NOT NULL,          -- pending, indexed, not_indexed, failed
    detail TEXT,
    chunks INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS smartbucket_searches (
    bucket TEXT NOT NULL,
    request_id TEXT NOT NULL,
    partition TEXT,
    input TEXT NOT NULL,
    results TEXT NOT NULL,        -- JSON list of SearchResult
    page_size INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (bucket, request_id, partition)
) WITHOUT ROWID;
"""

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
        index.conn.executescript(SCHEMA)

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
        with self._index.conn:
            self._index.conn.execute(
                "INSERT OR REPLACE INTO smartbucket_documents (bucket, key, partition, content_type, etag, size, "
                "state, detail, chunks, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', NULL, 0, ?)",
                (
                    self.name,
                    key,
                    partition,
                    content_type_of(key, stored.http_metadata.get("contentType")),
                    stored.etag,
                    stored.size,
                    self._now(),
                ),
            )
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
            with self._index.conn:
                self._index.conn.execute(
                    "DELETE FROM smartbucket_documents WHERE bucket = ? AND key = ?", (self.name, key)
                )
            await self._indexer.drop(self._collection, key)

    # -- indexing (the work runs off the loop: runtime.smart.indexer) -----------------------------

    def resume(self) -> None:
        """Queue the objects a previous process left pending (called when the app starts)."""
        rows = self._index.conn.execute(
            "SELECT key FROM smartbucket_documents WHERE bucket = ? AND state = 'pending' ORDER BY updated_at",
            (self.name,),
        )
        for (key,) in rows.fetchall():
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
        row = self._index.conn.execute(
            "SELECT partition, content_type FROM smartbucket_documents WHERE bucket = ? AND key = ?", (self.name, key)
        ).fetchone()
        partition, content_type = row if row else (DEFAULT_PARTITION, content_type_of(key, None))
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
        with self._index.conn:
            return (
                self._index.conn.execute(
                    "UPDATE smartbucket_documents SET state = ?, detail = ?, chunks = ?, updated_at = ? "
                    "WHERE bucket = ? AND key = ?",
                    (state, detail, chunks, self._now(), self.name, key),
                ).rowcount
                > 0
            )

    def index_status(self, key: str | None = None) -> Any:
        """``{"key", "state", "detail", "chunks", "content_type", "size", "partition"}`` for one
        object (None when unknown), or a list of them for every object when ``key`` is None."""
        rows = self._index.conn.execute(
            "SELECT key, state, detail, chunks, content_type, size, partition FROM smartbucket_documents "
            "WHERE bucket = ?1 AND (?2 IS NULL OR key = ?2) ORDER BY key",
            (self.name, key),
        ).fetchall()
        found = [
            {
                "key": r[0],
                "state": r[1],
                "detail": r[2],
                "chunks": r[3],
                "content_type": r[4],
                "size": r[5],
                "partition": r[6],
            }
            for r in rows
        ]
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
        keys = sorted({hit.key for hit in hits})
        meta = {
            row[0]: (row[1], row[2])
            for row in self._index.conn.execute(
                "SELECT key, etag, content_type FROM smartbucket_documents WHERE bucket = ? "
                "AND key IN (SELECT value FROM json_each(?))",
                (self.name, json.dumps(keys)),
            )
        }
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
        now = self._now()
        with self._index.conn:
            self._index.conn.execute(
                "INSERT OR REPLACE INTO smartbucket_searches (bucket, request_id, partition, input, results, page_size, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.name, request_id, partition or "", input, json.dumps(results), DEFAULT_PAGE_SIZE, now),
            )
            # Searches expire: past SEARCH_TTL, and past the MAX_SEARCHES newest of the bucket.
            self._index.conn.execute(
                "DELETE FROM smartbucket_searches WHERE bucket = ?1 AND (created_at < ?2 OR (request_id, partition) "
                "NOT IN (SELECT request_id, partition FROM smartbucket_searches WHERE bucket = ?1 "
                "ORDER BY created_at DESC LIMIT ?3))",
                (self.name, now - SEARCH_TTL, MAX_SEARCHES),
            )
        return _page(results, 1, DEFAULT_PAGE_SIZE)

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
        row = self._index.conn.execute(
            "SELECT results, page_size FROM smartbucket_searches WHERE bucket = ? AND request_id = ? AND partition = ? "
            "AND created_at >= ?",
            (self.name, request_id, partition or "", self._now() - SEARCH_TTL),
        ).fetchone()
        if row is None:
            raise BindingError(
                f"smartbucket {self.name!r}: no search was made with request_id {request_id!r} (or it expired: "
                f"searches are kept {SEARCH_TTL // 60} minutes)"
            )
        if not isinstance(page, int) or page < 1:
            raise BindingError(f"smartbucket {self.name!r}: page counts from 1, not {page!r}")
        size = page_size or int(row[1])
        if not isinstance(size, int) or size < 1:
            raise BindingError(f"smartbucket {self.name!r}: page_size must be a positive whole number, not {size!r}")
        if page_size:
            with self._index.conn:
                self._index.conn.execute(
                    "UPDATE smartbucket_searches SET page_size = ? WHERE bucket = ? AND request_id = ? AND partition = ?",
                    (size, self.name, request_id, partition or ""),
                )
        return _page(json.loads(row[0]), page, size)

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


def _page(results: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    total = len(results)
    pages = (total + size - 1) // size
    start = (page - 1) * size
    return {
        "results": results[start : start + size],
        "pagination": {
            "total": total,
            "page": page,
            "page_size": size,
            "total_pages": pages,
            "has_more": page < pages,
        },
    }
