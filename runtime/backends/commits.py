"""Durable writes on SQLite: the one group commit every acknowledged write joins, the state
backend's and every SQL database's. Acknowledged means durable: a write returns once committed
(the other calls' failures: ``failures.py``).

:class:`Committer` is the design: a lone write commits at once, the writes of one event-loop
turn commit together at its end, and their writers are woken from one future after the
commit. :class:`GroupCommit` commits the state backend's own statements on the loop;
:class:`runtime.sql_worker.SqlWorker` commits user SQL on the loop under a step cap, and on
its thread what outgrows the cap."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import sqlite3
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Protocol

from runtime.errors import StorageError

log = logging.getLogger("raindrop.backend")


class _Backend(Protocol):
    """What a group commit reports to: the state file's path and its count of lost writes."""

    path: Path
    failed_writes: int


#: A writer committing alone lets other tasks run at least this often (seconds).
YIELD_EVERY = 0.0005
#: The most rows one multi-row INSERT carries; groups are cut into power-of-two statements
#: (50 rows: 32 + 16 + 2), so a statement type has at most a handful of cached forms.
MAX_ROWS_PER_STATEMENT = 256
_VALUES = re.compile(r"\bVALUES\s*(\(\s*\?(?:\s*,\s*\?)*\s*\))", re.IGNORECASE)
#: Groups formed this recently (seconds) mean writers are concurrent: then every write joins
#: the turn's group, even the first of a turn, rather than paying for a commit of its own.
GROUPS_RECENTLY = 0.01


class Group:
    """The writes of one turn, committed together, and how their commit went. Its writers wait
    on one future; each reads its own outcome by index when the commit reports one per item."""

    __slots__ = ("done", "error", "future", "items", "outcomes", "writers")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.items: list[Any] = []  # what the committer commits: statements, or jobs
        self.writers = 0  # the calls whose writes these are
        self.future: asyncio.Future[None] = loop.create_future()  # every writer of the group awaits it
        self.done = False
        self.error: Exception | None = None  # the whole group failed
        self.outcomes: list[tuple[Any, BaseException | None]] | None = None  # one per item, when told apart

    def settle(self, error: Exception | None = None) -> None:
        """Wake every writer (on the group's loop): the commit is over."""
        self.done = True
        self.error = error
        if not self.future.done():
            if error is None:
                self.future.set_result(None)
            else:
                self.future.set_exception(error)
                self.future.exception()  # retrieved: when every writer was cancelled, nobody else will


class Committer:
    """Durable writes that share commits: each call returns once its write is committed (it
    survives a SIGKILL of the process the next moment), and writes made during one event-loop
    turn are committed together. The one design behind both the state backend's writes
    (:class:`GroupCommit`) and an SQL database's (:class:`runtime.sql_worker.SqlWorker`).

    A write that finds no other writer about (no group formed in the last 10 ms) commits at once,
    on its own; a loop of such writes yields to other tasks every half millisecond, so it never
    starves them. Writes that come while another write is committing or yielding join the turn's
    group, committed in one transaction at the end of the turn (:meth:`flush`): fifty concurrent
    requests, or a KV put and a queue send in one handler, pay for one commit instead of one
    each. A group's writers wait on one future, woken together once it committed, never before.
    A write joins its group when it is made; a writer cancelled while it waits gets
    ``CancelledError``, and its write, already part of the group, is committed with the others.
    Subclasses say how a group commits (:meth:`_commit`) and whether a write may commit alone
    now (:meth:`_idle`).
    """

    def __init__(self) -> None:
        self._group: Group | None = None  # the pending group, committed at the end of this turn
        self._yielding = 0  # writers that committed alone and are yielding their turn
        self._yielded_at = 0.0  # when a lone writer last let other tasks run (perf_counter)
        self._grouped_at = 0.0  # when a group of writes last committed: writers are concurrent

    def _join_turn(self) -> Group | None:
        """The turn's group for a new write, or None: nobody else is writing, commit it alone."""
        group = self._group
        if group is None:
            if not self._yielding and time.perf_counter() - self._grouped_at > GROUPS_RECENTLY and self._idle():
                return None
            loop = asyncio.get_running_loop()
            group = self._group = Group(loop)
            loop.call_soon(self.flush)
        group.writers += 1
        return group

    def _idle(self) -> bool:
        """Whether a write may commit alone now (nothing of earlier turns is still committing)."""
        return True

    async def _pause(self) -> None:
        """After a lone commit, when YIELD_EVERY seconds passed since the last pause (the caller
        checks ``_yielded_at``, sparing a coroutine): let other tasks run; writes that come
        meanwhile form a group."""
        self._yielding += 1
        try:
            await asyncio.sleep(0)
        finally:
            self._yielding -= 1
            self._yielded_at = time.perf_counter()

    def flush(self) -> None:
        """Commit the pending group now; its writers hear how it went once it is over."""
        group, self._group = self._group, None
        self._grouped_at = time.perf_counter()
        if group is not None:
            self._commit(group)

    def _commit(self, group: Group) -> None:
        """Commit ``group``'s items in one transaction and :meth:`Group.settle` it, now or later
        (from the group's loop)."""
        raise NotImplementedError


