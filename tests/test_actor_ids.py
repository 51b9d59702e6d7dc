"""Actor ids carry the signature of the class that made them, and state written with the ids
of earlier versions (64 hex digits, no signature) is rekeyed once when a backend opens it."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from runtime import App, BindingError, actor_ids
from tests.backends import REDIS, REDIS_UP, SKIP_REDIS, backend_url

pytestmark = pytest.mark.anyio

MANIFEST = """
application "ids" {
  actor "counter" {}
  actor "other" {}
}
"""
HANDLER = """
from runtime.handlers import Actor


class Counter(Actor):
    async def add(self, n: int) -> int:
        value = (await self.state.storage.get("n") or 0) + n
        await self.state.storage.put("n", value)
        return value

    async def arm(self, at_ms: int) -> None:
        await self.state.storage.set_alarm(at_ms)

    async def alarm_at(self) -> float | None:
        return await self.state.storage.get_alarm()

    async def alarm(self) -> None:
        pass


class Other(Counter):
    pass
"""


def old_id(namespace: str, name: str) -> str:
    """An id as runtimes before the signature computed it."""
    return hashlib.sha256(f"{namespace}\x00{name}".encode()).hexdigest()


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    root = tmp_path / "app"
    (root / "workers").mkdir(parents=True)
    for name in ("counter", "other"):
        (root / "workers" / f"{name}.py").write_text(HANDLER)
    (root / "raindrop.manifest").write_text(MANIFEST)
    return root / "raindrop.manifest"


def test_ids_are_signed_by_their_class_and_upgrade_is_idempotent() -> None:
    named = actor_ids.from_name("counter", b"alice")
    assert named == actor_ids.from_name("counter", b"alice") != actor_ids.from_name("other", b"alice")
    assert actor_ids.made_by("counter", named) and not actor_ids.made_by("other", named)
    fresh = actor_ids.unique("counter")
    assert actor_ids.made_by("counter", fresh) and not actor_ids.made_by("other", fresh)
    # an id of the earlier form keeps its first 16 bytes; its new form is the name's id now
    assert actor_ids.upgrade("counter", old_id("counter", "alice")) == named
    assert actor_ids.upgrade("counter", named) == named  # twice is once
    assert actor_ids.upgrade("counter", "not-an-id") == "not-an-id"
    for bad in ("b" * 63, "B" * 64, "g" * 64, 12):
        with pytest.raises(BindingError, match="is not an actor id"):
            actor_ids.made_by("counter", bad)


async def test_hand_typed_and_foreign_ids_are_refused(manifest: Path) -> None:
    async with App.from_manifest(manifest, backend="memory://") as app:
        counter, other = app.env.COUNTER, app.env.OTHER
        assert counter.id_from_string(str(counter.id_from_name("a"))) == counter.id_from_name("a")
        with pytest.raises(BindingError, match='not an id of actor "other": it was made by actor "counter"'):
            other.id_from_string(str(counter.new_unique_id()))
        with pytest.raises(BindingError, match="no actor class of this app made it"):
            counter.id_from_string("0" * 64)


def _make_old_sqlite(db: Path) -> None:
    """Turn a state file of this version back into what version 3 wrote: ids without signature."""
    new_to_old = {
        actor_ids.from_name(ns, name.encode()): old_id(ns, name) for ns in ("counter", "other") for name in ("a", "b")
    }
    conn = sqlite3.connect(db, isolation_level=None)
    conn.create_function("old", 1, lambda actor: new_to_old.get(actor, actor))
    for table in ("actor_storage", "actor_alarms", "actor_owners"):
        conn.execute(f"UPDATE {table} SET actor = old(actor) WHERE ns NOT LIKE 'mcp:%'")
    conn.execute("PRAGMA user_version=3")
    conn.close()


async def _fill(app: App, at_ms: int) -> None:
    for ns in (app.env.COUNTER, app.env.OTHER):
        for name, n in (("a", 1), ("b", 2)):
            assert await ns.get(ns.id_from_name(name)).add(n) == n
    await app.env.COUNTER.get(app.env.COUNTER.id_from_name("a")).arm(at_ms)


async def _check(app: App, at_ms: int) -> None:
    for ns, base in ((app.env.COUNTER, 10), (app.env.OTHER, 20)):
        for name, n in (("a", 1), ("b", 2)):
            assert await ns.get(ns.id_from_name(name)).add(base) == n + base  # the old state, under the new id
    assert await app.env.COUNTER.get(app.env.COUNTER.id_from_name("a")).alarm_at() == at_ms


async def test_sqlite_state_of_earlier_ids_is_rekeyed_once(manifest: Path, tmp_path: Path) -> None:
    url = backend_url("sqlite", tmp_path)
    at_ms = 4_102_444_800_000  # 2100: never due during the test
    async with App.from_manifest(manifest, backend=url) as app:
        await _fill(app, at_ms)
    db = tmp_path / "state.db"
    _make_old_sqlite(db)
    conn = sqlite3.connect(db)
    mcp_id = hashlib.sha256(b"mcp:tools").hexdigest()  # an MCP service's state: no class signs its id
    conn.execute("INSERT INTO actor_storage VALUES ('mcp:tools', ?, 'k', '1')", (mcp_id,))
    conn.commit()
    rows = conn.execute(
        "SELECT ns FROM actor_storage WHERE actor = ? ORDER BY ns", (old_id("counter", "a"),)
    ).fetchall()
    assert rows == [("counter",), ("~names:counter",)]  # its value, and its name for the dashboard
    conn.close()
    async with App.from_manifest(manifest, backend=url) as app:
        await _check(app, at_ms)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone() == (4,)
    assert conn.execute("SELECT actor FROM actor_storage WHERE ns = 'mcp:tools'").fetchall() == [(mcp_id,)]
    olds = [old_id(ns, name) for ns in ("counter", "other") for name in ("a", "b")]
    for table in ("actor_storage", "actor_alarms", "actor_owners"):
        marks = ",".join("?" * len(olds))
        assert conn.execute(f"SELECT count(*) FROM {table} WHERE actor IN ({marks})", olds).fetchone() == (0,)
    conn.close()


@pytest.mark.skipif(not REDIS_UP, reason=SKIP_REDIS)
async def test_redis_state_of_earlier_ids_is_rekeyed_once(manifest: Path, tmp_path: Path) -> None:
    url = backend_url("redis", tmp_path)
    prefix = url.split("prefix=")[1] + ":"
    at_ms = 4_102_444_800_000
    async with App.from_manifest(manifest, backend=url) as app:
        await _fill(app, at_ms)
    client = aioredis.from_url(REDIS)
    try:  # what an earlier version left: keys and alarm members under ids without signature
        for ns in ("counter", "other", "~names:counter", "~names:other"):
            real = ns.removeprefix("~names:")
            for name in ("a", "b"):
                new, old = actor_ids.from_name(real, name.encode()), old_id(real, name)
                for kind in ("actor", "owner", "epoch"):
                    if await client.exists(f"{prefix}{kind}:{ns}:{new}"):
                        await client.rename(f"{prefix}{kind}:{ns}:{new}", f"{prefix}{kind}:{ns}:{old}")
        new_member = f"counter\x00{actor_ids.from_name('counter', b'a')}"
        old_member = f"counter\x00{old_id('counter', 'a')}"
        score = await client.zscore(f"{prefix}alarms", new_member)
        info = await client.hget(f"{prefix}alarm-info", new_member)
        assert score is not None and info is not None
        await client.zrem(f"{prefix}alarms", new_member)
        await client.hdel(f"{prefix}alarm-info", new_member)
        await client.zadd(f"{prefix}alarms", {old_member: score})
        await client.hset(f"{prefix}alarm-info", old_member, info)
        await client.delete(f"{prefix}actor-ids")
        async with App.from_manifest(manifest, backend=url) as app:
            await _check(app, at_ms)
        assert await client.get(f"{prefix}actor-ids") == b"2"
        assert not [key async for key in client.scan_iter(match=f"{prefix}*{old_id('counter', 'a')}")]
    finally:
        await client.aclose()
