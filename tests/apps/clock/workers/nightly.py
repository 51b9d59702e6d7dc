from __future__ import annotations

import asyncio
import json
from typing import Any

from runtime import Task


class Nightly(Task):
    async def handle(self, event: Any) -> None:
        fires = json.loads(await self.env.RESULTS.get("nightly") or "[]")
        fires.append({"cron": event.cron, "type": event.type, "at": event.scheduled_time})
        await self.env.RESULTS.put("nightly", json.dumps(fires))
        mode = await self.env.RESULTS.get("nightly-mode")
        if mode == "fail":
            raise RuntimeError("nightly failed on purpose")
        if mode == "hang":
            while await self.env.RESULTS.get("nightly-mode") == "hang":
                await asyncio.sleep(0.001)
