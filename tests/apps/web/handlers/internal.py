from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from runtime import Service


class Internal(Service):
    async def fetch(self, request: Request) -> Response:
        return PlainTextResponse(f"pong from {request.url.path}")

    async def add(self, a: int, b: int) -> int:
        return a + b
