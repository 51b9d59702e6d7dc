from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from runtime import Service


class Api(Service):
    async def fetch(self, request: Request) -> Response:
        path = request.url.path
        if path == "/hello":
            return PlainTextResponse(f"{self.env.GREETING}, world")
        if path == "/users":
            rows = await self.env.APP_DB.prepare("SELECT name FROM users ORDER BY id").all()
            return JSONResponse([r["name"] for r in rows["results"]])
        if path == "/users/add" and request.method == "POST":
            data = await request.json()
            result = await self.env.APP_DB.prepare("INSERT INTO users (name) VALUES (?)").bind(data["name"]).run()
            return JSONResponse({"id": result["meta"]["last_row_id"]}, status_code=201)
        if path == "/upload" and request.method == "PUT":
            key = request.query_params["key"]
            obj = await self.env.UPLOADS.put(key, await request.body())
            return JSONResponse({"key": obj.key, "size": obj.size})
        if path == "/internal":
            return JSONResponse({"sum": await self.env.INTERNAL.add(2, 3)})
        if path == "/internal-fetch":
            response = await self.env.INTERNAL.fetch("http://internal/ping")
            return Response(response.body, media_type="text/plain")
        if path == "/boom":
            raise RuntimeError("handler exploded")
        if path == "/slow":
            await asyncio.sleep(float(request.query_params.get("s", "1")))
            return PlainTextResponse("late")
        if path == "/enqueue":
            body = await request.json() if request.method == "POST" else {"from": "http"}
            await self.env.TASKS.send(body)
            return PlainTextResponse("queued", status_code=202)
        if path == "/done":
            listing = await self.env.CACHE.list(prefix="done:")
            return JSONResponse(sorted(k["name"] for k in listing["keys"]))
        if path == "/echo" and request.method == "POST":
            return Response(await request.body())
        return JSONResponse({"error": "not found"}, status_code=404)
