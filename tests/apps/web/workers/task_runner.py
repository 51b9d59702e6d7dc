from __future__ import annotations

import asyncio

from runtime import Each
from runtime.queue import Message


class TaskRunner(Each):
    async def process(self, message: Message) -> None:
        body = message.body
        await asyncio.sleep(float(body.get("sleep", 0)))
        if "id" in body:
            await self.env.CACHE.put(f"done:{body['id']:03d}", str(message.attempts))
