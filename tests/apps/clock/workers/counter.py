from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from runtime import Actor

ACTIVE = {"now": 0, "max": 0}  # calls running at once, across all ids (for the parallelism test)


class Counter(Actor):
    async def increment(self, by: int = 1) -> int:
        value = (await self.state.storage.get("value") or 0) + by
        await asyncio.sleep(0)  # a storage round trip would yield here: the lock must still hold
        await self.state.storage.put("value", value)
        return int(value)

    async def slow(self, seconds: float) -> str:
        ACTIVE["now"] += 1
        ACTIVE["max"] = max(ACTIVE["max"], ACTIVE["now"])
        await asyncio.sleep(seconds)
        ACTIVE["now"] -= 1
        return str(self.state.id)

    async def remember(self, key: str, value: Any) -> None:
        await self.state.storage.put(key, value)

    async def recall(self, key: str) -> Any:
        return await self.state.storage.get(key)

    async def schedule(self, at_ms: int, mode: str = "ok") -> None:
        await self.state.storage.put("alarm-mode", mode)
        await self.state.storage.set_alarm(at_ms)

    async def alarm(self) -> None:
        fired = await self.state.storage.get("alarms") or []
        fired.append(await self.state.storage.get("alarm-mode"))
        await self.state.storage.put("alarms", fired)
        if await self.state.storage.get("alarm-mode") == "fail":
            raise RuntimeError("alarm failed on purpose")

    async def fetch(self, request: Request) -> Response:
        return JSONResponse({"path": request.url.path, "value": await self.state.storage.get("value")})

    async def later(self, value: int) -> None:
        """Writes after the call has returned, through wait_until (the lease must outlive the call)."""

        async def write() -> None:
            await asyncio.sleep(0.2)  # far past the lease's linger after a call
            await self.state.storage.put("later", value)

        self.state.wait_until(write())
