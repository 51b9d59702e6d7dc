"""An idle TypeScript actor is evicted on both sides: Node drops its instance and Python the
storage handle Node called; the next call makes a fresh instance from storage."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from runtime.app import App

pytestmark = pytest.mark.slow


@pytest.fixture
def raindrop_manifest(contract_manifest: Path) -> Path:
    return contract_manifest


async def node_actors(app: App) -> int:
    assert app.typescript is not None
    counts = await app.typescript.host.request({"t": "counts"})
    return int(counts["actors"])


async def test_eviction_releases_the_node_instance_and_its_handle(raindrop_app: App) -> None:
    assert raindrop_app.typescript is not None
    bridge = raindrop_app.typescript.bridge
    counters = raindrop_app.env.COUNTER
    before = bridge.handles
    assert await counters.get(counters.id_from_name("a")).increment(2) == 2
    assert await counters.get(counters.id_from_name("b")).increment(5) == 5
    assert await node_actors(raindrop_app) == 2
    assert bridge.handles == before + 2  # one storage handle per live instance

    assert raindrop_app.actors.evict_idle(idle=0) == 2
    assert await node_actors(raindrop_app) == 0
    assert bridge.handles == before

    assert await counters.get(counters.id_from_name("a")).increment(1) == 3  # state came from storage
    assert await node_actors(raindrop_app) == 1
    assert bridge.handles == before + 1


async def test_a_write_after_the_call_returned_lands(raindrop_app: App) -> None:
    counters = raindrop_app.env.COUNTER
    counter = counters.get(counters.id_from_name("late"))
    assert await counter.later("k", 60) is True
    await anyio.sleep(0.3)  # the actor's lease was let go meanwhile: the write takes it back
    assert await raindrop_app.env.CACHE.get("late-error") is None
    assert await counter.read("k") == "late"
