"""MCP services (``mcp_service`` blocks), served with the official ``mcp`` SDK (1.x, ``FastMCP``).

A module mirrors the platform's TypeScript shape (``export default (server, env, state) =>``)::

    implementation = {"name": "shopping-agent", "version": "1.0.0"}

    def register(server, env, state):          # server: mcp.server.fastmcp.FastMCP
        @server.tool()
        async def lookup(sku: str) -> str:
            return await env.PRICES.get(sku) or "unknown"

``register`` may be async. ``state`` is an actor state (``state.storage`` is durable storage
of the service's own). ``serve`` gives every MCP service a port of its own, after the public
services', and answers MCP's Streamable HTTP transport at ``/mcp``. A ``protected`` service
requires ``Authorization: Bearer <token>``, the token set in ``raindrop.local.yaml``
(``mcp: {NAME: {token: ...}}``) or else made up per process and printed in the banner.
A tool that raises gives the client an error result; the server keeps serving.
"""

from __future__ import annotations

import inspect
import secrets
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

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
        self._module = module
        self._env = env
        self._state = state
        self.token = token if token else (secrets.token_urlsafe(16) if resource.visibility == "protected" else None)
        self._app: ASGIApp | None = None

    async def setup(self) -> None:
        """Let the module register its tools, resources and prompts."""
        outcome = self._module.register(self.server, self._env, self._state)
        if inspect.isawaitable(outcome):
            await outcome

    def asgi(self) -> ASGIApp:
        if self._app is None:
            self._app = self.server.streamable_http_app()
        return (
            self._app
            if self.token is None
            else BearerGuard(self._app, self.token, f"mcp_service {self.resource.name!r}")
        )

    def lifespan(self) -> Any:
        """The SDK's session manager must run while the service answers (an async context)."""
        self.asgi()
        return self.server.session_manager.run()
