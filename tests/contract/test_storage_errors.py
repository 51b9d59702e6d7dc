"""The error contract of every store: a store that fails (a closed or damaged SQLite file, a
Redis server that cannot be reached) raises :class:`StorageError` naming the store and the
call, from every method; a failed write counts once in the backend's ``failed_writes``, a failed
read not at all. The memory backend cannot fail, so it is not here."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from runtime.backends import open_backend
from runtime.backends.base import Alarm, Backend, NewMessage, Retry
from runtime.errors import StorageError
from tests.backends import BACKENDS, backend_url

pytestmark = pytest.mark.anyio

MESSAGES = [NewMessage(f"m{i}", b"{}", "json", 100, 100) for i in range(3)]
ALARM = Alarm("ns", "actor", None, 100)
#: The methods that only read, whose failure loses nothing.
READS = {
    "queues": {"stats", "next_visible", "peek", "queues"},
    "kv": {"get", "list", "count"},
    "state": {"get", "list", "get_alarm", "next_alarm", "last_fire", "last_fires", "actors", "actor_owners"},
}
#: (store, method, a call of it on a backend); every method of every store interface.
CALLS: list[tuple[str, str, Callable[[Backend], Awaitable[Any]]]] = [
    ("queues", "send", lambda b: b.queues.send("q", MESSAGES)),
    ("queues", "claim", lambda b: b.queues.claim("q", 10, 100, 130)),
    ("queues", "settle", lambda b: b.queues.settle("q", ["m0"], [Retry("m1", 120, "boom")])),
    ("queues", "settle_and_claim", lambda b: b.queues.settle_and_claim("q", ["m0"], [], 10, 100, 130)),
    ("queues", "dead_letter", lambda b: b.queues.dead_letter("q", "q-dlq", ["m0"], ["boom"])),
    ("queues", "extend", lambda b: b.queues.extend("q", ["m0"], 200)),
    ("queues", "release", lambda b: b.queues.release("q", ["m0"], 100)),
    ("queues", "stats", lambda b: b.queues.stats("q", 100, "q-dlq")),
    ("queues", "next_visible", lambda b: b.queues.next_visible("q")),
    ("queues", "peek", lambda b: b.queues.peek("q")),
    ("queues", "redrive", lambda b: b.queues.redrive("q-dlq", 100)),
    ("queues", "purge", lambda b: b.queues.purge("q")),
    ("queues", "queues", lambda b: b.queues.queues()),
    ("kv", "get", lambda b: b.kv.get("ns", "k", 100)),
    ("kv", "put", lambda b: b.kv.put("ns", "k", b"v", 200, None)),
    ("kv", "delete", lambda b: b.kv.delete("ns", "k")),
    ("kv", "list", lambda b: b.kv.list("ns", "a😀", None, 10, 100)),
    ("kv", "sweep", lambda b: b.kv.sweep(100)),
    ("kv", "count", lambda b: b.kv.count("ns", 100)),
    ("state", "get", lambda b: b.state.get("ns", "actor", ["k"])),
    ("state", "put", lambda b: b.state.put("ns", "actor", {"k": "1", "é": "2"})),
    ("state", "delete", lambda b: b.state.delete("ns", "actor", ["k"])),
    ("state", "delete_all", lambda b: b.state.delete_all("ns", "actor")),
    ("state", "list", lambda b: b.state.list("ns", "actor", prefix="a")),
    ("state", "get_alarm", lambda b: b.state.get_alarm("ns", "actor")),
    ("state", "set_alarm", lambda b: b.state.set_alarm("ns", "actor", None, 100)),
    ("state", "delete_alarm", lambda b: b.state.delete_alarm("ns", "actor")),
    ("state", "claim_alarms", lambda b: b.state.claim_alarms(100, 130)),
    ("state", "finish_alarm", lambda b: b.state.finish_alarm(ALARM, None)),
    ("state", "next_alarm", lambda b: b.state.next_alarm()),
    ("state", "claim_fire", lambda b: b.state.claim_fire("nightly", 3600, 3601)),
    ("state", "last_fire", lambda b: b.state.last_fire("nightly")),
    ("state", "claim_fires", lambda b: b.state.claim_fires([("nightly", 3600), ("hourly", 3600)], 3601)),
    ("state", "last_fires", lambda b: b.state.last_fires(["nightly", "hourly"])),
    ("state", "actors", lambda b: b.state.actors("ns")),
    ("state", "own_actor", lambda b: b.state.own_actor("ns", "actor", "p1", 100, 30)),
    ("state", "disown_actor", lambda b: b.state.disown_actor("ns", "actor", "p1")),
    ("state", "actor_owners", lambda b: b.state.actor_owners("ns", 100)),
]
BROKEN = [k for k in ("sqlite", "redis", "redis-pool") if k.removesuffix("-pool") in BACKENDS]


def test_the_table_covers_every_method_of_every_store() -> None:
    from runtime.backends.base import KvStore, QueueStore, StateStore

    optional = {"leave_idle"}  # a hint with nothing to fail when the loop never waited
    for store, interface in (("queues", QueueStore), ("kv", KvStore), ("state", StateStore)):
        public = {n for n in dir(interface) if not n.startswith("_") and callable(getattr(interface, n))}
        assert {m for s, m, _ in CALLS if s == store} == public - optional, store
        assert READS[store] == interface.READS, store  # what the backends count is what is tested here


async def break_redis(backend: Any) -> None:
    """Point every connection of a Redis backend at a port where nothing listens, without the
    client's retries and their back-off (a lost server: each call fails at once)."""
    from redis.asyncio.retry import Retry as RedisRetry
    from redis.backoff import NoBackoff

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    pool = backend._client.connection_pool
    pool.connection_kwargs.update(port=dead, retry=RedisRetry(NoBackoff(), 0))
    await pool.disconnect()
    pool.reset()  # forget the connections made: new ones go to the dead port
    if backend._fast is not None:
        backend._fast.close()
        backend._fast.port = dead


