"""TypeScript MCP services: the module's default export runs in Node against a server that
records its tools, resources, resource templates and prompts; the runtime serves them with the
official SDK (``FastMCP``, as for Python modules) and calls each one back in Node."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from mcp import types
from mcp.types import CallToolResult

from runtime.manifest.model import McpService

if TYPE_CHECKING:
    from runtime.typescript.runner import TypeScriptApp


class _Arguments:
    """What FastMCP asks of a tool's function metadata: the arguments go to Node as they came
    (Node's handler validates them, as on the platform), and its result is a ``CallToolResult``."""

    output_schema = None

    async def call_fn_with_arg_validation(self, fn: Any, is_async: bool, arguments: dict[str, Any], extra: Any) -> Any:
        return await fn(arguments)

    def convert_result(self, result: Any) -> Any:
        return CallToolResult.model_validate(result)


class TypeScriptMcpModule:
    """Quacks like a Python MCP module (``implementation``, ``register``) for ``McpHost``."""

    def __init__(self, typescript: TypeScriptApp, resource: McpService, implementation: dict[str, Any]) -> None:
        self._typescript = typescript
        self._name = resource.name
        self.implementation = implementation

    async def register(self, server: Any, env: Any, state: Any) -> None:
        from mcp.server.fastmcp.tools.base import Tool
        from mcp.types import ToolAnnotations

        host = self._typescript.host
        handle = self._typescript.bridge.register(state.storage)
        tools = await host.setup({"t": "mcpSetup", "r": self._name, "h": handle, "id": str(state.id)})
        for tool in tools:

            async def call(arguments: dict[str, Any], tool_name: str = tool["name"]) -> Any:
                return await host.request({"t": "mcpCall", "r": self._name, "name": tool_name, "args": arguments})

            server._tool_manager._tools[tool["name"]] = Tool.model_construct(
                fn=call,
                name=tool["name"],
                title=tool.get("title"),  # registerTool(name, {title, annotations, ...}): listed as given
                description=tool["description"],
                parameters=tool["parameters"],
                fn_metadata=cast(Any, _Arguments()),
                is_async=True,
                context_kwarg=None,
                annotations=ToolAnnotations.model_validate(tool["annotations"]) if tool.get("annotations") else None,
                icons=None,
                meta=None,
            )

        self._serve_resources_and_prompts(server)

    def _serve_resources_and_prompts(self, server: Any) -> None:
        """resources/list, resources/read, resources/templates/list, prompts/list and prompts/get,
        answered by what the module registered in Node (its callbacks run there)."""
        host = self._typescript.host
        name = self._name

        def handler(
            op: str, result: type[Any], fields: Callable[[Any], dict[str, Any]]
        ) -> Callable[[Any], Awaitable[types.ServerResult]]:
            async def answer(request: Any) -> types.ServerResult:
                value = await host.request({"t": "mcp", "r": name, "op": op, **fields(request)})
                return types.ServerResult(result.model_validate(value))

            return answer

        def nothing(request: Any) -> dict[str, Any]:
            return {}

        handlers = server._mcp_server.request_handlers
        handlers[types.ListResourcesRequest] = handler("resources/list", types.ListResourcesResult, nothing)
        handlers[types.ListResourceTemplatesRequest] = handler(
            "resources/templates/list", types.ListResourceTemplatesResult, nothing
        )
        handlers[types.ReadResourceRequest] = handler(
            "resources/read", types.ReadResourceResult, lambda request: {"uri": str(request.params.uri)}
        )
        handlers[types.ListPromptsRequest] = handler("prompts/list", types.ListPromptsResult, nothing)
        handlers[types.GetPromptRequest] = handler(
            "prompts/get",
            types.GetPromptResult,
            lambda request: {"name": request.params.name, "args": request.params.arguments or {}},
        )
