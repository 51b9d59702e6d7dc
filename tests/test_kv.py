"""The KV binding, on every backend, with the fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime import App, FakeClock
from runtime.errors import BindingError, LimitError
from runtime.kv import KvCache
from tests.backends import BACKENDS, backend_url

pytestmark = pytest.mark.anyio
MANIFEST = Path(__file__).parent / "apps" / "jobs" / "raindrop.manifest"


@pytest.fixture(params=BACKENDS)
async def app(request: pytest.FixtureRequest, tmp_path: Path, raindrop_clock: FakeClock) -> AsyncIterator[App]:
    instance = App.from_manifest(MANIFEST, clock=raindrop_clock, backend=backend_url(request.param, tmp_path))
    async with instance:
        yield instance


@pytest.fixture
def kv(app: App) -> KvCache:
    cache = app.env.RESULTS
    assert isinstance(cache, KvCache)
    return cache


async def test_text_json_bytes(kv: KvCache) -> None:
    await kv.put("t", "héllo")
    await kv.put("j", '{"a": [1, 2]}')
    await kv.put("b", b"\x00\xff")
    assert await kv.get("t") == "héllo"
    assert await kv.get("j", type="json") == {"a": [1, 2]}
    assert await kv.get("b", type="bytes") == b"\x00\xff"
    assert await kv.get("t", type="bytes") == "héllo".encode()
    assert await kv.get("missing") is None
    with pytest.raises(BindingError, match="not valid JSON"):
        await kv.get("t", type="json")
    with pytest.raises(BindingError, match="type must be"):
        await kv.get("t", type="stream")  # type: ignore[arg-type]
    with pytest.raises(BindingError, match=r"json\.dumps"):
        await kv.put("d", {"a": 1})  # type: ignore[arg-type]


async def test_metadata(kv: KvCache) -> None:
    await kv.put("k", "v", metadata={"owner": "u1", "n": 2})
    assert await kv.get_with_metadata("k") == {"value": "v", "metadata": {"owner": "u1", "n": 2}, "cache_status": None}
    assert await kv.get_with_metadata("nope") == {"value": None, "metadata": None, "cache_status": None}
    with pytest.raises(LimitError, match="1024"):
        await kv.put("k", "v", metadata={"x": "y" * 2000})


async def test_ttl_and_expiration_never_return_expired(kv: KvCache, raindrop_clock: FakeClock) -> None:
    now = raindrop_clock.time()
    await kv.put("ttl", "a", expiration_ttl=60)
    await kv.put("abs", "b", expiration=now + 120)
    listed = (await kv.list())["keys"]
    assert [(k["name"], k["expiration"]) for k in listed] == [("abs", int(now + 120)), ("ttl", int(now + 60))]
    raindrop_clock.advance(59.9)
    assert await kv.get("ttl") == "a"
    raindrop_clock.advance(0.1)
    assert await kv.get("ttl") is None
    assert [k["name"] for k in (await kv.list())["keys"]] == ["abs"]
    raindrop_clock.advance(60)
    assert await kv.get("abs") is None and (await kv.list())["keys"] == []


async def test_platform_limits(kv: KvCache, raindrop_clock: FakeClock) -> None:
    with pytest.raises(LimitError, match="minimum is 60 s"):
        await kv.put("k", "v", expiration_ttl=30)
    with pytest.raises(LimitError, match="less than 60 s from now"):
        await kv.put("k", "v", expiration=raindrop_clock.time() + 10)
    with pytest.raises(LimitError, match="512"):
        await kv.put("k" * 513, "v")
    with pytest.raises(LimitError, match="25 MiB"):
        await kv.put("k", b"x" * (25 * 1024 * 1024 + 1))
    with pytest.raises(LimitError, match="at most 1000"):
        await kv.list(limit=1001)
    with pytest.raises(BindingError, match="not both"):
        await kv.put("k", "v", expiration=raindrop_clock.time() + 100, expiration_ttl=100)
    with pytest.raises(BindingError, match="empty"):
        await kv.get("")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"expiration_ttl": float("nan")},
        {"expiration_ttl": float("inf")},
        {"expiration": float("nan")},
        {"expiration": float("inf")},
    ],
)
async def test_expiry_that_is_not_a_finite_number_is_refused(kv: KvCache, kwargs: dict[str, float]) -> None:
    with pytest.raises(BindingError, match=r"not (nan|inf)"):
        await kv.put("k", "v", **kwargs)  # type: ignore[arg-type]
    assert await kv.get("k") is None


async def test_text_that_is_not_unicode_is_refused_by_name(kv: KvCache) -> None:
    for key, value in (("\ud800", "v"), ("k" * 200 + "\udfff", "v"), ("k", "\ud800")):
        with pytest.raises(BindingError, match="not valid Unicode text"):
            await kv.put(key, value)
    await kv.put("k", "fine")  # nothing was left pending by the refused writes
    assert await kv.get("k") == "fine"


async def test_limits_can_be_lifted(app: App, raindrop_clock: FakeClock) -> None:
    relaxed = KvCache("relaxed", app.backend.kv, raindrop_clock, enforce_limits=False)
    await relaxed.put("k" * 600, "v", expiration_ttl=5)
    assert await relaxed.get("k" * 600) == "v"
    raindrop_clock.advance(5)
    assert await relaxed.get("k" * 600) is None


async def test_list_pages_through_a_large_key_set_with_cursors(kv: KvCache) -> None:
    for i in range(2500):
        await kv.put(f"user:{i:05d}", "v")
    await kv.put("other", "v")
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await kv.list(prefix="user:", cursor=cursor)
        pages += 1
        seen += [k["name"] for k in page["keys"]]
        if page["list_complete"]:
            assert page["cursor"] is None
            break
        cursor = page["cursor"]
        assert isinstance(cursor, str)
    assert pages == 3 and seen == [f"user:{i:05d}" for i in range(2500)]
    small = await kv.list(prefix="user:", limit=2)
    assert [k["name"] for k in small["keys"]] == ["user:00000", "user:00001"] and not small["list_complete"]
    with pytest.raises(BindingError, match="cursor"):
        await kv.list(cursor="%%%not-a-cursor")


async def test_delete(kv: KvCache) -> None:
    await kv.put("k", "v")
    await kv.delete("k")
    await kv.delete("k")
    assert await kv.get("k") is None


async def test_background_sweep_removes_expired_entries(app: App, kv: KvCache, raindrop_clock: FakeClock) -> None:
    await kv.put("short", "v", expiration_ttl=60)
    await kv.put("long", "v")
    raindrop_clock.advance(61)  # the sweeper runs every 60 s of (fake) time
    for _ in range(100):
        if await app.backend.kv.count("results", 0) == 1:
            break
        await __import__("asyncio").sleep(0.001)
    assert await app.backend.kv.count("results", 0) == 1


async def test_sqlite_writes_are_committed_at_the_end_of_the_turn(tmp_path: Path, raindrop_clock: FakeClock) -> None:
    import asyncio
    import sqlite3

    url = backend_url("sqlite", tmp_path)
    app = App.from_manifest(MANIFEST, clock=raindrop_clock, backend=url)
    async with app:
        await app.env.RESULTS.put("a", "1")
        await app.env.RESULTS.delete("never-there")
        assert await app.env.RESULTS.get("a") == "1"  # this process reads its own write at once
        await asyncio.sleep(0)
        other = sqlite3.connect(tmp_path / "state.db")
        assert other.execute("SELECT value FROM kv WHERE key = 'a'").fetchone() == (b"1",)
        await app.env.RESULTS.put("b", "2")
        await app.env.RESULTS.delete("a")
        assert await app.env.RESULTS.get("a") is None
    # Closing commits what was pending.
    assert other.execute("SELECT key FROM kv ORDER BY key").fetchall() == [("b",)]


async def test_every_env_has_mem_a_kv_namespace_of_its_own(app: App, tmp_path: Path) -> None:
    """The platform's generated Env has ``mem: KvCache`` on every module; here it is a namespace
    of its own (no declared kv_cache shares its keys) and durable like any other."""
    mem = app.env.mem
    assert isinstance(mem, KvCache) and "mem" in dir(app.env)
    await mem.put("session:1", "ada", expiration_ttl=120)
    await app.env.RESULTS.put("session:1", "other")
    assert await mem.get("session:1") == "ada"
    assert [k["name"] for k in (await mem.list())["keys"]] == ["session:1"]


def test_the_mem_namespace_survives_a_restart_and_the_cli_reads_it(tmp_path: Path) -> None:
    import anyio

    from runtime.cli import main

    state = tmp_path / "state"

    async def write() -> None:
        async with App.from_manifest(MANIFEST, state_dir=state) as app:
            await app.env.mem.put("greeting", "hello")

    anyio.run(write)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["kv", "_mem", "get", "greeting", "--manifest", str(MANIFEST), "--state", str(state)])
    assert code == 0 and "hello" in out.getvalue()
