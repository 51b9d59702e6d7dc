"""``ServiceHost`` (``app.services``): the app's HTTP services and MCP services, loaded from their
modules, and the ASGI app each service is served by.

``env.<SERVICE>`` finds its handler here (:meth:`ServiceHost.handler`), and ``env.<MCP_SERVICE>``
reads :attr:`ServiceHost.mcp`; both are handed to the bindings before the modules load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from runtime.actors import ActorHost, ActorId, ActorState, Storage
from runtime.backends.base import StateStore
from runtime.clock import Clock
from runtime.config import LocalSettings
from runtime.env import Env
from runtime.errors import AppStateError
from runtime.handlers import ExecutionContext, Service
from runtime.loader import instantiate
from runtime.manifest import Manifest
from runtime.manifest.model import EnvVar
from runtime.manifest.schema import closest
from runtime.observers import RunRecord
from runtime.services import ServiceApp

if TYPE_CHECKING:
    from runtime.mcp import McpHost
    from runtime.typescript.runner import TypeScriptApp

__all__ = ["ServiceHost"]


class ServiceHost:
    """The loaded ``service`` handlers (:attr:`handlers`) and ``mcp_service`` hosts (:attr:`mcp`) by name.

    :param spawn: runs a handler's background work (``ctx.wait_until``) as the app's task.
    :param on_request: records each request a service handles.
    """

    def __init__(
        self,
        manifest: Manifest,
        settings: LocalSettings,
        clock: Clock,
        spawn: Callable[[Awaitable[Any]], Any],
        on_request: Callable[[RunRecord], None],
    ) -> None:
        self.manifest = manifest
        self.settings = settings
        self.clock = clock
        self._spawn = spawn
        self._on_request = on_request
        #: The service handlers by name, once their modules are loaded.
        self.handlers: dict[str, Service] = {}
        #: The MCP services (``mcp_service``) by name, once their modules are loaded.
        self.mcp: dict[str, McpHost] = {}

    def handler(self, name: str) -> Callable[[], Service]:
        """What finds service ``name``'s handler when ``env.<SERVICE>`` is called."""

        def find() -> Service:
            found = self.handlers.get(name)
            if found is None:
                raise AppStateError(f"service {name!r} is not loaded in this process")
            return found

        return find

    def build(self, env: Env, env_values: Callable[[tuple[EnvVar, ...]], dict[str, str | None]]) -> None:
        """Load every service's module with ``env`` (plus the ``env`` blocks nested in the service)."""
        ctx = ExecutionContext(self._spawn)
        for service in self.manifest.application.services:
            service_env = env
            if service.env:  # env blocks nested in the service are visible to it alone
                service_env = Env(
                    {**env.bindings(), **env_values(service.env)}, env.logger, self.clock, env.tracer, env.annotation
                )
            handler = instantiate(service, self.manifest.root, service_env, ctx)
            assert isinstance(handler, Service)
            self.handlers[service.name] = handler

    async def build_mcp(self, env: Env, state: StateStore, actors: ActorHost, typescript: TypeScriptApp | None) -> None:
        """Load every MCP service's module; each keeps its state as an actor of its own would."""
        from runtime.mcp import McpHost, load_module

        for resource in self.manifest.application.mcp_services:
            if typescript is not None and resource.name in typescript.resources:
                module = typescript.mcp_module(resource)
            else:
                module = load_module(resource, self.manifest.root)
            namespace = f"mcp:{resource.name}"
            actor = ActorId(hashlib.sha256(namespace.encode()).hexdigest(), resource.name)
            storage = ActorState(actor, Storage(state, namespace, actor, actors.alarms.wake), self._spawn)
            settings = self.settings.mcp.get(resource.name)
            host = McpHost(resource, module, env, storage, settings.token if settings else None)
            await host.setup()
            self.mcp[resource.name] = host

    def asgi(self, service: str, *, raise_exceptions: bool = False) -> ServiceApp:
        """The ASGI app of ``service`` (see :meth:`runtime.App.asgi`).

        :raises KeyError: for a name no service has, with the closest one as a hint.
        :raises AppStateError: when the service's module is not loaded in this process.
        """
        handler = self.handlers.get(service)
        if handler is None:
            names = [s.name for s in self.manifest.application.services]
            if service not in names:
                guess = closest(service, names)
                hint = f"; did you mean {guess!r}?" if guess else f" (services: {', '.join(names) or 'none'})"
                raise KeyError(f"no service named {service!r}{hint}")
            raise AppStateError(f"service {service!r} is not loaded: start the app with handlers")
        return ServiceApp(
            service,
            handler,
            timeout=self.settings.request_timeout,
            on_request=self._on_request,
            debug=self.settings.debug,
            raise_exceptions=raise_exceptions,
        )
