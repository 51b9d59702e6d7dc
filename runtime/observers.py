"""Queue observers: claim messages, run the handler, settle the outcome.

Each observer runs ``max_concurrency`` loops. A loop claims up to ``max_batch_size`` ready
messages in one statement (the claim leases them for ``visibility_timeout`` seconds), hands
them to the handler, and settles every outcome in one step: acks deleted, retries made visible
again after their delay, and messages past ``max_retries`` moved to the dead-letter queue with
their last error. While a handler runs, a heartbeat renews the lease, so a slow handler keeps
its messages; a process that dies stops renewing, and its messages come back when the lease
ends. Idle loops sleep until a send in this process wakes them, the next delayed message
falls due, or (for backends shared with other processes) the backend reports a change. On
Redis a send in another process hands an idle loop its messages directly, already claimed for
it (``take``): the loop starts on them without a claim of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runtime.backends.base import QueueStore, Retry, StoredMessage, Waiter
from runtime.clock import Clock, FakeClock
from runtime.config import ObserverSettings
from runtime.errors import stray_cancel
from runtime.handlers import Batch, Each
from runtime.queue import Message, MessageBatch

log = logging.getLogger("raindrop.observer")
RETRY_PAUSE = 1.0  # seconds a consumer loop waits after its backend failed, before trying again


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One handler run, for logs and the dashboard."""

    module: str
    kind: str
    started_at: float
    duration_ms: float
    outcome: str  # "ok" | "error"
    detail: str = ""
    error: str | None = None


def describe_error(exc: BaseException) -> str:
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3)
    return "".join(frames).strip()


