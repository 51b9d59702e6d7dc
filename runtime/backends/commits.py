"""Durable writes on SQLite: the group commit every acknowledged write joins, and the storage
error an SQLite failure becomes. Acknowledged means durable: a write returns once committed."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from runtime.errors import StorageError

log = logging.getLogger("raindrop.backend")
T = TypeVar("T")


class _Backend(Protocol):
    """What a group commit reports to: the state file's path and its count of lost writes."""

    path: Path
    failed_writes: int


#: A writer committing alone lets other tasks run at least this often (seconds).
YIELD_EVERY = 0.0005
#: Groups formed this recently (seconds) mean writers are concurrent: then every write joins
#: the turn's group, even the first of a turn, rather than paying for a commit of its own.
GROUPS_RECENTLY = 0.01


class GroupCommit:
    """Durable writes that share commits: each call returns once its write is committed (it
    survives a SIGKILL of the process the next moment), and writes made during one event-loop
    turn are committed together.

    A write that finds no other writer about (no group formed in the last 10 ms) commits at once,
    on its own; a loop of such writes yields to other tasks every half millisecond, so it never
    starves them. Writes that come while another write is
    committing or yielding join the turn's group, which commits in one transaction at the end of
    the turn: fifty concurrent requests, or a KV put and a queue send in one handler, pay for one
    commit instead of one each. Statements run in the order they were added (a later write of a
    key wins). When a commit fails (a full disk), every writer of it gets :class:`StorageError`
    and nothing of it is kept; memory held is only the current turn's writes.
    """

    def __init__(self, conn: sqlite3.Connection, backend: _Backend) -> None:
        self._conn = conn
        self._backend = backend
        self._statements: list[tuple[str, list[tuple[Any, ...]], str]] = []  # (sql, rows, what)
        self._waiters: list[asyncio.Future[None]] = []  # one per writer of the pending group
        self._yielding = 0  # writers that committed alone and are yielding their turn
        self._yielded_at = 0.0  # when a lone writer last let other tasks run (perf_counter)
        self._grouped_at = 0.0  # when a group of writes last committed: writers are concurrent

    async def write(self, sql: str, rows: list[tuple[Any, ...]], what: str) -> None:
        """Commit ``sql`` for ``rows``, alone or with the other writes of this turn.

        :raises StorageError: when the commit failed; nothing of the write was kept.
        """
        now = time.perf_counter()
        if not self._statements and not self._yielding and now - self._grouped_at > GROUPS_RECENTLY:
            self._run([(sql, rows, what)])  # nobody else is writing: commit now, on its own
            if now - self._yielded_at < YIELD_EVERY:
                return  # a lone loop of writes yields every YIELD_EVERY seconds, not at every write
            self._yielding += 1
            try:
                await asyncio.sleep(0)  # writes that come meanwhile form a group
            finally:
                self._yielding -= 1
                self._yielded_at = time.perf_counter()
            return
        loop = asyncio.get_running_loop()
        if not self._statements:
            loop.call_soon(self.flush)
        last = self._statements[-1] if self._statements else None
        if last is not None and last[0] == sql:
            last[1].extend(rows)  # consecutive writes of one kind: one executemany
        else:
            self._statements.append((sql, list(rows), what))
        waiter = loop.create_future()  # a writer of its own: cancelling it leaves the others be
        self._waiters.append(waiter)
        await waiter

    def flush(self) -> None:
        """Commit the pending group now and tell its writers how it went."""
        statements, self._statements = self._statements, []
        waiters, self._waiters = self._waiters, []
        self._grouped_at = time.perf_counter()
        error: StorageError | None = None
        if statements:
            try:
                self._run(statements)
            except StorageError as exc:
                error = exc
        for waiter in waiters:
            if not waiter.done():
                if error is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(error)

    def _run(self, statements: list[tuple[str, list[tuple[Any, ...]], str]]) -> None:
        try:
            if len(statements) == 1 and len(statements[0][1]) == 1:
                self._conn.execute(statements[0][0], statements[0][1][0])  # commits on its own
                return
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                for sql, rows, _ in statements:
                    self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            count = sum(len(rows) for _, rows, _ in statements)
            self._backend.failed_writes += count
            kinds = ", ".join(sorted({what for _, _, what in statements}))
            error = StorageError(
                f"state database {str(self._backend.path)!r}: {count} write(s) ({kinds}) were not stored: {exc}"
            )
            log.error("%s", error)
            raise error from None


def storage_errors(cls: type[T]) -> type[T]:
    """Every coroutine method of ``cls`` raises :class:`StorageError` for an SQLite failure (a
    full disk, an I/O error, a lock held too long), naming the state file, instead of sqlite3's."""
    for name, method in list(vars(cls).items()):
        if name.startswith("_") or not inspect.iscoroutinefunction(method):
            continue

        def wrap(method: Callable[..., Awaitable[Any]], name: str = name) -> Callable[..., Awaitable[Any]]:
            @functools.wraps(method)
            async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await method(self, *args, **kwargs)
                except sqlite3.Error as exc:
                    self._backend.failed_writes += 1
                    raise StorageError(f"state database {str(self._path)!r}: {name} failed: {exc}") from None

            return wrapper

        setattr(cls, name, wrap(method))
    return cls
