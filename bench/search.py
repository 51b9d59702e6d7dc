"""SmartBucket search benchmark: chunk_search against the bare queries it is made of, same run.

    python bench/search.py [--chunks 10000] [--queries 300]

Real text: the Python documentation on this machine (``pydoc_data``'s help topics, and the
docstrings of the standard library and of the installed packages), put into a SmartBucket as
one object per module or topic, until the index holds about ``--chunks`` chunks. Then, for the same queries (phrases
taken from the corpus and plain questions):

- ``chunk_search`` through the binding (embedding the query, FTS5 BM25, vector top-k, fusion,
  building the results);
- a bare FTS5 BM25 query on the same index (the same OR of terms, top 10);
- a bare numpy top-k over the same vectors (embedding the query with the same model, one dot
  product, argpartition).

Targets at 10,000 chunks: p50 < 10 ms and p99 < 30 ms, within 2x of the two bare queries
together; indexing at least 200 chunks/s. Resident memory is printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import ast
import asyncio
import random
import statistics
import sysconfig
import tempfile
import time

import numpy as np
from common import peak_rss_mb

from runtime import App
from runtime.smart.retrieval import query_terms

MANIFEST = """application "search-bench" {
  smartbucket "docs" {}
}
"""


def corpus() -> list[tuple[str, str]]:
    """(key, text) documents of real English text from the interpreter's own documentation."""
    from pydoc_data.topics import topics

    documents = [(f"topics/{name}.txt", text) for name, text in sorted(topics.items())]
    paths = sysconfig.get_paths()
    stdlib = Path(paths["stdlib"])
    files = [p for p in sorted(stdlib.rglob("*.py")) if "site-packages" not in p.parts]
    files += sorted(Path(paths["purelib"]).rglob("*.py"))  # the runtime's dependencies: numpy, pydantic, ...
    for path in files:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError):
            continue
        texts = [
            ast.get_docstring(node) or ""
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        text = "\n\n".join(t for t in texts if len(t) > 40)
        if len(text) > 200:
            documents.append((f"python/{path.name}-{len(documents)}.txt", text))
    return documents


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(chunks_wanted: int, query_count: int) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "raindrop.manifest").write_text(MANIFEST)
        app = App.from_manifest(root / "raindrop.manifest", state_dir=root / "state")
        async with app:
            bucket = app.env.DOCS
            index = bucket._index
            embedder = bucket._embedder
            await asyncio.to_thread(embedder.load)
            documents = corpus()
            rng.shuffle(documents)
            started = time.perf_counter()
            put = 0
            for key, text in documents:
                await bucket.put(key, text, http_metadata={"contentType": "text/plain"})
                put += 1
                if put % 25 == 0:
                    await app.drain()
                    if index.count(bucket._collection) >= chunks_wanted:
                        break
            await app.drain()
            indexing = time.perf_counter() - started
            chunks = index.count(bucket._collection)
            print(
                f"indexed {chunks} chunks from {put} documents of real text in {indexing:.1f} s: {chunks / indexing:.0f} chunks/s (target >= 200)"
            )

            texts = [
                row[0]
                for row in index.conn.execute("SELECT text FROM chunks ORDER BY random() LIMIT ?", (query_count,))
            ]
            queries = []
            for i, text in enumerate(texts):
                words = text.split()
                if i % 3 == 2:
                    queries.append("how do I " + " ".join(rng.sample(words, min(4, len(words)))))
                else:
                    start = rng.randrange(max(1, len(words) - 6))
                    queries.append(" ".join(words[start : start + 6]))
            await bucket.chunk_search(input=queries[0], request_id="warm")  # load the vector matrix
            stored = index.conn.execute("SELECT vector FROM chunks WHERE collection = ?", (bucket._collection,))
            matrix = np.frombuffer(b"".join(row[0] for row in stored), dtype=np.float32).reshape(chunks, -1)

            def bare_fts(query: str) -> None:
                match = " OR ".join('"' + t.replace('"', '""') + '"' for t in query_terms(query))
                index.conn.execute(
                    "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT 10", (match,)
                ).fetchall()

            def bare_vector(query: str) -> None:
                (vector,) = embedder.embed([query])
                scores = matrix @ vector
                top = np.argpartition(-scores, 10)[:10]
                top[np.argsort(-scores[top])]

            rounds: dict[str, list[float]] = {"chunk_search": [], "fts": [], "vector": []}
            for query in queries:  # interleaved, so that the machine's slow seconds hit all three
                t0 = time.perf_counter()
                await bucket.chunk_search(input=query, request_id="b")
                t1 = time.perf_counter()
                bare_fts(query)
                t2 = time.perf_counter()
                bare_vector(query)
                t3 = time.perf_counter()
                rounds["chunk_search"].append((t1 - t0) * 1000)
                rounds["fts"].append((t2 - t1) * 1000)
                rounds["vector"].append((t3 - t2) * 1000)
    p50 = {name: statistics.median(samples) for name, samples in rounds.items()}
    p99 = {name: percentile(samples, 0.99) for name, samples in rounds.items()}
    bare = p50["fts"] + p50["vector"]
    print(f"{len(queries)} queries over {chunks} chunks (ms)          p50      p99")
    for name in rounds:
        print(f"  {name:<40} {p50[name]:7.2f}  {p99[name]:7.2f}")
    print(
        f"chunk_search p50 {p50['chunk_search']:.2f} ms (target < 10), p99 {p99['chunk_search']:.2f} ms (target < 30); "
        f"{p50['chunk_search'] / bare:.2f}x the bare FTS5 + numpy queries together at p50 (target <= 2x)"
    )
    print(f"peak resident memory of this process: {peak_rss_mb():.0f} MB (the corpus and its index included)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(run(args.chunks, args.queries))


if __name__ == "__main__":
    main()
