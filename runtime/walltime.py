"""Work bounded by a wall time on the app's clock (a schedule's run, an actor's alarm): it runs in
its own task, cancelled when the limit is reached, as the platform ends an invocation."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from runtime.clock import Clock
from runtime.errors import STRAY

log = logging.getLogger("raindrop.walltime")

T = TypeVar("T")


async def within(work: Awaitable[T], clock: Clock, limit: float, what: str, setting: str) -> T:
    """Await ``work``, cancelled after ``limit`` seconds on ``clock``: then a ``TimeoutError``
    naming ``what`` and the ``setting`` that sets the limit, raised once the work has ended. A
    handler that goes on after the cancel (it swallowed it, or awaits in a finally) is cancelled
    again every third of the limit, so it never runs on unseen beside what comes next. A
    ``CancelledError`` the work raised itself (it awaited something cancelled) is a RuntimeError."""
    task = asyncio.ensure_future(work)
    timer = asyncio.ensure_future(clock.sleep_until(clock.time() + limit))
    try:
        await asyncio.wait((task, timer), return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when the caller is cancelled (the app stopping): the work is cancelled with it
        timer.cancel()
        if not task.done():
            task.cancel()
    if task.done():  # it ended before the timer (a cancel of it is not this one's)
        if task.cancelled():
            raise RuntimeError(f"{what} {STRAY}")
        return task.result()
    while not task.done():
        again = asyncio.ensure_future(clock.sleep_until(clock.time() + limit / 3))
        try:
            await asyncio.wait((task, again), return_when=asyncio.FIRST_COMPLETED)
        finally:
            again.cancel()
        if not task.done():
            log.warning("%s goes on after its cancel at %s; cancelling it again", what, setting)
            task.cancel()
    if not task.cancelled():
        task.exception()  # what it raised on its way out is the timeout's (retrieved: not logged as lost)
    raise TimeoutError(f"{what} ran past its wall time of {limit:g} s ({setting}) and was cancelled")
