"""A counter that reads, yields, then writes: overlapping calls would lose updates."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from runtime import Actor


class Counter(Actor):
    async def increment(self) -> int:
        n = (await self.state.storage.get("n")) or 0
        await asyncio.sleep(0)  # other calls would run here if calls overlapped
        await self.state.storage.put("n", n + 1)
        return int(n + 1)

    async def slow_increment(self, marker: str, seconds: float) -> int:
        """An increment that says (by appending to ``marker``) it has read, then takes ``seconds``
        before it writes: a process paused then is paused in the middle of a call."""
        n = (await self.state.storage.get("n")) or 0
        with Path(marker).open("a") as f:
            f.write(f"{n}\n")
        await asyncio.sleep(seconds)
        await self.state.storage.put("n", n + 1)
        return int(n + 1)

    async def value(self) -> int:
        return int((await self.state.storage.get("n")) or 0)

    async def arm(self, seconds: float) -> None:
        await self.state.storage.set_alarm((self.env.clock.time() + seconds) * 1000)  # epoch ms

    async def alarm(self) -> None:
        fired = (await self.state.storage.get("fired")) or []
        late = self.env.clock.time() * 1000 - (await self.state.storage.get_alarm() or 0)
        await self.state.storage.put({"fired": [*fired, os.getpid()], "late_ms": late})
