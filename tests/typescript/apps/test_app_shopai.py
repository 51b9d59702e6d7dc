"""cazrot335/Shop-ai, ported unchanged: its Hono service, its MCP service's tool and resource
template, and an actor, through the pytest plugin on the fake clock."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from runtime.app import App
from tests.typescript.apps.conftest import mcp_client, ported

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def shopai(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ported("ShopAi", tmp_path_factory)


@pytest.fixture
def raindrop_manifest(shopai: Path) -> Path:
    return shopai


async def test_hono_routes_answer(raindrop_http: httpx.AsyncClient) -> None:
    health = await raindrop_http.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "timestamp": "2025-01-01T00:00:00.000Z"}  # the fake clock in Node
    assert (await raindrop_http.get("/api/hello")).json() == {"message": "Hello from Hono!"}
    assert (await raindrop_http.get("/api/hello/Ada")).json() == {"message": "Hello, Ada!"}
    echoed = await raindrop_http.post("/api/echo", json={"basket": ["kettle", 2]})
    assert echoed.status_code == 200 and echoed.json() == {"received": {"basket": ["kettle", 2]}}
    assert (await raindrop_http.get("/api/config")).json() == {"hasEnv": True, "availableBindings": {}}
    missing = await raindrop_http.get("/api/nothing")
    assert missing.status_code == 404 and missing.text == "404 Not Found"  # Hono's own answer


async def test_mcp_tool_and_resource_template(raindrop_app: App) -> None:
    async with mcp_client(raindrop_app, "shopping-agent") as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert tools["add"].description == "Add two numbers"
        assert tools["add"].inputSchema["required"] == ["a", "b"]
        added = await session.call_tool("add", {"a": 19.5, "b": 22.5})
        assert not added.isError and added.content[0].text == "42"  # type: ignore[union-attr]
        refused = await session.call_tool("add", {"a": "1", "b": 2})
        assert refused.isError and "a: Expected number" in refused.content[0].text  # type: ignore[union-attr]
        templates = (await session.list_resource_templates()).resourceTemplates
        assert [(t.name, t.uriTemplate, t.title) for t in templates] == [
            ("greeting", "greeting://{name}", "Greeting Resource")
        ]
        greeting = await session.read_resource("greeting://Ada")  # type: ignore[arg-type]
        assert greeting.contents[0].text == "Hello, Ada!"  # type: ignore[union-attr]
        assert str(greeting.contents[0].uri) == "greeting://Ada"


async def test_an_actor_keeps_its_state(raindrop_app: App) -> None:
    actors = raindrop_app.env.USER_PREFERENCES_ACTOR
    prefs = actors.get(actors.id_from_name("ada"))
    assert await prefs.getPreferences() == {"success": True}  # nothing stored yet: undefined
    assert await prefs.updatePreferences({"currency": "INR", "brands": ["acme"]}) == {"success": True}
    assert await prefs.getPreferences() == {"success": True, "preferences": {"currency": "INR", "brands": ["acme"]}}
    search = raindrop_app.env.PRODUCT_SEARCH_ACTOR
    assert await search.get(search.id_from_name("ada")).searchProducts("kettle") == {"success": True, "results": []}
