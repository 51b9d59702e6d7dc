"""Cost curves: each binding's operations at 1x, 10x and 100x of the sizes the other benchmarks use.

    python bench/scale.py                 # default sizes, about ten minutes on two cores
    python bench/scale.py --large         # adds the largest sizes (10,000,000 KV keys and SQL
                                          # rows, 1,000,000 chunks): an hour or more
    python bench/scale.py --only kv,queue --plot docs/img/scale.png
    python bench/scale.py --only cron --add earlier.json   # one binding again, drawn with the rest

Every (binding, size) runs in a fresh child process, so its resident memory is its own and no
size inherits another's caches. A child fills its state through the store or the binding in bulk
(filling is not what is measured), then times the operations users call, through the bindings.
The parent prints, per binding, the time per operation and peak RSS at each size and the ratio of
each figure to the smallest size's: 1.0 means flat, 10.0 at 10x means linear in the data.

What is measured (S = the size):
- queue: S messages pending in one queue. send (one durable send at a time), claim (time per
  message for the observer to work through the first 5,000 of the backlog), and the idle app's
  CPU with the rest of the backlog left in a queue nobody consumes.
- kv: S live keys. get of random keys, put (durable, one at a time), a list page of 1,000 keys
  from a random cursor, and an expiry sweep (per expired key, a tenth of the keys expiring).
- smartbucket: S chunks. indexing rate, chunk_search p50/p99, the vector side alone (p50/p99 and
  recall@10 against exact search), the word side alone (p50/p99, FTS5's exact query's, and
  overlap@10 with FTS5's BM25 top 10), the first word search and the first search (which build
  the derived word index and the vector graph of a large collection), and the start of an app
  over that index (open + first search). Sizes above
  100,000 are written straight into the index with synthesized vectors (no indexing rate).
- words: S chunks written straight into the index (real text, one constant vector). the word
  side alone: its p50/p99 and FTS5's, overlap@10 with FTS5's BM25 top 10, the derived index's
  build time and size, reopen to first search, RSS.
- actors: S live actor ids with state. memory, and the first call to an id after a restart.
- cron: S schedules (every minute). the idle CPU between fires and how late the fires start.
- sql: a table of S rows through the binding. point select by key, a range of 100 rows on an
  index, and an insert.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from common import peak_rss_mb, percentile

DEFAULT_SIZES: dict[str, list[int]] = {
    "queue": [10_000, 100_000, 1_000_000],
    "kv": [10_000, 100_000, 1_000_000],
    "smartbucket": [1_000, 10_000, 100_000],
    "vectors": [10_000, 100_000],
    "words": [10_000, 100_000],
    "actors": [1_000, 10_000, 100_000],
    "cron": [100, 1_000, 10_000],
    "sql": [100_000, 1_000_000],
}
LARGE_SIZES: dict[str, list[int]] = {
    "kv": [10_000_000],
    "smartbucket": [1_000_000],
    "vectors": [1_000_000],
    "words": [1_000_000],
    "sql": [10_000_000],
}

HANDLERS = {
    "drain.py": (
        "from runtime import Each\n\nSEEN = [0]\n\n\nclass Drain(Each):\n"
        "    async def process(self, message):\n        SEEN[0] += 1\n"
    ),
    "counter.py": (
        "from runtime import Actor\n\n\nclass Counter(Actor):\n"
        "    async def touch(self, value):\n        await self.state.storage.put('v', value)\n        return value\n\n"
        "    async def read(self):\n        return await self.state.storage.get('v')\n"
    ),
    "tick.py": (
        "import time\n\nfrom runtime import Task\n\nLATE = []\n\n\nclass Tick(Task):\n"
        "    async def handle(self, event):\n        LATE.append(time.time() - event.scheduled_time / 1000)\n"
    ),
}


def write_app(folder: Path, body: str) -> Path:
    (folder / "workers").mkdir(parents=True, exist_ok=True)
    for name, source in HANDLERS.items():
        (folder / "workers" / name).write_text(source)
    manifest = folder / "raindrop.manifest"
    manifest.write_text(f'application "scale" {{\n{body}}}\n')
    return manifest


def timed(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": statistics.median(samples) * 1000,
        "p99_ms": percentile(samples, 0.99) * 1000,
    }


async def each_timed(count: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    samples = []
    for i in range(count):
        start = time.perf_counter()
        await call(i)
        samples.append(time.perf_counter() - start)
    return samples


async def idle_cpu(seconds: float) -> float:
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    return 100 * (time.process_time() - cpu) / (time.perf_counter() - wall)


# ---------------------------------------------------------------------------------------- scenarios


async def scenario_queue(size: int, folder: Path) -> dict[str, Any]:
    from runtime import App
    from runtime.backends import open_backend
    from runtime.backends.base import NewMessage

    manifest = write_app(
        folder,
        '  queue "backlog" {}\n  observer "drain" {\n    source {\n      queue = "backlog"\n    }\n  }\n'
        '  queue "parked" {}\n',
    )
    state = folder / ".raindrop"
    state.mkdir()
    # Fill both queues through the store, in transactions of 5,000: filling is not what is timed.
    backend = open_backend(f"sqlite:///{state / 'state.db'}")
    await backend.open()
    now = time.time()
    fill_start = time.perf_counter()
    for first in range(0, size, 5_000):
        batch = [
            NewMessage(uuid.uuid4().hex, b'{"i": %d, "pad": "%s"}' % (i, b"x" * 64), "json", now, now)
            for i in range(first, min(size, first + 5_000))
        ]
        await backend.queues.send("backlog", batch)
    await backend.close()
    # A backlog that built up over time has been checkpointed as it grew; a bulk fill leaves
    # the whole of it in the WAL, and the app's first commits would pay for folding it back.
    import sqlite3

    with contextlib.closing(sqlite3.connect(state / "state.db")) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    fill_s = time.perf_counter() - fill_start

    app = App.from_manifest(manifest, state_dir=state)
    started = time.perf_counter()
    async with app:
        start_s = time.perf_counter() - started
        seen = sys.modules[type(app.queues.consumers["drain"].handler).__module__].SEEN
        want = min(5_000, size)
        claim_start = time.perf_counter()
        while seen[0] < want:
            await asyncio.sleep(0.001)
        claim_s = (time.perf_counter() - claim_start) / want
    # The same state under an app that consumes nothing: sends, then its idle CPU with the
    # backlog of both queues waiting.
    idle = write_app(folder / "idle", '  queue "parked" {}\n  queue "backlog" {}\n')
    idle_app = App.from_manifest(idle, state_dir=state)
    async with idle_app:
        sends = await each_timed(1_000, lambda i: idle_app.env.PARKED.send({"i": i}))
        await asyncio.sleep(1.0)
        cpu = await idle_cpu(5.0)
        depth = (await idle_app.queue_stats())["backlog"].depth
    return {
        "fill_s": fill_s,
        "start_s": start_s,
        "send": timed(sends),
        "claim_us_per_msg": claim_s * 1e6,
        "idle_cpu_pct": cpu,
        "backlog_depth": depth,
    }


async def scenario_kv(size: int, folder: Path) -> dict[str, Any]:
    from runtime import App, FakeClock

    manifest = write_app(folder, '  kv_cache "cache" {}\n')
    clock = FakeClock()
    app = App.from_manifest(manifest, state_dir=folder / ".raindrop", clock=clock)
    rng = random.Random(7)
    async with app:
        kv = app.env.CACHE
        fill_start = time.perf_counter()
        # A tenth of the keys expire in an hour: the sweep below removes them.
        for first in range(0, size, 2_000):
            await asyncio.gather(
                *(
                    kv.put(f"user:{i:09d}", "v" * 64, expiration_ttl=3_600 if i % 10 == 0 else None)
                    for i in range(first, min(size, first + 2_000))
                )
            )
        fill_s = time.perf_counter() - fill_start
        gets = await each_timed(3_000, lambda i: kv.get(f"user:{rng.randrange(size):09d}"))
        puts = await each_timed(1_000, lambda i: kv.put(f"user:{rng.randrange(size):09d}", "w" * 64))

        async def page(i: int) -> None:
            start = f"user:{rng.randrange(size):09d}"
            listed = await kv.list(prefix="user:", limit=1_000, cursor=kv._encode_cursor(start))
            assert listed["keys"], "a page of the list was empty"

        pages = await each_timed(100, page)
        clock.advance(seconds=7_200)
        store = app.backend.kv
        sweep_start = time.perf_counter()
        swept = await store.sweep(clock.time())
        sweep_s = time.perf_counter() - sweep_start
    return {
        "fill_s": fill_s,
        "get": timed(gets),
        "put": timed(puts),
        "list_page_1000": timed(pages),
        "sweep_us_per_key": sweep_s / max(1, swept) * 1e6,
        "swept": swept,
    }


def corpus_sentences() -> list[str]:
    """Sentences of real English text from the interpreter's own documentation."""
    from pydoc_data.topics import topics

    sentences: list[str] = []
    for text in topics.values():
        for part in text.replace("\n", " ").split(". "):
            words = part.split()
            if 6 <= len(words) <= 60:
                sentences.append(" ".join(words) + ".")
    return sentences


