"""The dev dashboard at ``/_runtime/``: a page and the JSON API behind it.

The API is described by an OpenAPI document at ``/_runtime/api/openapi.json``. Who may use it
is decided by :mod:`runtime.guard`: the person at this machine, never a web page elsewhere.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from html import escape
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from runtime.app import App
from runtime.clock import iso
from runtime.dashboard_browse import routes as browse_routes
from runtime.errors import BindingError
from runtime.guard import COOKIE, Guard
from runtime.kinds import STORE_KINDS
from runtime.kv import KvCache
from runtime.services import loads_json

PREFIX = "/_runtime"
#: Sent with every dashboard response: scripts and styles only from the dashboard's own files
#: (no inline script, no inline handler, no eval), nothing framed, nothing posted elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
STATIC = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}

Endpoint = Callable[[Request], Awaitable[Response]]


def _iso(moment: float | None) -> str | None:
    return iso(moment) if moment is not None else None


class Dashboard:
    """The dashboard's ASGI app. Every request passes :class:`runtime.guard.Guard` first."""

    def __init__(
        self, app: App, urls: dict[str, str], guard: Guard | None = None, stopping: asyncio.Event | None = None
    ) -> None:
        self.app = app
        self.urls = urls
        self.guard = guard or Guard()
        self.stopping = stopping  # set when the server stops: ends the live feed at once
        self.asgi = Starlette(routes=self._routes(), exception_handlers={BindingError: self._bad_request})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self.guard.refuse(scope)
            if refusal is not None:
                await JSONResponse({"error": refusal}, status_code=403)(scope, receive, _with_csp(send))
                return
        await self.asgi(scope, receive, _with_csp(send))

    @staticmethod
    async def _bad_request(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=400)

    def _routes(self) -> list[Route]:
        api = PREFIX + "/api"
        return [
            Route(PREFIX, self.page),
            Route(PREFIX + "/", self.page),
            Route(PREFIX + "/{file:str}", self.static),
            Route(api + "/openapi.json", self.openapi),
            Route(api + "/overview", self.overview),
            Route(api + "/queues", self.queues),
            Route(api + "/queues/{queue}/dead", self.dead_letters),
            Route(api + "/queues/{queue}/send", self.send, methods=["POST"]),
            Route(api + "/queues/{queue}/redrive", self.redrive, methods=["POST"]),
            Route(api + "/queues/{queue}/purge-dead", self.purge_dead, methods=["POST"]),
            Route(api + "/kv/{namespace}", self.kv_keys),
            Route(api + "/kv/{namespace}/value", self.kv_value),
            Route(api + "/schedules", self.schedules),
            Route(api + "/schedules/{name}/run", self.run_schedule, methods=["POST"]),
            Route(api + "/actors", self.actors),
            Route(api + "/actors/owners", self.actor_owners),
            Route(api + "/actors/{namespace}/{actor}", self.actor_storage),
            Route(api + "/runs", self.runs),
            Route(api + "/smartbuckets", self.smartbuckets),
            Route(api + "/smartbuckets/{name}/search", self.smartbucket_search),
            Route(api + "/memories", self.memories),
            Route(api + "/memories/{name}/sessions/{session}", self.memory_entries),
            *browse_routes(self.app, api, self.stopping),
        ]

    # -- endpoints ------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        html = resources.files("runtime").joinpath("dashboard.html").read_text()
        response = HTMLResponse(html.replace("{{APP}}", escape(self.app.manifest.application.name)))
        if "token" in request.query_params:  # opened from the banner's URL: later requests carry the cookie
            response.set_cookie(COOKIE, self.guard.token, httponly=True, samesite="strict", path=PREFIX)
        return response

    async def static(self, request: Request) -> Response:
        """The page's script and style sheet, files beside this module."""
        name = request.path_params["file"]
        if name not in STATIC:
            return JSONResponse({"error": f"no dashboard file {name!r}"}, status_code=404)
        text = resources.files("runtime").joinpath(name).read_text()
        return Response(text, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def overview(self, request: Request) -> Response:
        app = self.app.manifest.application
        resources_ = [
            {"kind": r.kind, "name": r.name, "binding": f"env.{r.binding}", "browse": browse_of(r.kind)}
            for r in app.resources()
            if r.kind not in ("observer", "task")
        ] + [{"kind": r.kind, "name": r.name, "binding": None} for r in (*app.observers, *app.tasks)]
        for resource in resources_:
            if resource["kind"] == "vector_index":  # what the index holds, in the resources table
                info = await getattr(self.app.env, str(resource["binding"])[4:]).describe()
                resource["detail"] = (
                    f"{info['vector_count']} vectors, {info['dimensions'] or '?'} dimensions, {info['metric']}"
                )
        return JSONResponse(
            {
                "application": app.name,
                "services": self.urls,
                "resources": resources_,
                "loop_lag": self.app.loop_lag.snapshot(),
            }
        )

    async def queues(self, request: Request) -> Response:
        stats = await self.app.queue_stats()
        return JSONResponse({name: {**asdict(s), "depth": s.depth} for name, s in stats.items()})

    def _queue(self, request: Request) -> str | Response:
        name = request.path_params["queue"]
        if name not in [q.name for q in self.app.manifest.application.queues]:
            return JSONResponse({"error": f"no queue named {name!r}"}, status_code=404)
        return str(name)

    async def dead_letters(self, request: Request) -> Response:
        try:  # a queue, or its dead-letter queue by name
            letters = await self.app.dead_letters(request.path_params["queue"], 200)
        except KeyError as exc:
            return JSONResponse({"error": exc.args[0]}, status_code=404)
        return JSONResponse(
            [
                {
                    "id": m.id,
                    "attempts": m.attempts,
                    "last_error": m.last_error,
                    "body": m.body.decode(errors="replace"),
                    "sent_at": _iso(m.created_at),
                }
                for m in letters
            ]
        )

    async def send(self, request: Request) -> Response:
        queue = self._queue(request)
        if isinstance(queue, Response):
            return queue
        try:
            body = loads_json(await request.body())  # too deep is a ValueError too
        except ValueError:
            return JSONResponse({"error": "the request body must be the message, as JSON"}, status_code=400)
        binding = next(q.binding for q in self.app.manifest.application.queues if q.name == queue)
        await getattr(self.app.env, binding).send(body)
        return JSONResponse({"sent": True}, status_code=202)

    async def redrive(self, request: Request) -> Response:
        queue = self._queue(request)
        if isinstance(queue, Response):
            return queue
        moved = await self.app.backend.queues.redrive(self.app.dead_queue(queue), self.app.clock.time())
        self.app.queues.notify(queue, self.app.clock.time())
        return JSONResponse({"redriven": moved})

    async def purge_dead(self, request: Request) -> Response:
        queue = self._queue(request)
        if isinstance(queue, Response):
            return queue
        return JSONResponse({"purged": await self.app.backend.queues.purge(self.app.dead_queue(queue))})

    async def kv_keys(self, request: Request) -> Response:
        cache = self._kv(request)
        if isinstance(cache, Response):
            return cache
        page = await cache.list(
            prefix=request.query_params.get("prefix") or None, cursor=request.query_params.get("cursor"), limit=100
        )
        now = self.app.clock.time()
        for key in page["keys"]:
            key["ttl"] = round(key["expiration"] - now) if key["expiration"] else None
        return JSONResponse(page)

    async def kv_value(self, request: Request) -> Response:
        cache = self._kv(request)
        if isinstance(cache, Response):
            return cache
        found = await cache.get_with_metadata(request.query_params.get("key", ""), type="bytes")
        if found["value"] is None:
            return JSONResponse({"error": "not set, or expired"}, status_code=404)
        return JSONResponse({"value": found["value"].decode(errors="replace"), "metadata": found["metadata"]})

    def _kv(self, request: Request) -> KvCache | Response:
        name = request.path_params["namespace"]
        for store in self.app.manifest.application.kv_caches:
            if store.name == name:
                cache = getattr(self.app.env, store.binding)
                assert isinstance(cache, KvCache)
                return cache
        return JSONResponse({"error": f"no kv_cache named {name!r}"}, status_code=404)

    async def schedules(self, request: Request) -> Response:
        return JSONResponse(
            [
                {
                    "name": name,
                    "kind": runner.schedule.kind,
                    "cron": runner.schedule.cron,
                    "timezone": runner.settings.timezone,
                    "next": [_iso(t) for t in runner.next_times(3)],
                    "last": _iso(runner.last),
                }
                for name, runner in self.app.schedules().items()
            ]
        )

    async def run_schedule(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.app.schedules():
            return JSONResponse({"error": f"no schedule named {name!r}"}, status_code=404)
        try:
            await self.app.fire(name)
        except Exception as exc:  # noqa: BLE001 - reported to the page
            return JSONResponse({"ran": True, "error": f"{type(exc).__name__}: {exc}"}, status_code=500)
        return JSONResponse({"ran": True})

    async def actors(self, request: Request) -> Response:
        found = {}
        for actor in self.app.manifest.application.actors:
            found[actor.name] = await self.app.backend.state.actors(actor.name)
        return JSONResponse(found)

    async def actor_owners(self, request: Request) -> Response:
        """Which process runs each live actor (a lease in a shared backend), and this process's name."""
        import time

        owners = {
            actor.name: await self.app.backend.state.actor_owners(actor.name, time.time())
            for actor in self.app.manifest.application.actors
        }
        host = self.app.actors
        ownership = host.ownership
        names: dict[str, dict[str, str]] = {}
        for actor_class in self.app.manifest.application.actors:
            for actor in await self.app.backend.state.actors(actor_class.name):
                name = await host.name_of(actor_class.name, actor)
                if name is not None:
                    names.setdefault(actor_class.name, {})[actor] = name
        return JSONResponse({"this_process": ownership.owner if ownership else None, "owners": owners, "names": names})

    async def actor_storage(self, request: Request) -> Response:
        from runtime import structured

        rows = await self.app.backend.state.list(
            request.path_params["namespace"], request.path_params["actor"], limit=200
        )
        alarm = await self.app.backend.state.get_alarm(request.path_params["namespace"], request.path_params["actor"])
        storage = {}
        for key, value in rows:
            storage[key] = json.loads(json.dumps(structured.loads(value), default=str))
        return JSONResponse({"storage": storage, "alarm": _iso(alarm)})

    async def smartbuckets(self, request: Request) -> Response:
        smart = self.app.smart
        buckets = smart.buckets if smart is not None else {}
        return JSONResponse({name: bucket.index_status() for name, bucket in buckets.items()})

    async def smartbucket_search(self, request: Request) -> Response:
        smart = self.app.smart
        bucket = smart.buckets.get(request.path_params["name"]) if smart is not None else None
        if bucket is None:
            return JSONResponse({"error": f"no smartbucket named {request.path_params['name']!r}"}, status_code=404)
        found = await bucket.chunk_search(input=request.query_params.get("q", ""), request_id="dashboard")
        return JSONResponse(found)

    async def memories(self, request: Request) -> Response:
        smart = self.app.smart
        found = smart.memories if smart is not None else {}
        return JSONResponse({name: _jsonable(await memory.overview()) for name, memory in found.items()})

    async def memory_entries(self, request: Request) -> Response:
        smart = self.app.smart
        memory = smart.memories.get(request.path_params["name"]) if smart is not None else None
        if memory is None:
            return JSONResponse({"error": f"no smartmemory named {request.path_params['name']!r}"}, status_code=404)
        return JSONResponse(_jsonable(await memory.entries(request.path_params["session"])))

    async def runs(self, request: Request) -> Response:
        return JSONResponse(
            [
                {**asdict(r), "started_at": _iso(r.started_at), "duration_ms": round(r.duration_ms, 2)}
                for r in list(self.app.runs)[-100:]
            ][::-1]
        )


def _with_csp(send: Send) -> Send:
    """``send`` adding :data:`CSP` to a response that sets no policy of its own."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(name.lower() == b"content-security-policy" for name, _ in headers):
                headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
            message = {**message, "headers": headers}
        await send(message)

    return sending


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)))


def _path(summary: str, method: str = "get", params: tuple[str, ...] = (), body: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {"200": {"description": "OK"}}}
    if params:
        operation["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
        ]
    if body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {}}}}
        operation["responses"] = {"202": {"description": "Accepted"}, "400": {"description": "Not JSON"}}
    return {method: operation}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "raindrop-runtime dashboard API", "version": "1"},
    "paths": {
        f"{PREFIX}/api/overview": _path(
            "The app, its services' URLs, its resources (a vector index's size) and the event loop's lag"
        ),
        f"{PREFIX}/api/queues": _path("Depth, ready, in flight, delayed and dead-lettered per queue"),
        f"{PREFIX}/api/queues/{{queue}}/dead": _path(
            "Dead letters of a queue, with their last error", params=("queue",)
        ),
        f"{PREFIX}/api/queues/{{queue}}/send": _path("Send a message (the JSON body)", "post", ("queue",), body=True),
        f"{PREFIX}/api/queues/{{queue}}/redrive": _path("Move a queue's dead letters back onto it", "post", ("queue",)),
        f"{PREFIX}/api/queues/{{queue}}/purge-dead": _path("Delete a queue's dead letters", "post", ("queue",)),
        f"{PREFIX}/api/kv/{{namespace}}": _path(
            "Keys of a KV cache with expiration and TTL (?prefix=, ?cursor=)", params=("namespace",)
        ),
        f"{PREFIX}/api/kv/{{namespace}}/value": _path("The value of ?key= in a KV cache", params=("namespace",)),
        f"{PREFIX}/api/schedules": _path("Schedules with their next three fire times (UTC)"),
        f"{PREFIX}/api/schedules/{{name}}/run": _path("Run a schedule now", "post", ("name",)),
        f"{PREFIX}/api/actors": _path("Actor ids holding storage, per actor class"),
        f"{PREFIX}/api/actors/owners": _path(
            "The process that holds each live actor's lease (shared backends) and the names ids came from"
        ),
        f"{PREFIX}/api/actors/{{namespace}}/{{actor}}": _path(
            "An actor's storage and alarm", params=("namespace", "actor")
        ),
        f"{PREFIX}/api/runs": _path("The last handler runs and requests, newest first"),
        f"{PREFIX}/api/smartbuckets": _path("Every smartbucket object with its indexing state"),
        f"{PREFIX}/api/smartbuckets/{{name}}/search": _path("chunk_search of ?q= in a smartbucket", params=("name",)),
        f"{PREFIX}/api/memories": _path("Sessions, episode and document counts, procedures per smartmemory"),
        f"{PREFIX}/api/memories/{{name}}/sessions/{{session}}": _path(
            "The entries of a working memory session", params=("name", "session")
        ),
        f"{PREFIX}/api/queues/{{queue}}/messages": _path(
            "Messages waiting in a queue, with their bodies", params=("queue",)
        ),
        f"{PREFIX}/api/buckets": _path("Buckets and smartbuckets"),
        f"{PREFIX}/api/buckets/{{name}}": _path("Objects of a bucket (?prefix=, ?cursor=)", params=("name",)),
        f"{PREFIX}/api/buckets/{{name}}/object": _path("Download ?key= from a bucket", params=("name",)),
        f"{PREFIX}/api/sql": _path("SQL databases with their tables, columns and row counts"),
        f"{PREFIX}/api/sql/{{db}}/tables/{{table}}": _path(
            "Rows of a table (?offset=; 500 at a time)", params=("db", "table")
        ),
        f"{PREFIX}/api/sql/{{db}}/query": _path(
            'Run one read-only statement ({"sql": ...}; 500 rows, 2 s)', "post", ("db",), body=True
        ),
        f"{PREFIX}/api/events": _path("Server-sent events: one point per second for the live charts"),
    },
}


def browse_of(kind: str) -> str | None:
    """The dashboard section that browses resources of ``kind`` (None: none does)."""
    store = STORE_KINDS.get(kind)
    return store.browse if store is not None else None
