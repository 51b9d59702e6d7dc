"""One SQL database's writes: the group commit of :mod:`runtime.backends.commits` over user
SQL, with a thread for what is too heavy for the event loop.

Writes follow the state backend's design (:class:`~runtime.backends.commits.Committer`): a lone
write commits at once, the writes of one loop turn commit together in one transaction at its
end, and their writers are woken from one future once the COMMIT returned, never before. What
differs is user SQL's weight: a recursive CTE of millions of rows, an ``UPDATE`` of a whole
table. So a write or a group runs on the loop first, on the write connection, with a progress
handler that stops it after :data:`LOOP_CAP` (:data:`GROUP_CAP` for a group) calls of
:data:`PROGRESS_STEPS` VM instructions, a millisecond or two, and never waiting for a lock.
What is stopped there is rolled back (nothing of it was acknowledged) and handed, with the rest
of its group, to the database's worker thread, which owns the connection while it runs: it
runs every group waiting for it in one transaction, under the statement time limit, commits,
and only then wakes each group's writers with one ``call_soon_threadsafe``. While the worker
has work, later groups queue behind it, so commits keep their order.

The worker also runs **calls** (:meth:`SqlWorker.call`): a function of the connection run
between transactions (``exec`` scripts, reads of the connection's own TEMP tables, schema
set-up, SmartSQL's bookkeeping).

Every statement has a time limit (:attr:`SqlWorker.timeout`): a progress handler interrupts it
past its deadline, and the caller gets :class:`~runtime.errors.SqlError` naming the database.
An interrupted write may take its transaction with it; the other writers of that transaction
are then told so, never acknowledged. :meth:`SqlWorker.close` waits a bounded time for the
work in flight, then interrupts it.
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
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from runtime import checkpoint
from runtime.backends.commits import YIELD_EVERY, Committer, Group, join
from runtime.errors import SqlCommitError, SqlError

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], Any]

STATEMENT_TIMEOUT = 30.0  # seconds a statement may run (``sql.statement_timeout``)
PROGRESS_STEPS = 10_000  # SQLite VM instructions between deadline checks (tens of microseconds)
LOOP_CAP = 5  # progress calls (of PROGRESS_STEPS instructions) a lone write may take on the loop
GROUP_CAP = 20  # progress calls a group of writes may take on the loop, all its statements together
CLOSE_WAIT = 0.5  # seconds close() lets the work in flight finish before interrupting it
BUSY_MS = 10_000  # how long the worker waits for another connection's lock (the loop never waits)
log = logging.getLogger("raindrop.sql")
_NEVER = float("inf")

#: A write of a group: the group and the index of its job (its outcome goes to the same index).
Pending = tuple[Group, int]


class _Call:
    def __init__(self, job: Job, done: Callable[[Any, BaseException | None], None]) -> None:
        self.job = job
        self.done = done


class _Spill:
    """Writes the loop handed to the worker: what is left of one group."""

    def __init__(self, pending: list[Pending]) -> None:
        self.pending = pending


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


class SqlWorker(Committer):
    """One database's write connection, its group commit, and the thread that takes over what
    the loop may not run."""

    def __init__(self, name: str, path: Path, *, timeout: float = STATEMENT_TIMEOUT) -> None:
        super().__init__()
        self.name = name
        self.deadline = Deadline(timeout)
        self.conn = checkpoint.open_wal(path)
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA busy_timeout=0")  # on the loop a write never waits for a lock
        self.conn.set_progress_handler(self.deadline.check, PROGRESS_STEPS)
        self._queue: queue.SimpleQueue[_Spill | _Call | None] = queue.SimpleQueue()
        self._sent = 0  # items handed to the worker (written by the loop only)
        self._finished = 0  # items the worker is done with (written by the worker only)
        self._closed = False
        self._use = threading.Lock()  # held by whoever uses the connection: the worker, or the loop
        self.commits = 0  # transactions committed (group commit shares them)
        self._thread = threading.Thread(target=self._run, name=f"raindrop-sql-{name}", daemon=True)
        self._thread.start()

    @property
    def timeout(self) -> float:
        return self.deadline.timeout

    # -- the loop's side ----------------------------------------------------------------------------

    def write(self, job: Job) -> Coroutine[Any, Any, Any]:
        """Run ``job(conn)`` alone or inside this turn's transaction; the result, awaited, is its
        value once it committed (or its error)."""
        self._check_open()
        group = self._join_turn()
        if group is None:
            return self._alone(job)
        group.items.append(job)
        return join(group, len(group.items) - 1)

    def _idle(self) -> bool:
        return self._sent == self._finished

    async def _alone(self, job: Job) -> Any:
        now = time.perf_counter()
        group = Group(asyncio.get_running_loop())
        group.items.append(job)
        group.writers = 1
        self._commit(group)
        if not group.done:  # the worker has it
            return await join(group, 0)
        if now - self._yielded_at >= YIELD_EVERY:
            await self._pause()
        value, error = group.outcomes[0]  # type: ignore[index]
        if error is not None:
            raise error
        return value

    def _commit(self, group: Group) -> None:
        count = len(group.items)
        group.outcomes = [(None, None)] * count
        pending = [(group, index) for index in range(count)] if count > 1 else [(group, 0)]
        if self._sent == self._finished and self._use.acquire(blocking=False):
            deadline = self.deadline
            deadline.cap, deadline.capped_out = LOOP_CAP if count == 1 else GROUP_CAP, False
            try:
                pending = self._transaction(pending, on_loop=True)
            finally:
                deadline.cap = None
                deadline.until = _NEVER
                self._use.release()
            if not pending:
                group.settle()
                return
        self._send(_Spill(pending))

    def _send(self, item: _Spill | _Call) -> None:
        self._sent += 1
        self._queue.put(item)

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

        self._send(_Call(job, done))
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

        self._send(_Call(job, done))
        return result.result()

    def _check_open(self) -> None:
        if self._closed:
            raise SqlError(f"database {self.name!r} is closed (the app stopped)")

    def close(self) -> None:
        """Finish the queued work, interrupting what still runs after :data:`CLOSE_WAIT` seconds."""
        if self._closed:
            return
        self._closed = True
        group, self._group = self._group, None
        if group is not None:
            group.outcomes = [(None, None)] * len(group.items)
            self._send(_Spill([(group, index) for index in range(len(group.items))]))
        self._queue.put(None)
        self._thread.join(CLOSE_WAIT)
        if self._thread.is_alive():
            self.deadline.closing = True
            self.conn.interrupt()
            self._thread.join(5.0)
            if self._thread.is_alive():
                log.warning("database %r: its worker did not stop within 5 s of being interrupted", self.name)

    # -- both sides: one transaction --------------------------------------------------------------

    def _transaction(self, pending: list[Pending], *, on_loop: bool) -> list[Pending]:
        """Run the writes of ``pending`` in one transaction (a lone one in autocommit: its
        statement is its own transaction) and commit; each outcome goes to its group. On the loop,
        a write stopped at the cap or by a lock rolls the transaction back, and what must run
        again is returned, for the worker; empty when done."""
        conn = self.conn
        applied: list[Pending] = []  # writes in the open transaction
        failed: BaseException | None = None
        if len(pending) > 1:
            failed = self._begin()
            if failed is not None and on_loop:
                return pending
        for position, (group, index) in enumerate(pending):
            if failed is not None:
                group.outcomes[index] = (None, failed)  # type: ignore[index]
                continue
            try:
                value = group.items[index](conn)
            except BaseException as exc:  # noqa: BLE001 - handed to the writer
                self.deadline.disarm()
                if on_loop and (self.deadline.capped_out or "locked" in str(exc) or "busy" in str(exc)):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    return applied + pending[position:]
                group.outcomes[index] = (None, exc)  # type: ignore[index]
                if len(pending) > 1 and not conn.in_transaction:  # the error rolled back the whole transaction
                    lost = SqlError(f"database {self.name!r}: the transaction was rolled back: {exc}")
                    for other, at in applied:
                        other.outcomes[at] = (None, lost)  # type: ignore[index]
                    applied.clear()
                    failed = self._begin()
                    if failed is not None and on_loop:
                        return pending[position + 1 :]
                elif len(pending) == 1 and conn.in_transaction:
                    conn.execute("ROLLBACK")
                continue
            group.outcomes[index] = (value, None)  # type: ignore[index]
            applied.append((group, index))
            if len(pending) > 1 and not conn.in_transaction:  # the statement ended the transaction itself
                applied.clear()
                failed = self._begin()
                if failed is not None and on_loop:
                    return pending[position + 1 :]
        if conn.in_transaction:  # a group's, or a lone write's savepoint (batch) or own BEGIN
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if on_loop:
                    return applied
                error = SqlCommitError(f"database {self.name!r}: commit failed, the writes were not applied: {exc}")
                for group, index in applied:
                    group.outcomes[index] = (None, error)  # type: ignore[index]
                return []
            self.commits += 1
        elif applied:
            self.commits += 1  # a lone statement committed itself
        return []

    def _begin(self) -> BaseException | None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            return SqlError(f"database {self.name!r}: cannot start a write: {exc}")
        return None

    # -- the worker's side --------------------------------------------------------------------------

    def _run(self) -> None:
        held: _Spill | _Call | None = None
        while True:
            item = held if held is not None else self._queue.get()
            held = None
            if item is None:
                break
            with self._use:
                self.conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
                try:
                    if isinstance(item, _Call):
                        self._run_call(item)
                        continue
                    spills = [item]
                    while True:  # every group already waiting joins this transaction
                        try:
                            more = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        if isinstance(more, _Spill):
                            spills.append(more)
                        else:
                            held = more
                            break
                    self._run_spills(spills)
                finally:
                    self.conn.execute("PRAGMA busy_timeout=0")
        try:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            self.conn.close()
        except sqlite3.Error as exc:
            log.warning("database %r: closing: %s", self.name, exc)

    def _run_call(self, call: _Call) -> None:
        try:
            value = call.job(self.conn)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self.deadline.disarm()
            self._finished += 1
            call.done(None, exc)
        else:
            self._finished += 1
            call.done(value, None)

    def _run_spills(self, spills: list[_Spill]) -> None:
        pending = [write for spill in spills for write in spill.pending]
        self._transaction(pending, on_loop=False)
        self._finished += len(spills)  # before the writers wake: a write they make next may run on the loop
        groups = {id(group): group for group, _ in pending}
        for group in groups.values():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: no one waits
                group.future.get_loop().call_soon_threadsafe(group.settle)


__all__ = ["STATEMENT_TIMEOUT", "SqlWorker", "interrupted"]
