"""KV benchmark: the public async API against raw sqlite3 on the same schema, same run.

    python bench/kv.py [--ops 50000]

- get: point reads of existing keys (the platform's hot path: cache hits).
- put: upserts with an expiry, one transaction each (as the runtime does them).
- memory: resident memory of a child process whose app holds 1,000,000 live keys and serves
  reads and a list from them.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py and bench/queue.py would shadow the standard library's http and queue modules:
# move this folder from the front of sys.path to the back (common.py is still found).
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import asyncio
import random
import sqlite3
import subprocess
import tempfile
import time

from common import peak_rss_mb

from runtime import App
from runtime.backends.sqlite import SCHEMA, connect

APP = Path(__file__).parent / "apps" / "noop" / "raindrop.manifest"
KEYS = 10_000


def raw(folder: Path, ops: int) -> tuple[float, float]:
    conn = connect(folder / "raw.db")
    conn.executescript(SCHEMA)
    now = time.time()
    keys = [f"user:{i:06d}" for i in range(KEYS)]
    start = time.perf_counter()
    for i in range(ops):
        conn.execute(
            "INSERT INTO kv (ns, key, value, metadata, expires_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, "
            "expires_at = excluded.expires_at",
            ("cache", keys[i % KEYS], b"value-%d" % i, None, now + 3600),
        )
    put_rate = ops / (time.perf_counter() - start)
    order = [random.choice(keys) for _ in range(ops)]
    start = time.perf_counter()
    for key in order:
        row = conn.execute(
            "SELECT value, metadata, expires_at FROM kv WHERE ns = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)",
            ("cache", key, now),
        ).fetchone()
        assert row is not None
        row[0].decode()
    get_rate = ops / (time.perf_counter() - start)
    return get_rate, put_rate


async def runtime(folder: Path, ops: int) -> tuple[float, float, float]:
    app = App.from_manifest(APP, state_dir=folder)
    async with app:
        kv = app.env.CACHE
        keys = [f"user:{i:06d}" for i in range(KEYS)]
        # Each put in its own event-loop turn (as when a handler awaits I/O between puts):
        # one commit per put, the same work as the raw baseline.
        start = time.perf_counter()
        for i in range(ops):
            await kv.put(keys[i % KEYS], f"value-{i}", expiration_ttl=3600)
            await asyncio.sleep(0)
        put_rate = ops / (time.perf_counter() - start)
        # A burst of puts in one turn: group-committed in one transaction (timed to the commit).
        start = time.perf_counter()
        for i in range(ops):
            await kv.put(keys[i % KEYS], f"burst-{i}", expiration_ttl=3600)
        await asyncio.sleep(0)
        burst_rate = ops / (time.perf_counter() - start)
        assert not app.backend.kv._pending  # type: ignore[attr-defined]  # reads below hit SQLite
        order = [random.choice(keys) for _ in range(ops)]
        start = time.perf_counter()
        for key in order:
            assert await kv.get(key) is not None
        get_rate = ops / (time.perf_counter() - start)
    return get_rate, put_rate, burst_rate


def fill_million(folder: Path) -> None:
    conn = sqlite3.connect(folder / "state.db")
    conn.executescript(SCHEMA)
    now = time.time()
    with conn:
        conn.executemany(
            "INSERT INTO kv (ns, key, value, metadata, expires_at) VALUES ('cache', ?, ?, NULL, ?)",
            ((f"key:{i:07d}", b"v" * 64, now + 86_400 if i % 2 else None) for i in range(1_000_000)),
        )
    conn.close()


def rss_child(folder: str) -> None:
    async def go() -> None:
        app = App.from_manifest(APP, state_dir=folder)
        async with app:
            kv = app.env.CACHE
            for i in range(0, 1_000_000, 997):
                assert await kv.get(f"key:{i:07d}") is not None
            page = await kv.list(prefix="key:05")
            count = await app.backend.kv.count("cache", app.clock.time())
            print(f"{count} {len(page['keys'])} {peak_rss_mb():.1f}")

    asyncio.run(go())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=50_000)
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("raw", "rt", "big"):
            (root / name).mkdir()
        raw_get, raw_put = raw(root / "raw", args.ops)
        rt_get, rt_put, rt_burst = asyncio.run(runtime(root / "rt", args.ops))
        fill_million(root / "big")
        child = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(root / "big")], capture_output=True, text=True, check=True
        )
        count, listed, rss = child.stdout.split()
    print(f"KV on SQLite (WAL, synchronous=NORMAL), {args.ops} operations over {KEYS} keys")
    print(
        f"  get  runtime {rt_get:9.0f}/s   raw sqlite3 {raw_get:9.0f}/s   ratio {rt_get / raw_get:.2f} (target >= 0.5)"
    )
    print(
        f"  put  runtime {rt_put:9.0f}/s   raw sqlite3 {raw_put:9.0f}/s   ratio {rt_put / raw_put:.2f} (one commit per put)"
    )
    print(
        f"  put  runtime {rt_burst:9.0f}/s   raw sqlite3 {raw_put:9.0f}/s   ratio {rt_burst / raw_put:.2f} "
        "(a burst in one loop turn, group-committed; target >= 1.0)"
    )
    print(f"resident memory serving {count} live keys (list page of {listed}): {rss} MB peak (target < 150 MB)")


if __name__ == "__main__":
    main()
