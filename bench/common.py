"""Helpers shared by the benchmarks: timing, percentiles, memory."""

from __future__ import annotations

import asyncio
import gc
import resource
import socket
import statistics
import time
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


async def keep_alive_client(port: int, requests: list[bytes], latencies: list[float], statuses: list[int]) -> None:
    """Send raw HTTP/1.1 requests one after another on one keep-alive connection."""
    import asyncio
    import time

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for request in requests:
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if length:
            await reader.readexactly(length)
        statuses.append(int(head[9:12]))
        latencies.append((time.perf_counter() - started) * 1000)
    writer.close()


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed (the loop the runtime's own processes run on), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_load(main: Any) -> Any:
    """Run a load generator coroutine as lightly as this process can: on ``new_loop()``, with
    garbage collection paused, so the client's own pauses are not counted as the server's."""
    gc.collect()
    gc.disable()
    try:
        with asyncio.Runner(loop_factory=new_loop) as runner:
            return runner.run(main)
    finally:
        gc.enable()


async def keep_alive_load(port: int, path: str, requests: int, concurrency: int) -> tuple[float, list[float]]:
    """GET ``path`` ``requests`` times over ``concurrency`` keep-alive connections, after a
    warm-up of 50 a connection: (requests per second, latencies)."""
    latencies: list[float] = []
    statuses: list[int] = []
    per = requests // concurrency
    hello = http_request("GET", path)
    await asyncio.gather(*(keep_alive_client(port, [hello] * 50, latencies, statuses) for _ in range(concurrency)))
    latencies.clear()
    started = time.perf_counter()
    await asyncio.gather(*(keep_alive_client(port, [hello] * per, latencies, statuses) for _ in range(concurrency)))
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {set(statuses)}")
    return per * concurrency / (time.perf_counter() - started), latencies


def http_request(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for key, value in (headers or {}).items():
        lines.append(f"{key}: {value}")
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(port: int, timeout: float = 30) -> float:
    start = time.perf_counter()
    request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    while time.perf_counter() - start < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(request)
                if sock.recv(64).startswith(b"HTTP/1.1"):
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"nothing answered on port {port}")
