"""Handler styles of the platform's public apps (router objects, fetch(request, env), actors
driven through fetch with waitUntil, RPC to private services) and request cancellation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

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
