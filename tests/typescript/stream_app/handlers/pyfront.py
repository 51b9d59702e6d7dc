"""A Python service that hands its requests on to the TypeScript actor, whose answers stream."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from runtime import Service


class Pyfront(Service):
    async def fetch(self, request: Request) -> Response:
        feeds = self.env.FEED
        response: Response = await feeds.get(feeds.id_from_name("a")).fetch(request)
        return response
