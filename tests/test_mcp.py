"""MCP services through `serve`, called with the official SDK's client over Streamable HTTP."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from runtime import App, HandlerLoadError
from tests.test_serve import Served

APP = Path(__file__).parent / "apps" / "shopai"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "shop")
    return tmp_path / "shop"


def mcp_url(served: Served) -> str:
    line = next(line for line in served.banner if line.strip().startswith("mcp "))
    return line.split()[2]


async def session_calls(url: str, token: str) -> dict[str, Any]:
    client = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    async with (
        client,
        streamable_http_client(url, http_client=client) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        init = await session.initialize()
        tools = await session.list_tools()
        added = await session.call_tool("add", {"a": 2, "b": 3.5})
        price = await session.call_tool("lookup_price", {"sku": "kettle-1"})
        missing = await session.call_tool("lookup_price", {"sku": "nope"})
        failed = await session.call_tool("out_of_stock", {"sku": "kettle-1"})
        counted = [await session.call_tool("count_search", {}) for _ in range(2)]
        after_failure = await session.call_tool("add", {"a": 1, "b": 1})
        greeting = await session.read_resource("greeting://Ada")  # type: ignore[arg-type]
        prompt = await session.get_prompt("recommend", {"budget": "50 USD"})
    return {
        "server": init.serverInfo,
        "tools": {t.name: t for t in tools.tools},
        "added": added,
        "price": price,
        "missing": missing,
        "failed": failed,
        "counted": counted,
        "after_failure": after_failure,
        "greeting": greeting,
        "prompt": prompt,
    }


def text(result: Any) -> str:
    return str(result.content[0].text)


@pytest.mark.slow  # a `serve` process
def test_shop_ai_tools_through_the_sdk_client(project: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "runtime",
            "kv",
            "product-cache",
            "put",
            "price:kettle-1",
            json.dumps({"name": "Steel kettle", "price": 39.9, "currency": "USD"}),
            "--manifest",
            str(project / "raindrop.manifest"),
        ],
        check=True,
    )
    served = Served(project / "raindrop.manifest", 0)
    try:
        url = mcp_url(served)
        assert url.endswith("/mcp") and any(
            "protected: Authorization: Bearer test-token" in line for line in served.banner
        )
        refused = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert refused.status_code == 401 and "protected" in refused.json()["error"]
        got = asyncio.run(session_calls(url, "test-token"))
        assert (got["server"].name, got["server"].version) == ("shopping-agent", "1.0.0")  # the module's
        assert {"add", "lookup_price", "count_search", "out_of_stock"} <= set(got["tools"])
        assert got["tools"]["add"].description == "Add two numbers"
        assert text(got["added"]) == "5.5" and not got["added"].isError
        assert text(got["price"]) == "Steel kettle costs 39.9 USD"  # read through env.PRODUCT_CACHE
        assert text(got["missing"]) == "no price cached for nope"
        assert got["failed"].isError and "kettle-1 is out of stock" in text(got["failed"])
        assert [text(c) for c in got["counted"]] == ["1", "2"]  # state.storage is durable
        assert text(got["after_failure"]) == "2.0"  # the server kept serving
        assert got["greeting"].contents[0].text == "Hello, Ada!"
        assert "50 USD" in got["prompt"].messages[0].content.text
    finally:
        code, err = served.stop()
        assert code == 0, err


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (
            'implementation = {"name": "x", "version": "1"}\n\ndef register(server, env):\n    pass\n',
            r"register in handlers/shopping_agent.py takes 2 arguments; expected register\(server, env, state\)",
        ),
        ("def register(server, env, state):\n    pass\n", "needs implementation"),
        ('implementation = {"name": "x"}\n', r"has no register\(server, env, state\) function"),
    ],
    ids=["arity", "no-implementation", "no-register"],
)
def test_the_module_shape_is_checked_at_load(project: Path, module: str, message: str) -> None:
    (project / "handlers" / "shopping_agent.py").write_text(module)
    with pytest.raises(HandlerLoadError, match=message):
        asyncio.run(App.from_manifest(project / "raindrop.manifest").start())


def test_in_process_calls_through_the_binding(project: Path) -> None:
    async def go() -> str:
        async with App.from_manifest(project / "raindrop.manifest", backend="memory://") as app:
            content = await app.env.SHOPPING_AGENT.server.call_tool("add", {"a": 1, "b": 2})
            return str(content[0][0].text if isinstance(content, tuple) else content[0].text)

    assert asyncio.run(go()) == "3.0"


def test_the_server_reports_the_modules_implementation_version(project: Path) -> None:
    """What ``initialize`` answers as serverInfo: the module's name and version, not the SDK's."""

    async def go() -> tuple[str, str]:
        async with App.from_manifest(project / "raindrop.manifest", backend="memory://") as app:
            options = app.env.SHOPPING_AGENT.server._mcp_server.create_initialization_options()
            return options.server_name, options.server_version

    assert asyncio.run(go()) == ("shopping-agent", "1.0.0")


@pytest.mark.slow  # a `serve` process
def test_a_private_mcp_service_is_not_served_over_http(project: Path) -> None:
    from tests.test_serve import free_port

    manifest = project / "raindrop.manifest"
    manifest.write_text(manifest.read_text().replace('visibility = "protected"', 'visibility = "private"'))
    (project / "raindrop.local.yaml").write_text("")
    port = free_port()
    served = Served(manifest, port, "--host", "0.0.0.0")
    try:
        assert not any(line.strip().startswith("mcp ") for line in served.banner), served.banner
        assert any("private" in line and "shopping-agent (mcp)" in line for line in served.banner)
        for candidate in range(port + 1, port + 4):  # where an MCP port would be, after the first port
            with pytest.raises(httpx.ConnectError):
                httpx.post(
                    f"http://127.0.0.1:{candidate}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
                )
        tools = httpx.post(
            f"http://127.0.0.1:{port}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Accept": "application/json, text/event-stream"},
        )
        assert "add" not in tools.text  # the first port has no MCP service either
    finally:
        code, err = served.stop()
        assert code == 0, err


def test_the_binding_still_reaches_a_private_mcp_service(project: Path) -> None:
    manifest = project / "raindrop.manifest"
    manifest.write_text(manifest.read_text().replace('visibility = "protected"', ""))
    (project / "raindrop.local.yaml").write_text("")

    async def go() -> str:
        async with App.from_manifest(manifest, backend="memory://") as app:
            content = await app.env.SHOPPING_AGENT.server.call_tool("add", {"a": 1, "b": 2})
            return str(content[0][0].text if isinstance(content, tuple) else content[0].text)

    assert asyncio.run(go()) == "3.0"


@pytest.mark.slow  # a `serve` process
def test_an_open_get_stream_does_not_hold_the_stop(project: Path) -> None:
    import threading
    import time

    served = Served(project / "raindrop.manifest", 0, "--grace", "30")
    opened = threading.Event()
    ended: list[str] = []

    def listen(url: str) -> None:
        headers = {"Authorization": "Bearer test-token", "Accept": "text/event-stream"}
        try:
            with httpx.stream("GET", url, headers=headers, timeout=60) as response:
                ended.append(str(response.status_code))
                opened.set()
                for _ in response.iter_bytes():
                    pass
            ended.append("closed")
        except httpx.HTTPError as exc:
            ended.append(type(exc).__name__)
        finally:
            opened.set()

    listener = threading.Thread(target=listen, args=(mcp_url(served),), daemon=True)
    try:
        listener.start()
        assert opened.wait(20) and ended[:1] == ["200"], ended
        time.sleep(0.3)  # the stream is open and idle
        started = time.monotonic()
        code, err = served.stop()
        took = time.monotonic() - started
    finally:
        if served.process.poll() is None:
            served.process.kill()
    assert code == 0, err
    assert took < 8, f"stop took {took:.1f} s with one open GET /mcp stream (grace 30 s)"
    listener.join(10)
    assert ended == ["200", "closed"], ended


def test_closing_ends_event_streams_and_lets_calls_finish() -> None:
    from runtime.mcp import Streams

    release = asyncio.Event()
    sent: dict[str, list[Any]] = {"GET": [], "POST": [], "late": []}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["method"] == "GET":
            await send({"type": "http.response.body", "body": b"event: x\n\n", "more_body": True})
            await asyncio.Event().wait()  # an event stream: never ends by itself
        await release.wait()  # a tool call still running
        await send({"type": "http.response.body", "body": b"done", "more_body": False})

    def request(method: str, into: list[Any]) -> Any:
        async def receive() -> dict[str, Any]:
            await asyncio.Event().wait()
            return {}

        async def send(message: dict[str, Any]) -> None:
            into.append(message)

        return {"type": "http", "method": method, "path": "/mcp", "headers": []}, receive, send

    async def go() -> None:
        streams = Streams()
        wrapped = streams.wrap(app)
        stream = asyncio.ensure_future(wrapped(*request("GET", sent["GET"])))
        call = asyncio.ensure_future(wrapped(*request("POST", sent["POST"])))
        await asyncio.sleep(0.05)
        streams.close()
        await asyncio.wait_for(stream, 1)  # ended at once
        assert sent["GET"][-1] == {"type": "http.response.body", "body": b"", "more_body": False}
        assert not call.done()  # the call goes on
        release.set()
        await asyncio.wait_for(call, 1)
        assert sent["POST"][-1]["body"] == b"done"
        await wrapped(*request("GET", sent["late"]))
        assert sent["late"][0]["status"] == 503

    asyncio.run(go())
