"""Cron schedules: ``task`` blocks and cron-sourced observers.

Each scheduled time fires once across every process sharing a backend: before running, a
process records ``(schedule, scheduled time)`` in the backend, and only the process whose
record is new runs the handler; the record outlives restarts, so a time never fires twice.

When a schedule wakes to find several times passed (the runtime was down, or a test moved the
clock far), the ``catch_up`` policy of ``raindrop.local.yaml`` decides, and the log says which:
``fire_once`` (default) fires the latest missed time once; ``all`` fires every missed time in
order; ``skip`` fires only a time less than a minute late. A run still going when the next time
comes is not started twice; a failing run is logged with its traceback and waits for the next
time (no retries, as on the platform).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from runtime.backends.base import StateStore
from runtime.clock import Clock, iso, utc
from runtime.config import ScheduleSettings
from runtime.cron import fires_between, next_fires
from runtime.handlers import Task
from runtime.manifest.model import Schedule
from runtime.observers import RunRecord, describe_error

log = logging.getLogger("raindrop.scheduler")
ON_TIME = 60.0  # seconds; with catch_up: skip, a fire later than this counts as missed


@dataclass(frozen=True)
class ScheduledEvent:
    """What a scheduled handler receives: ``event.cron``, ``event.type``, ``event.scheduled_time`` (epoch ms)."""

    cron: str
    scheduled_time: int
    type: str = field(default="scheduled")


class ScheduleRunner:
    def __init__(
        self,
        schedule: Schedule,
        handler: Task,
        state: StateStore,
        clock: Clock,
        settings: ScheduleSettings,
        on_run: Callable[[RunRecord], None] | None = None,
    ) -> None:
        self.schedule = schedule
        self.name = schedule.name
        self.handler = handler
        self.state = state
        self.clock = clock
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.on_run = on_run
        self.on_failure: Callable[[BaseException], None] = lambda exc: None  # App.drain reports the first
        self.last: float | None = None  # the latest scheduled time handled (fired or skipped)
        self.started_at = clock.time()  # a schedule never seen before counts from here
        self._running: asyncio.Task[Any] | None = None
        self._signal = asyncio.Event()
        self._stopping = False
        self._busy = False

    def next_times(self, count: int = 3) -> list[float]:
        return [t.timestamp() for t in next_fires(self.schedule.cron, self.clock.now(), count, self.zone)]

    def stop(self) -> None:
        self._stopping = True
        self._signal.set()

    def pending(self, now: float) -> bool:
        """Whether a run is going on or a scheduled time has come and not been handled."""
        if self._busy or (self._running is not None and not self._running.done()):
            return True
        if self.last is None:
            return True  # not started yet
        upcoming = next_fires(self.schedule.cron, utc(self.last), 1, self.zone)[0].timestamp()
        return upcoming <= now

    async def run(self) -> None:
        recorded = await self.state.last_fire(self.name)
        self.last = recorded if recorded is not None else self.started_at
        while not self._stopping:
            self._busy = True
            try:
                await self._due(self.clock.time())
            finally:
                self._busy = False
            upcoming = next_fires(self.schedule.cron, utc(max(self.last, self.clock.time())), 1, self.zone)[
                0
            ].timestamp()
            self._signal.clear()
            waiter = asyncio.create_task(self._signal.wait())
            sleeper = asyncio.create_task(self.clock.sleep_until(upcoming))
            try:
                await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
                sleeper.cancel()
        if self._running is not None:
            self._running.cancel()

    async def _due(self, now: float) -> None:
        assert self.last is not None
        times = [t.timestamp() for t in fires_between(self.schedule.cron, utc(self.last), utc(now), self.zone)]
        quiet = getattr(self.clock, "quiet_until", None)  # a fake clock set with catch_up=False
        if quiet is not None and times and times[0] <= quiet:
            self.last = max(t for t in times if t <= quiet)
            times = [t for t in times if t > quiet]
        if not times:
            return
        policy = self.settings.catch_up
        if len(times) > 1 or (policy == "skip" and now - times[-1] >= ON_TIME):
            missed = len(times) - 1
            if policy == "fire_once":
                log.warning(
                    "schedule %s: %d scheduled time(s) missed (%s to %s); firing once for %s (catch_up: fire_once)",
                    self.name, missed, iso(times[0]), iso(times[-2]), iso(times[-1]),
                )  # fmt: skip
            elif policy == "skip":
                late = [t for t in times if now - t >= ON_TIME]
                log.warning(
                    "schedule %s: skipping %d missed time(s) up to %s (catch_up: skip)",
                    self.name,
                    len(late),
                    iso(late[-1]),
                )
            else:
                log.warning("schedule %s: firing %d missed time(s) in order (catch_up: all)", self.name, missed + 1)
        if policy == "all":
            chosen = times
        elif policy == "skip":
            chosen = [t for t in times[-1:] if now - t < ON_TIME]
        else:
            chosen = times[-1:]
        for moment in chosen:
            await self._fire(moment, wait=policy == "all")
        self.last = times[-1]

    async def _fire(self, moment: float, *, wait: bool) -> None:
        if self._running is not None and not self._running.done():
            log.warning(
                "schedule %s: the run for an earlier time is still going; not starting %s", self.name, iso(moment)
            )
            return
        if not await self.state.claim_fire(self.name, moment, self.clock.time()):
            return  # another process (or this one before a restart) has it
        self._running = asyncio.create_task(self.execute(moment))
        if wait:
            with contextlib.suppress(Exception):
                await self._running

    async def execute(self, moment: float, *, raise_errors: bool = False) -> None:
        """Run the handler for the scheduled time ``moment``; errors are logged (or raised)."""
        event = ScheduledEvent(self.schedule.cron, round(moment * 1000))
        started = time.perf_counter()
        wall = self.clock.time()
        try:
            await self.handler.handle(event)
        except Exception as exc:
            self.on_failure(exc)
            error = describe_error(exc)
            log.error("schedule %s: run for %s failed:\n%s", self.name, iso(moment), error)
            self._record(wall, started, "error", moment, error)
            if raise_errors:
                raise
            return
        self._record(wall, started, "ok", moment, None)

    def _record(self, wall: float, started: float, outcome: str, moment: float, error: str | None) -> None:
        if self.on_run is not None:
            duration = (time.perf_counter() - started) * 1000
            self.on_run(
                RunRecord(self.name, self.schedule.kind, wall, duration, outcome, f"scheduled {iso(moment)}", error)
            )
