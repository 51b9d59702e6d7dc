"""A TypeScript MCP service (zod schemas, registerTool and tool), served through `serve` and
called with the official SDK's client."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import McpError

from tests.test_serve import Served

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are not installed")
    root = tmp_path_factory.mktemp("mcp") / "app"
    shutil.copytree(HERE / "mcp_app", root)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=root, check=True, timeout=300)
    return root


async def calls(url: str) -> dict[str, Any]:
    client = httpx.AsyncClient(headers={"Authorization": "Bearer test-token"})
    async with (
        client,
        streamable_http_client(url, http_client=client) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        init = await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        return {
            "server": init.serverInfo,
            "tools": tools,
            "added": await session.call_tool("add", {"a": 2, "b": 3.5}),
            "price": await session.call_tool("price", {"sku": "kettle"}),
            "counted": [await session.call_tool("count", {}) for _ in range(2)],
            "broken": await session.call_tool("broken", {}),
            "after": await session.call_tool("add", {"a": 1, "b": 1}),
            "invalid": await session.call_tool("add", {"a": "two", "b": 1}),
            "resources": (await session.list_resources()).resources,
            "templates": (await session.list_resource_templates()).resourceTemplates,
            "catalog": await session.read_resource("catalog://all"),  # type: ignore[arg-type]
            "readme": await session.read_resource("docs://readme"),  # type: ignore[arg-type]
            "kettle": await session.read_resource("price://kettle"),  # type: ignore[arg-type]
            "missing": await missing_resource(session),
            "prompts": (await session.list_prompts()).prompts,
            "recommend": await session.get_prompt("recommend", {"budget": "50 USD"}),
            "hello": await session.get_prompt("hello"),
        }


async def missing_resource(session: ClientSession) -> str:
    try:
        await session.read_resource("nothing://here")  # type: ignore[arg-type]
    except McpError as error:
        return error.error.message
    return "no error"


def text(result: Any) -> str:
    return str(result.content[0].text)


@pytest.fixture(scope="module")
def mcp_calls(project: Path) -> dict[str, Any]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "runtime",
            "kv",
            "prices",
            "put",
            "kettle",
            "39 USD",
            "--manifest",
            str(project / "raindrop.manifest"),
        ],
        check=True,
    )
    served = Served(project / "raindrop.manifest", 0)
    try:
        line = next(line for line in served.banner if line.strip().startswith("mcp "))
        got = asyncio.run(calls(line.split()[2]))
    finally:
        code, err = served.stop()
        assert code == 0, err
    return got


def test_typescript_mcp_tools_through_the_sdk_client(mcp_calls: dict[str, Any]) -> None:
    got = mcp_calls
    assert got["server"].name == "catalog-mcp"
    assert set(got["tools"]) == {"add", "price", "count", "broken"}
    # registerTool's title and annotations are listed (calmy's and jetson-logs' tools have titles)
    assert got["tools"]["add"].title == "Add" and got["tools"]["price"].title is None
    assert got["tools"]["add"].annotations is not None and got["tools"]["add"].annotations.readOnlyHint is True
    schema = got["tools"]["add"].inputSchema
    assert schema["properties"]["b"] == {"type": "number", "description": "the second"}
    assert schema["required"] == ["a", "b"]
    assert got["tools"]["price"].inputSchema["required"] == ["sku"]
    assert text(got["added"]) == "5.5"
    assert text(got["price"]) == "kettle costs 39 USD"  # read through env.PRICES
    assert [text(c) for c in got["counted"]] == ["1", "2"]
    assert got["broken"].isError and "broken on purpose" in text(got["broken"])
    assert text(got["after"]) == "2"
    # the zod schema is checked before the handler runs, as the SDK does on the platform
    assert got["invalid"].isError and "Invalid arguments for tool add" in text(got["invalid"])
    assert "a: Expected number, received string" in text(got["invalid"])


def test_typescript_mcp_resources_templates_and_prompts(mcp_calls: dict[str, Any]) -> None:
    got = mcp_calls
    listed = {r.name: r for r in got["resources"]}
    assert set(listed) == {"catalog", "readme", "kettle price"}  # the template's list callback too
    assert str(listed["catalog"].uri) == "catalog://all"
    assert listed["catalog"].description == "Every sku" and listed["catalog"].mimeType == "application/json"
    assert [(t.name, t.uriTemplate, t.description) for t in got["templates"]] == [
        ("price-of", "price://{sku}", "One price")
    ]
    assert got["catalog"].contents[0].text == '["kettle"]'  # read through env.PRICES in Node
    assert got["catalog"].contents[0].mimeType == "application/json"
    assert got["readme"].contents[0].text == "read me"
    assert got["kettle"].contents[0].text == "kettle: 39 USD"  # the template's variables
    assert "nothing://here not found" in got["missing"]
    prompts = {p.name: p for p in got["prompts"]}
    assert set(prompts) == {"recommend", "hello"}
    assert [(a.name, a.required, a.description) for a in prompts["recommend"].arguments or []] == [
        ("budget", True, "how much"),
        ("style", False, None),
    ]
    assert got["recommend"].messages[0].content.text == "Suggest something under 50 USD"
    assert got["hello"].messages[0].role == "assistant" and got["hello"].messages[0].content.text == "hello"
