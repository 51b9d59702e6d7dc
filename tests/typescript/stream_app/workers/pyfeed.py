"""A Python actor TypeScript streams to and from: uploads it hashes as they arrive, events it
writes as it goes."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from runtime import Actor


class Pyfeed(Actor):
    async def fetch(self, request: Request) -> Response:
        path = request.url.path
        cache = self.env.CACHE
        if path == "/upload":
            digest = hashlib.sha256()
            size = chunks = 0
            async for chunk in request.stream():
                if chunk:
                    digest.update(chunk)
                    size += len(chunk)
                    chunks += 1
            return JSONResponse({"sha256": digest.hexdigest(), "size": size, "chunks": chunks})
        if path == "/events":

            async def events() -> AsyncIterator[bytes]:
                yield b"data: one\n\n"
                while await cache.get("go") is None:
                    await asyncio.sleep(0.005)
                yield b"data: two\n\n"

            return StreamingResponse(events(), media_type="text/event-stream")
        if path == "/ticks":

            async def ticks() -> AsyncIterator[bytes]:
                n = 0
                try:
                    while True:
                        await asyncio.sleep(0.005)
                        yield f"data: {n}\n\n".encode()
                        n += 1
                finally:
                    await cache.put("py-ticks:cancelled", str(n))

            return StreamingResponse(ticks(), media_type="text/event-stream")
        if path == "/fail":

            async def failing() -> AsyncIterator[bytes]:
                yield b"data: before\n\n"
                while await cache.get("go") is None:
                    await asyncio.sleep(0.005)
                raise ValueError("the python feed broke midway")

            return StreamingResponse(failing(), media_type="text/event-stream")
        if path == "/empty":
            return Response(status_code=204)
        return Response("no such feed", status_code=404)
