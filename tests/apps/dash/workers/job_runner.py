from __future__ import annotations

from runtime import Each
from runtime.queue import Message


class JobRunner(Each):
    async def process(self, message: Message) -> None:
        if await self.env.CACHE.get("healed") is None:
            raise RuntimeError(f"job {message.body['id']} cannot run until healed")
        await self.env.CACHE.put(f"done:{message.body['id']}", "1")