@pytest.fixture(params=[pytest.param(k, marks=[pytest.mark.redis] if "redis" in k else []) for k in BROKEN])
async def broken(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Backend]:
    """An opened backend whose storage then fails."""
    kind = str(request.param)
    if kind == "redis-pool":
        import runtime.backends.redis

        monkeypatch.setattr(runtime.backends.redis, "_fast_connection", lambda client: None)
    backend = open_backend(backend_url(kind.removesuffix("-pool"), tmp_path))
    await backend.open()
    if kind == "sqlite":
        backend._conn.close()  # type: ignore[attr-defined]
    else:
        await break_redis(backend)
    yield backend
    await backend.close()


@pytest.mark.parametrize(("store", "method", "call"), CALLS, ids=[f"{s}.{m}" for s, m, _ in CALLS])
async def test_a_failing_store_raises_storage_error_and_counts_writes_once(
    broken: Backend, store: str, method: str, call: Callable[[Backend], Awaitable[Any]]
) -> None:
    with pytest.raises(StorageError) as raised:
        await call(broken)
    message = str(raised.value)
    assert "state database" in message or "Redis" in message
    assert broken.failed_writes == (0 if method in READS[store] else 1)


async def test_a_damaged_state_file_fails_reads_without_counting_them(tmp_path: Path) -> None:
    """A state file overwritten under a running backend (a disk gone bad, a copy over it)."""
    backend = open_backend(backend_url("sqlite", tmp_path))
    await backend.open()
    try:
        for i in range(200):  # several pages, so reads must go to the file
            await backend.kv.put("ns", f"key-{i:04d}", b"x" * 500, None, None)
        backend._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[attr-defined]
        path = tmp_path / "state.db"
        damaged = bytearray(path.read_bytes())
        damaged[4096:] = b"\xa5" * (len(damaged) - 4096)  # every page after the first
        path.write_bytes(bytes(damaged))
        backend._conn.execute("PRAGMA cache_size = 0")  # type: ignore[attr-defined]
        with pytest.raises(StorageError, match=r"state database .*: list failed"):
            await backend.kv.list("ns", "key-", None, 1000, 100)
        assert backend.failed_writes == 0
        with pytest.raises(StorageError):
            await backend.kv.put("ns", "after", b"v", None, None)
        assert backend.failed_writes == 1
    finally:
        await backend.close()


async def test_a_failed_group_commit_counts_each_writer_once(tmp_path: Path) -> None:
    """Concurrent writes share a commit: when it fails, each caller was told, and counts once,
    however many rows its write had."""
    import asyncio
    import time

    backend = open_backend(backend_url("sqlite", tmp_path))
    await backend.open()
    try:
        backend._conn.close()  # type: ignore[attr-defined]
        backend.writes._grouped_at = time.perf_counter()  # type: ignore[attr-defined] # writers are concurrent
        results = await asyncio.gather(
            backend.kv.put("ns", "a", b"1", None, None),
            backend.queues.send("q", MESSAGES),
            backend.kv.delete("ns", "b"),
            return_exceptions=True,
        )
        assert [type(r) for r in results] == [StorageError] * 3
        assert backend.failed_writes == 3  # 5 rows
    finally:
        await backend.close()
