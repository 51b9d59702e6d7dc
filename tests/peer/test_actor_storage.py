"""Miniflare 2's Durable Object storage and alarm assertions, ported to actors:
packages/durable-objects/test/storage.spec.ts and alarms.spec.ts (cloudflare/miniflare).
Each test names the Miniflare test it comes from. Input and output gates and transactions are
Miniflare internals with no counterpart in the actor API, and are not ported (README.md lists
every case and why)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runtime import App, BindingError, FakeClock, LimitError, StorageValueError
from runtime.actors import ActorId, Storage
from tests.backends import backend_url

pytestmark = pytest.mark.anyio
SECTIONS = {
    "section1key1": "value11",
    "section1key2": "value12",
    "section2key1": "value21",
    "section2key2": "value22",
    "section3key1": "value31",
    "section3key2": "value32",
}


@pytest.fixture
def storage(app: App) -> Storage:
    """The storage an actor of the peer app would get (the class handlers use)."""
    return Storage(app.backend.state, "store", ActorId("a" * 64, "peer"), lambda: None)


async def test_get(storage: Storage) -> None:
    # "get: gets single key" / "with complex value" / "returns undefined for non-existent single key"
    await storage.put("key", "value")
    assert await storage.get("key") == "value"
    complex_value = {"set": [1, 2, 3], "when": datetime(2026, 1, 1, tzinfo=UTC), "blob": b"\x00\xff"}
    await storage.put("complex", complex_value)
    assert await storage.get("complex") == complex_value
    assert await storage.get("missing") is None


async def test_get_throws_helpful_error_when_deserialization_fails(app: App, storage: Storage) -> None:
    # "get: throws with helpful error when deserialization fails": what the backend holds under
    # the key is not a value this runtime wrote
    await app.backend.state.put("store", "a" * 64, {"key": "bad"})
    for read in (storage.get("key"), storage.get(["key"]), storage.list()):
        with pytest.raises(
            StorageValueError, match=r"value for key 'key' cannot be read: it is not a structured clone"
        ):
            await read
    await storage.put("key", "good")  # a write replaces it
    assert await storage.get("key") == "good"


async def test_get_many(storage: Storage) -> None:
    # "get: gets multiple keys" (in lexicographic order) / "returns map with non-existent keys omitted"
    # / "getting multiple keys ignores undefined keys"
    await storage.put({"key1": "value1", "key2": "value2", "key3": "value3"})
    found = await storage.get(["key2", "key3", "key1"])
    assert list(found.items()) == [("key1", "value1"), ("key2", "value2"), ("key3", "value3")]
    await storage.delete("key2")
    assert await storage.get(["key1", "key2", "key3"]) == {"key1": "value1", "key3": "value3"}
    assert await storage.get(["key1", None, "key3"]) == {"key1": "value1", "key3": "value3"}  # type: ignore[list-item]


async def test_get_put_delete_validate_keys(storage: Storage) -> None:  # "get/put/delete: validates keys"
    large = "x" * 2049
    with pytest.raises(LimitError, match="cannot be larger than 2048 bytes"):
        await storage.get(large)
    with pytest.raises(LimitError, match="cannot be larger than 2048 bytes"):
        await storage.get(["a", large, "b"])
    with pytest.raises(LimitError, match="at most 128 keys at once, not 129"):
        await storage.get([str(i) for i in range(129)])
    with pytest.raises(LimitError, match="cannot be larger than 2048 bytes"):
        await storage.put(large, 1)
    with pytest.raises(LimitError, match="at most 128 pairs at once, not 129"):
        await storage.put({str(i): i for i in range(129)})
    with pytest.raises(LimitError, match="cannot be larger than 2048 bytes"):
        await storage.delete(["a", large])
    with pytest.raises(BindingError, match="keys are str"):
        await storage.get(7)  # type: ignore[arg-type]


async def test_put(storage: Storage) -> None:
    # "put: puts single key" / "puts multiple keys" / "overrides existing keys"
    await storage.put("key", "value1")
    await storage.put("key", "value2")
    assert await storage.get("key") == "value2"
    await storage.put({"key1": {"a": 1}, "key2": [1, 2], "key3": 3.5})
    assert await storage.get(["key1", "key2", "key3"]) == {"key1": {"a": 1}, "key2": [1, 2], "key3": 3.5}


async def test_put_validates_values(storage: Storage) -> None:  # "put: validates values"
    # Miniflare 2's limit was 128 KiB; the platform's SQLite-backed storage allows 2 MiB per
    # value, which is ours. None is Python's null (storable), not JavaScript's undefined.
    await storage.put("key", "x" * (2 * 1024 * 1024 - 64))  # the limit counts the stored encoding
    with pytest.raises(LimitError, match="the limit is 2 MiB"):
        await storage.put("key", "x" * (2 * 1024 * 1024 + 32))
    with pytest.raises(LimitError, match="the limit is 2 MiB"):
        await storage.put({"a": 1, "large": "x" * (2 * 1024 * 1024 + 32)})
    assert await storage.get("a") is None  # the many-put is all or nothing
    await storage.put("none", None)
    assert await storage.get(["none"]) == {"none": None}


async def test_delete(storage: Storage) -> None:
    # "delete: deletes single key" / "returns false for non-existent single key" /
    # "deletes multiple keys" / "omits non-existent keys from deleted count"
    await storage.put({"key1": 1, "key2": 2, "key3": 3})
    assert await storage.delete("key1") is True
    assert await storage.delete("key1") is False
    await storage.put("key1", 1)
    assert await storage.delete(["key1", "key3"]) == 2
    assert await storage.get(["key1", "key2", "key3"]) == {"key2": 2}
    assert await storage.delete(["key2", "nope", "none"]) == 1
    # "delete: delete multiple keys ignores undefined keys" (None is Python's undefined here)
    await storage.put({"key1": 1, "key2": 2})
    assert await storage.delete(["key1", None, "key2"]) == 2  # type: ignore[list-item]


async def test_delete_all(storage: Storage) -> None:  # "deleteAll: deletes all keys"
    await storage.put({"key1": 1, "key2": 2, "key3": 3})
    await storage.set_alarm(10**13)
    await storage.delete_all()
    assert await storage.list() == {}
    assert await storage.get_alarm() is None


@pytest.mark.parametrize(
    ("expected", "options"),
    [
        (list(SECTIONS), {}),  # "list: lists keys in sorted order"
        (["section2key2", "section3key1", "section3key2"], {"start": "section2key2"}),  # "start inclusive"
        (["section3key1", "section3key2"], {"start_after": "section2key2"}),  # "startAfter exclusive"
        (["section1key1", "section1key2"], {"end": "section2key1"}),  # "ending at end exclusive"
        (list(reversed(SECTIONS)), {"reverse": True}),  # "lists keys in reverse order"
        (["section1key1", "section1key2", "section2key1"], {"limit": 3}),  # "lists at most limit keys"
        (["section2key1", "section2key2"], {"prefix": "section2"}),  # "lists keys matching prefix"
        (["section3key2", "section3key1"], {"start": "section2", "prefix": "section", "limit": 2, "reverse": True}),
        (["section2key2", "section3key1"], {"start_after": "section2key1", "limit": 2}),  # startAfter matches key
        (["section2key1", "section2key2"], {"start_after": "section2", "limit": 2}),  # startAfter doesn't match
        ([], {"start": "section4"}),  # "returns empty list with start after all"
        ([], {"end": "section0"}),  # "returns empty list with end before all"
        ([], {"start": "section3", "end": "section1"}),  # "returns empty list with start after end"
    ],
)
async def test_list(storage: Storage, expected: list[str], options: dict[str, Any]) -> None:
    await storage.put(SECTIONS)
    assert list((await storage.list(**options)).items()) == [(key, SECTIONS[key]) for key in expected]


async def test_list_edges(storage: Storage) -> None:
    # "list: cannot set start and startAfter simultaneously" / "returns empty list with no keys" /
    # "can list more than 128 keys" / "sorts lexicographically"
    with pytest.raises(BindingError, match="both start and start_after"):
        await storage.list(start="a", start_after="b")
    assert await storage.list() == {}
    for group in range(3):
        await storage.put({f"key{group * 128 + i}": group * 128 + i for i in range(128)})
    listed = await storage.list()
    assert len(listed) == 384 and all(listed[f"key{i}"] == i for i in range(384))
    await storage.delete_all()
    await storage.put({"!": {}, ", ": {}})
    assert list(await storage.list()) == ["!", ", "]


async def test_alarms_set_get_delete(storage: Storage) -> None:
    # "getAlarm: storage returns inputed number" / "Alarms: setAlarm returns undefined; deleteAlarm"
    assert await storage.set_alarm(1_800_000_000_000) is None
    assert await storage.get_alarm() == 1_800_000_000_000
    when = datetime(2030, 1, 1, tzinfo=UTC)
    await storage.set_alarm(when)  # a second set replaces the first
    assert await storage.get_alarm() == int(when.timestamp() * 1000)
    await storage.delete_alarm()
    assert await storage.get_alarm() is None
    with pytest.raises(BindingError, match="epoch milliseconds or a datetime"):
        await storage.set_alarm("soon")  # type: ignore[arg-type]


async def test_set_alarm_of_zero_throws(storage: Storage) -> None:
    # "Alarms: setTimeout of 0 throws" (workerd: "setAlarm() cannot be called with an alarm time <= 0")
    for when in (0, -1, datetime(1970, 1, 1, tzinfo=UTC)):
        with pytest.raises(BindingError, match=r"set_alarm cannot be called with an alarm time <= 0"):
            await storage.set_alarm(when)
    assert await storage.get_alarm() is None
    await storage.set_alarm(1)  # the first millisecond after 1970 is a time already past: accepted
    assert await storage.get_alarm() == 1


async def test_alarm_is_stored_in_the_backing(app: App, storage: Storage) -> None:
    # "getAlarm: backing returns inputed number" / "setAlarm: backing returns inputed number" /
    # "deleteAlarm: removing from storage works": another Storage on the same backend (as after
    # a restart) reads what this one wrote
    again = Storage(app.backend.state, "store", ActorId("a" * 64, "peer"), lambda: None)
    await storage.set_alarm(1_800_000_000_000)
    assert await again.get_alarm() == 1_800_000_000_000
    assert await app.backend.state.get_alarm("store", "a" * 64) == 1_800_000_000
    await storage.delete_alarm()
    assert await again.get_alarm() is None


def _ticker_app(tmp_path: object) -> Any:
    from pathlib import Path

    root = Path(str(tmp_path)) / "alarm-app"
    (root / "workers").mkdir(parents=True)
    (root / "raindrop.manifest").write_text('application "a" {\n  actor "ticker" {}\n}\n')
    (root / "workers" / "ticker.py").write_text(
        "from runtime import Actor\n\n"
        "class Ticker(Actor):\n"
        "    async def arm(self, ms):\n"
        "        await self.state.storage.set_alarm(ms)\n"
        "    async def disarm(self):\n"
        "        await self.state.storage.delete_alarm()\n"
        "    async def alarm(self):\n"
        "        fired = (await self.state.storage.get('fired')) or []\n"
        "        await self.state.storage.put('fired', [*fired, self.env.clock.time()])\n"
        "    async def fired(self):\n"
        "        return (await self.state.storage.get('fired')) or []\n"
    )
    return root / "raindrop.manifest"


async def test_alarm_fires_once_when_due(tmp_path: object, clock: FakeClock, kind: str) -> None:
    # "Alarms: setupAlarms and call setAlarm twice. The second one should trigger"
    # (through a real actor, on the fake clock)
    manifest = _ticker_app(tmp_path)
    async with App.from_manifest(manifest, clock=clock, backend=backend_url(kind, manifest.parent)) as app:
        ticker = app.env.TICKER.get(app.env.TICKER.id_from_name("t"))
        now_ms = int(clock.time() * 1000)
        await ticker.arm(now_ms + 60_000)
        await ticker.arm(now_ms + 120_000)  # replaces the first
        clock.advance(seconds=60)
        await app.drain()
        assert await ticker.fired() == []
        clock.advance(seconds=60)
        await app.drain()
        assert await ticker.fired() == [clock.time()]
        clock.advance(seconds=600)
        await app.drain()
        assert len(await ticker.fired()) == 1


async def test_alarms_fire_when_due_and_not_once_deleted(tmp_path: object, clock: FakeClock, kind: str) -> None:
    manifest = _ticker_app(tmp_path)
    async with App.from_manifest(manifest, clock=clock, backend=backend_url(kind, manifest.parent)) as app:
        ticker = app.env.TICKER.get(app.env.TICKER.id_from_name("t"))
        # "Alarms: setupAlarms and call setAlarm immediately": a time already past fires at once
        await ticker.arm(1)
        await app.drain()
        assert await ticker.fired() == [clock.time()]
        # "Alarms: wait a second before updating value": not before it is due, then once
        await ticker.arm(int(clock.time() * 1000) + 1000)
        clock.advance(seconds=0.5)
        await app.drain()
        assert len(await ticker.fired()) == 1
        clock.advance(seconds=0.5)
        await app.drain()
        assert len(await ticker.fired()) == 2
        # "Alarms: check delete worked via a wait period"
        await ticker.arm(int(clock.time() * 1000) + 1000)
        await ticker.disarm()
        clock.advance(seconds=2)
        await app.drain()
        assert len(await ticker.fired()) == 2


def _two_actors(root: Any) -> Any:
    from pathlib import Path

    root = Path(str(root)) / "two"
    (root / "workers").mkdir(parents=True)
    (root / "raindrop.manifest").write_text('application "a" {\n  actor "ticker" {}\n  actor "plain" {}\n}\n')
    (root / "workers" / "ticker.py").write_text(
        "from runtime import Actor\n\n"
        "class Ticker(Actor):\n"
        "    async def arm(self, ms):\n"
        "        await self.state.storage.set_alarm(ms)\n"
        "    async def alarm(self):\n"
        "        pass\n"
    )
    (root / "workers" / "plain.py").write_text(
        "from runtime import Actor\n\n"
        "class Plain(Actor):\n"
        "    async def arm(self, ms):\n"
        "        await self.state.storage.set_alarm(ms)\n"
        "    async def alarm_time(self):\n"
        "        return await self.state.storage.get_alarm()\n"
    )
    return root / "raindrop.manifest"


async def test_set_alarm_needs_an_alarm_handler(tmp_path: object, clock: FakeClock, kind: str) -> None:
    # "Alarms: setAlarm throws if no alarm handler" ("Your Durable Object class must have an
    # alarm() handler in order to call setAlarm()")
    manifest = _two_actors(tmp_path)
    async with App.from_manifest(manifest, clock=clock, backend=backend_url(kind, manifest.parent)) as app:
        plain = app.env.PLAIN.get(app.env.PLAIN.id_from_name("p"))
        with pytest.raises(BindingError, match=r"set_alarm needs an alarm\(\) handler, and Plain has none"):
            await plain.arm(int(clock.time() * 1000) + 1000)
        assert await plain.alarm_time() is None  # nothing was set
        ticker = app.env.TICKER.get(app.env.TICKER.id_from_name("t"))
        await ticker.arm(int(clock.time() * 1000) + 1000)  # a class with alarm() may


async def test_an_id_is_for_the_namespace_that_made_it(tmp_path: object, clock: FakeClock, kind: str) -> None:
    # "DurableObjectNamespace: get: throws if ID for different namespace"
    manifest = _two_actors(tmp_path)
    async with App.from_manifest(manifest, clock=clock, backend=backend_url(kind, manifest.parent)) as app:
        named = app.env.TICKER.id_from_name("x")
        for made in (named, app.env.TICKER.new_unique_id(), app.env.TICKER.id_from_string(str(named))):
            with pytest.raises(BindingError, match=r'this id was made by actor "ticker"\'s namespace'):
                app.env.PLAIN.get(made)
            assert app.env.TICKER.get(made).id == made
        # "DurableObjectNamespace: idFromString: throws if ID for different namespace"
        for made in (named, app.env.TICKER.new_unique_id()):
            with pytest.raises(BindingError, match=r'is not an id of actor "plain": it was made by actor "ticker"'):
                app.env.PLAIN.id_from_string(str(made))
        # and digits typed by hand are no class's id
        with pytest.raises(BindingError, match=r"is not an id of actor \"ticker\": no actor class of this app made it"):
            app.env.TICKER.id_from_string("b" * 64)
