from __future__ import annotations

from typing import Any

from runtime import Task


class Morning(Task):
    async def handle(self, event: Any) -> None:
        count = int(await self.env.RESULTS.get("morning") or 0)
        await self.env.RESULTS.put("morning", str(count + 1))
