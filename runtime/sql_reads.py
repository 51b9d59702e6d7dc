"""Reads of an SQL database (``SELECT``, ``VALUES``, ``EXPLAIN``), never holding the event loop.

A read first runs on the loop, on a read-only connection of its own with a hard cap: a progress
handler stops it after :data:`LOOP_STEPS` SQLite VM instructions (well under a millisecond)
and values over :data:`LOOP_VALUE_BYTES` are refused. A point read finishes within the cap and
answers without any thread hop; anything heavier (a scan, a recursive CTE, a large result) is
stopped there and run again in a worker thread, on a pooled read-only connection, under the
database's statement time limit. A read that names something only the write connection knows
(a ``TEMP`` table, an attached database) runs on the database's worker
(:mod:`runtime.sql_worker`).

Reads see committed data only: a writer's own reads after its acknowledged write see it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from runtime import checkpoint
from runtime.errors import SqlError
from runtime.sql_worker import Deadline, interrupted

if TYPE_CHECKING:
    from runtime.sql_worker import SqlWorker

#: How a statement's rows become the caller's answer: ``shape(cursor, rows, started)``, run
#: where the statement ran (so a large result is never converted on the loop).
Shape = Callable[[sqlite3.Cursor, list[Any], float], Any]

#: What running a statement can raise: SQLite's errors, and sqlite3's for values it cannot bind
#: (text with a lone surrogate, an int past 64 bits).
_STATEMENT_ERRORS = (sqlite3.Error, ValueError, OverflowError)

LOOP_STEPS = 50  # progress-handler calls (of LOOP_GRAIN instructions) a read may take on the loop
LOOP_GRAIN = 1_000
LOOP_VALUE_BYTES = 256 * 1024  # a larger value is read in a thread
POOL = 4  # idle read connections kept


def run_statement(
    name: str,
    conn: sqlite3.Connection,
    deadline: Deadline,
    sql: str,
    params: tuple[Any, ...],
    shape: Shape,
    failed: Callable[[BaseException, str], None] | None = None,
) -> Any:
    """Run one statement on ``conn`` under ``deadline`` and shape its rows (in a worker thread).
    A failure other than the deadline goes to ``failed`` first (which may raise its own error),
    then is a :class:`SqlError`."""
    started = time.perf_counter()
    deadline.arm()
    try:
        cursor = conn.execute(sql, params)
        rows = cursor.fetchall() if cursor.description else []
    except _STATEMENT_ERRORS as exc:
        if interrupted(exc):
            raise deadline.error(name, sql) from None
        if failed is not None:
            failed(exc, sql)
        raise SqlError(f"database {name!r}: {exc} in {sql.strip()[:200]!r}") from None
    finally:
        deadline.disarm()
    return shape(cursor, rows, started)


class _OnlyWriterKnows(Exception):
    """The read names a table the read connections cannot see."""


class _Capped:
    """The loop's read connection: stops any statement past a few thousand VM instructions."""

    def __init__(self, path: Path) -> None:
        self.conn = checkpoint.open_read_only(path)
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, LOOP_VALUE_BYTES)
        self.steps = 0
        self.conn.set_progress_handler(self._step, LOOP_GRAIN)

    def _step(self) -> int:
        self.steps += 1
        return 1 if self.steps > LOOP_STEPS else 0


_MISS = object()


class Reads:
    """One database's read connections: the capped one on the loop, a pool for threads."""

    def __init__(self, name: str, path: Path, timeout: float) -> None:
        self.name = name
        self.path = path
        self.timeout = timeout
        self._loop: _Capped | None = None
        self._pool: list[tuple[sqlite3.Connection, Deadline]] = []
        self._lock = threading.Lock()
        self._closed = False

    async def run(self, sql: str, params: tuple[Any, ...], shape: Shape, worker: SqlWorker) -> Any:
        if self._closed:
            raise SqlError(f"database {self.name!r} is closed (the app stopped)")
        try:
            result = self._on_loop(sql, params, shape)
            if result is not _MISS:
                return result
            return await anyio.to_thread.run_sync(self._in_thread, sql, params, shape)
        except _OnlyWriterKnows:
            return await worker.call(lambda conn: run_statement(self.name, conn, worker.deadline, sql, params, shape))

    def _on_loop(self, sql: str, params: tuple[Any, ...], shape: Shape) -> Any:
        if self._loop is None:
            try:
                self._loop = _Capped(self.path)
            except sqlite3.Error:
                return _MISS  # the file is not readable read-only yet (no WAL index): use a thread
        capped = self._loop
        capped.steps = 0
        started = time.perf_counter()
        try:
            cursor = capped.conn.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
        except _STATEMENT_ERRORS as exc:
            if interrupted(exc) or isinstance(exc, sqlite3.DataError) or "too big" in str(exc):
                return _MISS
            self._raise(exc, sql)
        return shape(cursor, rows, started)

    def _raise(self, exc: BaseException, sql: str) -> None:
        if isinstance(exc, sqlite3.OperationalError) and ("no such" in str(exc) or "attempt to write" in str(exc)):
            raise _OnlyWriterKnows from None
        raise SqlError(f"database {self.name!r}: {exc} in {sql.strip()[:200]!r}") from None

    def _in_thread(self, sql: str, params: tuple[Any, ...], shape: Shape) -> Any:
        with self._lock:
            pooled = self._pool.pop() if self._pool else None
        if pooled is None:
            conn = checkpoint.open_read_only(self.path)
            deadline = Deadline(self.timeout)
            conn.set_progress_handler(deadline.check, 10_000)
            pooled = (conn, deadline)
        try:
            return run_statement(self.name, pooled[0], pooled[1], sql, params, shape, self._raise)
        finally:
            self._give_back(pooled)

    def _give_back(self, pooled: tuple[sqlite3.Connection, Deadline]) -> None:
        with self._lock:
            if not self._closed and len(self._pool) < POOL:
                self._pool.append(pooled)
                return
        pooled[0].close()

    def close(self) -> None:
        """Close the idle connections; one in use by a thread is closed when it is given back."""
        with self._lock:
            self._closed = True
            pooled, self._pool = self._pool, []
            for conn, deadline in pooled:
                deadline.closing = True
                conn.close()
        if self._loop is not None:
            self._loop.conn.close()
            self._loop = None


__all__ = ["Reads", "Shape", "run_statement"]
