"""Redis queue benchmark: the runtime's worker processes against RQ, arq and Dramatiq on the same
Redis, in the same run.

    python bench/redis_queue.py [--jobs 5000]

For each system: start its workers (idle), then measure (a) idle send -> job start, 30 samples
with the system idle between them, and (b) end to end: enqueue N no-op jobs one by one, until
the last has run. Every job does the same work in Redis (INCR a counter), so completion is seen
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
from collections.abc import Callable

import redis

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
    name: str, start_workers: Callable[[], list[subprocess.Popen[bytes]]], send: Callable[[bool], None], jobs: int
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
        for _ in range(jobs):
            send(False)
        wait_done(jobs)
        elapsed = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
    return {"rate": jobs / elapsed, "p50": statistics.median(latencies), "p99": sorted(latencies)[-1]}


def runtime_system(processes: int) -> tuple[Callable[[], list[subprocess.Popen[bytes]]], Callable[[bool], None]]:
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

    loop = asyncio.new_event_loop()
    app = App.from_manifest(manifest, backend=backend, state_dir="/tmp/bench-producer")
    loop.run_until_complete(app.start(consume=False))

    def send(stamp: bool) -> None:
        loop.run_until_complete(app.env.WORK.send({"stamp": stamp}))

    return start, send


def rq_system() -> tuple[Callable[[], list[subprocess.Popen[bytes]]], Callable[[bool], None]]:
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

    return start, send


def arq_system() -> tuple[Callable[[], list[subprocess.Popen[bytes]]], Callable[[bool], None]]:
    from arq import create_pool
    from arq.connections import RedisSettings

    loop = asyncio.new_event_loop()
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

    return start, send


def dramatiq_system() -> tuple[Callable[[], list[subprocess.Popen[bytes]]], Callable[[bool], None]]:
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

    return start, send


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
        start, send = factory()
        results[name] = measure(name, start, send, args.jobs)
    R.flushdb()
    best_peer = max(v["rate"] for k, v in results.items() if not k.startswith("runtime"))
    print(f"no-op jobs on one Redis, {args.jobs} sent one by one then run; idle send -> start over 30 samples")
    for name, r in results.items():
        ratio = f"  ({r['rate'] / best_peer:.1f}x the best peer)" if name.startswith("runtime") else ""
        print(
            f"  {name:28} {r['rate']:8.0f} jobs/s   idle latency p50 {r['p50']:6.2f} ms  max {r['p99']:6.2f} ms{ratio}"
        )
    print("targets: at least 3x the best peer, idle latency under 2 ms without busy polling")


if __name__ == "__main__":
    main()