SYNTHETIC_ABOVE = 100_000  # larger SmartBucket sizes are written straight into the index


def fill_synthetic(
    index: Any, collection: str, size: int, sentences: list[str], meanings: list[str] | None = None
) -> None:
    """``size`` chunks of six shuffled sentences written through the retrieval index, each with
    the normalized sum of its sentences' embeddings (what the model gives the paragraph, near
    enough): a million chunks in minutes rather than the hour indexing through puts takes."""
    import numpy as np

    from runtime.smart.embeddings import shared

    sentence_vectors = shared().embed(meanings or sentences)  # the vectors of ``meanings`` if given
    rng = np.random.default_rng(11)
    per_doc = 20
    for d in range(size // per_doc):
        picks = rng.integers(0, len(sentences), size=(per_doc, 6))
        vectors = sentence_vectors[picks].sum(axis=1)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        texts = ["  ".join(sentences[j] for j in row) for row in picks]
        index.replace(collection, "default", f"doc-{d:07d}.txt", texts, vectors)


def vector_figures(index: Any, collection: str, queries: list[str]) -> dict[str, Any]:
    """The vector side alone: its time per query, and recall@10 against exact search (every
    stored ``float32`` vector, read from SQLite in blocks)."""
    import numpy as np

    from runtime.smart import ann
    from runtime.smart.embeddings import shared
    from runtime.smart.retrieval import CANDIDATES

    vectors_index = index._vectors[collection]
    reader = index.reader()
    query_vectors = shared().embed(queries)
    found, samples = [], []
    for query in query_vectors:
        start = time.perf_counter()
        found.append(vectors_index.search(reader, query, CANDIDATES, None)[:10])
        samples.append(time.perf_counter() - start)
    best_scores = np.full((len(queries), 10), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), 10), dtype=np.int64)
    last = 0
    while True:
        rows = reader.execute(
            "SELECT id, vector FROM chunks WHERE collection = ? AND id > ? ORDER BY id LIMIT 20000", (collection, last)
        ).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        block = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32).reshape(len(rows), -1)
        scores = np.concatenate([best_scores, query_vectors @ block.T], axis=1)
        every = np.concatenate([best_ids, np.broadcast_to(ids, (len(queries), len(ids)))], axis=1)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
        best_scores = np.take_along_axis(scores, top, axis=1)
        best_ids = np.take_along_axis(every, top, axis=1)
    recall = statistics.mean(len(set(f) & set(e.tolist())) / 10 for f, e in zip(found, best_ids, strict=True))
    return {
        "recall_at_10": recall,
        "search": timed(samples),
        "graph": vectors_index._graph is not None,
        "exact_limit": ann.EXACT_LIMIT,
    }


