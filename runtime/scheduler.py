"""Cron schedules: ``task`` blocks and cron-sourced observers.

One :class:`Scheduler` loop serves every schedule of the app: a heap of next fire times, one
sleep until the earliest, and at each wake-up one backend call that claims every fire due then
(so 10,000 schedules firing together cost one statement or script, and an idle app one timer).

Each scheduled time fires once across every process sharing a backend: before running, a
process records ``(schedule, scheduled time)`` in the backend, and only the process whose
record is new runs the handler; the record outlives restarts, so a time never fires twice.

When a schedule wakes to find several times passed (the runtime was down, or a test moved the
clock far), the ``catch_up`` policy of ``raindrop.local.yaml`` decides, and the log says which:
``fire_once`` (default) fires the latest missed time once; ``all`` fires every missed time in
order; ``skip`` fires only a time less than a minute late. A run still going when the next time
comes is not started twice; a failing run is logged with its traceback and waits for the next
time (no retries, as on the platform). A run is cancelled after ``max_wall_time`` (default 300 s,
the platform's 5 minutes, on the app's clock), so one that never ends does not hold every later
time of its schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from runtime.backends.base import StateStore
from runtime.clock import Clock, iso
from runtime.config import LocalSettings, ScheduleSettings
from runtime.cron import next_fires, next_time, times_between
from runtime.errors import StorageError
from runtime.handlers import ExecutionContext, Task
from runtime.loader import instantiate
from runtime.manifest import Manifest
from runtime.manifest.model import Schedule
from runtime.observers import RunRecord, describe_error
from runtime.walltime import within

log = logging.getLogger("raindrop.scheduler")
ON_TIME = 60.0  # seconds; with catch_up: skip, a fire later than this counts as missed


@dataclass(frozen=True)
class ScheduledEvent:
    """What a scheduled handler receives: ``event.cron``, ``event.type``, ``event.scheduled_time`` (epoch ms)."""

    cron: str
    scheduled_time: int
    type: str = field(default="scheduled")


class ScheduleRunner:
    """One schedule: its handler, policy and the latest time it handled; :class:`Scheduler` wakes it."""

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

    def next_times(self, count: int = 3) -> list[float]:
        return [t.timestamp() for t in next_fires(self.schedule.cron, self.clock.now(), count, self.zone)]

    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    def upcoming(self, now: float | None = None) -> float:
        """The next time to wake for: the first fire after the latest handled (and after ``now``)."""
        assert self.last is not None
        return next_time(self.schedule.cron, self.last if now is None else max(self.last, now), self.zone)

    def pending(self, now: float) -> bool:
        """Whether a run is going on or a scheduled time has come and not been handled."""
        return self.running() or self.last is None or self.upcoming() <= now

    def plan(self, now: float) -> list[float]:
        """The scheduled times to fire at ``now`` under the ``catch_up`` policy (logging what is
        missed or skipped); every time up to ``now`` counts as handled afterwards."""
        assert self.last is not None
        times = list(times_between(self.schedule.cron, self.last, now, self.zone))
        quiet = getattr(self.clock, "quiet_until", None)  # a fake clock set with catch_up=False
        if quiet is not None and times and times[0] <= quiet:
            self.last = max(t for t in times if t <= quiet)
            times = [t for t in times if t > quiet]
        if not times:
            return []
        self.last = times[-1]
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
        if chosen and self.running():
            log.warning(
                "schedule %s: the run for an earlier time is still going; not starting %s", self.name, iso(chosen[0])
            )
            return []
        return chosen

    def start(self, moments: Sequence[float]) -> asyncio.Task[Any]:
        """Run the handler for each of ``moments`` (claimed), one after the other."""
        self._running = asyncio.create_task(self._run_in_order(list(moments)), name=f"schedule {self.name}")
        return self._running

    async def _run_in_order(self, moments: list[float]) -> None:
        for moment in moments:
            with contextlib.suppress(Exception):
                await self.execute(moment)

    def cancel(self) -> None:
        if self._running is not None:
            self._running.cancel()

    async def execute(self, moment: float, *, raise_errors: bool = False) -> None:
        """Run the handler for the scheduled time ``moment``; errors are logged (or raised)."""
        event = ScheduledEvent(self.schedule.cron, round(moment * 1000))
        started = time.perf_counter()
        wall = self.clock.time()
        try:
            limit = self.settings.max_wall_time
            await within(
                self.handler.handle(event), self.clock, limit, f"schedule {self.name!r}: the run", "max_wall_time"
            )
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


def build_runners(
    manifest: Manifest,
    settings: LocalSettings,
    env: Any,
    ctx: ExecutionContext,
    state: StateStore,
    clock: Clock,
    on_run: Callable[[RunRecord], None] | None = None,
) -> Mapping[str, ScheduleRunner]:
    """A runner for every schedule of ``manifest`` (tasks and cron-sourced observers), by name,
    its handler loaded from its module with ``env`` and ``ctx``."""
    app = manifest.application
    by_name = {r.name: r for r in (*app.tasks, *app.observers)}
    runners: dict[str, ScheduleRunner] = {}
    for schedule in app.schedules():
        handler = instantiate(by_name[schedule.name], manifest.root, env, ctx)
        assert isinstance(handler, Task)
        runners[schedule.name] = ScheduleRunner(
            schedule, handler, state, clock, settings.schedule(schedule.name), on_run
        )
    return runners


class Scheduler:
    """Every schedule of an app in one loop: a heap of (next fire time, schedule), one sleep until
    the earliest, and per wake-up one ``claim_fires`` for all that are due. The cost of a wake-up
    follows the schedules due then, not how many there are."""

    def __init__(self, runners: Sequence[ScheduleRunner], state: StateStore, clock: Clock) -> None:
        self.runners = {r.name: r for r in runners}
        self.state = state
        self.clock = clock
        self._heap: list[tuple[float, str]] = []
        self._signal = asyncio.Event()
        self._stopping = False
        self._started = False
        self._busy = False
        self._active: set[asyncio.Task[Any]] = set()  # runs going on

    def stop(self) -> None:
        self._stopping = True
        self._signal.set()

    def pending(self, now: float) -> bool:
        """Whether a run is going on, or a schedule's time has come and not been handled."""
        if not self.runners:
            return False
        if not self._started or self._busy or (self._heap and self._heap[0][0] <= now):
            return True
        return bool(self._active)

    async def run(self) -> None:
        if not self.runners:
            return
        last = await self.state.last_fires(list(self.runners))
        for runner in self.runners.values():
            runner.last = last.get(runner.name, runner.started_at)
            self._heap.append((runner.upcoming(), runner.name))
        heapq.heapify(self._heap)
        self._started = True
        try:
            while not self._stopping:
                now = self.clock.time()
                if self._heap and self._heap[0][0] <= now:
                    self._busy = True
                    try:
                        await self._wake(now)
                    finally:
                        self._busy = False
                    continue
                await self._sleep(self._heap[0][0] if self._heap else None)
        finally:
            for runner in self.runners.values():
                runner.cancel()

    async def _wake(self, now: float) -> None:
        due: list[ScheduleRunner] = []
        while self._heap and self._heap[0][0] <= now:
            due.append(self.runners[heapq.heappop(self._heap)[1]])
        planned = [(runner, runner.plan(now)) for runner in due]
        claims = [(runner.name, moment) for runner, moments in planned for moment in moments]
        try:
            won = await self.state.claim_fires(claims, self.clock.time()) if claims else []
        except StorageError as exc:  # the backend is down: these times are not fired, the next ones are tried
            log.error("schedules: cannot record %d fire(s), not starting them: %s", len(claims), exc)
            won = [False] * len(claims)
        granted = iter(won)
        for runner, moments in planned:
            mine = [moment for moment in moments if next(granted)]  # another process has the rest
            if mine:
                task = runner.start(mine)
                self._active.add(task)
                task.add_done_callback(self._active.discard)
            heapq.heappush(self._heap, (runner.upcoming(now), runner.name))

    async def _sleep(self, until: float | None) -> None:
        self._signal.clear()
        waiter = asyncio.create_task(self._signal.wait())
        waits: set[asyncio.Task[Any]] = {waiter}
        if until is not None:
            waits.add(asyncio.create_task(self.clock.sleep_until(until)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
