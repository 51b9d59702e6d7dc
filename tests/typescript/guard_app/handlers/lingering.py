"""A Python service whose RPC method outlives the TypeScript request that called it."""

import asyncio

from runtime import Service


class Lingering(Service):
    async def linger(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        await self.env.CACHE.put("lingered", "yes")
        return "lingered"