class GroupCommit(Committer):
    """The state backend's writes (KV, queues, actor state): statements of the runtime's own,
    each small. A group runs on the loop at the end of its turn; its statements run in the
    order they were added (a later write of a key wins), consecutive ones of a kind as one
    multi-row statement. When a commit fails (a full disk), every writer of it gets
    :class:`StorageError` and nothing of it is kept; memory held is only the current turn's
    writes."""

    def __init__(self, conn: sqlite3.Connection, backend: _Backend) -> None:
        super().__init__()
        self._conn = conn
        self._backend = backend

    def write(self, sql: str, rows: list[tuple[Any, ...]], what: str) -> Coroutine[Any, Any, Any]:
        """Commit ``sql`` for ``rows``, alone or with the other writes of this turn; the result,
        awaited, returns once the write is committed.

        :raises StorageError: when the commit failed; nothing of the write was kept.
        """
        group = self._group
        if group is not None:
            group.writers += 1  # the turn's group is open: join it (the hot path of concurrent writers)
        else:
            group = self._join_turn()
            if group is None:
                return self._alone(sql, rows, what)
        statements = group.items
        if statements and statements[-1][0] == sql:
            statements[-1][1].extend(rows)  # consecutive writes of one kind: one statement
        else:
            statements.append((sql, list(rows), what))
        return join(group, -1)

    async def _alone(self, sql: str, rows: list[tuple[Any, ...]], what: str) -> None:
        now = time.perf_counter()
        try:
            self._run([(sql, rows, what)])
        except StorageError:
            self._backend.failed_writes += 1
            raise
        if now - self._yielded_at >= YIELD_EVERY:
            await self._pause()

    def _commit(self, group: Group) -> None:
        try:
            self._run(group.items)
        except Exception as exc:  # noqa: BLE001 - whatever it is, every writer hears of it; none waits forever
            if isinstance(exc, StorageError):
                self._backend.failed_writes += group.writers  # each writer's call failed once
            group.settle(exc)
            return
        group.settle()

    def _run(self, statements: list[tuple[str, list[tuple[Any, ...]], str]]) -> None:
        """Commit ``statements``; the caller counts the failed writes of a StorageError."""
        try:
            if len(statements) == 1 and len(statements[0][1]) == 1:
                self._conn.execute(statements[0][0], statements[0][1][0])  # commits on its own
                return
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                for sql, rows, _ in statements:
                    self._execute(sql, rows)
        except (sqlite3.Error, ValueError, OverflowError) as exc:  # a full disk; text or a number SQLite cannot take
            count = sum(len(rows) for _, rows, _ in statements)
            kinds = ", ".join(sorted({what for _, _, what in statements}))
            error = StorageError(
                f"state database {str(self._backend.path)!r}: {count} write(s) ({kinds}) were not stored: {exc}"
            )
            log.error("%s", error)
            raise error from None

    def _execute(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run ``sql`` for every row, in order. An ``INSERT ... VALUES (?, ...)`` runs as few
        multi-row statements (one step each) rather than once per row: about a quarter faster for
        a group of fifty, and SQLite applies the rows in order, so a later write of a key wins."""
        if len(rows) < 2 or _multi_row(sql, 1) is None:
            self._conn.executemany(sql, rows)
            return
        done = 0
        while done < len(rows):
            size = min(MAX_ROWS_PER_STATEMENT, 1 << ((len(rows) - done).bit_length() - 1))
            chunk = rows[done : done + size]
            if size == 1:
                self._conn.execute(sql, chunk[0])
            else:
                self._conn.execute(_multi_row(sql, size), [value for row in chunk for value in row])  # type: ignore[arg-type]
            done += size


@functools.lru_cache(maxsize=256)
def _multi_row(sql: str, rows: int) -> str | None:
    """``sql`` with its one ``VALUES (?, ...)`` repeated for ``rows`` rows, or None when it is
    not a single-row INSERT."""
    if not sql.lstrip().upper().startswith("INSERT"):
        return None
    found = list(_VALUES.finditer(sql))
    if len(found) != 1:
        return None
    group = found[0].group(1)
    start, end = found[0].span(1)
    return sql[:start] + ", ".join([group] * rows) + sql[end:]


async def join(group: Group, index: int) -> Any:
    """Wait for ``group``'s commit; the outcome of its item ``index`` when the commit tells its
    items apart. Its writers share one future (waking fifty writers from one future costs half
    of waking them from one each); a writer cancelled while waiting cancels that future for all,
    so the others, not cancelled themselves, wait on for the outcome."""
    while True:
        future = group.future
        try:
            await future
            break
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not future.cancelled() or task is None or task.cancelling():
                raise  # this writer was cancelled (its write is still committed with the group)
        if group.done:
            break
        if group.future is future:
            group.future = asyncio.get_running_loop().create_future()
    if group.error is not None:
        raise group.error
    if group.outcomes is None:
        return None
    value, error = group.outcomes[index]
    if error is not None:
        raise error
    return value
