"""SmartBucket indexing off the event loop, a few documents side by side.

A document's path to the index, each step in a worker (never on the loop):

1. extraction: text in a thread; a PDF in a process started for it (``pypdf`` can spend tens
   of seconds on one inflated content stream, and a process can be ended at stop, a thread
   not), given at most :data:`EXTRACT_SECONDS`;
2. chunking, in a thread, stopping at :data:`MAX_CHUNKS`;
3. embedding, in a thread, :data:`EMBED_BATCH` chunks per call;
4. index writes, in a thread on a connection of the indexer's own, :data:`WRITE_BATCH` chunks
   per transaction (so a write on the loop's connection never waits long for the file's lock).
   The new chunks are written under a staging collection that no search reads, then swapped in
   with one short transaction: a search sees the old chunks or the new ones, never a mix.

Caps: :data:`~runtime.smart.extract.MAX_TEXT_CHARS` of extracted text and
:data:`~runtime.smart.extract.MAX_CHUNKS` chunks per document; past either the document is
``not_indexed`` with the reason. Up to :data:`PARALLEL` documents are indexed at once (one big
document holds one slot, not the queue). At stop, indexing that has not finished within the
grace period is abandoned; those documents stay ``pending`` and are indexed at the next start.
"""

from __future__ import annotations

import asyncio
import pickle
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import anyio
import numpy as np

from runtime import checkpoint
from runtime.smart.ann_parts import bump
from runtime.smart.embeddings import Embedder, Vectors
from runtime.smart.extract import MAX_CHUNKS, MAX_TEXT_CHARS, Extracted, NotIndexable, chunk, extract
from runtime.smart.retrieval import _scope, insert_chunks
from runtime.smart.staging import StagingArea

PARALLEL = 4  # documents indexed at once
EXTRACT_SECONDS = 60.0  # the most a PDF's extraction may take (its process is then ended)
EMBED_BATCH = 128  # chunks embedded per thread call
WRITE_BATCH = 200  # chunks written per transaction
STAGING = "\x00staging:"  # collections no search reads: chunks being written, or retired

Spawn = Callable[[Awaitable[Any]], "asyncio.Task[Any]"]


class Indexable(Protocol):
    """What the indexer needs of a SmartBucket."""

    name: str

    async def index_one(self, key: str, indexer: Indexer) -> None: ...


