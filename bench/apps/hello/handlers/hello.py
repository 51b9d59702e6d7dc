from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from runtime import Service


class Hello(Service):
    async def fetch(self, request: Request) -> Response:
        return PlainTextResponse("ok")
