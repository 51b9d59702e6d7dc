"""The thread that runs one SQL database's writes, on a connection it alone uses.

User SQL can be arbitrarily heavy (a recursive CTE of millions of rows, an ``UPDATE`` of a
whole table), so it never runs on the event loop. Each database has one worker thread that
owns the write connection. The loop hands it work in two forms:

- **groups**: the write jobs submitted in one turn of the loop (:meth:`SqlWorker.write`). The
  worker runs every group waiting in its queue inside one transaction and commits once; only
  then does it post the outcomes back, with one ``call_soon_threadsafe`` for the whole
  transaction, which resolves each writer's future. A write is acknowledged after its commit,
  never before; fifty writers share one commit.
- **calls** (:meth:`SqlWorker.call`): a function of the connection run between transactions
  (reads of the connection's own TEMP tables, schema set-up, SmartSQL's bookkeeping).

Every statement has a time limit (:attr:`SqlWorker.timeout`): a progress handler interrupts it
past its deadline, and the caller gets :class:`~runtime.errors.SqlError` naming the database.
:meth:`SqlWorker.close` waits a bounded time for the work in flight, then interrupts it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from runtime import checkpoint
from runtime.errors import SqlCommitError, SqlError

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]

STATEMENT_TIMEOUT = 30.0  # seconds a statement may run (``sql.statement_timeout``)
PROGRESS_STEPS = 10_000  # SQLite VM instructions between deadline checks (tens of microseconds)
LOOP_CAP = 5  # progress calls (of PROGRESS_STEPS instructions) a lone write may take on the loop
CLOSE_WAIT = 0.5  # seconds close() lets the work in flight finish before interrupting it
log = logging.getLogger("raindrop.sql")


class _Group:
    def __init__(self, loop: asyncio.AbstractEventLoop, jobs: list[tuple[Job, asyncio.Future[Any]]]) -> None:
        self.loop = loop
        self.jobs = jobs


class _Call:
    def __init__(self, job: Job, done: Callable[[Any, BaseException | None], None]) -> None:
        self.job = job
        self.done = done


class Deadline:
    """A progress handler's clock: :meth:`arm` before a statement, :meth:`check` from SQLite."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.until = float("inf")
        self.closing = False
        self.cap: int | None = None  # progress calls left while a write runs on the loop
        self.capped_out = False

    def arm(self) -> None:
        self.until = time.monotonic() + self.timeout

    def disarm(self) -> None:
        self.until = float("inf")

    def check(self) -> int:
        if self.cap is not None:
            self.cap -= 1
            if self.cap < 0:
                self.capped_out = True
                return 1
            return 0
        return 1 if self.closing or time.monotonic() > self.until else 0

    def error(self, database: str, sql: str) -> SqlError:
        if self.closing:
            return SqlError(f"database {database!r}: the app stopped while this statement ran: {sql.strip()[:200]!r}")
        return SqlError(
            f"database {database!r}: the statement ran past its {self.timeout:g} s limit and was stopped "
            f"(sql: {{statement_timeout: ...}} in raindrop.local.yaml sets the limit): {sql.strip()[:200]!r}"
        )


