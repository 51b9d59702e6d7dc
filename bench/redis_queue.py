"""Redis queue benchmark: the runtime's worker processes against RQ, arq and Dramatiq on the same
Redis, in the same run.

    python bench/redis_queue.py [--jobs 5000]

For each system: start its workers (idle), then measure (a) idle send -> job start, 30 samples
with the system idle between them, (b) end to end one by one: enqueue N no-op jobs one at a
time, until the last has run, and (c) end to end in bulk: enqueue N jobs the fastest way the
system offers, until the last has run. Every job does the same work in Redis (INCR a counter), so completion is seen
the same way for all. Uses database 14 and flushes it between systems.
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
import statistics
import subprocess
import time
from collections.abc import Callable, Coroutine
from typing import Any

import redis
from common import new_loop

URL = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
ENV = {**os.environ, "BENCH_REDIS": URL, "PYTHONPATH": f"{HERE / 'apps'}:{os.environ.get('PYTHONPATH', '')}"}
R = redis.Redis.from_url(URL)


def wait_done(target: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while int(R.get("bench:done") or 0) < target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {R.get('bench:done')} of {target} jobs ran")
        time.sleep(0.002)


def measure(
    name: str,
    start_workers: Callable[[], list[subprocess.Popen[bytes]]],
    send: Callable[[bool], None],
    send_one_by_one: Callable[[int], None],
    send_bulk: Callable[[int], None],
    jobs: int,
) -> dict[str, float]:
    R.flushdb()
    workers = start_workers()
    try:
        time.sleep(2.0)  # let the workers start and go idle
        latencies = []
        for i in range(30):
            time.sleep(0.05)
            R.delete("bench:started")
            sent = time.time()
            send(True)
            wait_done(i + 1, 30)
            latencies.append((float(R.get("bench:started") or 0) - sent) * 1000)
        R.set("bench:done", 0)
        started = time.perf_counter()
        send_one_by_one(jobs)
        wait_done(jobs)
        elapsed = time.perf_counter() - started
        R.set("bench:done", 0)
        started = time.perf_counter()
        send_bulk(jobs)
        wait_done(jobs)
        bulk_elapsed = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
    return {
        "rate": jobs / elapsed,
        "bulk": jobs / bulk_elapsed,
        "p50": statistics.median(latencies),
        "p99": sorted(latencies)[-1],
    }


System = tuple[
    Callable[[], list[subprocess.Popen[bytes]]], Callable[[bool], None], Callable[[int], None], Callable[[int], None]
]


def blocking(
    loop: asyncio.AbstractEventLoop, produce: Callable[[int], Coroutine[Any, Any, None]]
) -> Callable[[int], None]:
    """An async producer (the runtime's, arq's) as the harness calls it; one loop run per measure."""
    return lambda jobs: loop.run_until_complete(produce(jobs))


def runtime_system(processes: int) -> System:
    manifest = HERE / "apps" / "redis_noop" / "raindrop.manifest"
    backend = f"{URL}?prefix=bench-runtime"

    def start() -> list[subprocess.Popen[bytes]]:
        return [
            subprocess.Popen(
                [sys.executable, "-m", "runtime", "worker", str(manifest), "--backend", backend, "--state", f"/tmp/bench-w{i}"],
                env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for i in range(processes)
        ]  # fmt: skip

    from runtime import App

    loop = new_loop()
    app = App.from_manifest(manifest, backend=backend, state_dir="/tmp/bench-producer")
    loop.run_until_complete(app.start(consume=False))

    def send(stamp: bool) -> None:
        loop.run_until_complete(app.env.WORK.send({"stamp": stamp}))

    async def one_by_one(jobs: int) -> None:
        for _ in range(jobs):
            await app.env.WORK.send({"stamp": False})

    async def batches(jobs: int) -> None:
        for start in range(0, jobs, 100):
            await app.env.WORK.send_batch([{"body": {"stamp": False}}] * min(100, jobs - start))

    return start, send, blocking(loop, one_by_one), blocking(loop, batches)


def rq_system() -> System:
    from rq import Queue

    queue = Queue("bench", connection=R)

    def start() -> list[subprocess.Popen[bytes]]:
        return [
            subprocess.Popen(
                [sys.executable, "-m", "rq.cli", "worker", "-w", "rq.worker.SimpleWorker", "--url", URL, "bench"],
                env=ENV,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ]

    def send(stamp: bool) -> None:
        import peers

        queue.enqueue(peers.rq_noop, stamp)

    def send_bulk(jobs: int) -> None:
        import peers

        for start in range(0, jobs, 100):  # enqueue_many: one Redis pipeline per 100 jobs
            queue.enqueue_many([Queue.prepare_data(peers.rq_noop, (False,)) for _ in range(min(100, jobs - start))])

    def one_by_one(jobs: int) -> None:
        for _ in range(jobs):
            send(False)

    return start, send, one_by_one, send_bulk


def arq_system() -> System:
    from arq import create_pool
    from arq.connections import RedisSettings

    loop = new_loop()
    pool = loop.run_until_complete(create_pool(RedisSettings.from_dsn(URL)))

    def start() -> list[subprocess.Popen[bytes]]:
        return [
            subprocess.Popen(
                [sys.executable, "-m", "arq", "peers.ArqSettings"],
                env=ENV,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ]

    def send(stamp: bool) -> None:
        loop.run_until_complete(pool.enqueue_job("arq_noop", stamp))

    async def one_by_one(jobs: int) -> None:
        for _ in range(jobs):
            await pool.enqueue_job("arq_noop", False)

    async def concurrently(jobs: int) -> None:
        for start in range(0, jobs, 100):  # no batch API: 100 enqueues in flight at once
            await asyncio.gather(*(pool.enqueue_job("arq_noop", False) for _ in range(min(100, jobs - start))))

    return start, send, blocking(loop, one_by_one), blocking(loop, concurrently)


def dramatiq_system() -> System:
    import peers

    def start() -> list[subprocess.Popen[bytes]]:
        return [
            subprocess.Popen(
                [sys.executable, "-m", "dramatiq", "peers", "--processes", "1", "--threads", "8"],
                env=ENV,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        ]

    def send(stamp: bool) -> None:
        peers.dramatiq_noop.send(stamp)

    def one_by_one(jobs: int) -> None:
        for _ in range(jobs):  # Dramatiq has no batch enqueue: one by one is its bulk way too
            peers.dramatiq_noop.send(False)

    return start, send, one_by_one, one_by_one


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    args = parser.parse_args()
    sys.path.append(str(HERE / "apps"))
    results = {}
    for name, factory in (
        ("runtime, 1 worker process", lambda: runtime_system(1)),
        ("runtime, 2 worker processes", lambda: runtime_system(2)),
        ("RQ (SimpleWorker)", rq_system),
        ("arq (poll 0.01 s)", arq_system),
        ("Dramatiq (8 threads)", dramatiq_system),
    ):
        start, send, one_by_one, bulk = factory()
        results[name] = measure(name, start, send, one_by_one, bulk, args.jobs)
    R.flushdb()
    best_peer = max(v["rate"] for k, v in results.items() if not k.startswith("runtime"))
    best_bulk = max(v["bulk"] for k, v in results.items() if not k.startswith("runtime"))
    print(f"no-op jobs on one Redis, {args.jobs} per measure; idle send -> start over 30 samples")
    print("  one by one: a producer loop enqueuing each job alone and waiting for it (async ones in one coroutine)")
    print("  bulk: each system's fastest enqueue (runtime send_batch of 100, RQ enqueue_many of 100,")
    print("        arq 100 enqueues in flight, Dramatiq one by one: it has no batch API), workers running")
    for name, r in results.items():
        ratio = bulk_ratio = ""
        if name.startswith("runtime"):
            ratio = f" ({r['rate'] / best_peer:.1f}x)"
            bulk_ratio = f" ({r['bulk'] / best_bulk:.1f}x)"
        print(
            f"  {name:28} one by one {r['rate']:6.0f} jobs/s{ratio:7}  bulk {r['bulk']:6.0f} jobs/s{bulk_ratio:7}"
            f"  idle latency p50 {r['p50']:5.2f} ms  max {r['p99']:6.2f} ms"
        )
    print("ratios: against the best peer of the same measure; targets: 3x the best peer, idle latency < 2 ms")


if __name__ == "__main__":
    main()
