"""TypeScript handlers against Python handlers, in the same run.

    python bench/typescript.py [--requests 4000] [--concurrency 64] [--calls 2000]

One app with the same routes in a Python service and a TypeScript service (run by the Node
child): a no-op request (throughput and p99 at ``--concurrency`` requests in flight, in
process through ASGI), one awaited KV get from TypeScript (p50, timed inside JavaScript) and a
1 MB KV get from TypeScript. Targets: binding call p50 <= 0.1 ms, 1 MB get <= 2 ms, no-op
throughput >= 0.6x Python's with p99 <= 2x.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py and bench/queue.py would shadow the standard library's modules (see actors.py).
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import asyncio
import statistics
import tempfile
import time

import httpx

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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--calls", type=int, default=2000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        manifest = write_app(Path(folder))
        started = time.perf_counter()
        app = App.from_manifest(manifest, backend="memory://", state_dir=Path(folder) / "state")
        async with app:
            print(f"start with Node and bundling: {time.perf_counter() - started:.2f} s")
            transport = httpx.ASGITransport(app=app.asgi("ts"))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                calls = (await client.get("/calls", params={"n": options.calls})).json()
                big = (await client.get("/big")).json()
            call_p50 = statistics.median(calls[100:])
            big_p50 = statistics.median(big[5:])
            print(f"binding call from TypeScript (KV get): p50 {call_p50:.3f} ms   (target <= 0.1 ms)")
            print(f"1 MB KV get from TypeScript:           p50 {big_p50:.2f} ms   (target <= 2 ms)")
            py_rate, py_p99 = await load(app, "py", options.requests, options.concurrency)
            ts_rate, ts_p99 = await load(app, "ts", options.requests, options.concurrency)
            print(f"no-op request, Python handler:     {py_rate:8.0f} req/s  p99 {py_p99:.2f} ms")
            print(f"no-op request, TypeScript handler: {ts_rate:8.0f} req/s  p99 {ts_p99:.2f} ms")
            print(
                f"ratios: throughput {ts_rate / py_rate:.2f}x (target >= 0.6x), p99 {ts_p99 / py_p99:.2f}x (target <= 2x)"
            )
            typescript = app._typescript
            if typescript is not None and typescript.host.pid is not None:
                status = Path(f"/proc/{typescript.host.pid}/status")
                if status.exists():
                    rss = next(line for line in status.read_text().splitlines() if line.startswith("VmRSS"))
                    print(f"Node resident memory: {int(rss.split()[1]) / 1024:.0f} MB (target <= 80 MB)")


if __name__ == "__main__":
    asyncio.run(main())