def lexical_figures(index: Any, collection: str, queries: list[str], compare: int = 200) -> dict[str, Any]:
    """The lexical side alone (the derived index past its threshold, else FTS5), its time per
    query, and overlap@10 of its ranking with FTS5's exact BM25 ranking: plain, and counting a
    chunk of the same FTS5 score as the exact 10th's as found (ties are broken either way). FTS5
    is asked only the first ``compare`` queries (at a million chunks each takes a second)."""
    from runtime.smart import lexical
    from runtime.smart.retrieval import CANDIDATES, _scope, query_terms

    reader = index.reader()
    words = index._words[collection]
    found, samples, exact_samples = [], [], []
    queries = [query for query in queries if query_terms(query)]  # a query of punctuation asks for no word
    for query in queries:
        start = time.perf_counter()
        index._lexical(reader, collection, query, None, None)
        samples.append(time.perf_counter() - start)
        ranked = words.search(reader, query_terms(query), CANDIDATES, None, None)  # None: FTS5 answers
        found.append((index._fts5(reader, collection, query_terms(query), True) if ranked is None else ranked)[:10])
    for query in queries[:compare]:
        start = time.perf_counter()
        index._fts5(reader, collection, query_terms(query), True)
        exact_samples.append(time.perf_counter() - start)
    plain, tied = [], []
    for query, got in zip(queries[:compare], found, strict=False):
        match = (
            f'scope : "{_scope(collection)}" AND text : ('
            + " OR ".join('"' + term.replace('"', '""') + '"' for term in query_terms(query))
            + ")"
        )
        exact = reader.execute(
            "SELECT rowid, bm25(chunks_fts, 1.0, 0.0) FROM chunks_fts WHERE chunks_fts MATCH ? "
            "ORDER BY bm25(chunks_fts, 1.0, 0.0) LIMIT 10",
            (match,),
        ).fetchall()
        if not exact:
            continue
        scores = dict(
            reader.execute(
                "SELECT rowid, bm25(chunks_fts, 1.0, 0.0) FROM chunks_fts WHERE chunks_fts MATCH ? "
                "AND rowid IN (SELECT value FROM json_each(?))",
                (match, json.dumps(got)),
            ).fetchall()
        )
        tenth = exact[-1][1]
        plain.append(len({row[0] for row in exact} & set(got)) / len(exact))
        tied.append(sum(1 for i in got if i in scores and scores[i] <= tenth + 1e-9 * abs(tenth)) / len(exact))
    return {
        "derived": words._index is not None,
        "failures": words.failures,
        "exact_limit": lexical.EXACT_LIMIT,
        "search": timed(samples),
        "fts5_search": timed(exact_samples),
        "overlap_at_10": statistics.mean(plain) if plain else None,
        "overlap_at_10_ties": statistics.mean(tied) if tied else None,
    }