class Indexer:
    """The app's indexing queue and workers, shared by its SmartBuckets."""

    def __init__(self, path: Path, embedder: Embedder, spawn: Spawn, parallel: int = PARALLEL) -> None:
        self.path = path
        self._embedder = embedder
        self._spawn = spawn
        self._parallel = parallel
        self._queue: dict[tuple[str, str], Indexable] = {}  # (bucket, key) waiting, in order
        self._active: set[tuple[str, str]] = set()
        self._workers: set[asyncio.Task[Any]] = set()
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one write transaction at a time on the indexer's connection
        self._staging = StagingArea(path, STAGING)  # this indexer's, locked while it lives
        self._swept = False
        self.max_chars = MAX_TEXT_CHARS
        self.max_chunks = MAX_CHUNKS
        self.extract_seconds = EXTRACT_SECONDS

    # -- the queue ------------------------------------------------------------------------------

    def enqueue(self, bucket: Indexable, key: str) -> None:
        item = (bucket.name, key)
        self._queue.pop(item, None)
        self._queue[item] = bucket  # a later put of the same key moves it to the end, once
        self._fill()

    def discard(self, bucket: str, key: str) -> None:
        self._queue.pop((bucket, key), None)

    def _fill(self) -> None:
        while len(self._workers) < self._parallel and self._next_ready() is not None:
            task = self._spawn(self._work())
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)

    def _next_ready(self) -> tuple[str, str] | None:
        return next((item for item in self._queue if item not in self._active), None)

    async def _work(self) -> None:
        if not self._swept:
            self._swept = True
            await self._sweep_staging()
        while (item := self._next_ready()) is not None:
            bucket = self._queue.pop(item)
            self._active.add(item)
            try:
                await bucket.index_one(item[1], self)
            finally:
                self._active.discard(item)

    async def settle(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the queue to empty; then abandon what is left
        (its documents stay ``pending`` for the next start). True when all finished."""
        deadline = asyncio.get_running_loop().time() + max(0.0, timeout)
        while self._workers:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            await asyncio.wait(list(self._workers), timeout=left)
        finished = not self._workers and not self._queue
        for task in list(self._workers):
            task.cancel()
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)
        self._queue.clear()
        return finished

    def close(self) -> None:
        self._staging.release()
        if self._conn is not None:
            with self._lock:
                self._conn.close()
            checkpoint.unregister(self.path)
            self._conn = None

    # -- steps, each off the loop ---------------------------------------------------------------

    async def extract(self, key: str, data: bytes, content_type: str, metadata: dict[str, str]) -> Extracted:
        """The document's text (see :func:`runtime.smart.extract.extract`), capped."""
        if content_type == "application/pdf":
            with anyio.move_on_after(self.extract_seconds):
                return await _in_process((key, data, content_type, metadata, self.max_chars))
            raise NotIndexable(
                f"reading its text took more than {self.extract_seconds:g} s, the most spent on one document"
            )
        return await anyio.to_thread.run_sync(
            extract, key, data, content_type, metadata, self.max_chars, abandon_on_cancel=True
        )

    async def chunk(self, text: str) -> list[str]:
        """The text's chunks; :class:`NotIndexable` past :data:`MAX_CHUNKS`."""
        limit = self.max_chunks
        return await anyio.to_thread.run_sync(lambda: chunk(text, limit=limit), abandon_on_cancel=True)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        parts = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = list(texts[start : start + EMBED_BATCH])
            parts.append(await anyio.to_thread.run_sync(self._embedder.embed, batch, abandon_on_cancel=True))
        if not parts:
            return np.zeros((0, self._embedder.dimensions), dtype=np.float32)
        return np.concatenate(parts)

    async def write(self, collection: str, partition: str, key: str, texts: Sequence[str], vectors: Vectors) -> Staged:
        """Stage the document's new chunks in batches; :meth:`Staged.commit` makes them its
        chunks (when the document is still current), :meth:`Staged.drop` discards them."""
        self._staging.claim()  # before anything is staged: other processes' sweeps see it
        stage = self._staging.collection(collection)
        staged_key = f"{uuid.uuid4().hex}\x00{key}"
        scope = _scope(collection)
        for start in range(0, len(texts), WRITE_BATCH):
            rows = [
                (stage, scope, partition, staged_key, seq, texts[seq], np.asarray(vectors[seq], np.float32).tobytes())
                for seq in range(start, min(len(texts), start + WRITE_BATCH))
            ]
            await anyio.to_thread.run_sync(self._insert, rows, abandon_on_cancel=True)
        return Staged(self, collection, stage, key, staged_key)

    async def drop(self, collection: str, key: str) -> None:
        """Delete a document's chunks, in batches off the loop."""
        await self._delete_where("collection = ? AND key = ?", (collection, key))

    async def _sweep_staging(self) -> None:
        """Chunks a process that is gone staged and never swapped in (it stopped mid-write);
        a live process's staging is left alone (see :mod:`runtime.smart.staging`)."""
        await self._staging.sweep(self._connection, self._lock, self._delete_where)

    # -- the indexer's connection (used from threads only) ----------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = checkpoint.open_wal(self.path)
        return self._conn

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        with self._lock:
            conn = self._connection()
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                insert_chunks(conn, rows)

    def _swap(self, collection: str, stage: str, key: str, staged_key: str, retired: str) -> None:
        """Retire the document's chunks and make the staged ones current, in one transaction
        (only the ``collection`` and ``key`` columns change: no full-text work)."""
        with self._lock:
            conn = self._connection()
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(
                    "UPDATE chunks SET collection = ?, key = ? WHERE collection = ? AND key = ?",
                    (stage, retired, collection, key),
                )
                conn.execute(
                    "UPDATE chunks SET collection = ?, key = ? WHERE collection = ? AND key = ?",
                    (collection, key, stage, staged_key),
                )
                bump(conn, collection)  # the vector index of the collection reads the change back

    async def _delete_where(self, where: str, params: tuple[Any, ...]) -> None:
        while await anyio.to_thread.run_sync(self._delete_batch, where, params, abandon_on_cancel=True):
            pass

    def _delete_batch(self, where: str, params: tuple[Any, ...]) -> int:
        with self._lock:
            conn = self._connection()
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                return conn.execute(
                    f"DELETE FROM chunks WHERE id IN (SELECT id FROM chunks WHERE {where} LIMIT {WRITE_BATCH})", params
                ).rowcount


_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds the runtime package


async def _in_process(job: tuple[Any, ...]) -> Extracted:
    """:func:`extract` in a process of its own, ended if this is cancelled (at stop, past the
    time allowed). The process is started and waited for from worker threads (starting one
    from a large process takes tens of milliseconds), and nothing of the parent runs in it."""
    command = [
        sys.executable,
        "-c",
        f"import sys; sys.path.insert(0, {_ROOT!r}); from runtime.smart.extract import serve_one; serve_one()",
    ]
    pipe = subprocess.PIPE
    process = await anyio.to_thread.run_sync(lambda: subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe))
    try:
        out, err = await anyio.to_thread.run_sync(process.communicate, pickle.dumps(job), abandon_on_cancel=True)
    except BaseException:
        process.kill()  # the thread waiting on it returns, and reaps it
        raise
    if process.returncode != 0 or not out:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        raise NotIndexable(f"its text could not be read: {last[0][:300]}")
    kind, value = pickle.loads(out)  # written by the process started above
    if kind == "not_indexable":
        raise NotIndexable(str(value))
    assert isinstance(value, Extracted)
    return value


class Staged:
    """A document's new chunks, written but not yet searchable."""

    def __init__(self, indexer: Indexer, collection: str, stage: str, key: str, staged_key: str) -> None:
        self._indexer = indexer
        self._collection = collection
        self._stage = stage
        self._key = key
        self._staged_key = staged_key

    async def commit(self) -> None:
        """Make the staged chunks the document's (one short transaction), then delete the old
        ones in batches."""
        retired = f"{uuid.uuid4().hex}\x00{self._key}"
        indexer = self._indexer
        await anyio.to_thread.run_sync(
            indexer._swap, self._collection, self._stage, self._key, self._staged_key, retired
        )
        await indexer._delete_where("collection = ? AND key = ?", (self._stage, retired))

    async def drop(self) -> None:
        await self._indexer._delete_where("collection = ? AND key = ?", (self._stage, self._staged_key))
