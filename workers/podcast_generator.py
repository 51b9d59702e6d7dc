"""One actor per user: the current job, the last 10 finished jobs (newest first), preferences."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from raindrop_gen import Env
from runtime import Actor

HISTORY = 10


class PodcastGenerator(Actor[Env]):
    async def _data(self) -> dict[str, Any]:
        data = await self.state.storage.get("data")
        return data if isinstance(data, dict) else {"currentJob": None, "history": [], "preferences": {}}

    async def update_status(self, record: dict[str, Any]) -> None:
        data = await self._data()
        data["currentJob"] = record
        if record.get("status") in ("complete", "failed"):
            history = [j for j in data["history"] if j.get("jobId") != record["jobId"]]
            data["history"] = [record, *history][:HISTORY]
        await self.state.storage.put("data", data)

    async def status(self) -> dict[str, Any] | None:
        current: dict[str, Any] | None = (await self._data())["currentJob"]
        return current

    async def history(self) -> list[dict[str, Any]]:
        return list((await self._data())["history"])

    async def preferences(self) -> dict[str, Any]:
        return dict((await self._data())["preferences"])

    async def set_preferences(self, preferences: dict[str, Any]) -> dict[str, Any]:
        data = await self._data()
        allowed = {"voiceSpeed", "podcastLength", "topics"}
        data["preferences"] = {**data["preferences"], **{k: v for k, v in preferences.items() if k in allowed}}
        await self.state.storage.put("data", data)
        return dict(data["preferences"])

    async def fetch(self, request: Request) -> Response:
        path = request.url.path
        if path == "/status":
            return JSONResponse({"currentJob": await self.status()})
        if path == "/history":
            return JSONResponse({"history": await self.history()})
        if path == "/preferences":
            if request.method == "PUT":
                return JSONResponse(await self.set_preferences(await request.json()))
            return JSONResponse(await self.preferences())
        return JSONResponse({"error": "not found"}, status_code=404)
