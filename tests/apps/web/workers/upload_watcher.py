from __future__ import annotations

import json

from runtime import Each
from runtime.queue import Message


class UploadWatcher(Each):
    async def process(self, message: Message) -> None:
        seen = json.loads(await self.env.CACHE.get("events") or "[]")
        seen.append(message.body)
        await self.env.CACHE.put("events", json.dumps(seen))
