"""Podcast benchmark, offline providers: pre-generation for 1,000 users, then cache-hit requests
against cache-miss (queued) requests under 50 concurrent clients, in the same run, through `serve`.

    python bench/podcast.py [--users 1000] [--requests 5000] [--concurrency 50] [--rounds 3]
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
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time

from common import free_port, http_request, keep_alive_client, median, percentile, run_load, wait_until_up

ROOT = Path(__file__).parent.parent
APP_FILES = ["raindrop.manifest", "raindrop.local.yaml", "handlers", "workers", "hakivo", "db"]


def copy_app(target: Path) -> Path:
    for name in APP_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target / name)
    return target / "raindrop.manifest"


def run_clients(port: int, requests: list[bytes], concurrency: int) -> tuple[float, list[float], list[int]]:
    result: tuple[float, list[float], list[int]] = run_load(_run_clients(port, requests, concurrency))
    return result


async def _run_clients(port: int, requests: list[bytes], concurrency: int) -> tuple[float, list[float], list[int]]:
    latencies: list[float] = []
    statuses: list[int] = []
    per = len(requests) // concurrency
    groups = [requests[i * per : (i + 1) * per] for i in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(keep_alive_client(port, group, latencies, statuses) for group in groups))
    return per * concurrency / (time.perf_counter() - started), latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app_dir = Path(folder) / "app"
        app_dir.mkdir()
        manifest = copy_app(app_dir)
        port = free_port()
        served = subprocess.Popen(
            [sys.executable, "-m", "runtime", "serve", str(manifest), "--port", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        try:
            wait_until_up(port)
            db = sqlite3.connect(app_dir / ".raindrop" / "sql" / "hakivo-db.sqlite")
            with db:
                db.execute("UPDATE users SET tier = 'none'")  # only the benchmark's users are active
                db.executemany(
                    "INSERT INTO users (id, name, token, tier, daily_podcast_enabled) VALUES (?, ?, ?, 'daily', 1)",
                    [(f"bench_{i}", f"Bench {i}", f"bench-token-{i}") for i in range(args.users)],
                )
            db.close()
            cron = http_request(
                "POST", "/api/cron/pregenerate-podcasts", headers={"Authorization": "Bearer dev-secret"}
            )
            started = time.perf_counter()
            _, _, statuses = run_clients(port, [cron], 1)
            pregen_seconds = time.perf_counter() - started
            assert statuses == [200], statuses

            body = json.dumps({"type": "daily"}).encode()
            hits = [
                http_request(
                    "POST", "/api/generate-podcast", body, {"Authorization": f"Bearer bench-token-{i % args.users}"}
                )
                for i in range(args.requests)
            ]
            # Three rounds of hits: this machine's speed drifts by tens of percent between seconds,
            # so every round is printed and the target is judged on the median round.
            hit_rounds = [run_clients(port, hits, args.concurrency) for _ in range(args.rounds)]
            hit_status = [status for _, _, statuses in hit_rounds for status in statuses]
            forced = json.dumps({"type": "daily", "forceRegenerate": True}).encode()
            misses = [
                http_request(
                    "POST", "/api/generate-podcast", forced, {"Authorization": f"Bearer bench-token-{i % args.users}"}
                )
                for i in range(args.requests // 5)
            ]
            miss_rate, miss_lat, miss_status = run_clients(port, misses, args.concurrency)
            assert set(hit_status) == {200} and set(miss_status) == {200}, (set(hit_status), set(miss_status))
        finally:
            served.terminate()
            served.wait(timeout=60)
    print(f"podcast app through serve, offline providers, {args.concurrency} concurrent clients")
    print(
        f"  pre-generation of {args.users} users: {pregen_seconds:.1f} s ({args.users / pregen_seconds:.0f} users/s, 5 at a time)"
    )
    p99s = []
    for number, (rate, latencies, _) in enumerate(hit_rounds, start=1):
        p99s.append(percentile(latencies, 0.99))
        print(
            f"  cache hit, round {number}  {rate:8.0f} req/s   p50 {median(latencies):6.2f} ms   p99 {p99s[-1]:6.2f} ms"
        )
    print(f"  cache hit p99, median round: {median(p99s):.2f} ms (target < 20 ms)")
    hit_lat = sorted(hit_rounds, key=lambda r: percentile(r[1], 0.99))[len(hit_rounds) // 2][1]
    print(
        f"  cache miss  {miss_rate:8.0f} req/s   p50 {median(miss_lat):6.2f} ms   p99 {percentile(miss_lat, 0.99):6.2f} ms  (queued; the job runs after)"
    )
    print(f"  a cache hit answers {median(miss_lat) / median(hit_lat):.1f}x faster than queuing a job, at the median")


if __name__ == "__main__":
    main()
