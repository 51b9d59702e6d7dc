"""vector_index benchmark: a one-vector write followed by a query, as an index grows.

    python bench/vector_index.py [--sizes 20000,120000] [--dims 384] [--rounds 50]

For each size, the index is loaded in batches of 5,000, then each round upserts one vector
(alternating between a new id and an existing one) and queries the top 10. Printed per size:
the binding's upsert+query p50, and beside it, in the same run, a bare numpy search over the
same vectors (one matrix product and argpartition over a matrix already built), the floor a
search that kept no state in sync could reach. Sizes from ``HNSW_FROM`` on use the HNSW graph
when ``usearch`` is installed (approximate search, so the numpy line is a different algorithm).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import asyncio
import statistics
import tempfile
import time

import numpy as np
from common import peak_rss_mb

from runtime import App
from runtime.vector_search import HNSW_FROM, hnsw_available

MANIFEST = """application "vector-bench" {{
  vector_index "docs" {{
    dimensions = {dims}
    metric = "cosine"
  }}
}}
"""


def unit_rows(rng: np.random.Generator, count: int, dims: int) -> np.ndarray:
    rows = rng.standard_normal((count, dims)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


async def measure(size: int, dims: int, rounds: int) -> tuple[float, float]:
    """(binding upsert+query p50, bare numpy query p50), in milliseconds."""
    rng = np.random.default_rng(size)
    rows = unit_rows(rng, size, dims)
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "raindrop.manifest"
        manifest.write_text(MANIFEST.format(dims=dims))
        async with App.from_manifest(manifest, backend="memory:") as app:
            index = app.env.DOCS
            for start in range(0, size, 5000):
                batch = rows[start : start + 5000]
                await index.upsert([{"id": f"v{start + i}", "values": row.tolist()} for i, row in enumerate(batch)])
            await index.query(rows[0].tolist(), top_k=10)  # the first query builds the search
            probes = unit_rows(rng, rounds, dims)
            times = []
            for n, probe in enumerate(probes):
                vector_id = f"new{n}" if n % 2 else f"v{n}"
                started = time.perf_counter()
                await index.upsert([{"id": vector_id, "values": probe.tolist()}])
                await index.query(probe.tolist(), top_k=10)
                times.append(time.perf_counter() - started)
    bare = []
    for probe in probes:
        started = time.perf_counter()
        scores = rows @ probe
        top = np.argpartition(-scores, 10)[:10]
        top[np.argsort(-scores[top])]
        bare.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, statistics.median(bare) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,120000")
    parser.add_argument("--dims", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    print(f"vector_index, {args.dims} dimensions, {args.rounds} rounds; usearch installed: {hnsw_available()}")
    print(f"{'vectors':>9}  {'search':>6}  {'upsert 1 + query p50':>21}  {'bare numpy query p50':>21}  ratio")
    for size in (int(s) for s in args.sizes.split(",")):
        ours, bare = asyncio.run(measure(size, args.dims, args.rounds))
        kind = "hnsw" if size >= HNSW_FROM and hnsw_available() else "exact"
        print(f"{size:>9,}  {kind:>6}  {ours:>18.2f} ms  {bare:>18.2f} ms  {bare / ours:5.2f}x")
    print(f"peak resident memory: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
