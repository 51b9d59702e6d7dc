from __future__ import annotations

import json

from runtime import Batch
from runtime.queue import MessageBatch


class EventBatcher(Batch):
    async def process(self, batch: MessageBatch) -> None:
        sizes = json.loads(await self.env.RESULTS.get("batches") or "[]")
        sizes.append(len(batch.messages))
        await self.env.RESULTS.put("batches", json.dumps(sizes))
        for message in batch.messages:
            if message.body.get("bad"):
                message.retry()
        if any(m.body.get("explode") for m in batch.messages):
            raise ValueError("batch exploded")
