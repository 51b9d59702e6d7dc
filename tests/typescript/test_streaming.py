"""Bodies that stream between TypeScript and the runtime: an actor's or a service's fetch called
from TypeScript sends its request body in chunks and gets its answer as it is written, with
backpressure both ways, errors midway reaching the other side as errors, and a reader leaving
(a client disconnecting, an aborted signal) cancelling the stream at its source."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import tracemalloc
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from runtime.app import App
from runtime.errors import NodeError
from runtime.typescript.runner import running
from tests.typescript.conftest import copy_app

pytestmark = [pytest.mark.slow, pytest.mark.anyio]  # anyio at collection: the cases are parametrized

MB = 1024 * 1024


@pytest.fixture(scope="session")
def stream_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_app("stream_app", tmp_path_factory)


@pytest.fixture
def raindrop_manifest(stream_manifest: Path) -> Path:
    return stream_manifest


class Exchange:
    """One request driven through a service's ASGI app by hand (httpx's in-process transport
    hands over a response only once it has all of it): the body's parts as they are sent, and
    the client leaving when the test says."""

    def __init__(self, app: Any, path: str, body: list[bytes] | None = None) -> None:
        self.parts: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.status = 0
        self.gone = asyncio.Event()
        self._body = list(body or [])
        method = "POST" if body is not None else "GET"
        headers = [(b"host", b"front.localhost")]
        if body is not None:
            headers.append((b"transfer-encoding", b"chunked"))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("front.localhost", 80),
        }
        self.task = asyncio.ensure_future(app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        if self._body:
            return {"type": "http.request", "body": self._body.pop(0), "more_body": bool(self._body)}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            if message.get("body"):
                self.parts.put_nowait(message["body"])
            if not message.get("more_body"):
                self.parts.put_nowait(None)

    async def next(self) -> bytes | None:
        with anyio.fail_after(5):
            return await self.parts.get()

    async def rest(self) -> bytes:
        out = b""
        while (part := await self.next()) is not None:
            out += part
        return out


async def wait_for_key(app: App, key: str) -> Any:
    with anyio.fail_after(5):
        while (value := await app.env.CACHE.get(key)) is None:
            await asyncio.sleep(0.01)
    return value


async def assert_nothing_left(app: App) -> None:
    """No stream of the runtime's Node host stays open once a cancel has run its course (nothing
    leaks, nothing hangs)."""
    host = running[app.manifest.root].host
    with anyio.fail_after(5):
        while host.open_streams():
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("path", ["/events", "/py/events"])
async def test_events_reach_the_client_as_they_are_written(raindrop_app: App, path: str) -> None:
    """The actor (TypeScript, or Python) writes one event, then waits for "go": the client has that
    event through the service before the actor may go on, then the second."""
    exchange = Exchange(raindrop_app.asgi("front"), path)
    assert await exchange.next() == b"data: one\n\n"
    assert exchange.status == 200
    assert not exchange.task.done()
    await raindrop_app.env.CACHE.put("go", "1")
    assert await exchange.rest() == b"data: two\n\n"
    await exchange.task


async def test_events_from_a_typescript_actor_through_a_python_service(raindrop_app: App) -> None:
    exchange = Exchange(raindrop_app.asgi("pyfront"), "/events")
    assert await exchange.next() == b"data: one\n\n"
    await raindrop_app.env.CACHE.put("go", "1")
    assert await exchange.rest() == b"data: two\n\n"
    await exchange.task


@pytest.mark.parametrize(("path", "key"), [("/ticks", "ticks:cancelled"), ("/py/ticks", "py-ticks:cancelled")])
async def test_a_client_leaving_cancels_the_actors_stream(raindrop_app: App, path: str, key: str) -> None:
    """An endless stream from the actor, forwarded by the service: the client reads a few events
    and leaves; the cancel travels back to the actor's stream, which stops."""
    exchange = Exchange(raindrop_app.asgi("front"), path)
    for n in range(3):
        assert await exchange.next() == f"data: {n}\n\n".encode()
    exchange.gone.set()
    with anyio.fail_after(5):
        await exchange.task
    ticks = int(await wait_for_key(raindrop_app, key))
    assert ticks >= 3
    await asyncio.sleep(0.1)  # and it stays stopped: nothing more is made
    assert int(await raindrop_app.env.CACHE.get(key)) == ticks
    await assert_nothing_left(raindrop_app)


