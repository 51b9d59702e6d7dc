"""Actor benchmark: calls/s on one id and across many ids, against a plain asyncio.Lock-guarded
dict doing the same counter updates, in the same run.

    python bench/actors.py [--calls 20000] [--ids 100] [--processes 4]

Each call reads a counter from the actor's storage, adds one and writes it back (durable on
SQLite, or in memory with --backend memory://). The baseline keeps the counter in a dict behind
one asyncio.Lock per id: the cost of serialization alone, with no storage.

Across processes (one SQLite state file shared by ``--processes`` processes, each making its
share of the calls concurrently; an actor runs only where its lease is held): calls per second
to one id from 1 and from 4 processes, and to 100 ids from 4 processes, against the
single-process rate in the same run. Targets: 100 ids from 4 processes at least 1x the
single-process rate; one hot id from 4 processes at least 0.3x.
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
import subprocess
import tempfile
import time

from runtime import App

APP = Path(__file__).parent.parent / "tests" / "apps" / "clock" / "raindrop.manifest"


async def baseline(calls: int, ids: int) -> float:
    locks = {i: asyncio.Lock() for i in range(ids)}
    counters = dict.fromkeys(range(ids), 0)

    async def increment(i: int) -> int:
        async with locks[i]:
            value = counters[i] + 1
            await asyncio.sleep(0)
            counters[i] = value
            return value

    start = time.perf_counter()
    await asyncio.gather(*(increment(n % ids) for n in range(calls)))
    assert sum(counters.values()) == calls
    return calls / (time.perf_counter() - start)


async def runtime(calls: int, ids: int, backend: str | None, folder: str) -> float:
    async with App.from_manifest(APP, backend=backend, state_dir=folder) as app:
        ns = app.env.COUNTER
        stubs = [ns.get(ns.id_from_name(f"user-{i}")) for i in range(ids)]
        start = time.perf_counter()
        await asyncio.gather(*(stubs[n % ids].increment() for n in range(calls)))
        rate = calls / (time.perf_counter() - start)
        total = sum([await s.recall("value") for s in stubs])
        assert total == calls, total
        return rate


CHILD = Path(__file__).parent.parent / "tests" / "apps" / "actorcount" / "child.py"


def across(processes: int, calls: int, ids: int) -> float:
    """Calls/s of ``processes`` processes sharing one SQLite state, ``calls`` in all."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        backend = f"sqlite:///{root / 'shared.db'}"
        children = []
        for i in range(processes):
            child = subprocess.Popen(
                [sys.executable, str(CHILD), backend, str(root / f"s{i}"), str(root / "go"),
                 str(calls // processes), str(root / f"acks{i}"), str(ids)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            children.append(child)
        started = time.perf_counter()
        (root / "go").touch()
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().startswith("done")
        elapsed = time.perf_counter() - started
        for child in children:
            child.communicate(input="", timeout=30)
        acked = sum(len((root / f"acks{i}").read_text().splitlines()) for i in range(processes))
        assert acked == calls // processes * processes
        return acked / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--ids", type=int, default=100)
    parser.add_argument("--backend", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--processes", type=int, default=4)
    args = parser.parse_args()
    where = args.backend or "SQLite"
    print(f"actor counter increments ({args.calls} calls; storage on {where})")
    for ids in (1, args.ids):
        with tempfile.TemporaryDirectory() as folder:
            rt = asyncio.run(runtime(args.calls, ids, args.backend, folder))
        base = asyncio.run(baseline(args.calls, ids))
        label = "one id" if ids == 1 else f"{ids} ids"
        print(
            f"  {label:8} runtime {rt:9.0f} calls/s   asyncio.Lock + dict {base:9.0f} calls/s   ratio {rt / base:.2f}"
        )
    if args.backend:
        return
    calls = args.calls
    print(f"across processes sharing one SQLite state file ({calls} calls in all per measure)")
    single = across(1, calls, 1)
    hot = across(args.processes, calls, 1)
    spread_single = across(1, calls, args.ids)
    spread = across(args.processes, calls, args.ids)
    print(f"  one id, 1 process          {single:9.0f} calls/s")
    print(
        f"  one id, {args.processes} processes        {hot:9.0f} calls/s   {hot / single:.2f}x one process (target >= 0.3x)"
    )
    print(f"  {args.ids} ids, 1 process        {spread_single:9.0f} calls/s")
    print(
        f"  {args.ids} ids, {args.processes} processes      {spread:9.0f} calls/s   {spread / spread_single:.2f}x one process "
        "(target >= 1x)"
    )


if __name__ == "__main__":
    main()
