"""SmartSQL benchmark: execute_query(sql_query=...) against the sql_database binding and raw sqlite3.

    python bench/smartsql.py [--ops 5000]

The same table (10,000 rows) in three places, read with the same SQL text in the same run: a
point read by primary key and a 100-row range read, values written into the statement as
SmartSQL's ``sql_query`` takes them (so each is compiled anew everywhere). SmartSQL answers the platform's shape (the rows as a
JSON string), so its figure includes serializing them; the binding returns row dicts; raw
sqlite3 returns tuples. Rounds alternate; the best of 3 is kept. Target: SmartSQL within 1.5x
of the sql_database binding.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import asyncio
import random
import sqlite3
import tempfile
import time

from runtime import App

MANIFEST = """application "sql-bench" {
  sql_database "plain" {}
  smartsql "smart" {}
}
"""
SCHEMA = "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, note TEXT);\n"
ROWS = 10_000


def fill(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO items (id, name, price, note) VALUES (?, ?, ?, ?)",
            ((i, f"item {i}", i * 0.5, "a note of some length " * 2) for i in range(ROWS)),
        )
    conn.close()


async def run(ops: int) -> None:
    rng = random.Random(3)
    ids = [rng.randrange(ROWS - 100) for _ in range(ops)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "raindrop.manifest").write_text(MANIFEST)
        for name in ("plain", "smart"):
            (root / "db" / name).mkdir(parents=True)
            (root / "db" / name / "0001.sql").write_text(SCHEMA)
        async with App.from_manifest(root / "raindrop.manifest", state_dir=root / "state") as app:
            for name in ("plain", "smart"):
                fill(root / "state" / "sql" / f"{name}.sqlite")
            raw = sqlite3.connect(root / "state" / "sql" / "plain.sqlite")
            plain, smart = app.env.PLAIN, app.env.SMART
            best: dict[str, float] = {}
            for round_ in range(3):
                timings: dict[str, float] = {}
                for shape, where in (("point", "id = {i}"), ("100 rows", "id >= {i} AND id < {j}")):
                    queries = [f"SELECT * FROM items WHERE {where.format(i=i, j=i + 100)}" for i in ids]
                    start = time.perf_counter()
                    for query in queries:
                        raw.execute(query).fetchall()
                    timings[f"raw {shape}"] = time.perf_counter() - start
                    start = time.perf_counter()
                    for query in queries:
                        await plain.prepare(query).all()
                    timings[f"binding {shape}"] = time.perf_counter() - start
                    start = time.perf_counter()
                    for query in queries:
                        await smart.execute_query(sql_query=query)
                    timings[f"smartsql {shape}"] = time.perf_counter() - start
                print(f"  round {round_ + 1}: " + ", ".join(f"{k} {ops / v:,.0f}/s" for k, v in timings.items()))
                for key, seconds in timings.items():
                    best[key] = min(best.get(key, seconds), seconds)
    print(f"SmartSQL vs sql_database vs raw sqlite3, {ops} reads each, best of 3 rounds")
    for kind in ("point", "100 rows"):
        smart_t, plain_t, raw_t = best[f"smartsql {kind}"], best[f"binding {kind}"], best[f"raw {kind}"]
        print(
            f"  {kind:<9} smartsql {ops / smart_t:9,.0f}/s  sql_database {ops / plain_t:9,.0f}/s  raw {ops / raw_t:9,.0f}/s  "
            f"-> smartsql takes {smart_t / plain_t:.2f}x the binding's time (target <= 1.5x), {smart_t / raw_t:.2f}x raw"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=5000)
    asyncio.run(run(parser.parse_args().ops))


if __name__ == "__main__":
    main()
