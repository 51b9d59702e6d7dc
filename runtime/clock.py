"""Time for the runtime: the only module that reads the wall clock.

A clock answers ``time()`` (epoch seconds, for timers and storage) and ``now()`` (an aware UTC
datetime, for people and for ``set``).

Every timer (delays, visibility timeouts, KV expiry, cron, alarms) asks a :class:`Clock`.
:class:`SystemClock` is real time; :class:`FakeClock` only moves when a test moves it, and
wakes every sleeper whose moment has come, in order.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime, timedelta
from datetime import datetime as DateTime
from typing import Protocol


class Clock(Protocol):
    """A source of time, split as Python splits it: ``time()`` is seconds since the epoch (as
    ``time.time()``), ``now()`` the same moment as an aware UTC datetime (as ``datetime.now(UTC)``)."""

    def time(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    def now(self) -> datetime:
        """The current moment as an aware UTC datetime."""
        ...

    async def sleep_until(self, moment: float) -> None:
        """Return once ``time() >= moment`` (or soon after)."""
        ...


class SystemClock:
    """Wall-clock time."""

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def now(self) -> datetime:
        """The current moment as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), tz=UTC)

    async def sleep_until(self, moment: float) -> None:
        """Sleep until ``moment`` (epoch seconds)."""
        delay = moment - self.time()
        if delay > 0:
            await asyncio.sleep(delay)


class FakeClock:
    """A clock that moves only when told to.

    ``advance(seconds=...)`` and ``set(datetime)`` move time forward and wake every sleeper whose
    moment has come. Time never goes backwards.
    """

    def __init__(self, start: datetime | float | None = None) -> None:
        if start is None:
            start = datetime(2025, 1, 1, tzinfo=UTC)
        self._now = start.timestamp() if isinstance(start, datetime) else float(start)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        #: Scheduled times up to this moment are passed over (``set(..., catch_up=False)``).
        self.quiet_until: float | None = None
        self._ids = itertools.count()

    def time(self) -> float:
        """Seconds since the epoch, as ``time.time()``."""
        return self._now

    def now(self) -> datetime:
        """The fake moment as an aware UTC datetime (what ``set`` takes)."""
        return datetime.fromtimestamp(self._now, tz=UTC)

    async def sleep_until(self, moment: float) -> None:
        """Wait until the fake time reaches ``moment`` (moved by ``advance``/``set``)."""
        if moment <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (moment, next(self._ids), future))
        await future

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0, days: float = 0.0) -> datetime:
        """Move time forward; returns the new ``now()``."""
        delta = seconds + minutes * 60 + hours * 3600 + days * 86400
        if delta < 0:
            raise ValueError(f"a FakeClock cannot go backwards (advance by {delta} seconds)")
        self._now += delta
        self._wake()
        return self.now()

    def set(self, moment: DateTime | float, *, catch_up: bool = True) -> DateTime:
        """Move time forward to ``moment`` (a naive datetime is read as UTC).

        :param catch_up: ``False`` jumps without the scheduled runs that fell in between (as if
            the app had been set up at ``moment``); by default the schedules' ``catch_up``
            policy decides, as after downtime.
        """
        if isinstance(moment, DateTime):
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            target = moment.timestamp()
        else:
            target = float(moment)
        if target < self._now:
            raise ValueError(
                f"a FakeClock cannot go backwards: {datetime.fromtimestamp(target, UTC).isoformat()} "
                f"is before {self.now().isoformat()}"
            )
        if not catch_up:
            self.quiet_until = target
        self._now = target
        self._wake()
        return self.now()

    def next_wakeup(self) -> float | None:
        """The earliest moment a sleeper waits for, or None."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def _wake(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    def __repr__(self) -> str:
        return f"FakeClock({self.now().isoformat()})"


def utc(moment: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(moment, tz=UTC)


def iso(moment: float) -> str:
    """Epoch seconds as ``2025-01-01T03:00:00Z``."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def end_of_day(moment: datetime) -> datetime:
    """23:59:59.999 on the day of ``moment``, in ``moment``'s timezone."""
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1) - timedelta(milliseconds=1)
