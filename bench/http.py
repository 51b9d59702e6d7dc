"""HTTP benchmark: a trivial service through `serve` against a bare Starlette app under the same
uvicorn, in the same run; start-up time; idle memory of `serve`.

    python bench/http.py [--requests 20000] [--concurrency 50] [--rounds 3]

Both servers run in their own process; the load comes from this process over keep-alive
HTTP/1.1 connections (a small client on asyncio streams, so the client is not the bottleneck).
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py and bench/queue.py would shadow the standard library's http and queue modules:
# move this folder from the front of sys.path to the back (common.py is still found).
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import os
import statistics
import subprocess
import tempfile
import time

from common import free_port, keep_alive_load, run_load, wait_until_up

HELLO = HERE / "apps" / "hello"
PODCAST = HERE.parent / "raindrop.manifest"


async def load(port: int, requests: int, concurrency: int) -> tuple[float, list[float]]:
    return await keep_alive_load(port, "/hello", requests, concurrency)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory() as state:
        serve_port, quiet_port, bare_port = free_port(), free_port(), free_port()
        started = time.perf_counter()
        served = subprocess.Popen(
            [sys.executable, "-m", "runtime", "serve", str(HELLO / "raindrop.manifest"), "--port", str(serve_port), "--state", state],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        wait_until_up(serve_port)
        startup = time.perf_counter() - started
        quiet = subprocess.Popen(
            [sys.executable, "-m", "runtime", "serve", str(HELLO / "raindrop.manifest"), "--port", str(quiet_port), "--state", state + "/quiet", "--no-request-log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        wait_until_up(quiet_port)
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare:app", "--port", str(bare_port), "--log-level", "warning", "--no-access-log"],
            cwd=HELLO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        wait_until_up(bare_port)
        try:
            # Logging one line per request is part of serve; send its logs nowhere to measure the work itself.
            # Alternate the two, three rounds each, and keep each one's best round: this machine's
            # speed drifts by tens of percent from second to second.
            serve_runs, quiet_runs, bare_runs = [], [], []
            for _ in range(args.rounds):
                serve_runs.append(run_load(load(serve_port, args.requests, args.concurrency)))
                quiet_runs.append(run_load(load(quiet_port, args.requests, args.concurrency)))
                bare_runs.append(run_load(load(bare_port, args.requests, args.concurrency)))
            serve_rate, serve_lat = max(serve_runs, key=lambda run: run[0])
            quiet_rate, quiet_lat = max(quiet_runs, key=lambda run: run[0])
            bare_rate, bare_lat = max(bare_runs, key=lambda run: run[0])
        finally:
            for process in (served, quiet, bare):
                process.terminate()
            for process in (served, quiet, bare):
                process.wait()
        podcast_rss = None
        if PODCAST.is_file():
            port = free_port()
            podcast = subprocess.Popen(
                [sys.executable, "-m", "runtime", "serve", str(PODCAST), "--port", str(port), "--state", state + "/podcast"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            )  # fmt: skip
            try:
                wait_until_up(port)
                time.sleep(2.0)
                podcast_rss = rss_mb(podcast.pid) if podcast.poll() is None else None
            except RuntimeError:
                podcast_rss = None
            finally:
                podcast.terminate()
                podcast.wait()
    print(
        f"trivial service, {args.requests} requests, {args.concurrency} keep-alive connections, best of {args.rounds} rounds"
    )
    print(
        f"  serve    {serve_rate:8.0f} req/s   p50 {statistics.median(serve_lat):6.2f} ms   p99 {pct(serve_lat, 0.99):6.2f} ms"
    )
    print(
        f"  serve --no-request-log {quiet_rate:8.0f} req/s   p50 {statistics.median(quiet_lat):6.2f} ms   p99 {pct(quiet_lat, 0.99):6.2f} ms"
    )
    print(
        f"  bare     {bare_rate:8.0f} req/s   p50 {statistics.median(bare_lat):6.2f} ms   p99 {pct(bare_lat, 0.99):6.2f} ms"
    )
    print(
        f"  ratio    {serve_rate / bare_rate:.2f}x the bare Starlette app logging each request, "
        f"{quiet_rate / bare_rate:.2f}x without, as the bare app runs (target >= 0.8)"
    )
    print(f"serve start to first answered request: {startup:.2f} s (target < 1.5 s)")
    if podcast_rss is not None:
        print(f"idle serve of the podcast app: {podcast_rss:.1f} MB resident (target < 120 MB)")
    else:
        print("idle serve of the podcast app: not measured (the app did not start)")


if __name__ == "__main__":
    main()
