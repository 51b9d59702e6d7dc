"""Actors: ids, one call at a time per id, parallel ids, storage, alarms (fake clock and restarts)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runtime import App, FakeClock
from runtime.actors import ActorNamespace
from runtime.errors import BindingError, StorageValueError
from tests.backends import BACKENDS, backend_url

pytestmark = pytest.mark.anyio
APP = Path(__file__).parent / "apps" / "clock"


@pytest.fixture(params=BACKENDS)
async def app(request: pytest.FixtureRequest, tmp_path: Path, raindrop_clock: FakeClock) -> AsyncIterator[App]:
    async with App.from_manifest(
        APP / "raindrop.manifest", clock=raindrop_clock, backend=backend_url(request.param, tmp_path)
    ) as instance:
        yield instance


def counters(app: App) -> ActorNamespace:
    namespace = app.env.COUNTER
    assert isinstance(namespace, ActorNamespace)
    return namespace


async def test_ids_are_deterministic(app: App) -> None:
    ns = counters(app)
    a, b = ns.id_from_name("user-1"), ns.id_from_name("user-1")
    assert a == b and a.equals(b) and str(a) == str(b) and len(str(a)) == 64 and a.name == "user-1"
    assert ns.id_from_name("user-2") != a
    assert ns.id_from_string(str(a)) == a
    with pytest.raises(BindingError, match="not an actor id"):
        ns.id_from_string("xyz")


async def test_a_thousand_concurrent_calls_on_one_id_keep_the_counter_exact(app: App) -> None:
    stub = counters(app).get(counters(app).id_from_name("hot"))
    results = await asyncio.gather(*(stub.increment() for _ in range(1000)))
    assert sorted(results) == list(range(1, 1001))
    assert await stub.recall("value") == 1000


async def test_different_ids_run_in_parallel(app: App) -> None:
    sys.modules[type(app.actors.instance("counter", counters(app).id_from_name("x"))).__module__].ACTIVE.update(
        now=0, max=0
    )
    ns = counters(app)
    ids = await asyncio.gather(*(ns.get(ns.id_from_name(f"user-{i}")).slow(0.05) for i in range(100)))
    active = sys.modules[type(app.actors.instance("counter", ns.id_from_name("x"))).__module__].ACTIVE
    assert len(set(ids)) == 100
    # all 100 were running at once (one after another, each would have found none beside it);
    # counted, not timed, so a loaded machine cannot fail it
    assert active["max"] == 100


async def test_same_id_calls_do_not_overlap(app: App) -> None:
    ns = counters(app)
    stub = ns.get(ns.id_from_name("serial"))
    module = sys.modules[type(app.actors.instance("counter", ns.id_from_name("serial"))).__module__]
    module.ACTIVE.update(now=0, max=0)
    await asyncio.gather(*(stub.slow(0.005) for _ in range(10)))
    assert module.ACTIVE["max"] == 1


async def test_storage_round_trips_structured_values(app: App) -> None:
    ns = counters(app)
    stub = ns.get(ns.id_from_name("store"))
    moment = datetime(2025, 5, 1, 12, 30, tzinfo=UTC)
    value = {"name": "Ada", "tags": ["a", "b"], "raw": b"\x00\xff", "when": moment, "n": 1.5, "none": None}
    await stub.remember("profile", value)
    assert await stub.recall("profile") == value
    with pytest.raises(StorageValueError, match=r"argument of counter\.remember\(\).*is a function \(len\)"):
        await stub.remember("bad", {"f": len})
    with pytest.raises(BindingError, match="no public method 'nope'"):
        await stub.nope()


async def test_v8_values_cross_calls_and_storage_as_the_platform_clones_them(app: App) -> None:
    """What the platform's structured clone keeps (Miniflare's v8 serialization cases): dates,
    bytes, sets, maps with any keys, big integers, regexps, errors, nested and shared values."""
    import re
    from datetime import date

    ns = counters(app)
    stub = ns.get(ns.id_from_name("v8"))
    shared = {"tag": "shared"}
    cycle: list[Any] = ["head"]
    cycle.append(cycle)
    value = {
        "date": date(2024, 2, 29),
        "when": datetime(2025, 5, 1, 12, 30, tzinfo=UTC),
        "bytes": bytearray(b"\x00\x01"),
        "set": {1, "two", (3, 4)},
        "frozen": frozenset({"a"}),
        "map": {1: "one", (2, 3): "pair", None: "none"},
        "big": 2**128 + 1,
        "nan": float("inf"),
        "regexp": re.compile(r"a+b", re.IGNORECASE | re.MULTILINE),
        "error": ValueError("bad input"),
        "nested": [[{"deep": [{"deeper": {1, 2}}]}]],
        "first": shared,
        "second": shared,
        "cycle": cycle,
        "$raindrop:bytes": "a user's own key",
    }
    await stub.remember("v8", value)
    back = await stub.recall("v8")
    assert back["date"] == date(2024, 2, 29) and back["when"] == value["when"]
    assert back["bytes"] == b"\x00\x01" and back["set"] == {1, "two", (3, 4)} and back["frozen"] == frozenset({"a"})
    assert back["map"] == {1: "one", (2, 3): "pair", None: "none"} and back["big"] == 2**128 + 1
    assert back["regexp"].pattern == "a+b" and back["regexp"].flags & re.MULTILINE
    assert type(back["error"]) is ValueError and str(back["error"]) == "bad input"
    assert back["nested"] == [[{"deep": [{"deeper": {1, 2}}]}]] and back["nan"] == float("inf")
    assert back["first"] is back["second"] and back["cycle"][1] is back["cycle"]
    assert back["$raindrop:bytes"] == "a user's own key"
    single = {"$raindrop:bytes": "only key"}
    await stub.remember("tricky", single)
    assert await stub.recall("tricky") == single


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (lambda: 1, r"is a function \(.*<lambda>\).*DataCloneError"),
        (object(), r"is a builtins\.object, which cannot be cloned"),
        ({"k": open}, r"\['k'\] is a function \(open\)"),
    ],
)
async def test_what_cannot_be_cloned_is_named(app: App, value: Any, message: str) -> None:
    ns = counters(app)
    with pytest.raises(StorageValueError, match=message):
        await ns.get(ns.id_from_name("v8")).remember("bad", value)


async def test_storage_api(app: App) -> None:
    ns = counters(app)
    actor = app.actors.instance("counter", ns.id_from_name("api"))
    storage = actor.state.storage
    await storage.put({"a:1": 1, "a:2": 2, "a:3": 3, "b:1": 4})
    assert await storage.get("a:1") == 1 and await storage.get("zzz") is None
    assert await storage.get(["a:1", "b:1", "nope"]) == {"a:1": 1, "b:1": 4}
    assert list(await storage.list(prefix="a:")) == ["a:1", "a:2", "a:3"]
    assert list(await storage.list(start="a:2", end="b:1")) == ["a:2", "a:3"]
    assert list(await storage.list(reverse=True, limit=2)) == ["b:1", "a:3"]
    assert await storage.delete("a:1") is True and await storage.delete("a:1") is False
    assert await storage.delete(["a:2", "a:3", "x"]) == 2
    await storage.delete_all()
    assert await storage.list() == {}
    with pytest.raises(StorageValueError, match=r"key 'obj'.*object"):
        await storage.put("obj", object())


async def test_actor_fetch(app: App) -> None:
    from starlette.requests import Request

    ns = counters(app)
    stub = ns.get(ns.id_from_name("web"))
    await stub.increment(5)
    scope = {"type": "http", "method": "GET", "path": "/status", "headers": [], "query_string": b""}
    response = await stub.fetch(Request(scope))
    assert json.loads(response.body) == {"path": "/status", "value": 5}


async def test_alarm_fires_when_due(app: App, raindrop_clock: FakeClock) -> None:
    ns = counters(app)
    stub = ns.get(ns.id_from_name("alarm"))
    due = int((raindrop_clock.time() + 60) * 1000)
    await stub.schedule(due)
    actor = app.actors.instance("counter", ns.id_from_name("alarm"))
    assert await actor.state.storage.get_alarm() == due
    await app.drain()
    assert await stub.recall("alarms") is None
    raindrop_clock.advance(60)
    await app.drain()
    assert await stub.recall("alarms") == ["ok"]
    assert await actor.state.storage.get_alarm() is None


async def test_failing_alarm_retries_with_backoff_then_gives_up(app: App, raindrop_clock: FakeClock) -> None:
    ns = counters(app)
    stub = ns.get(ns.id_from_name("flaky"))
    await stub.schedule(int(raindrop_clock.time() * 1000), "fail")
    await app.drain(raise_errors=False)
    assert len(await stub.recall("alarms")) == 1
    for attempt, delay in enumerate([2, 4, 8, 16, 32, 64], start=2):
        raindrop_clock.advance(delay - 0.01)
        await app.drain(raise_errors=False)
        assert len(await stub.recall("alarms")) == attempt - 1
        raindrop_clock.advance(0.01)
        await app.drain(raise_errors=False)
        assert len(await stub.recall("alarms")) == attempt
    raindrop_clock.advance(3600)
    await app.drain(raise_errors=False)
    assert len(await stub.recall("alarms")) == 7  # first run + 6 retries, then given up


@pytest.mark.slow  # processes, and waits for a real alarm
def test_alarm_set_while_down_fires_once_after_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    child = APP / "alarm_child.py"
    at_ms = int((time.time() + 1.0) * 1000)
    subprocess.run([sys.executable, str(child), "set", str(state), str(at_ms)], check=True, timeout=60)
    time.sleep(max(0.0, at_ms / 1000 - time.time()) + 0.2)  # the alarm falls due while nothing runs
    result = subprocess.run(
        [sys.executable, str(child), "wait", str(state)], check=True, capture_output=True, text=True, timeout=60
    )
    assert json.loads(result.stdout) == ["after-restart"]


async def test_idle_instances_are_let_go_and_come_back_with_their_storage(app: App) -> None:
    host = app.actors
    ns = counters(app)
    idle, busy = ns.get(ns.id_from_name("idle")), ns.get(ns.id_from_name("busy"))
    await idle.increment()
    first = host.instance("counter", ns.id_from_name("idle"))
    running = asyncio.ensure_future(busy.slow(0.3))
    await asyncio.sleep(0.05)
    assert host.evict_idle(idle=0) == 1  # the idle one; the one in a call stays
    assert await idle.increment() == 2  # storage survives; the instance is a fresh one
    assert host.instance("counter", ns.id_from_name("idle")) is not first
    await running
    assert host.evict_idle(idle=3600) == 0  # nothing has been idle that long


async def test_wait_until_work_keeps_the_lease_and_its_writes_are_stored(app: App) -> None:
    """On a shared backend the lease is let go soon after a call; work handed to wait_until
    outlives the call, and its write was refused (LeaseLostError) until it kept the lease."""
    ns = counters(app)
    stub = ns.get(ns.id_from_name("later"))
    await stub.later(7)
    await app.drain()  # waits for the wait_until work
    assert await stub.recall("later") == 7
