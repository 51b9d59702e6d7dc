"""TypeScript handlers against Python handlers, in the same run.

    python bench/typescript.py [--requests 20000] [--concurrency 64] [--calls 2000] [--rounds 5]

One app with the same routes in a Python service and a TypeScript service (run by the Node
child): a no-op request (throughput and p99 at ``--concurrency`` requests in flight, through
``serve``, over keep-alive HTTP), one awaited KV get from TypeScript (p50, timed inside JavaScript) and a
1 MB KV get from TypeScript. Targets: binding call p50 <= 0.1 ms, 1 MB get <= 2 ms, no-op
throughput >= 0.6x Python's with p99 <= 2x.

The in-process part runs on the loop ``serve`` runs on (uvloop when installed). Beside the
binding call it prints the **floor**: the same round trip between this loop and a bare Node
process over a socketpair, one small frame each way and nothing else, measured in the same run.
What the runtime adds to a call is the difference; the floor itself is the machine's (two
processes waking each other), and moves between machines by a factor of two or more.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py and bench/queue.py would shadow the standard library's modules (see actors.py).
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time

import httpx
from common import (
    free_port,
    keep_alive_load,
    median,
    new_loop,
    percentile,
    run_load,
    wait_until_up,
)

from runtime.app import App

MANIFEST = """
application "ts-bench" {
  service "py" { visibility = "public" }
  service "ts" { visibility = "public" }
  kv_cache "cache" {}
}
"""

PYTHON = """
from starlette.responses import Response
from runtime import Service


class Py(Service):
    async def fetch(self, request):
        return Response("ok")
"""

TYPESCRIPT = """
import { Service } from '@liquidmetal-ai/raindrop-framework';

export default class extends Service<any> {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/calls') {
      const n = Number(url.searchParams.get('n'));
      await this.env.CACHE.put('small', 'value');
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const started = performance.now();
        await this.env.CACHE.get('small');
        times.push(performance.now() - started);
      }
      return Response.json(times);
    }
    if (url.pathname === '/big') {
      await this.env.CACHE.put('big', new Uint8Array(1 << 20).fill(1));
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const started = performance.now();
        await this.env.CACHE.get('big', 'arrayBuffer');
        times.push(performance.now() - started);
      }
      return Response.json(times);
    }
    return new Response('ok');
  }
}
"""


def write_app(folder: Path) -> Path:
    (folder / "raindrop.manifest").write_text(MANIFEST)
    (folder / "handlers").mkdir()
    (folder / "handlers" / "py.py").write_text(PYTHON)
    (folder / "src" / "ts").mkdir(parents=True)
    (folder / "src" / "ts" / "index.ts").write_text(TYPESCRIPT)
    return folder / "raindrop.manifest"


HANDLERS = 10

#: A bare Node process answering nothing but the floor's round trips (see the module's docstring).
FLOOR_CHILD = """
import net from 'node:net';
const socket = new net.Socket({ fd: 3, readable: true, writable: true });
let pending = null;
socket.on('data', () => { const resolve = pending; pending = null; resolve(); });
const times = [];
for (let i = 0; i < Number(process.argv[2]); i++) {
  const started = performance.now();
  await new Promise((resolve) => { pending = resolve; socket.write('{"t":"c","i":1,"b":"CACHE","m":"get","a":["small"]}'); });
  times.push(performance.now() - started);
}
process.stdout.write(JSON.stringify(times));
process.exit(0);
"""


class _Echo(asyncio.Protocol):
    """The floor's Python end: one small answer per read, written from a task as the runtime's
    binding calls are (a call runs as a task)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        async def answer() -> None:
            self.transport.write(b'{"t":"r","i":1,"v":"value"}')  # type: ignore[attr-defined]

        asyncio.get_running_loop().create_task(answer())


async def floor(calls: int) -> float:
    """p50 of a bare round trip between this loop and a Node process, ms (see the docstring)."""
    import socket

    ours, theirs = socket.socketpair()
    await asyncio.get_running_loop().connect_accepted_socket(_Echo, ours)
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "floor.mjs"
        script.write_text(FLOOR_CHILD)
        child = await asyncio.create_subprocess_exec(
            "node", str(script), str(calls), stdout=asyncio.subprocess.PIPE, pass_fds=(theirs.fileno(),),
            preexec_fn=lambda: os.dup2(theirs.fileno(), 3),
        )  # fmt: skip
        theirs.close()
        out, _ = await child.communicate()
    import json

    return statistics.median(json.loads(out)[100:])


async def start_of_ten(folder: Path) -> tuple[float, float]:
    """Start of an app of ``HANDLERS`` services in Python and in TypeScript (first bundle),
    seconds: the difference is what Node and bundling add."""
    timings = []
    for language in ("py", "ts"):
        root = folder / f"ten-{language}"
        (root / "handlers").mkdir(parents=True)
        services = "\n".join(f'  service "s{n}" {{}}' for n in range(HANDLERS))
        (root / "raindrop.manifest").write_text(f'application "ten" {{\n{services}\n  kv_cache "cache" {{}}\n}}\n')
        for n in range(HANDLERS):
            if language == "py":
                (root / "handlers" / f"s{n}.py").write_text(PYTHON)
            else:
                (root / "src" / f"s{n}").mkdir(parents=True)
                (root / "src" / f"s{n}" / "index.ts").write_text(TYPESCRIPT)
        started = time.perf_counter()
        app = App.from_manifest(root / "raindrop.manifest", backend="memory://", state_dir=root / "state")
        async with app:
            timings.append(time.perf_counter() - started)
    return timings[0], timings[1]