async def scenario_smartbucket(size: int, folder: Path) -> dict[str, Any]:
    from runtime import App

    manifest = write_app(folder, '  smartbucket "docs" {}\n')
    sentences = corpus_sentences()
    rng = random.Random(11)
    app = App.from_manifest(manifest, state_dir=folder / ".raindrop")
    chunks_per_doc = 20
    async with app:
        bucket = app.env.DOCS
        fill_start = time.perf_counter()
        if size > SYNTHETIC_ABOVE:
            await asyncio.to_thread(fill_synthetic, bucket._index, bucket._collection, size, sentences)
        else:
            documents = max(1, size // chunks_per_doc)
            for d in range(documents):
                # About one chunk per paragraph: paragraphs of ~6 sentences, shuffled per document.
                paragraphs = ["  ".join(rng.sample(sentences, 6)) for _ in range(chunks_per_doc)]
                await bucket.put(f"doc-{d:07d}.txt", "\n\n".join(paragraphs))
                if d % 50 == 49:
                    await app.drain()
            await app.drain()
        index_s = time.perf_counter() - fill_start
        chunks = bucket._index.count(bucket._collection)
        queries = [" ".join(rng.sample(rng.choice(sentences).split(), 4)) for _ in range(200)]
        first_words = time.perf_counter()  # builds the derived word index when the collection is large
        await asyncio.to_thread(bucket._index.search, bucket._collection, queries[0], None, mode="lexical")
        lexical_build_s = time.perf_counter() - first_words
        first_search = time.perf_counter()  # builds the vector graph when the collection is large
        await bucket.chunk_search(input=queries[0], request_id="warm")
        first_search_s = time.perf_counter() - first_search
        searches = await each_timed(len(queries), lambda i: bucket.chunk_search(input=queries[i], request_id=f"q{i}"))
        vectors = vector_figures(bucket._index, bucket._collection, queries)
        words = lexical_figures(bucket._index, bucket._collection, queries)
    rss_open = peak_rss_mb()
    restart = time.perf_counter()
    app = App.from_manifest(manifest, state_dir=folder / ".raindrop")
    async with app:
        await app.env.DOCS.chunk_search(input=queries[1], request_id="first")
        first_s = time.perf_counter() - restart
        reopened = app.env.DOCS._index._vectors[app.env.DOCS._collection]
        restart_graph = {"loaded": reopened.loads, "built": reopened.builds}
        rewords = app.env.DOCS._index._words[app.env.DOCS._collection]
        restart_words = {"loaded": rewords.loads, "built": rewords.builds}
    return {
        "chunks": chunks,
        "synthetic": size > SYNTHETIC_ABOVE,
        "index_chunks_per_s": chunks / index_s if size <= SYNTHETIC_ABOVE else None,
        "first_search_s": first_search_s,
        "search": timed(searches),
        "vector": vectors,
        "lexical": words,
        "lexical_build_s": lexical_build_s,
        "restart_to_first_search_s": first_s,
        "restart_graph": restart_graph,
        "restart_words": restart_words,
        "rss_after_search_mb": rss_open,
    }


async def scenario_vectors(size: int, folder: Path) -> dict[str, Any]:
    """The vector side of SmartBucket search alone, at sizes that indexing text would take an
    hour to reach: S chunks with one-word texts (FTS5 has little to do) and synthesized vectors,
    the graph built by the first search, then a fresh index over the same files, as after a
    restart. RSS is read from /proc (current, not peak: the build's peak is not the index's)."""
    from runtime.smart.retrieval import RetrievalIndex

    sentences = corpus_sentences()
    rng = random.Random(11)
    queries = [" ".join(rng.sample(rng.choice(sentences).split(), 4)) for _ in range(200)]
    index = RetrievalIndex(folder / "smart.sqlite")
    collection = "bucket:docs"
    await asyncio.to_thread(fill_synthetic, index, collection, size, ["w"] * len(sentences), sentences)
    from runtime.smart.embeddings import shared

    query_vectors = shared().embed(queries)
    start = time.perf_counter()
    index.search(collection, "", query_vectors[0], mode="vector")
    build_s = time.perf_counter() - start
    figures = vector_figures(index, collection, queries)
    index.close()
    start = time.perf_counter()
    reopened = RetrievalIndex(folder / "smart.sqlite")
    reopened.search(collection, "", query_vectors[1], mode="vector")
    reopen_s = time.perf_counter() - start
    for query in query_vectors:
        reopened.search(collection, "", query, mode="vector")
    graph = reopened._vectors[collection]
    result = {
        "chunks": size,
        "build_s": build_s,
        "search": figures["search"],
        "recall_at_10": figures["recall_at_10"],
        "graph": figures["graph"],
        "reopen_to_first_search_s": reopen_s,
        "reopen_graph": {"loaded": graph.loads, "built": graph.builds},
        "rss_reopened_mb": int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20,
    }
    reopened.close()
    return result


async def scenario_words(size: int, folder: Path) -> dict[str, Any]:
    """The word side of SmartBucket search alone, at sizes that indexing (and a vector graph)
    would take an hour to reach: S chunks of six shuffled sentences of real text, written
    through the retrieval index with one constant vector (the vector side is not measured), the
    derived word index built by the first search, then a fresh index over the same files."""
    import numpy as np

    from runtime.smart.embeddings import DIMENSIONS
    from runtime.smart.retrieval import RetrievalIndex

    sentences = corpus_sentences()
    rng = random.Random(11)
    queries = [" ".join(rng.sample(rng.choice(sentences).split(), 4)) for _ in range(200)]
    index = RetrievalIndex(folder / "smart.sqlite")
    collection = "bucket:docs"
    per_doc = 1_000
    vectors = np.full((per_doc, DIMENSIONS), DIMENSIONS**-0.5, dtype=np.float32)
    picks = np.random.default_rng(11)
    fill_start = time.perf_counter()
    for d in range(size // per_doc):
        rows = picks.integers(0, len(sentences), size=(per_doc, 6))
        texts = ["  ".join(sentences[j] for j in row) for row in rows]
        index.replace(collection, "default", f"doc-{d:07d}.txt", texts, vectors)
    fill_s = time.perf_counter() - fill_start
    start = time.perf_counter()
    index.search(collection, queries[0], None, mode="lexical")
    build_s = time.perf_counter() - start
    figures = lexical_figures(index, collection, queries, 100 if size >= 1_000_000 else 200)
    figures["compared"] = 100 if size >= 1_000_000 else 200
    folder_mb = sum(f.stat().st_size for f in (folder / "smart.lexical").rglob("*") if f.is_file()) / 2**20
    index.close()
    start = time.perf_counter()
    reopened = RetrievalIndex(folder / "smart.sqlite")
    reopened.search(collection, queries[1], None, mode="lexical")
    reopen_s = time.perf_counter() - start
    for query in queries:
        reopened.search(collection, query, None, mode="lexical")
    words = reopened._words[collection]
    result = {
        "chunks": size,
        "fill_s": fill_s,
        "build_s": build_s,
        "lexical": figures,
        "index_mb": folder_mb,
        "reopen_to_first_search_s": reopen_s,
        "reopen_words": {"loaded": words.loads, "built": words.builds},
        "rss_reopened_mb": int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20,
    }
    reopened.close()
    return result


async def scenario_actors(size: int, folder: Path) -> dict[str, Any]:
    from runtime import App

    manifest = write_app(folder, '  actor "counter" {}\n')
    app = App.from_manifest(manifest, state_dir=folder / ".raindrop")
    async with app:
        ns = app.env.COUNTER
        fill_start = time.perf_counter()
        for first in range(0, size, 500):
            await asyncio.gather(
                *(ns.get(ns.id_from_name(f"u{i}")).touch(i) for i in range(first, min(size, first + 500)))
            )
        fill_s = time.perf_counter() - fill_start
        rng = random.Random(3)
        warm = await each_timed(1_000, lambda i: ns.get(ns.id_from_name(f"u{rng.randrange(size)}")).read())
        rss_live = peak_rss_mb()
    restart = time.perf_counter()
    app = App.from_manifest(manifest, state_dir=folder / ".raindrop")
    async with app:
        start_s = time.perf_counter() - restart
        ns = app.env.COUNTER
        first = await each_timed(200, lambda i: ns.get(ns.id_from_name(f"u{rng.randrange(size)}")).read())
    return {
        "fill_calls_per_s": size / fill_s,
        "call_live": timed(warm),
        "rss_live_mb": rss_live,
        "restart_s": start_s,
        "first_call_after_restart": timed(first),
    }


async def scenario_cron(size: int, folder: Path) -> dict[str, Any]:
    from runtime import App

    blocks = "".join(
        f'  task "t{i}" {{\n    type = "cron"\n    cron = "* * * * *"\n    handler = "workers/tick.py"\n  }}\n'
        for i in range(size)
    )
    manifest = write_app(folder, blocks)
    started = time.perf_counter()
    app = App.from_manifest(manifest, state_dir=folder / ".raindrop")
    async with app:
        start_s = time.perf_counter() - started
        late = sys.modules[next(m for m in sys.modules if m.endswith("tick") and hasattr(sys.modules[m], "LATE"))].LATE
        # Idle between fires: measure away from the minute boundary, then wait for one fire of all.
        to_minute = 60 - time.time() % 60
        if to_minute < 8:
            await asyncio.sleep(to_minute + 1)
            late.clear()
        cpu = await idle_cpu(5.0)
        deadline = time.time() + 70
        while len(late) < size and time.time() < deadline:
            await asyncio.sleep(0.2)
        fired = list(late[:size])
    return {
        "start_s": start_s,
        "idle_cpu_pct": cpu,
        "fired": len(fired),
        "fire_late_ms": {
            "p50": statistics.median(fired) * 1000 if fired else None,
            "max": max(fired) * 1000 if fired else None,
        },
    }


async def scenario_sql(size: int, folder: Path) -> dict[str, Any]:
    import sqlite3

    from runtime import App

    manifest = write_app(folder, '  sql_database "db" {}\n')
    app = App.from_manifest(manifest, state_dir=folder / ".raindrop")
    async with app:
        db = app.env.DB
        await db.exec("CREATE TABLE events (id INTEGER PRIMARY KEY, account INTEGER, at REAL, kind TEXT, payload TEXT)")
        await db.exec("CREATE INDEX events_account_at ON events (account, at)")
        target = db.path
    fill_start = time.perf_counter()
    accounts = max(1, size // 100)  # about 100 rows an account at every size: the range reads 100
    conn = sqlite3.connect(target)
    rng = random.Random(5)
    conn.executemany(
        "INSERT INTO events (account, at, kind, payload) VALUES (?, ?, ?, ?)",
        ((rng.randrange(accounts), i * 0.5, "click", "x" * 40) for i in range(size)),
    )
    conn.commit()
    conn.close()
    fill_s = time.perf_counter() - fill_start
    app = App.from_manifest(manifest, state_dir=folder / ".raindrop")
    async with app:
        db = app.env.DB
        point = await each_timed(
            2_000, lambda i: db.prepare("SELECT * FROM events WHERE id = ?").bind(rng.randrange(1, size)).first()
        )
        ranged = await each_timed(
            500,
            lambda i: (
                db.prepare("SELECT * FROM events WHERE account = ? ORDER BY at LIMIT 100")
                .bind(rng.randrange(accounts))
                .all()
            ),
        )
        inserts = await each_timed(
            500,
            lambda i: (
                db.prepare("INSERT INTO events (account, at, kind, payload) VALUES (?, ?, 'k', 'p')")
                .bind(rng.randrange(accounts), time.time())
                .run()
            ),
        )
    return {"fill_s": fill_s, "point_select": timed(point), "range_100": timed(ranged), "insert": timed(inserts)}


SCENARIOS: dict[str, Callable[[int, Path], Awaitable[dict[str, Any]]]] = {
    "queue": scenario_queue,
    "kv": scenario_kv,
    "smartbucket": scenario_smartbucket,
    "vectors": scenario_vectors,
    "words": scenario_words,
    "actors": scenario_actors,
    "cron": scenario_cron,
    "sql": scenario_sql,
}

# The figures each binding's table and plot show: (label, path into the result, unit).
HEADLINES: dict[str, list[tuple[str, tuple[str, ...], str]]] = {
    "queue": [
        ("send p50", ("send", "p50_ms"), "ms"),
        ("claim per message", ("claim_us_per_msg",), "µs"),
        ("idle CPU", ("idle_cpu_pct",), "%"),
    ],
    "kv": [
        ("get p50", ("get", "p50_ms"), "ms"),
        ("put p50", ("put", "p50_ms"), "ms"),
        ("list page p50", ("list_page_1000", "p50_ms"), "ms"),
        ("sweep per key", ("sweep_us_per_key",), "µs"),
    ],
    "smartbucket": [
        ("search p50", ("search", "p50_ms"), "ms"),
        ("search p99", ("search", "p99_ms"), "ms"),
        ("vector side p50", ("vector", "search", "p50_ms"), "ms"),
        ("vector side p99", ("vector", "search", "p99_ms"), "ms"),
        ("vector recall@10 vs exact", ("vector", "recall_at_10"), "ratio"),
        ("word side p50", ("lexical", "search", "p50_ms"), "ms"),
        ("word side p99", ("lexical", "search", "p99_ms"), "ms"),
        ("FTS5 alone p50", ("lexical", "fts5_search", "p50_ms"), "ms"),
        ("word overlap@10 vs FTS5", ("lexical", "overlap_at_10"), "ratio"),
        ("word overlap@10, ties", ("lexical", "overlap_at_10_ties"), "ratio"),
        ("word index build", ("lexical_build_s",), "s"),
        ("first search (graph build)", ("first_search_s",), "s"),
        ("indexing", ("index_chunks_per_s",), "chunks/s"),
        ("restart to first search", ("restart_to_first_search_s",), "s"),
    ],
    "vectors": [
        ("vector search p50", ("search", "p50_ms"), "ms"),
        ("vector search p99", ("search", "p99_ms"), "ms"),
        ("recall@10 vs exact", ("recall_at_10",), "ratio"),
        ("graph build", ("build_s",), "s"),
        ("reopen to first search", ("reopen_to_first_search_s",), "s"),
        ("RSS after reopen + 200 searches", ("rss_reopened_mb",), "MB"),
    ],
    "words": [
        ("word side p50", ("lexical", "search", "p50_ms"), "ms"),
        ("word side p99", ("lexical", "search", "p99_ms"), "ms"),
        ("FTS5 alone p50", ("lexical", "fts5_search", "p50_ms"), "ms"),
        ("FTS5 alone p99", ("lexical", "fts5_search", "p99_ms"), "ms"),
        ("overlap@10 vs FTS5", ("lexical", "overlap_at_10"), "ratio"),
        ("overlap@10, ties", ("lexical", "overlap_at_10_ties"), "ratio"),
        ("word index build", ("build_s",), "s"),
        ("word index size", ("index_mb",), "MB"),
        ("reopen to first search", ("reopen_to_first_search_s",), "s"),
        ("RSS after reopen + 200 searches", ("rss_reopened_mb",), "MB"),
    ],
    "actors": [
        ("call p50", ("call_live", "p50_ms"), "ms"),
        ("first call after restart p50", ("first_call_after_restart", "p50_ms"), "ms"),
        ("restart", ("restart_s",), "s"),
    ],
    "cron": [
        ("idle CPU", ("idle_cpu_pct",), "%"),
        ("fire late p50", ("fire_late_ms", "p50"), "ms"),
        ("start", ("start_s",), "s"),
    ],
    "sql": [
        ("point select p50", ("point_select", "p50_ms"), "ms"),
        ("range of 100 p50", ("range_100", "p50_ms"), "ms"),
        ("insert p50", ("insert", "p50_ms"), "ms"),
    ],
}


def run_child(name: str, size: int, folder: str) -> None:
    from common import new_loop

    result = asyncio.Runner(loop_factory=new_loop).run(SCENARIOS[name](size, Path(folder)))
    result["rss_peak_mb"] = peak_rss_mb()
    print(json.dumps(result))


def dig(result: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = result
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, int | float) else None


def report(name: str, results: dict[int, dict[str, Any]]) -> None:
    sizes = sorted(results)
    base = sizes[0]
    print(f"\n{name}: sizes {', '.join(f'{s:,}' for s in sizes)}")
    for label, path, unit in [*HEADLINES[name], ("peak RSS", ("rss_peak_mb",), "MB")]:
        cells = []
        for size in sizes:
            value = dig(results[size], path)
            first = dig(results[base], path)
            ratio = f" ({value / first:.2f}x)" if value is not None and first and size != base else ""
            cells.append("      n/a" if value is None else f"{value:9.3f}{ratio}")
        print(f"  {label:32s} [{unit}] " + " | ".join(cells))


def plot(all_results: dict[str, dict[int, dict[str, Any]]], out: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        print("\nno plot: matplotlib is not installed (pip install -e '.[bench]')")
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in SCENARIOS if n in all_results]
    fig, axes = plt.subplots(len(names), 2, figsize=(11, 3.2 * len(names)), squeeze=False)
    for row, name in enumerate(names):
        sizes = sorted(all_results[name])
        time_axis, memory_axis = axes[row]
        for label, path, unit in HEADLINES[name]:
            if unit not in ("ms", "µs"):
                continue
            values = [dig(all_results[name][s], path) for s in sizes]
            points = [(s, v) for s, v in zip(sizes, values, strict=True) if v is not None]
            if points:
                time_axis.plot(*zip(*points, strict=True), marker="o", label=f"{label} ({unit})")
        time_axis.set_xscale("log")
        time_axis.set_yscale("log")
        time_axis.set_title(f"{name}: time per operation")
        time_axis.set_xlabel("size")
        time_axis.legend(fontsize=7)
        time_axis.grid(True, which="both", alpha=0.3)
        rss = [dig(all_results[name][s], ("rss_peak_mb",)) or 0.0 for s in sizes]
        memory_axis.plot(sizes, rss, marker="o", color="tab:red")
        memory_axis.set_xscale("log")
        memory_axis.set_ylim(bottom=0)
        memory_axis.set_title(f"{name}: peak resident memory (MB)")
        memory_axis.set_xlabel("size")
        memory_axis.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    print(f"\nplot written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated bindings: " + ", ".join(SCENARIOS))
    parser.add_argument("--large", action="store_true", help="add the largest sizes (an hour or more)")
    parser.add_argument("--sizes", help="override the sizes for every chosen binding, e.g. 1000,10000")
    parser.add_argument("--plot", default=str(HERE.parent / "docs" / "img" / "scale.png"))
    parser.add_argument("--json", help="also write every figure to this file")
    parser.add_argument(
        "--add", action="append", default=[], metavar="JSON", help="figures of earlier runs (--json) to plot with these"
    )
    parser.add_argument("--child", nargs=3, metavar=("NAME", "SIZE", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child[0], int(args.child[1]), args.child[2])
        return
    names = args.only.split(",") if args.only else list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown binding {unknown[0]!r}: expected one of {', '.join(SCENARIOS)}")
    all_results: dict[str, dict[int, dict[str, Any]]] = {}
    for earlier in args.add:  # bindings measured in other runs: reported and drawn as they were
        for name, by_size in json.loads(Path(earlier).read_text()).items():
            if name not in names:
                all_results[name] = {int(size): figures for size, figures in by_size.items()}
                report(name, all_results[name])
    started = time.perf_counter()
    for name in names:
        sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(DEFAULT_SIZES[name])
        if args.large and not args.sizes:
            sizes += LARGE_SIZES.get(name, [])
        all_results[name] = {}
        for size in sizes:
            print(f"[{time.perf_counter() - started:6.0f} s] {name} at {size:,} ...", flush=True)
            with tempfile.TemporaryDirectory() as tmp:
                child = subprocess.run(
                    [sys.executable, __file__, "--child", name, str(size), tmp],
                    capture_output=True,
                    text=True,
                    check=False,
                )
            if child.returncode != 0:
                print(child.stderr[-3000:], file=sys.stderr)
                raise SystemExit(f"{name} at {size} failed (exit {child.returncode})")
            all_results[name][size] = json.loads(child.stdout.strip().splitlines()[-1])
        report(name, all_results[name])
    if args.json:
        Path(args.json).write_text(json.dumps(all_results, indent=1))
    plot(all_results, Path(args.plot))
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
