"""The vector index behind SmartBucket search: an HNSW graph above a size, kept true to SQLite.

The graph threshold is lowered so a few thousand synthetic chunks exercise the graph path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from runtime.smart import ann
from runtime.smart.embeddings import DIMENSIONS
from runtime.smart.retrieval import RetrievalIndex

COLLECTION = "bucket:docs"
PER_DOC = 10


@pytest.fixture(autouse=True)
def small_graphs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ann, "EXACT_LIMIT", 500)


def corpus(documents: int, seed: int = 3) -> np.ndarray:
    """Clustered unit vectors, like embeddings of texts on a few hundred topics."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, DIMENSIONS)).astype(np.float32)
    topic = rng.integers(0, len(centres), size=documents * PER_DOC)
    vectors = centres[topic] + 0.6 * rng.normal(size=(documents * PER_DOC, DIMENSIONS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def fill(index: RetrievalIndex, vectors: np.ndarray, partition: str = "default", prefix: str = "doc") -> None:
    for d in range(len(vectors) // PER_DOC):
        block = vectors[d * PER_DOC : (d + 1) * PER_DOC]
        index.replace(COLLECTION, partition, f"{prefix}-{d}", [f"text {prefix} {d} {s}" for s in range(PER_DOC)], block)


def vector_ids(index: RetrievalIndex, query: np.ndarray, partitions: list[str] | None = None) -> list[int]:
    return [hit.chunk_id for hit in index.search(COLLECTION, "", query, mode="vector", partitions=partitions)]


def exact_top(index: RetrievalIndex, query: np.ndarray, count: int = 10) -> list[int]:
    rows = index.conn.execute("SELECT id, vector FROM chunks WHERE collection = ?", (COLLECTION,)).fetchall()
    ids = np.array([r[0] for r in rows])
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), DIMENSIONS)
    return [int(i) for i in ids[np.argsort(-(matrix @ query), kind="stable")[:count]]]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[RetrievalIndex]:
    opened = RetrievalIndex(tmp_path / "smart.sqlite")
    yield opened
    opened.close()


def graph_of(index: RetrievalIndex) -> ann.VectorIndex:
    return index._vectors[COLLECTION]


@pytest.mark.slow  # builds a 3,000-chunk graph and searches it exactly too
def test_recall_at_10_against_exact_search_is_at_least_095(index: RetrievalIndex) -> None:
    vectors = corpus(300)  # 3,000 chunks: a graph
    fill(index, vectors)
    queries = corpus(20, seed=9)[:50]
    vector_ids(index, queries[0])
    assert graph_of(index).builds == 1 and graph_of(index)._graph is not None
    recall = np.mean([len(set(vector_ids(index, q)[:10]) & set(exact_top(index, q))) / 10 for q in queries])
    assert recall >= 0.95, recall


def test_deleted_and_replaced_chunks_are_never_returned(index: RetrievalIndex) -> None:
    vectors = corpus(100)
    fill(index, vectors)
    vector_ids(index, vectors[0])  # graph built
    assert graph_of(index)._graph is not None
    gone = set(r[0] for r in index.conn.execute("SELECT id FROM chunks WHERE key IN ('doc-0', 'doc-1')"))
    index.remove(COLLECTION, None, "doc-0")
    index.replace(COLLECTION, "default", "doc-1", ["new"], corpus(1, seed=5)[:1])
    for q in vectors[:20]:
        assert not gone & set(vector_ids(index, q))
    # the query equal to doc-0's first chunk used to find it first; now it is nowhere
    graph_of(index).merge_now()
    assert graph_of(index).builds == 2
    for q in vectors[:20]:
        assert not gone & set(vector_ids(index, q))
    new_id = index.conn.execute("SELECT id FROM chunks WHERE key = 'doc-1'").fetchone()[0]
    assert new_id not in gone  # ids are never handed out twice


def test_ids_of_the_last_document_are_not_reused(index: RetrievalIndex) -> None:
    fill(index, corpus(2))
    before = {r[0] for r in index.conn.execute("SELECT id FROM chunks WHERE key = 'doc-1'")}
    index.remove(COLLECTION, None, "doc-1")
    fill(index, corpus(2, seed=4)[PER_DOC:], prefix="again")
    after = {r[0] for r in index.conn.execute("SELECT id FROM chunks WHERE key = 'again-0'")}
    assert after and min(after) > max(before)


def test_restart_opens_the_saved_graph_without_rebuilding(tmp_path: Path) -> None:
    vectors = corpus(100)
    first = RetrievalIndex(tmp_path / "smart.sqlite")
    fill(first, vectors)
    expected = vector_ids(first, vectors[7])
    assert graph_of(first).builds == 1
    first.close()
    again = RetrievalIndex(tmp_path / "smart.sqlite")
    try:
        assert vector_ids(again, vectors[7]) == expected
        assert (graph_of(again).loads, graph_of(again).builds) == (1, 0)
    finally:
        again.close()


def test_a_stale_graph_file_is_caught_up_from_sqlite(tmp_path: Path) -> None:
    vectors = corpus(100)
    first = RetrievalIndex(tmp_path / "smart.sqlite")
    fill(first, vectors)
    vector_ids(first, vectors[0])
    first.close()
    # another process writes without searching: the file no longer tells the whole story
    writer = RetrievalIndex(tmp_path / "smart.sqlite")
    writer.remove(COLLECTION, None, "doc-3")
    extra = corpus(1, seed=8)
    fill(writer, extra, prefix="late")
    gone = {r[0] for r in writer.conn.execute("SELECT id FROM chunks WHERE key = 'doc-3'")}
    writer.close()
    again = RetrievalIndex(tmp_path / "smart.sqlite")
    try:
        late = {r[0] for r in again.conn.execute("SELECT id FROM chunks WHERE key = 'late-0'")}
        assert vector_ids(again, extra[0])[0] in late
        assert not gone & set(vector_ids(again, vectors[30]))
        assert graph_of(again).builds == 0  # caught up, not rebuilt
    finally:
        again.close()


@pytest.mark.parametrize("damage", ["truncate", "metadata", "other database"])
def test_a_corrupt_or_foreign_graph_file_is_rebuilt(tmp_path: Path, damage: str) -> None:
    vectors = corpus(100)
    first = RetrievalIndex(tmp_path / "smart.sqlite")
    fill(first, vectors)
    expected = vector_ids(first, vectors[11])
    folder = graph_of(first).folder
    first.close()
    (graph_file,) = folder.glob("*.usearch")
    (meta_file,) = folder.glob("*.json")
    if damage == "truncate":
        graph_file.write_bytes(graph_file.read_bytes()[:5000])
    elif damage == "metadata":
        meta_file.write_text("{not json")
    else:
        meta = json.loads(meta_file.read_text())
        meta["epoch"] = "another"
        meta_file.write_text(json.dumps(meta))
    again = RetrievalIndex(tmp_path / "smart.sqlite")
    try:
        found = vector_ids(again, vectors[11])  # a new graph: the same best, near-ties may swap
        assert found[0] == expected[0] and len(set(found[:10]) & set(exact_top(again, vectors[11]))) >= 9
        assert (graph_of(again).loads, graph_of(again).builds) == (0, 1)
    finally:
        again.close()


def test_partitions_filter_the_graph(index: RetrievalIndex) -> None:
    fill(index, corpus(80), partition="big")
    small = corpus(3, seed=12)
    fill(index, small, partition="small", prefix="s")
    small_ids = {r[0] for r in index.conn.execute("SELECT id FROM chunks WHERE partition = 'small'")}
    found = vector_ids(index, small[0] * 0.5 + corpus(1)[0] * 0.5, partitions=["small"])
    assert found and set(found) <= small_ids
    assert graph_of(index)._graph is not None
    assert vector_ids(index, small[0], partitions=["nowhere"]) == []


def test_hits_from_the_graph_have_the_shape_of_exact_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vectors = corpus(100)
    index = RetrievalIndex(tmp_path / "smart.sqlite")
    fill(index, vectors)
    graph_hits = index.search(COLLECTION, "text doc 5", vectors[52], limit=20)
    assert graph_of(index)._graph is not None
    index.close()
    monkeypatch.setattr(ann, "EXACT_LIMIT", 10**9)
    exact = RetrievalIndex(tmp_path / "other.sqlite")
    try:
        fill(exact, vectors)
        exact_hits = exact.search(COLLECTION, "text doc 5", vectors[52], limit=20)
        assert graph_of(exact)._graph is None
        # the same chunks in the same order; fused scores may differ in the third decimal, as
        # the graph's candidate list (not exact search) feeds the lexical/vector fusion
        assert [(h.key, h.seq, h.text) for h in graph_hits[:5]] == [(h.key, h.seq, h.text) for h in exact_hits[:5]]
        assert [h.score for h in graph_hits[:5]] == pytest.approx([h.score for h in exact_hits[:5]], abs=0.01)
        assert [type(h) for h in graph_hits] == [type(h) for h in exact_hits]
    finally:
        exact.close()


@pytest.mark.anyio
async def test_a_smartbucket_search_runs_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    import threading

    from runtime import App

    apps = Path(__file__).parent / "apps" / "smart"
    shutil.copytree(apps, tmp_path / "smart")
    app = App.from_manifest(tmp_path / "smart" / "raindrop.manifest", state_dir=tmp_path / "state")
    async with app:
        bucket = app.env.BILLS
        await bucket.put("a.txt", "Volcanic eruptions in Iceland close the airports.")
        await app.drain()
        index = bucket._index
        searched_in: list[int] = []
        search = index.search

        def recording(*args: object, **kwargs: object) -> object:
            searched_in.append(threading.get_ident())
            return search(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(index, "search", recording)
        found = await bucket.chunk_search(input="volcano airports")
        assert found["results"] and found["results"][0]["source"] == "a.txt"
        assert searched_in and searched_in[0] != threading.get_ident()


def test_many_writes_between_searches_are_read_back_from_sqlite(index: RetrievalIndex) -> None:
    fill(index, corpus(100))
    vector_ids(index, corpus(1)[0])  # the graph is built; later writes are noted for it
    late = corpus(70, seed=21)  # 700 chunks: more than the notes keep, so they are dropped
    fill(index, late, prefix="late")
    assert graph_of(index)._notes == []
    late_ids = {r[0] for r in index.conn.execute("SELECT id FROM chunks WHERE key LIKE 'late-%'")}
    assert vector_ids(index, late[123])[0] in late_ids
    assert graph_of(index).loads + graph_of(index).builds >= 1