async def load(app: App, service: str, requests: int, concurrency: int) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of ``requests`` no-op GETs, ``concurrency`` at a time."""
    transport = httpx.ASGITransport(app=app.asgi(service))
    latencies: list[float] = []
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for _ in range(200):  # warm up
            await client.get("/")
        left = requests

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                started = time.perf_counter()
                response = await client.get("/")
                latencies.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return requests / elapsed, latencies[int(len(latencies) * 0.99) - 1]


async def serve_load(port: int, requests: int, concurrency: int) -> tuple[float, list[float]]:
    return await keep_alive_load(port, "/", requests, concurrency)


def through_serve(folder: Path, requests: int, concurrency: int, rounds: int) -> None:
    """The no-op route of both services through ``serve`` over keep-alive HTTP, best of ``rounds``."""
    py_port, ts_port = free_port(), free_port()
    (folder / "raindrop.local.yaml").write_text(f"services:\n  py: {{port: {py_port}}}\n  ts: {{port: {ts_port}}}\n")
    served = subprocess.Popen(
        [sys.executable, "-m", "runtime", "serve", str(folder / "raindrop.manifest"), "--no-request-log", "--state", str(folder / "served")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        wait_until_up(py_port)
        wait_until_up(ts_port)
        py_runs, ts_runs = [], []
        for _ in range(rounds):  # alternate: this machine's speed drifts from second to second
            py_runs.append(run_load(serve_load(py_port, requests, concurrency)))
            ts_runs.append(run_load(serve_load(ts_port, requests, concurrency)))
        pairs = sorted(ts[0] / py[0] for py, ts in zip(py_runs, ts_runs, strict=True))
    finally:
        served.terminate()
        served.wait()
    py_rate, py_lat = max(py_runs, key=lambda run: run[0])
    ts_rate, ts_lat = max(ts_runs, key=lambda run: run[0])
    py_p99, ts_p99 = percentile(py_lat, 0.99), percentile(ts_lat, 0.99)
    print(f"no-op request through serve, {concurrency} keep-alive connections, best of {rounds} rounds:")
    print(f"  Python handler:     {py_rate:8.0f} req/s  p50 {median(py_lat):.2f} ms  p99 {py_p99:.2f} ms")
    print(f"  TypeScript handler: {ts_rate:8.0f} req/s  p50 {median(ts_lat):.2f} ms  p99 {ts_p99:.2f} ms")
    print(f"  ratios: throughput {ts_rate / py_rate:.2f}x (target >= 0.6x), p99 {ts_p99 / py_p99:.2f}x (target <= 2x)")
    print(f"  throughput ratio of each alternated pair of rounds: {', '.join(f'{pair:.2f}' for pair in pairs)}")


def node_rss(app: App) -> float | None:
    """The Node child's resident memory in MB (None where /proc is not there)."""
    typescript = app.typescript
    if typescript is None or typescript.host.pid is None:
        return None
    status = Path(f"/proc/{typescript.host.pid}/status")
    if not status.exists():
        return None
    rss = next(line for line in status.read_text().splitlines() if line.startswith("VmRSS"))
    return int(rss.split()[1]) / 1024


async def main() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        python, typescript = await start_of_ten(Path(folder))
        print(
            f"start of {HANDLERS} handlers: Python {python:.2f} s, TypeScript {typescript:.2f} s (first bundle): "
            f"{typescript - python:.2f} s added by Node and bundling (target <= 0.5 s)"
        )
    with tempfile.TemporaryDirectory() as folder:
        manifest = write_app(Path(folder))
        started = time.perf_counter()
        app = App.from_manifest(manifest, backend="memory://", state_dir=Path(folder) / "state")
        async with app:
            print(f"start with Node and bundling: {time.perf_counter() - started:.2f} s")
            idle = node_rss(app)
            transport = httpx.ASGITransport(app=app.asgi("ts"))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                call_p50s, big_p50s, floor_p50s = [], [], []
                for _ in range(options.rounds):  # the first round also warms up V8's JIT
                    calls = (await client.get("/calls", params={"n": options.calls})).json()
                    big = (await client.get("/big")).json()
                    call_p50s.append(statistics.median(calls[100:]))
                    big_p50s.append(statistics.median(big[5:]))
                    floor_p50s.append(await floor(options.calls))
            call_p50, big_p50, bare = min(call_p50s), min(big_p50s), min(floor_p50s)
            loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
            print(f"binding call from TypeScript (KV get, best round): p50 {call_p50:.3f} ms   (target <= 0.1 ms)")
            print(
                f"  floor, a bare socket round trip {loop} <-> Node (best round): p50 {bare:.3f} ms; "
                f"the runtime adds {call_p50 - bare:.3f} ms"
            )
            print(f"1 MB KV get from TypeScript (best round):           p50 {big_p50:.2f} ms   (target <= 2 ms)")
            after = node_rss(app)
            if idle is not None and after is not None:
                print(
                    f"Node resident memory: {idle:.0f} MB idle, {after:.0f} MB after the 1 MB values (target <= 80 MB)"
                )
    return options


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=new_loop) as runner:  # the loop serve runs on
        options = runner.run(main())
    with tempfile.TemporaryDirectory() as folder:
        write_app(Path(folder))
        through_serve(Path(folder), options.requests, options.concurrency, options.rounds)
