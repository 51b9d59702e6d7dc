"""The TypeScript side of one running app: its Node child, its bundle and its handler classes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from runtime.clock import Clock, SystemClock
from runtime.env import Env
from runtime.errors import HandlerLoadError
from runtime.manifest import Manifest
from runtime.manifest.model import Actor as ActorBlock
from runtime.manifest.model import CodeResource, McpService
from runtime.typescript import typescript_resources  # noqa: F401 - re-exported
from runtime.typescript.adapters import adapter_class
from runtime.typescript.bridge import Bridge, binding_spec
from runtime.typescript.bundle import bundle_path, find_esbuild, find_node
from runtime.typescript.host import NodeHost, TypeScriptError

#: The running TypeScript apps by manifest folder, for the loader.
running: dict[Path, TypeScriptApp] = {}


class TypeScriptApp:
    """Started by ``App.start`` when the app has TypeScript handlers; stopped with it."""

    def __init__(
        self,
        manifest: Manifest,
        resources: dict[str, tuple[CodeResource, Path]],
        clock: Clock,
        spawn: Callable[[Awaitable[Any]], Any],
    ) -> None:
        self.manifest = manifest
        self.resources = resources
        self.bridge = Bridge()
        self._clock = clock
        self._spawn = spawn
        self._info: dict[str, Any] = {}
        self._classes: dict[str, type] = {}
        self._host: NodeHost | None = None

    @property
    def host(self) -> NodeHost:
        assert self._host is not None, "the TypeScript host is not running"
        return self._host

    async def start(self) -> None:
        """Start Node, bundle the handlers when their sources changed, and load them.

        :raises NodeError: without Node >= 20 (one line saying how to get it).
        :raises HandlerLoadError: when a module does not bundle, load or export its handler.
        """
        root = self.manifest.root
        node = await asyncio.to_thread(find_node)
        bundle = bundle_path(root)
        build = None
        if not bundle.is_file():
            esbuild = await asyncio.to_thread(find_esbuild, root)
            bundle.parent.mkdir(parents=True, exist_ok=True)
            for old in bundle.parent.glob("handlers-*"):
                old.unlink(missing_ok=True)
            cors = next((p for p in (root / "src" / "_app").glob("cors.*") if p.suffix in (".ts", ".js")), None)
            build = {
                "esbuild": str(esbuild),
                "root": str(root),
                "entries": [[name, str(path)] for name, (_, path) in self.resources.items()],
                "cors": str(cors) if cors else None,
                "out": str(bundle),
            }
        from runtime.ai.catalog import CATALOG

        now = None if isinstance(self._clock, SystemClock) else self._clock.time
        self._host = NodeHost(node, root, self.bridge.answer, self._spawn, now)
        self._host.holder = self.bridge.holder
        await self._host.start()
        described = [
            {
                "name": name,
                "kind": "actor" if isinstance(resource, ActorBlock) else resource.kind,
                "className": resource.class_name if isinstance(resource, ActorBlock) else None,
            }
            for name, (resource, _) in self.resources.items()
        ]
        init = {
            "t": "init",
            "root": str(root),
            "bundle": str(bundle),
            "build": build,
            "resources": described,
            "catalog": {model: {"capabilities": [family]} for model, family in CATALOG.items()},
        }
        try:
            self._info = await self._host.setup(init)
        except TypeScriptError as exc:
            await self._host.stop()
            if exc.js_name == "BundleError":
                raise HandlerLoadError(f"bundling the TypeScript handlers failed:\n{exc.js_message}") from None
            raise HandlerLoadError(f"loading the TypeScript handlers failed: {exc}\n{exc.stack}") from None
        init["build"] = None  # a restarted child imports the bundle already built
        for name, info in self._info.items():
            if info.get("error"):
                resource, path = self.resources[name]
                await self._host.stop()
                raise HandlerLoadError(f'{resource.kind} "{name}": {path.relative_to(root)} {info["error"]}')
        running[root] = self

    async def bind(self, env: Env) -> None:
        """Give Node the app's ``env`` (after the bindings are built)."""
        self.bridge.env = env
        await self.host.setup({"t": "env", "spec": binding_spec(env)})

    def mcp_module(self, resource: McpService) -> Any:
        """The TypeScript MCP service ``resource``, as ``McpHost`` takes a Python module."""
        from runtime.typescript.mcp import TypeScriptMcpModule

        return TypeScriptMcpModule(self, resource, self._info[resource.name]["implementation"])

    def handler_class(self, resource: CodeResource) -> type:
        cls = self._classes.get(resource.name)
        if cls is None:
            cls = self._classes[resource.name] = adapter_class(self, resource, self._info.get(resource.name, {}))
        return cls

    async def stop(self) -> None:
        if running.get(self.manifest.root) is self:
            del running[self.manifest.root]
        if self._host is not None:
            await self._host.stop()
