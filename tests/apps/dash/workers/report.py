from __future__ import annotations

from typing import Any

from runtime import Task


class Report(Task):
    async def handle(self, event: Any) -> None:
        await self.env.CACHE.put("report", f"ran at {event.scheduled_time}")
        session = self.env.SESSION.get(self.env.SESSION.id_from_name("admin"))
        await session.touch()
        await self.env.FILES.put(
            "reports/latest.txt", f"ran at {event.scheduled_time}", custom_metadata={"by": "report"}
        )
