"""Miniflare's Durable Object plugin assertions, ported to actors: packages/miniflare/test/
plugins/do/index.spec.ts (cloudflare/workers-sdk). Each test names the Miniflare test it comes
from; tests/peer/README.md says why the others do not apply."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime import App, FakeClock
from tests.backends import backend_url

pytestmark = pytest.mark.anyio

#: Miniflare's COUNTER_SCRIPT (a counter in storage) and STATEFUL_SCRIPT (an id made at
#: construction), as one actor class.
COUNTER = """\
import asyncio
import uuid

from starlette.responses import PlainTextResponse

from runtime import Actor

LOCKS = {}


class Counter(Actor):
    def __init__(self, state, env):
        super().__init__(state, env)
        self.instance = uuid.uuid4().hex

    async def increment(self):
        count = (await self.state.storage.get("count") or 0) + 1
        await self.state.storage.put("count", count)
        return count

    async def fetch(self, request):
        return PlainTextResponse(str(await self.increment()))

    async def instance_id(self):
        return self.instance

    async def other_count(self, other_id):
        # an id made elsewhere, used from inside an actor
        stub = self.env.COUNTER.get(self.env.COUNTER.id_from_string(other_id))
        return await stub.increment()

    async def blocked_op(self, n, lock):
        # Miniflare's BlockingDO: wait until someone releases ``lock``
        LOCKS[lock] = asyncio.Event()
        await LOCKS[lock].wait()
        return n + 2

    async def release(self, lock):
        LOCKS.pop(lock).set()
"""


def counter_app(root: Path) -> Path:
    (root / "workers").mkdir(parents=True, exist_ok=True)
    (root / "raindrop.manifest").write_text('application "c" {\n  actor "counter" {}\n}\n')
    (root / "workers" / "counter.py").write_text(COUNTER)
    return root / "raindrop.manifest"


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock, kind: str) -> AsyncIterator[App]:
    manifest = counter_app(tmp_path / "counter")
    async with App.from_manifest(manifest, clock=clock, backend=backend_url(kind, tmp_path / "counter")) as running:
        yield running


def again(app: App) -> App:
    if not app.backend.persistent:
        pytest.skip("the memory backend keeps nothing after its process")
    return App.from_manifest(app.manifest.path, state_dir=app.state_dir, backend=app.backend.url)


async def test_persists_data_on_the_file_system(app: App) -> None:
    # "persists Durable Object data on file-system" / "persists Durable Object data in-memory
    # between options reloads" (the app restarted with a changed setting, as `serve --reload` does)
    stub = app.env.COUNTER.get(app.env.COUNTER.id_from_name("/a"))
    assert [await stub.increment(), await stub.increment()] == [1, 2]
    await app.stop()
    local = Path(app.manifest.path).parent / "raindrop.local.yaml"
    local.write_text("vars:\n  VERSION: 2\n")
    async with again(app) as reopened:
        assert reopened.settings.vars == {"VERSION": 2}
        assert await reopened.env.COUNTER.get(reopened.env.COUNTER.id_from_name("/a")).increment() == 3


async def test_lists_ids_with_persisted_storage(app: App) -> None:  # "lists Durable Object ids with persisted storage"
    first, second = app.env.COUNTER.id_from_name("/first"), app.env.COUNTER.id_from_name("/second")
    assert await app.backend.state.actors("counter") == []
    assert await app.env.COUNTER.get(first).increment() == 1
    assert await app.env.COUNTER.get(second).increment() == 1
    assert sorted(await app.backend.state.actors("counter")) == sorted([str(first), str(second)])


async def test_multiple_processes_access_the_same_data(app: App, clock: FakeClock) -> None:
    # "multiple Workers access same Durable Object data": two apps on one backend reach one
    # actor's state (calls to it run one at a time across them)
    if not app.backend.persistent:
        pytest.skip("the memory backend is one process's own")
    other = App.from_manifest(app.manifest.path, clock=clock, state_dir=app.state_dir, backend=app.backend.url)
    async with other:
        here = app.env.COUNTER.get(app.env.COUNTER.id_from_name("/shared"))
        assert await here.increment() == 1
        there = other.env.COUNTER.get(other.env.COUNTER.id_from_name("/shared"))
        assert await there.increment() == 2
        assert await here.increment() == 3


async def test_can_use_an_id_from_one_object_in_another(app: App) -> None:
    # "can use Durable Object ID from one object in another": an id made outside the actor (its
    # string) is used from inside another instance, and reaches the same actor
    made = app.env.COUNTER.new_unique_id()
    assert await app.env.COUNTER.get(made).increment() == 1
    caller = app.env.COUNTER.get(app.env.COUNTER.id_from_name("caller"))
    assert await caller.other_count(str(made)) == 2
    assert await app.env.COUNTER.get(made).increment() == 3


async def test_proxies_methods(app: App) -> None:  # "proxies Durable Object methods"
    import re

    from starlette.requests import Request

    ident = app.env.COUNTER.id_from_name("/a")
    assert re.fullmatch(r"[0-9a-f]{64}", str(ident))
    stub = app.env.COUNTER.get(ident)
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    response = await stub.fetch(Request(scope))
    assert bytes(response.body) == b"1"
    # the same instance through another stub of the same id
    assert await app.env.COUNTER.get(app.env.COUNTER.id_from_name("/a")).increment() == 2
    assert await stub.instance_id() == await app.env.COUNTER.get(ident).instance_id()


async def test_eviction(app: App) -> None:  # "Durable Object eviction"
    # An instance idle past the eviction time (120 s here; Miniflare uses 10 s) is let go; the
    # next call makes a fresh one, with storage intact. The eviction loop runs on the real clock,
    # so the test asks the actor host to evict what has been idle for 0 s.
    stub = app.env.COUNTER.get(app.env.COUNTER.id_from_name("/evicted"))
    original = await stub.instance_id()
    assert await stub.increment() == 1
    assert await stub.instance_id() == original  # not evicted between calls
    assert app.actors.evict_idle(idle=0) == 1
    assert await stub.instance_id() != original
    assert await stub.increment() == 2
    assert uuid.UUID(original)


async def test_calls_do_not_block_the_event_loop_and_complete_when_unblocked(app: App) -> None:
    # "Durable Object RPC calls do not block Node.js event loop" / "... complete when unblocked".
    # Calls to one id run one at a time here (Raindrop: "actors handle requests serially"), so
    # the release comes through another id's instance, not a second call to the blocked one.
    import asyncio

    blocked = app.env.COUNTER.get(app.env.COUNTER.id_from_name("test"))
    call = asyncio.ensure_future(blocked.blocked_op(5, "lock-1"))
    done, _ = await asyncio.wait([call], timeout=0.1)
    assert not done  # the loop went on: the timeout won
    releaser = app.env.COUNTER.get(app.env.COUNTER.id_from_name("other"))
    await releaser.release("lock-1")
    assert await asyncio.wait_for(call, timeout=5) == 7
