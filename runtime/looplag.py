"""The event loop's own lag, measured from inside: how late a periodic probe wakes up.

A probe task sleeps ``interval`` seconds, again and again; each time it wakes, the time past
the due moment is the lag: how long something held the loop (a handler that computes without
awaiting, a blocking call). The recent samples (a ring of ``window``) give the maximum and the
99th percentile that the dashboard's overview shows; :attr:`LoopLag.worst` is the largest lag
seen since the probe started.

A late wake-up has two causes: the loop was held (by a callback that did not await, or by a
worker thread holding the GIL), or the machine gave the loop's thread no CPU (other
processes). On Linux the kernel counts the time a thread waited for a CPU
(``/proc/thread-self/schedstat``); :attr:`LoopLag.held` is the worst lag with that time taken
out: what this process did to its own loop (the figure a test can assert on a busy machine).
Elsewhere ``held`` equals the plain lag.

Each wake-up costs the process a timer and a loop turn: every 20 ms that was three quarters of
an idle app's CPU (0.75% of a core of its 0.9%, measured). So the probe slows down to
:data:`IDLE_INTERVAL` once the process has done next to nothing (under :data:`BUSY_SHARE` of
a whole :data:`IDLE_AFTER` seconds in CPU, and no held wake-up), and is back at ``interval``
from the first wake-up that finds it busy or late. (Judged wake-up by wake-up, a 1 ms poll
every 250 ms kept it at 20 ms for good on a machine where each wake-up costs 0.3 ms.) While it
is slow, a stall that starts from idleness reads up to :data:`IDLE_INTERVAL` short (it is caught, and every later one in full); :meth:`reset`
puts the probe back at ``interval`` at once (what a test measuring a step does first).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from typing import Any

_SCHEDSTAT = "/proc/thread-self/schedstat"
_cpu = time.process_time  # the process's CPU seconds: whether it is idle (tests replace it)


def _open_schedstat() -> int | None:
    """A descriptor of the calling thread's schedstat (None where there is none). Opened once
    and read in place: opening the file at every probe was most of an idle app's CPU."""
    try:
        return os.open(_SCHEDSTAT, os.O_RDONLY)
    except OSError:
        return None


def _waited(fd: int | None) -> float | None:
    """Seconds the thread of ``fd`` has spent runnable but waiting for a CPU (None where unknown)."""
    if fd is None:
        return None
    try:
        return int(os.pread(fd, 128, 0).split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


INTERVAL = 0.02  # seconds between probes: fine enough to see a 100 ms stall several times over
WINDOW = 1500  # samples kept: the last 30 s at the default interval
IDLE_INTERVAL = 0.1  # seconds between probes of a process that has been idle IDLE_AFTER seconds
IDLE_AFTER = 1.0
BUSY_SHARE = 0.05  # a process using more than this share of a wake-up's span in CPU is busy


class LoopLag:
    """Samples the running loop's lag. :meth:`start` from inside the loop, :meth:`stop` to end."""

    def __init__(self, interval: float = INTERVAL, window: int = WINDOW) -> None:
        self.interval = interval
        self._samples: deque[float] = deque(maxlen=window)
        self._task: asyncio.Task[None] | None = None
        self.worst = 0.0  # seconds, since start (or the last reset)
        self.held = 0.0  # the worst lag less the time the thread waited for a CPU

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._probe(), name="loop lag probe")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def reset(self) -> None:
        """Forget the samples, and probe at ``interval`` from now (a slowed probe starts anew)."""
        self._samples.clear()
        self.worst = 0.0
        self.held = 0.0
        if self._task is not None and not self._task.done() and self._slow:
            self._task.cancel()
            self._task, self._slow = None, False
            self.start()

    _slow = False  # the running probe sleeps IDLE_INTERVAL (see the module's docstring)

    async def _probe(self) -> None:
        fd = _open_schedstat()  # the loop's thread's own: the probe always runs on that thread
        self._slow = False
        try:
            waited = _waited(fd)
            cpu = _cpu()
            block = block_cpu = 0.0  # the span judged so far, and the process's CPU in it
            interval = self.interval
            while True:
                due = time.perf_counter() + interval
                await asyncio.sleep(interval)
                late = max(0.0, time.perf_counter() - due)
                after = _waited(fd)  # read once a wake-up: the next sample starts from it
                self._samples.append(late)
                self.worst = max(self.worst, late)
                queued = after - waited if after is not None and waited is not None else 0.0
                self.held = max(self.held, late - queued)
                waited = after
                used, cpu = _cpu() - cpu, _cpu()
                span = interval + late
                held = late - queued > self.interval  # late beyond the time it waited for a CPU
                if self._slow:  # back at the interval from the first wake-up that finds work
                    if held or used > BUSY_SHARE * span:
                        self._slow, block, block_cpu = False, 0.0, 0.0
                elif held:
                    block = block_cpu = 0.0
                else:  # idle: under BUSY_SHARE of a whole IDLE_AFTER in CPU (its threads' too), so
                    block += span  # a periodic chore (a poll every 250 ms) does not keep it fast
                    block_cpu += used
                    if block >= IDLE_AFTER:
                        self._slow = block_cpu < BUSY_SHARE * block
                        block = block_cpu = 0.0
                interval = IDLE_INTERVAL if self._slow else self.interval
        finally:
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def snapshot(self) -> dict[str, Any]:
        """``{"max_ms", "p99_ms", "samples", "interval_ms"}`` over the recent samples (the plain
        lag, as a user of the loop sees it); ``interval_ms`` is the probe's now (slowed when idle)."""
        samples = sorted(self._samples)
        interval_ms = (IDLE_INTERVAL if self._slow else self.interval) * 1000
        if not samples:
            return {"max_ms": None, "p99_ms": None, "samples": 0, "interval_ms": interval_ms}
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
        return {
            "max_ms": round(samples[-1] * 1000, 1),
            "p99_ms": round(p99 * 1000, 1),
            "samples": len(samples),
            "interval_ms": interval_ms,
        }
