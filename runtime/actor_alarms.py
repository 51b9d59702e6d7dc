"""Actors' alarms: each actor id has at most one, stored with its state. A due alarm is claimed
from the store (leased for ``ALARM_LEASE`` so that one process fires it), then ``alarm()`` runs
as a call on the actor (:meth:`ActorHost.run`: serialized with its calls, under its lease); a
failure, or a run past ``ALARM_WALL_TIME``, is retried from 2 s, doubling, up to 6 times, as on
the platform."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from runtime.actor_ids import ActorId
from runtime.backends.base import Alarm
from runtime.observers import RunRecord, describe_error
from runtime.walltime import within

if TYPE_CHECKING:
    from runtime.actors import ActorHost
    from runtime.handlers import Actor

log = logging.getLogger("raindrop.actor")

ALARM_RETRIES = 6  # retried from 2 s, doubling, up to 6 times (as the platform)
#: Seconds an ``alarm()`` may run (the platform's 15 minutes, on the app's clock): then it is
#: cancelled and fails as a raised error would (retried).
ALARM_WALL_TIME = 900.0
#: Seconds another process waits before taking over an alarm being fired: past the wall time, so
#: that a cut alarm has its retry set before its lease runs out (else it would fire twice).
ALARM_LEASE = ALARM_WALL_TIME + 60
LIMIT = "an alarm's limit, the platform's 15 minutes"
#: On a shared backend, seconds between looks for alarms another process set (one that died
#: before announcing it, or a backend that announces nothing): a due alarm fires within this.
ALARM_RECHECK = 0.5


class Alarms:
    """Fires the alarms of ``host``'s actors as they come due (:meth:`run`, a loop)."""

    def __init__(self, host: ActorHost) -> None:
        self._host = host
        self._signal = asyncio.Event()
        self._running: set[asyncio.Task[Any]] = set()
        self._stopping = False

    def wake(self) -> None:
        """An alarm was set or changed: look again at when the next one is due."""
        self._signal.set()

    def stop(self) -> None:
        self._stopping = True
        self._signal.set()

    async def pending(self, now: float) -> bool:
        """Whether an alarm is running or due (for ``App.drain``)."""
        if any(not t.done() for t in self._running):
            return True
        due = await self._host.store.next_alarm()
        return due is not None and due <= now

    async def run(self) -> None:
        """Fire alarms as they come due, until stopped (a loop the app runs)."""
        while not self._stopping:
            self._signal.clear()
            now = self._host.clock.time()
            for alarm in await self._host.store.claim_alarms(now, now + ALARM_LEASE):
                task = asyncio.create_task(self._fire(alarm))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            due = await self._host.store.next_alarm()
            waiter = asyncio.create_task(self._signal.wait())
            tasks: set[asyncio.Task[Any]] = {waiter}
            if due is not None and due > self._host.clock.time():
                tasks.add(asyncio.create_task(self._host.clock.sleep_until(due)))
            elif due is not None and not self._running:
                tasks.add(asyncio.create_task(asyncio.sleep(0.05)))  # due but leased elsewhere: look again soon
            if self._host.ownership is not None:  # shared: another process may set one without telling us
                tasks.add(asyncio.create_task(asyncio.sleep(ALARM_RECHECK)))
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
        for task in list(self._running):
            task.cancel()

    async def _fire(self, alarm: Alarm) -> None:
        actor = ActorId(alarm.actor, alarm.name)
        started = self._host.clock.time()
        cls = self._host.classes.get(alarm.namespace)
        if cls is None:
            log.error("alarm of %s %s dropped: no handler class is loaded for it", alarm.namespace, actor)
            await self._host.store.finish_alarm(alarm, None)
            return
        if getattr(cls, "alarm", None) is None:
            log.warning('actor "%s" set an alarm but %s has no alarm() method; dropped', alarm.namespace, cls.__name__)
            await self._host.store.finish_alarm(alarm, None)
            return

        async def fire(instance: Actor) -> None:
            await instance.alarm()  # type: ignore[attr-defined]

        what = f'actor "{alarm.namespace}" ({alarm.name or alarm.actor[:12]}): alarm()'
        try:  # cut as the platform's are, so that a hung alarm() does not hold its actor's calls for good
            await within(self._host.run(alarm.namespace, actor, fire), self._host.clock, ALARM_WALL_TIME, what, LIMIT)
        except Exception as exc:  # noqa: BLE001 - an alarm's failure is retried, as on the platform
            self._host.on_failure(exc)
            error = describe_error(exc)
            if alarm.retries < ALARM_RETRIES:
                delay = 2.0 * 2**alarm.retries
                log.error(
                    "alarm of %s %s failed (retry %d in %g s):\n%s",
                    alarm.namespace,
                    actor,
                    alarm.retries + 1,
                    delay,
                    error,
                )
                await self._host.store.finish_alarm(alarm, self._host.clock.time() + delay)
            else:
                log.error(
                    "alarm of %s %s failed %d times; giving up:\n%s", alarm.namespace, actor, alarm.retries + 1, error
                )
                await self._host.store.finish_alarm(alarm, None)
            self._record(alarm, started, "error", error)
            return
        await self._host.store.finish_alarm(alarm, None)
        self._record(alarm, started, "ok", None)

    def _record(self, alarm: Alarm, started: float, outcome: str, error: str | None) -> None:
        if self._host.on_run is not None:
            self._host.on_run(
                RunRecord(
                    alarm.namespace,
                    "alarm",
                    started,
                    (self._host.clock.time() - started) * 1000,
                    outcome,
                    alarm.actor[:12],
                    error,
                )
            )
