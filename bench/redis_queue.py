"""Redis queue benchmark: the runtime's worker processes against RQ, arq and Dramatiq on the same
Redis, in the same run.

    python bench/redis_queue.py [--jobs 5000] [--rounds 3] [--only runtime,dramatiq]

For each system: start its workers (idle), then measure (a) idle send -> job start, 30 samples
with the system idle between them, (b) end to end one by one: one producer enqueues N no-op
jobs one at a time (each send awaited), until the last has run (and, before the workers start,
the same producer alone: the ceiling of this measure), and (c) end to end in bulk:
N jobs enqueued the fastest way the system offers, until the last has run. Every job reports
in the same way (bench/apps/report.py). The systems take turns, round after round (this
machine's speed drifts from second to second); each figure is a system's best round, and every
round is printed. RQ and arq run fewer jobs per measure (a twentieth and a quarter): at their
rates the full count would take minutes, and a rate is a rate. Uses database 14 and flushes it
between systems.
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
    start_workers: Callable[[], list[subprocess.Popen[bytes]]],
    send: Callable[[bool], None],
    send_one_by_one: Callable[[int], None],
    send_bulk: Callable[[int], None],
    jobs: int,
) -> dict[str, float]:
    R.flushdb()
    started = time.perf_counter()  # the producer alone, no worker running: what bounds one by one
    send_one_by_one(jobs)
    alone = jobs / (time.perf_counter() - started)
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
        "alone": alone,
        "rate": jobs / elapsed,
        "bulk": jobs / bulk_elapsed,
        "p50": statistics.median(latencies),
        "max": max(latencies),
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


SYSTEMS: dict[str, tuple[str, Callable[[], System], float]] = {  # key: (label, factory, share of the jobs)
    "runtime": ("runtime, 1 worker process", lambda: runtime_system(1), 1.0),
    "runtime2": ("runtime, 2 worker processes", lambda: runtime_system(2), 1.0),
    "rq": ("RQ (SimpleWorker)", lambda: rq_system(), 0.05),
    "arq": ("arq (poll 0.01 s)", lambda: arq_system(), 0.25),
    "dramatiq": ("Dramatiq (8 threads)", lambda: dramatiq_system(), 1.0),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(SYSTEMS), help=f"comma-separated, of {', '.join(SYSTEMS)}")
    args = parser.parse_args()
    chosen = [key for key in args.only.split(",") if key]
    unknown = [key for key in chosen if key not in SYSTEMS]
    if unknown:
        parser.error(f"unknown system {unknown[0]!r}; expected some of {', '.join(SYSTEMS)}")
    sys.path.append(str(HERE / "apps"))
    systems = {key: SYSTEMS[key][1]() for key in chosen}
    rounds: dict[str, list[dict[str, float]]] = {key: [] for key in chosen}
    for number in range(1, args.rounds + 1):
        for key, (start, send, one_by_one, bulk) in systems.items():
            jobs = max(100, int(args.jobs * SYSTEMS[key][2]))
            result = measure(start, send, one_by_one, bulk, jobs)
            rounds[key].append(result)
            print(
                f"round {number}  {SYSTEMS[key][0]:28} one by one {result['rate']:6.0f}/s"
                f" (sends alone {result['alone']:5.0f}/s)  bulk {result['bulk']:6.0f}/s"
                f"  idle p50 {result['p50']:5.2f} ms  max {result['max']:6.2f} ms",
                flush=True,
            )
    R.flushdb()
    best = {
        key: {
            "rate": max(r["rate"] for r in results),
            "alone": max(r["alone"] for r in results),
            "bulk": max(r["bulk"] for r in results),
            "p50": min(r["p50"] for r in results),
            "max": min(r["max"] for r in results),
        }
        for key, results in rounds.items()
    }
    peers = [key for key in best if not key.startswith("runtime")]
    best_peer = max((best[key]["rate"] for key in peers), default=0.0)
    best_bulk = max((best[key]["bulk"] for key in peers), default=0.0)
    print(
        f"\nno-op jobs on one Redis, {args.jobs} per measure, best of {args.rounds} rounds; idle send -> start over 30 samples"
    )
    print("  one by one: one producer enqueuing each job alone and awaiting it (async ones in one coroutine);")
    print("        'sends alone' is that producer with no worker running, the ceiling of this measure")
    print("  bulk: each system's fastest enqueue (runtime send_batch of 100, RQ enqueue_many of 100,")
    print("        arq 100 enqueues in flight, Dramatiq one by one: it has no batch API), workers running")
    for key, r in best.items():
        ratio = bulk_ratio = ""
        if key.startswith("runtime") and best_peer:
            ratio = f" ({r['rate'] / best_peer:.1f}x)"
            bulk_ratio = f" ({r['bulk'] / best_bulk:.1f}x)"
        print(
            f"  {SYSTEMS[key][0]:28} one by one {r['rate']:6.0f} jobs/s{ratio:7} (sends alone {r['alone']:5.0f}/s)"
            f"  bulk {r['bulk']:6.0f} jobs/s{bulk_ratio:7}"
            f"  idle latency p50 {r['p50']:5.2f} ms  max {r['max']:6.2f} ms"
        )
    print("ratios: against the best peer of the same measure; targets: 3x the best peer, idle latency < 2 ms")


if __name__ == "__main__":
    main()
