"""A Node that stops answering (a handler spinning, the process stopped) is killed and started
again once a request timed out; what arrives while it restarts waits for the new one."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import anyio
import httpx
import pytest

from runtime.app import App
from runtime.errors import NodeError
from runtime.typescript import host as host_module
from runtime.typescript.host import NodeHost

pytestmark = pytest.mark.slow


@pytest.fixture
def raindrop_manifest(guard_manifest: Path) -> Path:
    return guard_manifest


@pytest.fixture
def quick_ping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_module, "PING_TIMEOUT", 1.0, raising=False)  # 10 s in use


def node_host(app: App) -> NodeHost:
    assert app.typescript is not None
    return app.typescript.host


async def restarted(host: NodeHost) -> None:
    with anyio.fail_after(60):
        while not host.restarts:
            await asyncio.sleep(0.02)


async def test_a_spinning_handler_gets_node_killed_and_started_again(
    raindrop_http_500: httpx.AsyncClient, raindrop_app: App, quick_ping: None
) -> None:
    """Before, a handler in while(true){} held Node forever: every later request timed out."""
    host = node_host(raindrop_app)
    pid = host.pid
    in_flight = asyncio.ensure_future(raindrop_app.env.WEB.wait(600_000))  # an RPC: no timeout of its own
    await asyncio.sleep(0.05)
    assert (await raindrop_http_500.get("/spin")).status_code == 504  # request_timeout: 1 s
    with anyio.fail_after(60), pytest.raises(NodeError, match=r"did not answer within 1 s after a request timed out"):
        await in_flight
    await restarted(host)
    assert host.pid != pid
    assert (await raindrop_http_500.get("/hello")).text == "hello"


async def test_a_stopped_node_is_killed_and_started_again(
    raindrop_http_500: httpx.AsyncClient, raindrop_app: App, quick_ping: None
) -> None:
    host = node_host(raindrop_app)
    pid = host.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        assert (await raindrop_http_500.get("/hello")).status_code == 504
        await restarted(host)
    finally:
        if host.pid == pid:
            os.kill(pid, signal.SIGCONT)
    assert (await raindrop_http_500.get("/hello")).text == "hello"


async def test_a_message_sent_while_node_restarts_waits_for_it(
    raindrop_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, a request made while Node was down was written to no socket and waited forever."""
    monkeypatch.setattr(host_module, "BACKOFF", (1.0,))  # a second with no Node
    host = node_host(raindrop_app)
    pid = host.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with anyio.fail_after(30):
        while True:  # gone, and reaped
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.01)
        assert host.restarts == 0
        await raindrop_app.env.JOBS.send({"id": "late", "mode": "ok"})
        await raindrop_app.drain()
    assert await raindrop_app.env.CACHE.get("done:late") == "1"
    assert host.restarts == 1
