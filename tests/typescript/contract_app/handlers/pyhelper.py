"""A Python service beside the TypeScript ones: TypeScript calls it, it calls TypeScript."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from runtime import Service


class PyHelper(Service):
    async def fetch(self, request: Request) -> Response:
        if request.url.path.startswith("/actor/"):  # handed on to the TypeScript actor as it is
            counters = self.env.COUNTER
            response: Response = await counters.get(counters.id_from_name("uploads")).fetch(request)
            return response
        return PlainTextResponse(f"python saw {request.method} {request.url.path}")

    async def double(self, value: int) -> dict[str, Any]:
        return {"doubled": value * 2, "via_typescript": await self.env.HELPER.add(value, value)}
