"""Costs that must not grow with a store's size, counted in SQLite VM steps (not timed).

bench/scale.py draws the curves; these pin the two found there: a claim scanned every message
sharing a visible_at, and a KV list page walked from the prefix to its cursor.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from runtime.backends.base import NewMessage
from runtime.backends.sqlite import SqliteBackend

pytestmark = pytest.mark.anyio


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[SqliteBackend]:
    instance = SqliteBackend(tmp_path / "state.db")
    await instance.open()
    yield instance
    await instance.close()


async def steps(conn: sqlite3.Connection, call: Callable[[], Awaitable[Any]]) -> int:
    """SQLite VM instructions ``call`` runs (the progress handler fires every 100)."""
    count = [0]

    def tick() -> int:
        count[0] += 1
        return 0

    conn.set_progress_handler(tick, 100)
    try:
        await call()
    finally:
        conn.set_progress_handler(None, 0)
    return count[0] * 100


def connection(backend: SqliteBackend) -> sqlite3.Connection:
    conn = backend._conn
    assert conn is not None
    return conn


async def test_a_kv_list_page_deep_in_a_namespace_costs_what_the_first_does(backend: SqliteBackend) -> None:
    conn = connection(backend)
    with conn:
        conn.executemany(
            "INSERT INTO kv (ns, key, value) VALUES ('c', ?, x'00')", ((f"user:{i:06d}",) for i in range(20_000))
        )
    first = await steps(conn, lambda: backend.kv.list("c", "user:", None, 100, time.time()))
    deep = await steps(conn, lambda: backend.kv.list("c", "user:", "user:019000", 100, time.time()))
    listed = await backend.kv.list("c", "user:", "user:019000", 100, time.time())
    assert [k.name for k in listed][:2] == ["user:019001", "user:019002"]
    assert deep < 3 * first, f"a page after 19,000 keys ran {deep} VM steps, the first page {first}"


async def test_a_claim_costs_the_same_whatever_the_backlog_sharing_its_visible_at(backend: SqliteBackend) -> None:
    now = time.time()

    async def fill(queue: str, n: int) -> None:
        await backend.queues.send(queue, [NewMessage(uuid.uuid4().hex, b"{}", "json", now, now) for _ in range(n)])

    await fill("small", 100)
    await fill("large", 20_000)
    conn = connection(backend)
    small = await steps(conn, lambda: backend.queues.claim("small", 10, now + 1, now + 30))
    large = await steps(conn, lambda: backend.queues.claim("large", 10, now + 1, now + 30))
    assert large < 3 * small, f"a claim of 10 from 20,000 ran {large} VM steps, from 100 {small}"
