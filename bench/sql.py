"""sql_database benchmark: ``env.DB`` against raw sqlite3 doing the same durable work, same run.

    python bench/sql.py [--ops 20000]

- point select: one reader awaiting ``first()`` of a row by primary key, against raw sqlite3's
  ``execute(...).fetchone()`` (the binding answers these on the loop, capped; see docs/sql).
- 50 concurrent readers: the same reads from 50 tasks at once.
- single insert: one writer awaiting each ``run()`` (it returns once committed), against raw
  sqlite3 committing each insert on its own.
- 50 concurrent writers: inserts from 50 tasks; one loop turn's writes share a commit on the
  database's worker thread, each writer awaiting its own. Raw: one commit per insert.
Each figure is a rate ratio (runtime / raw; above 1 is faster than raw). Raw uses the pragmas
of the runtime's connection (WAL, synchronous=NORMAL). Rounds alternate raw and runtime; the
best of each side over the rounds is compared.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import asyncio
import sqlite3
import tempfile
import time

from common import new_loop

from runtime.sql import SqlDatabase

ROWS = 10_000
WRITERS = 50
ROUNDS = 3
TABLE = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER)"


def raw_rates(path: Path, ops: int) -> dict[str, float]:
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(TABLE)
    rates = {}
    started = time.perf_counter()
    for i in range(ops):
        conn.execute("SELECT id, name, n FROM t WHERE id = ?", (i % ROWS + 1,)).fetchone()
    rates["point select"] = rates["50 concurrent readers"] = ops / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(ops):
        conn.execute("INSERT INTO t (name, n) VALUES (?, ?)", ("x", i))  # autocommit: one commit each
    rates["single insert"] = rates["50 concurrent writers"] = ops / (time.perf_counter() - started)
    conn.close()
    return rates


async def runtime_rates(path: Path, ops: int) -> dict[str, float]:
    db = SqlDatabase("DB", path)
    select = db.prepare("SELECT id, name, n FROM t WHERE id = ?")
    insert = db.prepare("INSERT INTO t (name, n) VALUES (?, ?)")
    rates = {}
    started = time.perf_counter()
    for i in range(ops):
        await select.bind(i % ROWS + 1).first()
    rates["point select"] = ops / (time.perf_counter() - started)

    async def reader(k: int) -> None:
        for i in range(k, ops, WRITERS):
            await select.bind(i % ROWS + 1).first()

    started = time.perf_counter()
    await asyncio.gather(*(reader(k) for k in range(WRITERS)))
    rates["50 concurrent readers"] = ops / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(ops):
        await insert.bind("x", i).run()
    rates["single insert"] = ops / (time.perf_counter() - started)

    async def writer(k: int) -> None:
        for i in range(k, ops, WRITERS):
            await insert.bind("x", i).run()

    started = time.perf_counter()
    await asyncio.gather(*(writer(k) for k in range(WRITERS)))
    rates["50 concurrent writers"] = ops / (time.perf_counter() - started)
    db.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops", type=int, default=20_000)
    args = parser.parse_args()
    best_raw: dict[str, float] = {}
    best_runtime: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "db.sqlite"
        seed = sqlite3.connect(str(path), isolation_level=None)
        seed.execute("PRAGMA journal_mode=WAL")
        seed.execute(TABLE)
        seed.executemany("INSERT INTO t (name, n) VALUES (?, ?)", (("seed", i) for i in range(ROWS)))
        seed.close()
        for number in range(ROUNDS):
            raw = raw_rates(path, args.ops)
            with asyncio.Runner(loop_factory=new_loop) as runner:
                ours = runner.run(runtime_rates(path, args.ops))
            print(f"round {number + 1}: " + ", ".join(f"{k} {ours[k] / raw[k]:.2f}x" for k in raw))
            for key in raw:
                best_raw[key] = max(best_raw.get(key, 0.0), raw[key])
                best_runtime[key] = max(best_runtime.get(key, 0.0), ours[key])
    print(f"{'':24}{'raw/s':>10}{'env.DB/s':>10}{'ratio':>8}")
    for key in best_raw:
        print(f"{key:24}{best_raw[key]:>10.0f}{best_runtime[key]:>10.0f}{best_runtime[key] / best_raw[key]:>7.2f}x")


if __name__ == "__main__":
    main()
