"""The SQLite group commit: concurrent writes share commits, each returns only once committed,
a cancelled writer leaves the others be, and a failed commit reaches every writer of it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from runtime import App
from runtime.backends.commits import MAX_ROWS_PER_STATEMENT, GroupCommit, _multi_row
from runtime.backends.sqlite import _KV_UPSERT, SqliteBackend
from runtime.errors import StorageError

pytestmark = pytest.mark.anyio
MANIFEST = Path(__file__).parent / "apps" / "jobs" / "raindrop.manifest"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[App]:
    instance = App.from_manifest(MANIFEST, backend=f"sqlite:///{tmp_path / 'state.db'}")
    async with instance:
        yield instance


@pytest.fixture
def commits(app: App, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of rows of every commit the app's group commit makes."""
    backend = app.backend
    assert isinstance(backend, SqliteBackend)
    sizes: list[int] = []
    original = GroupCommit._run

    def counted(self: GroupCommit, statements: list[tuple[str, list[tuple[Any, ...]], str]]) -> None:
        original(self, statements)
        sizes.append(sum(len(rows) for _, rows, _ in statements))

    monkeypatch.setattr(GroupCommit, "_run", counted)
    return sizes


def stored(tmp_path: Path) -> dict[str, bytes]:
    """What another connection reads: only committed rows."""
    with sqlite3.connect(tmp_path / "state.db") as other:
        return dict(other.execute("SELECT key, value FROM kv"))


async def test_concurrent_puts_share_commits_and_each_returns_committed(
    app: App, tmp_path: Path, commits: list[int]
) -> None:
    kv = app.env.RESULTS
    seen_committed: list[bool] = []

    async def writer(w: int) -> None:
        for i in range(20):
            key = f"w{w:02d}-{i:02d}"
            await kv.put(key, f"{w}:{i}")
            seen_committed.append(key in stored(tmp_path))  # another process would see it now

    await asyncio.gather(*(writer(w) for w in range(50)))
    assert len(seen_committed) == 1000 and all(seen_committed)
    assert sum(commits) == 1000
    assert len(commits) < 200, f"1,000 concurrent puts took {len(commits)} commits"
    assert max(commits) >= 25


async def test_a_cancelled_writer_leaves_the_others_of_its_group_be(app: App, tmp_path: Path) -> None:
    kv = app.env.RESULTS
    await asyncio.gather(*(kv.put(f"warm{i}", "x") for i in range(5)))  # writers are concurrent now
    tasks = [asyncio.create_task(kv.put(f"k{i}", f"v{i}")) for i in range(10)]
    await asyncio.sleep(0)  # every writer has joined the turn's group and awaits its commit
    tasks[3].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[3], asyncio.CancelledError)
    assert [r for i, r in enumerate(results) if i != 3] == [None] * 9
    # The cancelled write had joined the group: it is committed with the others.
    assert {f"k{i}" for i in range(10)} <= stored(tmp_path).keys()


async def test_two_cancelled_writers_of_one_group(app: App, tmp_path: Path) -> None:
    kv = app.env.RESULTS
    await asyncio.gather(*(kv.put(f"warm{i}", "x") for i in range(5)))
    tasks = [asyncio.create_task(kv.put(f"k{i}", f"v{i}")) for i in range(6)]
    await asyncio.sleep(0)
    tasks[0].cancel()
    tasks[5].cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["CancelledError"] + ["NoneType"] * 4 + ["CancelledError"]
    assert {f"k{i}" for i in range(6)} <= stored(tmp_path).keys()


async def test_a_group_of_any_size_keeps_the_last_write_of_each_key(
    app: App, tmp_path: Path, commits: list[int]
) -> None:
    kv = app.env.RESULTS
    await asyncio.gather(*(kv.put(f"warm{i}", "x") for i in range(5)))
    for size in (2, 3, 7, 64, 255, 256, 257, 600):
        commits.clear()
        # Each key is written three times in one group; the last write wins.
        await asyncio.gather(*(kv.put(f"s{size}-{i % (size // 3 + 1)}", f"{i}") for i in range(size)))
        assert sum(commits) == size and len(commits) <= 2
        data = stored(tmp_path)
        for i in range(size):
            key = f"s{size}-{i % (size // 3 + 1)}"
            last = max(j for j in range(size) if j % (size // 3 + 1) == i % (size // 3 + 1))
            assert data[key] == str(last).encode(), (size, key)


async def test_a_failed_group_commit_reaches_every_writer_and_keeps_nothing_of_it(app: App, tmp_path: Path) -> None:
    backend = app.backend
    assert isinstance(backend, SqliteBackend)
    kv = app.env.RESULTS
    await asyncio.gather(*(kv.put(f"warm{i}", "x") for i in range(5)))
    good = [asyncio.create_task(kv.put(f"g{i}", "fine")) for i in range(4)]
    await asyncio.sleep(0)  # the four have formed the turn's group; a bad write joins it
    bad = backend.writes.write(_KV_UPSERT, [(kv.name, "poison", None, None, None)], "KV put")  # value NOT NULL
    results = await asyncio.gather(*good, bad, return_exceptions=True)
    assert all(isinstance(r, StorageError) for r in results), results
    assert "5 write(s) (KV put) were not stored" in str(results[0])
    assert not {"g0", "g1", "g2", "g3", "poison"} & stored(tmp_path).keys()
    await kv.put("after", "works")  # the next commit goes through
    assert await kv.get("after") == "works" and await kv.get("warm0") == "x"


def test_multi_row_forms() -> None:
    assert _multi_row("DELETE FROM kv WHERE ns = ? AND key = ?", 2) is None
    assert _multi_row("INSERT INTO t (a, b) SELECT ?, ? FROM x", 2) is None
    assert _multi_row("INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO NOTHING", 3) == (
        "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?) ON CONFLICT (a) DO NOTHING"
    )
    assert MAX_ROWS_PER_STATEMENT * 6 < 32766  # the widest row (a queue send) fits SQLite's variable limit


async def test_a_write_sqlite_cannot_bind_fails_its_group_and_leaves_no_writer_waiting(
    app: App, tmp_path: Path
) -> None:
    backend = app.backend
    assert isinstance(backend, SqliteBackend)
    kv = app.env.RESULTS
    await asyncio.gather(*(kv.put(f"warm{i}", "x") for i in range(5)))
    good = [asyncio.create_task(kv.put(f"g{i}", "fine")) for i in range(3)]
    await asyncio.sleep(0)
    # A row no SQLite binding takes (text with a lone surrogate, a 2**70 number): not an sqlite3 error.
    bad = backend.writes.write(_KV_UPSERT, [(kv.name, "\ud800", b"v", None, None)], "KV put")
    huge = backend.writes.write(_KV_UPSERT, [(kv.name, "big", b"v", None, 2**70)], "KV put")
    results = await asyncio.wait_for(asyncio.gather(*good, bad, huge, return_exceptions=True), timeout=5)
    assert all(isinstance(r, StorageError) for r in results), results
    assert not {"g0", "g1", "g2", "big"} & stored(tmp_path).keys()
    await kv.put("after", "works")
    assert await kv.get("after") == "works"
