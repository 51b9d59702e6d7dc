"""MCP services (``mcp_service`` blocks), served with the official ``mcp`` SDK (1.x, ``FastMCP``).

A module mirrors the platform's TypeScript shape (``export default (server, env, state) =>``)::

    implementation = {"name": "shopping-agent", "version": "1.0.0"}

    def register(server, env, state):          # server: mcp.server.fastmcp.FastMCP
        @server.tool()
        async def lookup(sku: str) -> str:
            return await env.PRICES.get(sku) or "unknown"

``register`` may be async. ``state`` is an actor state (``state.storage`` is durable storage
of the service's own). ``serve`` gives every public and protected MCP service a port of its
own, after the public services', and answers MCP's Streamable HTTP transport at ``/mcp``. A
``protected`` service requires ``Authorization: Bearer <token>``, the token set in
``raindrop.local.yaml`` (``mcp: {NAME: {token: ...}}``) or else made up per process and
printed in the banner. A ``private`` one (the default) gets no port at all: it is reached
through ``env`` only, like a private service. A tool that raises gives the client an error
result; the server keeps serving. When ``serve`` stops, the open event streams (``GET /mcp``)
are ended at once rather than holding the shutdown for its grace period (a client reconnects
to the next process); tool calls in flight (``POST``) finish within it.
"""

from __future__ import annotations

import inspect
import secrets
from pathlib import Path
from typing import Any

import anyio
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.errors import HandlerLoadError
from runtime.guard import BearerGuard
from runtime.loader import import_file
from runtime.manifest.model import McpService

PATH = "/mcp"


def load_module(resource: McpService, root: Path) -> Any:
    """The service's module, checked for ``implementation`` and ``register``.

    :raises HandlerLoadError: naming the file and what it lacks.
    """
    module = import_file(root / resource.handler, root)
    register = getattr(module, "register", None)
    if not callable(register):
        raise HandlerLoadError(
            f'mcp_service "{resource.name}": {resource.handler} has no register(server, env, state) function '
            "(the platform's default export)"
        )
    params = [p for p in inspect.signature(register).parameters.values() if p.default is p.empty]
    if len(params) != 3:
        raise HandlerLoadError(
            f'mcp_service "{resource.name}": register in {resource.handler} takes {len(params)} arguments; '
            "expected register(server, env, state)"
        )
    implementation = getattr(module, "implementation", None)
    if not (isinstance(implementation, dict) and isinstance(implementation.get("name"), str)):
        raise HandlerLoadError(
            f'mcp_service "{resource.name}": {resource.handler} needs implementation = {{"name": ..., "version": ...}}'
        )
    return module


class McpHost:
    """One MCP service: the SDK's server with the module's tools, and its ASGI app."""

    def __init__(self, resource: McpService, module: Any, env: Any, state: Any, token: str | None) -> None:
        from mcp.server.fastmcp import FastMCP

        self.resource = resource
        self.implementation = module.implementation
        self.server = FastMCP(
            name=self.implementation["name"],
            instructions=self.implementation.get("description"),
            stateless_http=True,  # no session stickiness: any request may come on any connection
            json_response=True,
        )
        version = self.implementation.get("version")
        if version is not None:  # the SDK reports its own version unless told the module's
            self.server._mcp_server.version = str(version)
        self._module = module
        self._env = env
        self._state = state
        self.token = token if token else (secrets.token_urlsafe(16) if resource.visibility == "protected" else None)
        self._app: ASGIApp | None = None
        self._streams = Streams()

    async def setup(self) -> None:
        """Let the module register its tools, resources and prompts."""
        outcome = self._module.register(self.server, self._env, self._state)
        if inspect.isawaitable(outcome):
            await outcome

    def asgi(self) -> ASGIApp:
        if self._app is None:
            self._app = self.server.streamable_http_app()
        inner: ASGIApp = self._streams.wrap(self._app)
        return inner if self.token is None else BearerGuard(inner, self.token, f"mcp_service {self.resource.name!r}")

    def close_streams(self) -> None:
        """End every open response now and refuse new requests (``serve`` is stopping)."""
        self._streams.close()

    def lifespan(self) -> Any:
        """The SDK's session manager must run while the service answers (an async context)."""
        self.asgi()
        return self.server.session_manager.run()


class Streams:
    """Tracks the event streams (``GET`` requests) an ASGI app is answering, so that they can
    all be ended at once.

    The SDK answers ``GET /mcp`` with a server-sent event stream that stays open until the
    client goes away; uvicorn's graceful shutdown waits for it, so one idle client held every
    stop for the whole grace period. ``close()`` cancels each stream and, when its response
    had started, finishes the body cleanly (the client sees the stream end, not a broken
    connection); streams asked for after it get 503. Other requests (a tool call is a
    ``POST``) are left to finish within the grace period.
    """

    def __init__(self) -> None:
        self._open: set[anyio.CancelScope] = set()
        self.closed = False

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def tracked(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope.get("method") != "GET":
                await app(scope, receive, send)
                return
            if self.closed:
                await _stopping(scope, receive, send)
                return
            state = {"started": False, "finished": False}

            async def watched(message: Message) -> None:
                if message["type"] == "http.response.start":
                    state["started"] = True
                elif message["type"] == "http.response.body" and not message.get("more_body", False):
                    state["finished"] = True
                await send(message)

            with anyio.CancelScope() as scope_of_request:
                self._open.add(scope_of_request)
                try:
                    await app(scope, receive, watched)
                finally:
                    self._open.discard(scope_of_request)
            if scope_of_request.cancelled_caught:
                if not state["started"]:
                    await _stopping(scope, receive, send)
                elif not state["finished"]:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

        return tracked

    def close(self) -> None:
        self.closed = True
        for scope in list(self._open):
            scope.cancel()


async def _stopping(scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"error": "the server is stopping"}, status_code=503, headers={"Retry-After": "1"})
    await response(scope, receive, send)
