"""Queue benchmark: the runtime against Huey (SqliteHuey) and raw sqlite3, in the same run.

    python bench/queue.py [--messages 10000] [--rounds 3]

1. End to end: send N messages one by one (each durable on SQLite), then process them with a
   no-op Each handler. Huey does the same with a no-op task and one worker thread; raw sqlite3
   inserts one row per transaction, then claims 10 at a time with UPDATE ... RETURNING and
   deletes them.
2. Idle send -> handler start, same process, 300 samples with the app idle between sends.
3. CPU used by an idle app over 5 s.
4. Resident memory of a process whose app holds 100,000 queued messages (a child process).
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
import os
import sqlite3
import subprocess
import tempfile
import threading
import time

from common import median, peak_rss_mb, percentile

from runtime import App

APP = Path(__file__).parent / "apps" / "noop" / "raindrop.manifest"


async def runtime_end_to_end(n: int, folder: Path) -> tuple[float, float, float]:
    app = App.from_manifest(APP, state_dir=folder)
    async with app:
        queue = app.env.WORK
        start = time.perf_counter()
        # Sends and processing overlap, as in real use; the clock stops when the queue is empty.
        for i in range(n):
            await queue.send({"i": i})
        sent = time.perf_counter()
        await app.drain()
        done = time.perf_counter()
    return sent - start, done - sent, done - start


def huey_end_to_end(n: int, folder: Path) -> float:
    from huey import SqliteHuey
    from huey.consumer import Consumer

    huey = SqliteHuey(filename=str(folder / "huey.db"))
    finished = threading.Event()
    count = [0]

    @huey.task()
    def noop(i: int) -> None:
        count[0] += 1
        if count[0] == n:
            finished.set()

    start = time.perf_counter()
    for i in range(n):
        noop(i)
    consumer = Consumer(huey, workers=1, worker_type="thread", periodic=False, initial_delay=0.001, max_delay=0.01)
    consumer.start()  # worker threads; signal handlers need the main thread
    finished.wait(timeout=300)
    elapsed = time.perf_counter() - start
    consumer.stop(graceful=False)
    return elapsed


def raw_sqlite_end_to_end(n: int, folder: Path) -> float:
    conn = sqlite3.connect(folder / "raw.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, body BLOB, visible_at REAL, attempts INT DEFAULT 0)")
    conn.execute("CREATE INDEX q_ready ON q (visible_at)")
    start = time.perf_counter()
    for i in range(n):
        conn.execute("INSERT INTO q (body, visible_at) VALUES (?, ?)", (b'{"i":%d}' % i, time.time()))
    while True:
        rows = conn.execute(
            "UPDATE q SET attempts = attempts + 1, visible_at = ? WHERE id IN "
            "(SELECT id FROM q WHERE visible_at <= ? ORDER BY visible_at LIMIT 10) RETURNING id, body",
            (time.time() + 30, time.time()),
        ).fetchall()
        if not rows:
            break
        conn.execute(f"DELETE FROM q WHERE id IN ({','.join(str(r[0]) for r in rows)})")
    return time.perf_counter() - start


async def idle_latency(folder: Path, samples: int = 300) -> list[float]:
    app = App.from_manifest(APP, state_dir=folder)
    async with app:
        handler = app.queues.consumers["noop"].handler
        starts: list[float] = sys.modules[type(handler).__module__].STARTS  # the module the app loaded
        latencies = []
        for i in range(samples):
            await asyncio.sleep(0.005)  # idle: the consumer is asleep
            before = len(starts)
            t0 = time.perf_counter()
            await app.env.WORK.send({"i": i})
            while len(starts) == before:
                if time.perf_counter() - t0 > 5:
                    raise RuntimeError("the handler did not start within 5 s")
                await asyncio.sleep(0)
            latencies.append((starts[-1] - t0) * 1000)
    return latencies


async def idle_cpu(folder: Path, seconds: float = 5.0) -> float:
    app = App.from_manifest(APP, state_dir=folder)
    async with app:
        await asyncio.sleep(0.5)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        return (time.process_time() - cpu0) / (time.perf_counter() - wall0)


def rss_child(folder: str) -> None:
    async def go() -> None:
        app = App.from_manifest(APP, state_dir=folder)
        async with app:
            stats = (await app.queue_stats())["parked"]
            await asyncio.sleep(1.0)
            print(f"{stats.depth} {peak_rss_mb():.1f}")

    asyncio.run(go())


async def fill_parked(folder: Path, n: int) -> None:
    app = App.from_manifest(APP, state_dir=folder)
    async with app:
        for start in range(0, n, 100):
            await app.env.PARKED.send_batch([{"body": {"i": i, "pad": "x" * 100}} for i in range(start, start + 100)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("lat", "cpu", "rss"):
            (root / name).mkdir()
        # The three alternate, round after round, each in a fresh folder; each keeps its best
        # round (this machine's speed drifts by tens of percent from second to second).
        rounds = []
        for r in range(args.rounds):
            for name in ("rt", "huey", "raw"):
                (root / f"{name}{r}").mkdir()
            runtime_times = asyncio.run(runtime_end_to_end(n, root / f"rt{r}"))
            rounds.append(
                (runtime_times, huey_end_to_end(n, root / f"huey{r}"), raw_sqlite_end_to_end(n, root / f"raw{r}"))
            )
        send_s, process_s, total_s = min((times for times, _, _ in rounds), key=lambda times: times[2])
        huey_s = min(huey for _, huey, _ in rounds)
        raw_s = min(raw for _, _, raw in rounds)
        latencies = asyncio.run(idle_latency(root / "lat"))
        cpu = asyncio.run(idle_cpu(root / "cpu"))
        asyncio.run(fill_parked(root / "rss", 100_000))
        child = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(root / "rss")], capture_output=True, text=True, check=True
        )
        depth, rss = child.stdout.split()
    rate, huey_rate, raw_rate = n / total_s, n / huey_s, n / raw_s
    print(
        f"queue end to end, {n} no-op messages, durable on SQLite (WAL, synchronous=NORMAL), best of {args.rounds} rounds"
    )
    print(f"  runtime        {rate:9.0f} msg/s  (send {n / send_s:.0f}/s, then process {n / process_s:.0f}/s)")
    print(f"  Huey SqliteHuey{huey_rate:9.0f} msg/s  -> runtime is {rate / huey_rate:.1f}x Huey (target >= 10x)")
    print(f"  raw sqlite3    {raw_rate:9.0f} msg/s  -> runtime is {rate / raw_rate:.2f}x raw sqlite3")
    pairs = ", ".join(f"{huey / times[2]:.1f}x" for times, huey, _ in rounds)
    print(f"  runtime / Huey round by round: {pairs}")
    print(f"idle send -> handler start, {len(latencies)} samples")
    print(f"  median {median(latencies):.3f} ms, p99 {percentile(latencies, 0.99):.3f} ms (targets < 1 ms, < 5 ms)")
    print(f"idle app CPU: {cpu * 100:.2f}% of a core (target < 1%)")
    print(f"resident memory with {depth} queued messages in the state: {rss} MB peak (target < 150 MB)")
    print(f"this benchmark process peak RSS: {peak_rss_mb():.1f} MB; pid {os.getpid()}")


if __name__ == "__main__":
    main()
