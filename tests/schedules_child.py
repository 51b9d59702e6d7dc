"""Child process for the schedule tests: ``python schedules_child.py MANIFEST BACKEND START STEPS GO``
runs the app on a fake clock starting at ``START`` (epoch seconds), waits for the file ``GO`` to
exist (so two children race), then moves its clock one minute at a time ``STEPS`` times, letting
every fire finish after each move."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from runtime import App, FakeClock


async def main(manifest: str, backend: str, start: str, steps: str, go: str) -> None:
    clock = FakeClock(float(start))
    async with App.from_manifest(manifest, backend=backend, clock=clock) as app:
        await app.drain()
        deadline = time.monotonic() + 30
        while not Path(go).exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        for _ in range(int(steps)):
            clock.advance(minutes=1)
            await app.drain()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
