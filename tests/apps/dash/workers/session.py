from __future__ import annotations

from runtime import Actor


class Session(Actor):
    async def touch(self) -> int:
        count = (await self.state.storage.get("touches") or 0) + 1
        await self.state.storage.put("touches", count)
        return int(count)
