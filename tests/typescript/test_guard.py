"""A handler that misbehaves hurts its own invocation alone: process.exit, a blocked Node."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from runtime import FakeClock
from runtime.app import App
from runtime.typescript.host import TypeScriptError

pytestmark = pytest.mark.slow


@pytest.fixture
def raindrop_manifest(guard_manifest: Path) -> Path:
    return guard_manifest


@pytest.mark.parametrize("code", ["", "1"])
async def test_process_exit_fails_only_its_request(
    raindrop_http_500: httpx.AsyncClient, raindrop_app: App, code: str
) -> None:
    """process.exit() used to end Node: every request in flight failed with it."""
    assert raindrop_app.typescript is not None
    host = raindrop_app.typescript.host
    pid = host.pid
    slow = asyncio.ensure_future(raindrop_http_500.get("/slow"))
    await asyncio.sleep(0.05)  # the slow request is in flight in Node
    response = await raindrop_http_500.get("/exit", params={"kind": code})
    assert response.status_code == 500
    assert f"ProcessExitError: process.exit({code}) called in a handler" in response.json()["detail"]
    assert (await slow).text == "slow answered"
    assert (await raindrop_http_500.get("/hello")).text == "hello"
    assert host.pid == pid and host.restarts == 0


async def test_process_exit_in_an_observer_retries_the_message(raindrop_app: App) -> None:
    assert raindrop_app.typescript is not None
    pid = raindrop_app.typescript.host.pid
    await raindrop_app.env.JOBS.send({"id": "x", "mode": "exit"})
    with pytest.raises(TypeScriptError, match=r"process\.exit\(1\) called in a handler"):
        await raindrop_app.drain()
    assert raindrop_app.typescript.host.pid == pid


async def test_an_observer_whose_promise_never_settles_is_cancelled_at_its_wall_time(
    raindrop_app: App, raindrop_clock: FakeClock
) -> None:
    """It held its message forever: the heartbeat renewed the lease of a promise that never ends.
    The wall time is the app's clock's (a fake one here), so the test moves it past the limit."""
    await raindrop_app.env.JOBS.send({"id": "h", "mode": "hang"})
    for _ in range(200):  # move the clock until the delivery Node holds is cut short
        raindrop_clock.advance(1)
        await asyncio.sleep(0.02)
        if any(run.outcome == "error" for run in raindrop_app.runs):
            break
    with pytest.raises(TimeoutError, match=r"observer 'jobs-observer': the handler ran past its wall time of 0\.5 s"):
        await raindrop_app.drain(timeout=30)
    await raindrop_app.drain(timeout=30)
    assert await raindrop_app.env.CACHE.get("done:h") == "2"


async def test_a_request_that_times_out_cancels_its_binding_calls_still_running(
    raindrop_http_500: httpx.AsyncClient, raindrop_app: App
) -> None:
    """They ran on after the request timed out: the Python service method wrote after it."""
    response = await raindrop_http_500.get("/linger", params={"kind": "2"})
    assert response.status_code == 504
    await asyncio.sleep(2.5)  # the method would have written by now
    assert await raindrop_app.env.CACHE.get("lingered") is None
    assert (await raindrop_http_500.get("/hello")).text == "hello"
    assert (await raindrop_http_500.get("/linger", params={"kind": "0.01"})).text == "lingered"
    assert await raindrop_app.env.CACHE.get("lingered") == "yes"


async def test_nodes_heap_is_capped_at_512_mb(raindrop_http: httpx.AsyncClient) -> None:
    limit = (await raindrop_http.get("/heap")).json()["limit"]
    assert 512 * 2**20 <= limit < 600 * 2**20  # the old generation's 512 MB and the young one's few


@pytest.mark.anyio
async def test_node_options_heap_size_wins(
    raindrop_manifest: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NODE_OPTIONS", "--max-old-space-size=1024")
    async with App.from_manifest(raindrop_manifest, state_dir=tmp_path / "state", backend="memory://") as app:
        transport = httpx.ASGITransport(app=app.asgi("web"))
        async with httpx.AsyncClient(transport=transport, base_url="http://web.localhost") as client:
            limit = (await client.get("/heap")).json()["limit"]
    assert 1024 * 2**20 <= limit < 1100 * 2**20
