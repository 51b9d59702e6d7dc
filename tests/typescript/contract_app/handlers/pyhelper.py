"""A Python service beside the TypeScript ones: TypeScript calls it, it calls TypeScript."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from runtime import Service


class PyHelper(Service):
    async def fetch(self, request: Request) -> Response:
        return PlainTextResponse(f"python saw {request.method} {request.url.path}")

    async def double(self, value: int) -> dict[str, Any]:
        return {"doubled": value * 2, "via_typescript": await self.env.HELPER.add(value, value)}
