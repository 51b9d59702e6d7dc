"""A counter that reads, yields, then writes: overlapping calls would lose updates."""

from __future__ import annotations

import asyncio
import os

from runtime import Actor


class Counter(Actor):
    async def increment(self) -> int:
        n = (await self.state.storage.get("n")) or 0
        await asyncio.sleep(0)  # other calls would run here if calls overlapped
        await self.state.storage.put("n", n + 1)
        return int(n + 1)

    async def value(self) -> int:
        return int((await self.state.storage.get("n")) or 0)

    async def arm(self, seconds: float) -> None:
        await self.state.storage.set_alarm((self.env.clock.time() + seconds) * 1000)  # epoch ms

    async def alarm(self) -> None:
        fired = (await self.state.storage.get("fired")) or []
        await self.state.storage.put("fired", [*fired, os.getpid()])
