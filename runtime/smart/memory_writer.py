"""SmartMemory's writes off the event loop, sharing commits.

Every SmartMemory write (an entry, a session's state, an episode, a semantic document, a
procedure, and their chunks in the retrieval index) is a *job*: a function of a connection that
runs inside a transaction. Jobs run in a worker thread on a connection of the writer's own, one
transaction at a time (a lock, as :mod:`runtime.smart.indexer` does), never on the loop:

- jobs that arrive while a transaction is under way wait for the next one, and up to
  :data:`WRITE_BATCH` chunks' worth of them share it (fifty concurrent ``put_memory`` calls pay
  for a few commits, not fifty);
- each job runs in a savepoint of its own: one that fails is rolled back alone, and only its
  caller hears of it;
- a call returns once the transaction holding its job has committed (WAL, ``synchronous=NORMAL``:
  acknowledged means it survives a SIGKILL); a failed commit raises :class:`StorageError` in every
  caller of that transaction, and nothing of it is kept. A caller cancelled while it waits gets
  ``CancelledError``; its job, already queued, commits with the others.

A document of more than :data:`WRITE_BATCH` chunks (a huge entry) is written in batches under a
staging collection that no search reads, then swapped in by one short transaction together with
its row, so a search sees all of it or none of it; the chunks it replaces are deleted afterwards,
in batches. Staged chunks a process that is gone left behind (it stopped mid-write) are
deleted before the first write; another live process's are not (:mod:`runtime.smart.staging`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import numpy as np

from runtime import checkpoint
from runtime.errors import StorageError
from runtime.output_gate import before_effect
from runtime.smart.ann_parts import bump
from runtime.smart.embeddings import Vectors
from runtime.smart.retrieval import RetrievalIndex, _scope, insert_chunks
from runtime.smart.staging import StagingArea

WRITE_BATCH = 200  # chunks written per transaction (a job without chunks counts as one)
MAX_JOBS = 100  # jobs sharing one transaction
STAGING = "\x00memory-staging:"  # collections no search reads: chunks being written, or retired

#: A job: runs inside the writer's transaction on ``conn``, may add to ``after`` what to call once
#: that transaction has committed, and returns the caller's result.
Job = Callable[[sqlite3.Connection, list[Callable[[], None]]], Any]

log = logging.getLogger("raindrop.smart")


@dataclass
class _Queued:
    job: Job
    cost: int
    future: asyncio.Future[Any]
    outcome: tuple[bool, Any] = field(default=(False, None))


class MemoryWriter:
    """The writing side of an app's SmartMemories (one per retrieval index file)."""

    def __init__(self, index: RetrievalIndex) -> None:
        self.index = index
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one transaction at a time on the writer's connection
        self._pending: deque[_Queued] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._staging = StagingArea(index.path, STAGING)  # this writer's, locked while it lives
        self._swept = False
        self._closed = False
        self.commits = 0  # transactions committed (tests read it)

    async def write(self, job: Job, cost: int = 1) -> Any:
        """Run ``job`` in a transaction, with the other jobs queued meanwhile; its result once
        committed. :raises StorageError: when the transaction could not commit."""
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        if not self._swept:
            self._staging.claim()  # before anything is staged: other processes' sweeps see it
            await self._sweep()
        loop = asyncio.get_running_loop()
        queued = _Queued(job, max(1, cost), loop.create_future())
        self._pending.append(queued)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="smartmemory writer")
        return await queued.future

    async def document(
        self,
        collection: str,
        partition: str,
        key: str,
        texts: Sequence[str],
        vectors: Vectors,
        row: Job | None = None,
    ) -> Any:
        """Make ``texts`` the chunks of one document and run ``row`` (its own tables' write) in
        the same transaction; ``row``'s result once committed."""
        if len(texts) <= WRITE_BATCH:

            def small(conn: sqlite3.Connection, after: list[Callable[[], None]]) -> Any:
                result = row(conn, after) if row is not None else None
                after.append(self.index.replace_in(conn, collection, partition, key, texts, vectors))
                return result

            return await self.write(small, len(texts))
        stage = self._staging.collection(collection)
        staged_key = f"{uuid.uuid4().hex}\x00{key}"
        scope = _scope(collection)
        swapped = False
        try:
            for start in range(0, len(texts), WRITE_BATCH):
                rows = [
                    (
                        stage,
                        scope,
                        partition,
                        staged_key,
                        seq,
                        texts[seq],
                        np.asarray(vectors[seq], np.float32).tobytes(),
                    )
                    for seq in range(start, min(len(texts), start + WRITE_BATCH))
                ]
                await self.write(_inserting(rows), len(rows))
            retired = f"{uuid.uuid4().hex}\x00{key}"

            def swap(conn: sqlite3.Connection, after: list[Callable[[], None]]) -> Any:
                result = row(conn, after) if row is not None else None
                conn.execute(
                    "UPDATE chunks SET collection = ?, key = ? WHERE collection = ? AND partition = ? AND key = ?",
                    (stage, retired, collection, partition, key),
                )
                conn.execute(
                    "UPDATE chunks SET collection = ?, key = ? WHERE collection = ? AND key = ?",
                    (collection, key, stage, staged_key),
                )
                bump(conn, collection)  # the vector index reads the change back from the file
                return result

            result = await self.write(swap, WRITE_BATCH)
            swapped = True
            await self._delete_where("collection = ? AND key = ?", (stage, retired))
            return result
        finally:
            if not swapped:
                with anyio.CancelScope(shield=True):
                    await self._delete_where("collection = ? AND key = ?", (stage, staged_key))

    async def remove(self, collection: str, partition: str | None, key: str, row: Job | None = None) -> Any:
        """Drop one document's chunks and run ``row`` in the same transaction; ``row``'s result.
        A document of many chunks is retired at once (no search sees it) and deleted in batches."""
        retired = f"{uuid.uuid4().hex}\x00{key}"
        stage = self._staging.collection(collection)

        def drop(conn: sqlite3.Connection, after: list[Callable[[], None]]) -> tuple[Any, bool]:
            result = row(conn, after) if row is not None else None
            (count,) = conn.execute(
                "SELECT count(*) FROM chunks WHERE collection = ?1 AND (?2 IS NULL OR partition = ?2) AND key = ?3",
                (collection, partition, key),
            ).fetchone()
            if count <= WRITE_BATCH:
                after.append(self.index.remove_in(conn, collection, partition, key)[1])
                return result, False
            conn.execute(
                "UPDATE chunks SET collection = ?1, key = ?2 "
                "WHERE collection = ?3 AND (?4 IS NULL OR partition = ?4) AND key = ?5",
                (stage, retired, collection, partition, key),
            )
            bump(conn, collection)
            return result, True

        result, retire = await self.write(drop)
        if retire:
            await self._delete_where("collection = ? AND key = ?", (stage, retired))
        return result

    def close(self) -> None:
        self._closed = True  # a turn that comes after fails rather than reopen the file
        self._staging.release()
        if self._conn is not None:
            with self._lock:
                self._conn.close()
            checkpoint.unregister(self.index.path)
            self._conn = None

    # -- the writer's turns -----------------------------------------------------------------------

    async def _flush(self) -> None:
        while self._pending:
            batch = [self._pending.popleft()]
            cost = batch[0].cost
            while self._pending and len(batch) < MAX_JOBS and cost + self._pending[0].cost <= WRITE_BATCH:
                queued = self._pending.popleft()
                batch.append(queued)
                cost += queued.cost
            try:
                await anyio.to_thread.run_sync(self._commit, batch)
            except Exception as exc:  # noqa: BLE001 - whatever it is, every caller hears of it; none waits forever
                for queued in batch:
                    queued.outcome = (False, exc)
            for queued in batch:
                if queued.future.done():
                    continue  # its caller was cancelled; the write went with the others
                ok, value = queued.outcome
                if ok:
                    queued.future.set_result(value)
                else:
                    queued.future.set_exception(value)

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError(f"smart index {str(self.index.path)!r}: closed, the app has stopped")
        if self._conn is None:
            self._conn = checkpoint.open_wal(self.index.path)
        return self._conn

    def _commit(self, batch: list[_Queued]) -> None:
        """One transaction of ``batch``'s jobs, each in a savepoint (in a worker thread)."""
        after: list[Callable[[], None]] = []
        with self._lock:
            conn = self._connection()
            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    for queued in batch:
                        conn.execute("SAVEPOINT job")
                        mine: list[Callable[[], None]] = []
                        try:
                            queued.outcome = (True, queued.job(conn, mine))
                        except Exception as exc:  # noqa: BLE001 - the job's own failure, for its caller alone
                            conn.execute("ROLLBACK TO job")
                            queued.outcome = (False, exc)
                        else:
                            after.extend(mine)
                        conn.execute("RELEASE job")
            except (sqlite3.Error, ValueError, OverflowError) as exc:
                error = StorageError(
                    f"smart index {str(self.index.path)!r}: {len(batch)} memory write(s) were not stored: {exc}"
                )
                log.error("%s", error)
                raise error from None
            self.commits += 1
        for committed in after:
            committed()

    async def _sweep(self) -> None:
        """Chunks a process that is gone staged and never swapped in (it stopped mid-write);
        a live process's staging is left alone (see :mod:`runtime.smart.staging`)."""
        self._swept = True
        await self._staging.sweep(self._connection, self._lock, self._delete_where)

    async def _delete_where(self, where: str, params: tuple[Any, ...]) -> None:
        """Delete chunks in batches, each its own turn of the writer."""

        def batch(conn: sqlite3.Connection, after: list[Callable[[], None]]) -> int:
            return conn.execute(
                f"DELETE FROM chunks WHERE id IN (SELECT id FROM chunks WHERE {where} LIMIT {WRITE_BATCH})", params
            ).rowcount

        while await self.write(batch, WRITE_BATCH):
            pass


def _inserting(rows: list[tuple[Any, ...]]) -> Job:
    def insert(conn: sqlite3.Connection, after: list[Callable[[], None]]) -> int:
        return insert_chunks(conn, rows)

    return insert