class QueueConsumer:
    """Delivers one queue's messages to one observer's handler."""

    def __init__(
        self,
        name: str,
        queue: str,
        handler: Each | Batch,
        store: QueueStore,
        clock: Clock,
        settings: ObserverSettings,
        on_run: Callable[[RunRecord], None] | None = None,
        recheck: float | None = None,
        on_dead_letter: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self.on_dead_letter = on_dead_letter  # wakes the dead-letter queue's consumer in this process
        self.on_failure: Callable[[BaseException], None] = lambda exc: None  # App.drain reports the first
        self.queue = queue
        self.dead_queue = settings.dead_queue(queue)
        self.handler = handler
        self.store = store
        self.clock = clock
        self.settings = settings
        self.on_run = on_run
        self.recheck = recheck  # seconds after which an idle loop claims again unprompted (see Backend)
        count = settings.max_concurrency
        self._signals = [asyncio.Event() for _ in range(count)]  # one per loop
        self._inbox: list[list[StoredMessage]] = [[] for _ in range(count)]  # handed over, not yet started
        self._stopping = False
        self._idle = [False] * count
        self._draining = False
        self._working: dict[int, list[str]] = {}  # ids whose lease the heartbeat renews, per delivery or inbox
        self._running: dict[int, tuple[float, asyncio.Task[Any]]] = {}  # delivery -> (wall deadline, its loop)
        self._overran: dict[int, int] = {}  # cut deliveries still running -> the heartbeat's cancels
        # What max_wall_time is measured on: a fake clock's time in tests, else the monotonic clock
        # (a wall clock set forward by an hour must not cut every delivery running then).
        self._elapsed = clock.time if isinstance(clock, FakeClock) else time.monotonic
        self._deliveries = itertools.count()
        self._work_started = asyncio.Event()

    # -- control -----------------------------------------------------------------------------

    def wake(self) -> None:
        for signal in self._signals:
            signal.set()

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    def take(self, index: int, messages: list[StoredMessage]) -> bool:
        """Messages a send in another process claimed for this consumer's idle loop ``index``
        (see ``Handover``); none: that loop is to look again. False when this consumer takes no
        more work (the caller then hands the messages back)."""
        if not 0 <= index < len(self._inbox) or self._stopping:
            return False
        if messages:
            self._inbox[index] += messages
            self._working[-1 - index] = [m.id for m in self._inbox[index]]  # leased: keep them so
            self._work_started.set()
        self._signals[index].set()
        return True

    @property
    def idle(self) -> bool:
        return all(self._idle) and not any(self._inbox)

    def draining(self, value: bool) -> None:
        """While draining, a Batch observer delivers partial batches at once."""
        self._draining = value
        self.wake()

    async def run(self) -> None:
        loops = [asyncio.create_task(self._loop(i)) for i in range(self.settings.max_concurrency)]
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await asyncio.gather(*loops)
        finally:
            for task in [*loops, heartbeat]:
                task.cancel()

    # -- the loop ------------------------------------------------------------------------------

    async def _loop(self, index: int) -> None:
        size = self.settings.max_batch_size
        signal = self._signals[index]
        # The outcome of a batch is settled together with the next claim: one step, not two.
        acks: list[str] = []
        retries: list[Retry] = []
        waiter = Waiter(self.name, index)
        try:
            while not self._stopping:
                signal.clear()
                try:
                    if self._inbox[index]:  # handed over by a send: already claimed for this loop
                        claimed, due = self._take_inbox(index), None
                    else:
                        now = self.clock.time()
                        lease = now + self.settings.visibility_timeout
                        claimed, due = await self.store.settle_and_claim(
                            self.queue, acks, retries, size, now, lease, waiter
                        )
                        acks, retries = [], []
                    if claimed and isinstance(self.handler, Batch) and len(claimed) < size:
                        claimed += await self._fill(index, len(claimed), size, waiter)
                    if not claimed:
                        self._idle[index] = True
                        await self._wait(signal, due)
                        self._idle[index] = False
                        continue
                    self._idle[index] = False
                    done, again = await self._deliver(claimed)
                    acks += done
                    retries += again
                    # A claim that commits at once and a handler that never waits suspend
                    # nothing: without this a backlog would be worked through in one turn of the
                    # loop, holding every request and timer until the queue is empty.
                    await asyncio.sleep(0)
                except Exception as exc:  # noqa: BLE001 - the backend failed (a dropped connection, a restart)
                    # Unsettled outcomes are kept and settled by the next step (settling twice
                    # is harmless); messages whose outcome was lost come back when their lease ends.
                    self._idle[index] = False
                    log.warning(
                        "observer %s: %s: %s; trying again in %.0f s", self.name, type(exc).__name__, exc, RETRY_PAUSE
                    )
                    await asyncio.sleep(RETRY_PAUSE)
            with contextlib.suppress(Exception):  # if the backend is down, leases hand the work back
                if acks or retries:
                    await self.store.settle(self.queue, acks, retries)
                await self.store.leave_idle(self.queue, waiter)  # stopping: no send should hand this loop more
        finally:
            if self._inbox[index]:  # stopping: hand back what was handed over, for another consumer
                ids = [m.id for m in self._take_inbox(index)]
                with contextlib.suppress(Exception):
                    await self.store.release(self.queue, ids, self.clock.time())

    def _take_inbox(self, index: int) -> list[StoredMessage]:
        taken, self._inbox[index] = self._inbox[index], []
        self._working.pop(-1 - index, None)
        return taken

    async def _fill(self, index: int, have: int, size: int, waiter: Waiter) -> list[StoredMessage]:
        """For Batch handlers: wait up to max_batch_timeout for the batch to fill, as the platform
        does. Waiting, the loop is idle for what is missing (a send may hand that over)."""
        signal = self._signals[index]
        extra: list[StoredMessage] = []
        deadline = self.clock.time() + self.settings.max_batch_timeout
        waiting = False  # whether the last claim found nothing, so the loop is in the idle set
        while have + len(extra) < size and not self._draining and not self._stopping:
            signal.clear()
            if self._inbox[index]:
                extra += self._take_inbox(index)
                waiting = False
                continue
            now = self.clock.time()
            if now >= deadline:
                break
            lease = now + self.settings.visibility_timeout
            got, _ = await self.store.settle_and_claim(self.queue, [], [], size - have - len(extra), now, lease, waiter)
            extra += got
            waiting = not got
            if waiting:
                await self._wait(signal, deadline)
        if waiting:
            await self.store.leave_idle(self.queue, waiter)  # not idle while the batch runs
        return extra

    async def _wait(self, signal: asyncio.Event, due: float | None) -> None:
        """Sleep until woken, or until the next message (delayed, retried or leased) falls due."""
        if signal.is_set() or self._stopping:
            return
        waiter = asyncio.create_task(signal.wait())
        tasks: set[asyncio.Task[Any]] = {waiter}
        if due is not None:
            tasks.add(asyncio.create_task(self.clock.sleep_until(due)))
        if self.recheck is not None:
            tasks.add(asyncio.create_task(asyncio.sleep(self.recheck)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()

    async def _deliver(self, claimed: list[StoredMessage]) -> tuple[list[str], list[Retry]]:
        """Run the handler; dead-letter what is past its retries; return what to ack and retry."""
        messages: list[Message] = []
        acks: list[str] = []
        dead: list[tuple[str, str | None]] = []
        for stored in claimed:
            try:
                messages.append(Message.from_stored(stored))
            except ValueError as exc:  # a body that cannot be decoded can never succeed
                dead.append((stored.id, f"undecodable {stored.content_type} body: {exc}"))
        attempts = {s.id: s.attempts for s in claimed}
        delivery = next(self._deliveries)
        self._working[delivery] = [m.id for m in messages]
        task = asyncio.current_task()
        assert task is not None
        self._running[delivery] = (self._elapsed() + self.settings.max_wall_time, task)
        self._work_started.set()
        errors: dict[str, str] = {}
        position = [0]  # the index of the message an Each handler is on
        try:
            if isinstance(self.handler, Batch):
                await self._run_batch(messages, errors)
            else:
                await self._run_each(messages, errors, position)
        except asyncio.CancelledError:
            del self._running[delivery]  # settling: the heartbeat cancels it no more
            sent = self._overran.pop(delivery, 0)  # the heartbeat's cancels; the app may be stopping too
            cut = sent > 0
            left = task.cancelling()
            for _ in range(sent):
                left = task.uncancel()
            if not cut or left > 0:
                # Stopping: hand back what was not settled, so another consumer gets it.
                await self.store.release(self.queue, [m.id for m in messages], self.clock.time())
                raise
            messages = await self._overrun(messages, position[0], errors)
        finally:
            del self._working[delivery]
            self._running.pop(delivery, None)
            for _ in range(self._overran.pop(delivery, 0)):  # the handler swallowed them: undo them
                task.uncancel()
        now = self.clock.time()
        retries: list[Retry] = []
        for message in messages:
            outcome = message.outcome
            if outcome is None or outcome.action == "ack":
                acks.append(message.id)
                continue
            error = errors.get(message.id) or "retried by the handler"
            if attempts[message.id] > self.settings.max_retries:
                dead.append((message.id, error))
                log.warning(
                    "observer %s: message %s failed %d times; moved to dead-letter queue %r: %s",
                    self.name,
                    message.id,
                    attempts[message.id],
                    self.dead_queue,
                    error.splitlines()[-1],
                )
            else:
                delay = outcome.delay_seconds
                wait = self.settings.retry_delay if delay is None else delay
                retries.append(Retry(message.id, now + wait, error))
        if dead:
            await self.store.dead_letter(self.queue, self.dead_queue, [d[0] for d in dead], [d[1] for d in dead])
            if self.on_dead_letter is not None:
                self.on_dead_letter(self.dead_queue)
        return acks, retries

    async def _run_each(self, messages: list[Message], errors: dict[str, str], position: list[int]) -> None:
        """Run the handler on each message in turn: one coroutine for the batch, not one more
        per message; ``position[0]`` follows the message being worked on."""
        handler = self.handler
        assert isinstance(handler, Each)
        for position[0], message in enumerate(messages):
            started = time.perf_counter()
            wall = self.clock.time()
            try:
                await handler.process(message)
            except (Exception, asyncio.CancelledError) as caught:  # noqa: BLE001 - a failure is data: retried
                exc = self._failure(caught)
                self.on_failure(exc)
                errors[message.id] = describe_error(exc)
                if message.outcome is None:
                    message.retry()
                detail = f"message {message.id} attempt {message.attempts}"
                self._record(wall, started, "error", detail, errors[message.id])
                continue
            self._record(wall, started, "ok", f"message {message.id}")

    async def _run_batch(self, messages: list[Message], errors: dict[str, str]) -> None:
        assert isinstance(self.handler, Batch)
        started = time.perf_counter()
        wall = self.clock.time()
        batch = MessageBatch(self.queue, messages)
        try:
            await self.handler.process(batch)
        except (Exception, asyncio.CancelledError) as caught:  # noqa: BLE001 - a failure is data: retried
            exc = self._failure(caught)
            self.on_failure(exc)
            error = describe_error(exc)
            for message in messages:
                errors[message.id] = error
                if message.outcome is None:
                    message.retry()
            self._record(wall, started, "error", f"batch of {len(messages)}", error)
            return
        self._record(wall, started, "ok", f"batch of {len(messages)}")

    def _failure(self, exc: BaseException) -> BaseException:
        """What a handler raised, as the failure of its message(s); a cancel of this loop (the
        app stopping, the delivery past max_wall_time) is raised on instead."""
        if not isinstance(exc, asyncio.CancelledError):
            return exc
        failure = stray_cancel(exc, f"observer {self.name!r}: the handler")  # before, it ended the loop
        if failure is None:
            raise exc
        return failure

    async def _overrun(self, messages: list[Message], position: int, errors: dict[str, str]) -> list[Message]:
        """The delivery ran past ``max_wall_time`` and was cancelled (as the platform ends a
        consumer invocation): the message(s) it was working on fail as a handler's error would
        (retried, then dead-lettered); an Each handler's messages it never started are handed
        back, their attempt undone. Returns the messages left to settle."""
        limit = self.settings.max_wall_time
        exc = TimeoutError(
            f"observer {self.name!r}: the handler ran past its wall time of {limit:g} s "
            "(max_wall_time) and was cancelled"
        )
        self.on_failure(exc)
        error = str(exc)
        if isinstance(self.handler, Batch):
            failed, unstarted = messages, []
        else:
            failed, unstarted = messages[position : position + 1], messages[position + 1 :]
        for message in failed:
            errors[message.id] = error
            if message.outcome is None:
                message.retry()
        started = time.perf_counter() - limit
        detail = f"batch of {len(failed)}" if isinstance(self.handler, Batch) else f"message {failed[0].id}"
        self._record(self.clock.time() - limit, started, "error", detail, error)
        if unstarted:
            await self.store.release(self.queue, [m.id for m in unstarted], self.clock.time())
        return messages[: len(messages) - len(unstarted)]

    def _record(self, wall: float, started: float, outcome: str, detail: str, error: str | None = None) -> None:
        duration = (time.perf_counter() - started) * 1000
        if error:
            log.error("observer %s %s failed after %.1f ms:\n%s", self.name, detail, duration, error)
        elif log.isEnabledFor(logging.DEBUG):
            log.debug("observer %s %s ok in %.1f ms", self.name, detail, duration)
        if self.on_run is not None:
            self.on_run(RunRecord(self.name, "observer", wall, duration, outcome, detail, error))

    async def _heartbeat(self) -> None:
        """Renew the leases of messages whose handler is still running, and cancel a delivery
        that ran past ``max_wall_time``: one task per observer (not one per batch), asleep while
        nothing is being worked on."""
        # A delivery that starts while the heartbeat sleeps is checked at its next beat: it is
        # cancelled between max_wall_time and 4/3 of it.
        period = min(self.settings.visibility_timeout, self.settings.max_wall_time) / 3
        while True:  # until run() cancels it, once every loop has stopped
            if not self._working:
                self._work_started.clear()
                await self._work_started.wait()
                continue
            now = self.clock.time()
            wake = now + period
            # A cut delivery that goes on (its handler swallowed the cancel, or awaits in a
            # finally) is cancelled again at each beat.
            deadlines = [deadline for d, (deadline, _) in self._running.items() if d not in self._overran]
            if deadlines:
                wake = min(wake, now + min(deadlines) - self._elapsed())
            await self.clock.sleep_until(wake)
            self._cancel_overruns()
            ids = [message_id for batch in self._working.values() for message_id in batch]
            if not ids:
                continue
            try:
                await self.store.extend(self.queue, ids, self.clock.time() + self.settings.visibility_timeout)
            except Exception as exc:  # noqa: BLE001 - the next beat tries again; the lease is long
                log.warning("observer %s: could not renew %d leases: %s", self.name, len(ids), exc)

    def _cancel_overruns(self) -> None:
        now = self._elapsed()
        for delivery, (deadline, task) in self._running.items():
            if now >= deadline:
                again = self._overran.get(delivery, 0)
                self._overran[delivery] = again + 1
                log.warning(
                    "observer %s: a delivery ran past max_wall_time (%g s); cancelling it%s",
                    self.name,
                    self.settings.max_wall_time,
                    f" again ({again + 1} times: its handler goes on after the cancel)" if again else "",
                )
                task.cancel()
