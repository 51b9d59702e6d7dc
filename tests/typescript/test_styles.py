"""Handler styles of the platform's public apps (router objects, fetch(request, env), actors
driven through fetch with waitUntil, RPC to private services) and request cancellation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from runtime.ai import AI
from runtime.app import App

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def styles_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.typescript.conftest import copy_app

    return copy_app("styles_app", tmp_path_factory)


@pytest.fixture
def raindrop_manifest(styles_manifest: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NODE_OPTIONS", "--expose-gc")  # the handle test collects garbage on purpose
    return styles_manifest


async def test_an_actor_driven_through_fetch_finishes_its_wait_until_work(
    raindrop_http: httpx.AsyncClient, raindrop_app: App
) -> None:
    accepted = await raindrop_http.post("/jobs", json={"id": "j1", "user": "ann"})
    assert accepted.status_code == 202
    assert accepted.json() == {"accepted": "j1"}
    await raindrop_app.drain()  # waits for the actor's waitUntil work
    status = (await raindrop_http.get("/jobs/ann/j1")).json()
    assert status == {"id": "j1", "user": "ann", "status": "done", "steps": 3}
    assert (await raindrop_http.get("/jobs/bob/j1")).json() is None  # another user's actor


async def test_rpc_to_a_private_typescript_service(raindrop_http: httpx.AsyncClient) -> None:
    first = (await raindrop_http.post("/remember", json={"text": "a"})).json()
    second = (await raindrop_http.post("/remember", json={"text": "b"})).json()
    assert first == {"stored": "memory:1", "count": 1}
    assert second == {"stored": "memory:2", "count": 2}


async def test_a_router_object_answers_404_for_unknown_routes(raindrop_http: httpx.AsyncClient) -> None:
    response = await raindrop_http.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


async def test_a_timed_out_request_is_504_and_aborts_the_handlers_signal(
    raindrop_http: httpx.AsyncClient, raindrop_app: App
) -> None:
    response = await raindrop_http.get("/slow")
    assert response.status_code == 504
    for _ in range(100):
        if await raindrop_app.env.STATE.get("aborted") is not None:
            break
        await asyncio.sleep(0.02)
    assert await raindrop_app.env.STATE.get("aborted") == "true"


async def test_smart_memory_sessions_from_typescript(raindrop_http: httpx.AsyncClient) -> None:
    answer = (await raindrop_http.post("/memory", json={"text": "likes short episodes"})).json()
    assert isinstance(answer["sessionId"], str) and answer["sessionId"]
    assert isinstance(answer["id"], str) and answer["id"]
    assert answer["entries"] == [{"content": "likes short episodes", "agent": "ts", "timeline": "notes"}]


async def test_ai_run_from_typescript(raindrop_http: httpx.AsyncClient) -> None:
    response = await raindrop_http.post("/ai", json={"prompt": "Say hi"})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["response"], str)


async def test_a_chat_answer_has_the_frameworks_openai_shape(raindrop_http: httpx.AsyncClient, raindrop_ai: AI) -> None:
    """`choices[0].message.content` (the framework's OpenAIChatOutput) as well as `response`."""
    raindrop_ai.script(["Breathe first, then answer."])
    response = await raindrop_http.post("/ai-chat", json={"prompt": "My boss criticized me"})
    assert response.status_code == 200, response.text
    expected = "Breathe first, then answer."
    assert response.json() == {"content": expected, "finish": "stop", "response": expected}


async def test_a_binding_has_only_the_methods_the_platform_has(raindrop_http: httpx.AsyncClient) -> None:
    """Feature checks (`typeof env.AI.generate === 'function'`) see what exists, in both spellings."""
    assert (await raindrop_http.get("/ai-methods")).json() == {
        "generate": "undefined",
        "run": "function",
        "hasRun": True,
        "hasChat": False,
        "session": "function",
        "misspelt": "undefined",
    }


async def test_a_session_handle_is_released_once_typescript_drops_it(
    raindrop_http: httpx.AsyncClient, raindrop_app: App
) -> None:
    typescript = raindrop_app.typescript
    assert typescript is not None
    await raindrop_http.post("/memory", json={"text": "one"})
    await raindrop_http.post("/memory", json={"text": "two"})
    held = typescript.bridge.handles
    assert held >= 2  # the two working-memory sessions
    assert (await raindrop_http.post("/gc")).json() == {"collected": True}
    for _ in range(100):
        if typescript.bridge.handles <= held - 2:
            break
        await raindrop_http.post("/gc")
        await asyncio.sleep(0.02)
    assert typescript.bridge.handles <= held - 2


class _SlowServer:
    """A local HTTP server that answers ``/quick`` at once and ``/slow`` (and ``/outside``)
    after ``delay`` seconds, recording for each path whether it answered or its client closed
    the connection first."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.seen: dict[str, str] = {}
        self.changed = asyncio.Event()

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:  # a connection closed before its request
                return
            path = head.split(b" ", 2)[1].decode()
            if path != "/quick":
                try:  # the client's end of the connection closing reads as EOF
                    await asyncio.wait_for(reader.read(1), self.delay)
                    self.seen[path] = "closed"
                    return
                except TimeoutError:
                    pass
            body = path.encode()
            writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            self.seen[path] = "answered"
        finally:
            self.changed.set()
            writer.close()

    async def wait_for(self, path: str, timeout: float) -> str | None:
        async with asyncio.timeout(timeout):
            while path not in self.seen:
                self.changed.clear()
                await self.changed.wait()
        return self.seen[path]


@pytest.fixture
async def slow_server() -> AsyncIterator[tuple[_SlowServer, str]]:
    slow = _SlowServer(delay=2.5)
    server = await asyncio.start_server(slow.connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield slow, f"http://127.0.0.1:{port}"


async def test_a_timed_out_request_aborts_the_fetches_its_handler_started_without_a_signal(
    raindrop_http: httpx.AsyncClient, raindrop_app: App, slow_server: tuple[_SlowServer, str]
) -> None:
    slow, url = slow_server
    started = time.monotonic()
    response = await raindrop_http.get("/fetch-slow", params={"server": url})
    assert response.status_code == 504  # request_timeout: 1 s
    # The slow server sees its connection closed at the timeout, not after its own 2.5 s.
    assert await slow.wait_for("/slow", timeout=2.0) == "closed"
    assert time.monotonic() - started < 2.4
    assert slow.seen["/quick"] == "answered"
    assert await raindrop_app.env.STATE.get("quick") == "/quick"  # the fetch done before still worked
    for _ in range(100):
        if await raindrop_app.env.STATE.get("slow") is not None:
            break
        await asyncio.sleep(0.02)
    assert await raindrop_app.env.STATE.get("slow") == "Error: the runtime timed the request out"


async def test_a_fetch_started_outside_any_invocation_outlives_the_request_that_timed_out(
    raindrop_http: httpx.AsyncClient, raindrop_app: App, slow_server: tuple[_SlowServer, str]
) -> None:
    slow, url = slow_server
    response = await raindrop_http.get("/fetch-outside", params={"server": url})
    assert response.status_code == 504
    assert await slow.wait_for("/outside", timeout=4.0) == "answered"
    for _ in range(100):
        if await raindrop_app.env.STATE.get("outside") is not None:
            break
        await asyncio.sleep(0.02)
    assert await raindrop_app.env.STATE.get("outside") == "/outside"
