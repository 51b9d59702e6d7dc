"""The baseline: the same trivial endpoint as a bare Starlette app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


async def hello(request: Request) -> Response:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/{path:path}", hello)])