@pytest.mark.parametrize("source", ["ts", "py"])
async def test_an_error_midway_is_an_error_not_a_short_body(
    raindrop_app: App, raindrop_http: httpx.AsyncClient, source: str
) -> None:
    """The whole answer read in the service: the actor's stream failing after its first event
    (TypeScript, or Python) is an error there, named as the actor threw it."""
    await raindrop_app.env.CACHE.put("go", "1")
    answer = (await raindrop_http.get("/read", params={"from": source, "path": "fail"})).json()
    if source == "ts":
        assert answer == {"error": "RangeError: the feed broke midway"}
    else:
        assert answer == {"error": "ValueError: the python feed broke midway"}


async def test_an_error_midway_through_a_forwarded_stream_breaks_the_clients_response(raindrop_app: App) -> None:
    exchange = Exchange(raindrop_app.asgi("front"), "/fail")
    assert await exchange.next() == b"data: before\n\n"
    await raindrop_app.env.CACHE.put("go", "1")
    with anyio.fail_after(5), pytest.raises(Exception, match="the feed broke midway"):
        await exchange.task
    assert exchange.parts.empty()  # no end of the body was sent: the client sees a broken response


def _expected(size: int) -> str:
    pattern = bytes(k % 251 for k in range(251))
    data = pattern * (size // 251 + 1)
    return hashlib.sha256(data[:size]).hexdigest()


@pytest.mark.parametrize("to", ["ts", "py"])
async def test_a_large_upload_streams_from_a_service_to_an_actor(raindrop_http: httpx.AsyncClient, to: str) -> None:
    """20 MB made in the service as it is read, sent to the actor's fetch (TypeScript, or Python):
    Python never holds more than a few windows of it, and a TypeScript actor has its first chunk
    long before the upload is all made, which never runs more than a few windows ahead of it."""
    size = 20 * MB
    tracemalloc.start()
    try:
        answer = (await raindrop_http.get("/upload", params={"size": str(size), "to": to})).json()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer["status"] == 200
    assert answer["answer"]["size"] == size
    assert answer["answer"]["sha256"] == _expected(size)
    assert answer["answer"]["chunks"] > 20
    assert peak < 8 * MB, f"Python held {peak} bytes of a {size}-byte upload"
    if to == "ts":  # the Python actor's reading is not seen in Node
        assert 0 < answer["probe"]["atFirst"] < 2 * MB, answer["probe"]
        assert answer["probe"]["backlog"] < 6 * MB, answer["probe"]


@pytest.mark.parametrize("to", ["ts", "py"])
@pytest.mark.parametrize(("size", "piece"), [(0, 65536), (3000, 1), (16 * MB, 16 * MB)])
async def test_uploads_of_hostile_shapes(raindrop_http: httpx.AsyncClient, to: str, size: int, piece: int) -> None:
    """An empty stream, a stream of single bytes, one chunk of 16 MB: each arrives whole."""
    params = {"size": str(size), "to": to, "piece": str(piece)}
    answer = (await raindrop_http.get("/upload", params=params)).json()
    assert answer["status"] == 200, answer
    assert answer["answer"]["size"] == size
    assert answer["answer"]["sha256"] == _expected(size)


@pytest.mark.parametrize("to", ["ts", "py"])
async def test_an_upload_failing_midway_fails_the_actors_read(raindrop_http: httpx.AsyncClient, to: str) -> None:
    answer = (await raindrop_http.get("/upload", params={"size": str(8 * MB), "to": to, "failAt": str(2 * MB)})).json()
    assert "error" in answer, answer
    assert "the upload broke midway" in answer["error"]


async def test_a_client_upload_echoed_through_service_and_actor(raindrop_app: App) -> None:
    """The client's chunked body goes service -> runtime -> actor and the actor's answer (that
    same body) comes back while it is still being sent."""
    data = bytes(range(256)) * 4096 * 3  # 3 MB: more than the windows in flight
    chunks = [data[at : at + 65536] for at in range(0, len(data), 65536)]
    exchange = Exchange(raindrop_app.asgi("front"), "/echo", chunks)
    assert await exchange.rest() == data
    await exchange.task


async def test_a_large_download_is_made_only_as_fast_as_it_is_read(raindrop_http: httpx.AsyncClient) -> None:
    """20 MB streamed by an actor to a service reading it slowly: the actor's stream is read (made)
    at most a few windows ahead of the service's reading, not all at once into a buffer."""
    size = 20 * MB
    tracemalloc.start()
    try:
        answer = (await raindrop_http.get("/download", params={"size": str(size)})).json()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answer["size"] == size
    assert answer["sha256"] == _expected(size)
    assert answer["backlog"] < 6 * MB, answer
    assert peak < 8 * MB, f"Python held {peak} bytes of a {size}-byte download"


@pytest.mark.parametrize("source", ["ts", "py"])
async def test_a_caller_aborting_midway_cancels_the_actors_stream(
    raindrop_app: App, raindrop_http: httpx.AsyncClient, source: str
) -> None:
    answer = (await raindrop_http.get("/abort", params={"when": "body", "from": source})).json()
    assert answer == {"error": "AbortError"}
    key = "ticks:cancelled" if source == "ts" else "py-ticks:cancelled"
    assert int(await wait_for_key(raindrop_app, key)) >= 3
    await assert_nothing_left(raindrop_app)


async def test_a_caller_aborting_before_the_answer(raindrop_app: App, raindrop_http: httpx.AsyncClient) -> None:
    with anyio.fail_after(5):
        answer = (await raindrop_http.get("/abort", params={"when": "head"})).json()
    assert answer == {"error": "AbortError"}
    await assert_nothing_left(raindrop_app)


async def test_a_request_timed_out_by_the_runtime_cancels_the_actor_call(raindrop_app: App) -> None:
    """The service forwards its request to an actor that does not answer: the runtime times the
    request out (a 504), which aborts the forwarded request's signal and so the actor call."""
    service = raindrop_app.asgi("front")
    service.timeout = 0.2
    service._deadlines = type(service._deadlines)(0.2)
    transport = httpx.ASGITransport(app=service)
    async with httpx.AsyncClient(transport=transport, base_url="http://front.localhost") as client:
        with anyio.fail_after(5):
            response = await client.get("/hang")
    assert response.status_code == 504
    await assert_nothing_left(raindrop_app)


async def test_an_answer_without_a_body(raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.get("/empty")).json() == {"statuses": [204, 204]}


async def test_node_dying_midway_breaks_the_stream_instead_of_ending_it(raindrop_app: App) -> None:
    host = running[raindrop_app.manifest.root].host
    exchange = Exchange(raindrop_app.asgi("front"), "/ticks")
    assert await exchange.next() == b"data: 0\n\n"
    assert host.pid is not None
    os.kill(host.pid, signal.SIGKILL)
    with anyio.fail_after(5), pytest.raises(NodeError):
        await exchange.task
    with anyio.fail_after(10):  # and the child is started again
        while not host.restarts:
            await asyncio.sleep(0.05)


async def test_concurrent_uploads_to_one_actor_wait_their_turn(
    raindrop_app: App, raindrop_http: httpx.AsyncClient
) -> None:
    """Eight 2 MB uploads at once to the same actors (one call at a time each): the waiting ones
    stop at their window, and all arrive whole."""
    size = 2 * MB

    async def one(to: str) -> Any:
        return (await raindrop_http.get("/upload", params={"size": str(size), "to": to})).json()

    with anyio.fail_after(20):
        answers = await asyncio.gather(*(one("ts" if k % 2 else "py") for k in range(8)))
    for answer in answers:
        assert answer["answer"]["sha256"] == _expected(size), answer
    await assert_nothing_left(raindrop_app)
