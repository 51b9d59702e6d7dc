"""3 am daily (the manifest's schedule): pre-generate every active user's podcast."""

from __future__ import annotations

import json
from typing import Any

from hakivo.pregeneration import pregenerate
from raindrop_gen import Env
from runtime import Task


class PodcastPregenerationCron(Task[Env]):
    async def handle(self, event: Any) -> None:
        results = await pregenerate(self.env)
        await self.env.KV_CACHE.put("pregen:last", json.dumps({**results, "scheduledTime": event.scheduled_time}))
        self.env.logger.info(
            json.dumps({"event": "pregeneration", **{k: v for k, v in results.items() if k != "errors"}})
        )