def interrupted(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and str(exc) == "interrupted"


class SqlWorker:
    """One database's write connection and the thread that uses it."""

    def __init__(self, name: str, path: Path, *, timeout: float = STATEMENT_TIMEOUT) -> None:
        self.name = name
        self.deadline = Deadline(timeout)
        self.conn = checkpoint.open_wal(path)
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.set_progress_handler(self.deadline.check, PROGRESS_STEPS)
        self._queue: queue.SimpleQueue[_Group | _Call | None] = queue.SimpleQueue()
        self._pending: list[tuple[Job, asyncio.Future[Any]]] = []
        self._closed = False
        self._turn = False  # a write of this loop turn ran on the loop
        self._use = threading.Lock()  # held by whoever uses the connection: the worker, or the loop
        self.commits = 0  # transactions committed (group commit shares them)
        self._thread = threading.Thread(target=self._run, name=f"raindrop-sql-{name}", daemon=True)
        self._thread.start()

    @property
    def timeout(self) -> float:
        return self.deadline.timeout

    # -- the loop's side ----------------------------------------------------------------------------

    def write(self, job: Job) -> asyncio.Future[Any]:
        """Run ``job(conn)`` inside this turn's transaction; the future resolves once it committed."""
        self._check_open()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._turn and not self._pending and self._queue.empty() and self._use.acquire(blocking=False):
            self._turn = True  # the other writes of this turn form a group: they share a commit
            loop.call_soon(self._end_turn)
            try:
                done, value, error = self._on_loop(job)
            finally:
                self._use.release()
            if done:  # answered on the next turn, after _end_turn: the caller cannot write again this turn
                loop.call_soon(_settle, [(future, value, error)])
                return future
        if not self._pending:
            loop.call_soon(self._flush, loop)
        self._pending.append((job, future))
        return future

    def _end_turn(self) -> None:
        self._turn = False

    def _on_loop(self, job: Job) -> tuple[bool, Any, BaseException | None]:
        """A lone write with the worker idle: run it here, in autocommit, stopped after
        :data:`LOOP_CAP` progress calls (well under a millisecond) and never waiting for a lock;
        (False, ...) when it was stopped, to be run again by the worker."""
        conn = self.conn
        self.deadline.cap, self.deadline.capped_out = LOOP_CAP, False
        conn.execute("PRAGMA busy_timeout=0")
        try:
            try:
                value = job(conn)
            except BaseException as exc:  # noqa: BLE001 - handed to the writer
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if self.deadline.capped_out or "locked" in str(exc) or "busy" in str(exc):
                    return False, None, None
                return True, None, exc
            if conn.in_transaction:
                try:
                    conn.execute("COMMIT")
                except sqlite3.Error:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    return False, None, None
            self.commits += 1
            return True, value, None
        finally:
            self.deadline.cap = None
            self.deadline.disarm()
            conn.execute("PRAGMA busy_timeout=10000")

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        jobs, self._pending = self._pending, []
        if jobs:
            self._queue.put(_Group(loop, jobs))

    async def call(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job(conn)`` on the worker, between transactions; its result or its error."""
        self._check_open()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def done(value: Any, error: BaseException | None) -> None:
            def settle() -> None:
                if future.done():
                    return
                if error is None:
                    future.set_result(value)
                else:
                    future.set_exception(error)

            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(settle)

        self._queue.put(_Call(job, done))
        return await future

    def call_blocking(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job(conn)`` on the worker and wait here (start-up work: migrations, schemas)."""
        self._check_open()
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def done(value: Any, error: BaseException | None) -> None:
            if error is None:
                result.set_result(value)
            else:
                result.set_exception(error)

        self._queue.put(_Call(job, done))
        return result.result()

    def _check_open(self) -> None:
        if self._closed:
            raise SqlError(f"database {self.name!r} is closed (the app stopped)")

    def close(self) -> None:
        """Finish the queued work, interrupting what still runs after :data:`CLOSE_WAIT` seconds."""
        if self._closed:
            return
        self._closed = True
        if self._pending:
            self._flush(self._pending[0][1].get_loop())
        self._queue.put(None)
        self._thread.join(CLOSE_WAIT)
        if self._thread.is_alive():
            self.deadline.closing = True
            self.conn.interrupt()
            self._thread.join(5.0)
            if self._thread.is_alive():
                log.warning("database %r: its worker did not stop within 5 s of being interrupted", self.name)

    # -- the worker's side --------------------------------------------------------------------------

    def _run(self) -> None:
        held: _Group | _Call | None = None
        while True:
            item = held if held is not None else self._queue.get()
            held = None
            if item is None:
                break
            with self._use:
                if isinstance(item, _Call):
                    self._run_call(item)
                    continue
                groups = [item]
                while True:  # every group already waiting joins this transaction
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(more, _Group):
                        groups.append(more)
                    else:
                        held = more
                        break
                self._run_groups(groups)
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.conn.close()
        except sqlite3.Error as exc:
            log.warning("database %r: closing: %s", self.name, exc)

    def _run_alone(self, group: _Group) -> None:
        """One write waiting, and no other: it runs in autocommit (its statement is its own
        transaction, committed before the statement returns), saving a BEGIN and a COMMIT."""
        future = group.jobs[0][1]
        if future.cancelled():
            return
        value, error = _alone_outcome(self, group)
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: no one waits
            group.loop.call_soon_threadsafe(_settle, [(future, value, error)])

    def _run_call(self, call: _Call) -> None:
        try:
            value = call.job(self.conn)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self.deadline.disarm()
            call.done(None, exc)
        else:
            call.done(value, None)

    def _run_groups(self, groups: list[_Group]) -> None:
        if len(groups) == 1 and len(groups[0].jobs) == 1:
            self._run_alone(groups[0])
            return
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        applied: list[int] = []  # indexes into outcomes whose writes sit in the open transaction

        def begin() -> BaseException | None:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                return SqlError(f"database {self.name!r}: cannot start a write: {exc}")
            return None

        failed = begin()
        for group in groups:
            for job, future in group.jobs:
                if failed is not None:
                    outcomes.append((future, None, failed))
                    continue
                if future.cancelled():
                    continue
                try:
                    value = job(self.conn)
                except BaseException as exc:  # noqa: BLE001 - handed to the writer
                    self.deadline.disarm()
                    outcomes.append((future, None, exc))
                    if not self.conn.in_transaction:  # the error rolled back the whole transaction
                        lost = SqlError(f"database {self.name!r}: the transaction was rolled back: {exc}")
                        for index in applied:
                            outcomes[index] = (outcomes[index][0], None, lost)
                        applied.clear()
                        failed = begin()
                    continue
                applied.append(len(outcomes))
                outcomes.append((future, value, None))
                if not self.conn.in_transaction:  # the statement ended the transaction itself
                    applied.clear()
                    failed = begin()
        if self.conn.in_transaction:
            try:
                self.conn.execute("COMMIT")
                self.commits += 1
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                error = SqlCommitError(f"database {self.name!r}: commit failed, the writes were not applied: {exc}")
                for index in applied:
                    outcomes[index] = (outcomes[index][0], None, error)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: no one waits
                loop.call_soon_threadsafe(_settle, settled)


def _alone_outcome(worker: SqlWorker, group: _Group) -> tuple[Any, BaseException | None]:
    job = group.jobs[0][0]
    try:
        value = job(worker.conn)  # autocommit: SQLite commits the statement's own transaction
    except BaseException as exc:  # noqa: BLE001 - handed to the writer
        worker.deadline.disarm()
        return None, exc
    if worker.conn.in_transaction:  # a savepoint (batch) is released, or the job began one
        try:
            worker.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if worker.conn.in_transaction:
                worker.conn.execute("ROLLBACK")
            return None, SqlCommitError(f"database {worker.name!r}: commit failed, the write was not applied: {exc}")
    worker.commits += 1
    return value, None


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in outcomes:
        if future.done():
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


__all__ = ["STATEMENT_TIMEOUT", "SqlWorker", "interrupted"]
