"""The ``vector_index`` binding on every backend: the platform's API in Python spelling, exact
search, metadata filters, durability, and the HNSW search behind the same interface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runtime import App, BindingError, LimitError, ManifestError
from runtime.vector_index import VectorIndex
from runtime.vector_search import ExactSearch, HnswSearch, hnsw_available, make_search
from tests.backends import BACKENDS, backend_url

pytestmark = pytest.mark.anyio
MANIFEST = """
application "vectors" {
  vector_index "docs" {
    dimensions = 3
    metric = "cosine"
  }
  vector_index "plain" {}
  vector_index "far" {
    dimensions = 2
    metric = "euclidean"
  }
}
"""
DOCS = [
    {"id": "a", "values": [1.0, 0.0, 0.0], "metadata": {"lang": "en", "year": 2020, "tag": {"kind": "news"}}},
    {"id": "b", "values": [0.9, 0.1, 0.0], "metadata": {"lang": "fr", "year": 2022}},
    {"id": "c", "values": [0.0, 1.0, 0.0], "metadata": {"lang": "en", "year": 2024}, "namespace": "blog"},
    {"id": "d", "values": [0.0, 0.0, 1.0]},
]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    path = tmp_path / "app" / "raindrop.manifest"
    path.write_text(MANIFEST)
    return path


@pytest.fixture(params=BACKENDS)
async def app(request: pytest.FixtureRequest, manifest: Path, tmp_path: Path) -> AsyncIterator[App]:
    async with App.from_manifest(manifest, backend=backend_url(request.param, tmp_path)) as running:
        yield running


async def test_upsert_query_get_delete_describe(app: App) -> None:
    docs: VectorIndex = app.env.DOCS
    assert isinstance(docs, VectorIndex)
    written = await docs.upsert(DOCS)
    assert written["count"] == 4 and written["ids"] == ["a", "b", "c", "d"] and written["mutation_id"]
    found = await docs.query([1.0, 0.05, 0.0], top_k=2)
    assert [m["id"] for m in found["matches"]] == ["a", "b"] and found["count"] == 2
    assert found["matches"][0]["score"] == pytest.approx(0.99875, abs=1e-4)  # cosine similarity
    assert "values" not in found["matches"][0] and "metadata" not in found["matches"][0]
    full = await docs.query([0.0, 1.0, 0.0], top_k=1, return_values=True, return_metadata="all")
    (match,) = full["matches"]
    assert match == {
        "id": "c",
        "score": pytest.approx(1.0),
        "values": [0.0, 1.0, 0.0],
        "metadata": {"lang": "en", "year": 2024},
        "namespace": "blog",
    }
    assert [v["id"] for v in await docs.get_by_ids(["d", "zz", "a"])] == ["d", "a"]
    (a,) = await docs.get_by_ids(["a"])
    assert a["metadata"]["tag"] == {"kind": "news"} and a["values"] == [1.0, 0.0, 0.0]
    assert await docs.describe() == {
        "dimensions": 3,
        "metric": "cosine",
        "vector_count": 4,
        "config": {"dimensions": 3, "metric": "cosine"},
    }
    await docs.upsert([{"id": "a", "values": [0.0, 0.0, -1.0]}])  # replaces a
    assert (await docs.query([1.0, 0.0, 0.0], top_k=1))["matches"][0]["id"] == "b"
    inserted = await docs.insert([{"id": "a", "values": [1.0, 0.0, 0.0]}, {"id": "e", "values": [1.0, 1.0, 1.0]}])
    assert inserted["ids"] == ["e"]  # insert leaves an existing id as it was
    deleted = await docs.delete_by_ids(["a", "nope"])
    assert (deleted["count"], deleted["ids"]) == (1, ["a"])
    assert (await docs.describe())["vector_count"] == 4
    by_id = await docs.query_by_id("b", top_k=1)
    assert by_id["matches"][0]["id"] == "b"
    assert (await docs.query_by_id("missing"))["matches"] == []


@pytest.mark.parametrize(
    ("filter", "namespace", "expected"),
    [
        ({"lang": "en"}, None, ["a", "c"]),
        ({"lang": {"$ne": "en"}}, None, ["b", "d"]),
        ({"lang": {"$in": ["fr", "de"]}}, None, ["b"]),
        ({"lang": {"$nin": ["fr"]}}, None, ["a", "c", "d"]),
        ({"year": {"$gte": 2022}}, None, ["b", "c"]),
        ({"year": {"$gt": 2020, "$lt": 2024}}, None, ["b"]),
        ({"tag.kind": "news"}, None, ["a"]),
        ({"lang": "en", "year": {"$lte": 2020}}, None, ["a"]),
        (None, "blog", ["c"]),
        ({"lang": "fr"}, "blog", []),
    ],
)
async def test_metadata_filters_and_namespaces(
    app: App, filter: dict[str, Any] | None, namespace: str | None, expected: list[str]
) -> None:
    await app.env.DOCS.upsert(DOCS)
    found = await app.env.DOCS.query([1.0, 1.0, 1.0], top_k=10, filter=filter, namespace=namespace)
    assert sorted(m["id"] for m in found["matches"]) == expected


async def test_euclidean_scores_are_distances_closest_first(app: App) -> None:
    await app.env.FAR.upsert([{"id": "near", "values": [1, 1]}, {"id": "far", "values": [4, 6]}])
    found = await app.env.FAR.query([1, 2], top_k=2)
    assert [(m["id"], m["score"]) for m in found["matches"]] == [("near", 1.0), ("far", 5.0)]


async def test_dimensions_are_learned_when_the_manifest_gives_none(app: App) -> None:
    assert (await app.env.PLAIN.query([1.0, 2.0]))["matches"] == []  # empty: nothing to compare
    await app.env.PLAIN.upsert([{"id": "x", "values": [1, 2, 3, 4]}])
    assert (await app.env.PLAIN.describe())["dimensions"] == 4
    with pytest.raises(BindingError, match=r"'plain': upsert item 0 \('y'\) has 2 dimensions; the index has 4"):
        await app.env.PLAIN.upsert([{"id": "y", "values": [1, 2]}])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda ix: ix.upsert([{"id": "a", "values": [1, 2]}]), BindingError, "has 2 dimensions; the index has 3"),
        (lambda ix: ix.upsert({"id": "a"}), BindingError, "upsert takes a list of"),
        (lambda ix: ix.upsert([{"values": [1, 2, 3]}]), BindingError, "needs an 'id'"),
        (lambda ix: ix.upsert([{"id": "a", "values": [1, 2, 3], "meta": {}}]), BindingError, "has 'meta'"),
        (lambda ix: ix.upsert([{"id": "a", "values": [1, "x", 3]}]), BindingError, "must be a list of numbers"),
        (lambda ix: ix.upsert([{"id": "a", "values": [1, float("nan"), 3]}]), BindingError, "not a finite number"),
        (lambda ix: ix.upsert([{"id": "x" * 65, "values": [1, 2, 3]}]), LimitError, "over 64 bytes"),
        (
            lambda ix: ix.upsert([{"id": "a", "values": [1, 2, 3], "metadata": {"t": "x" * 11000}}]),
            LimitError,
            "the limit is 10 KiB",
        ),
        (lambda ix: ix.query([1, 2, 3], top_k=101), LimitError, "top_k is at most 100"),
        (lambda ix: ix.query([1, 2, 3], top_k=51, return_values=True), LimitError, "at most 50 when values"),
        (lambda ix: ix.query([1, 2, 3], top_k=0), BindingError, "top_k is a whole number from 1"),
        (lambda ix: ix.query([1, 2, 3], return_metadata="some"), BindingError, "return_metadata is 'all'"),
        (lambda ix: ix.query([1, 2, 3], filter={"a": {"$regex": "x"}}), BindingError, "uses '\\$regex'"),
        (lambda ix: ix.query([1, 2, 3], filter={"a": {"$in": "x"}}), BindingError, "takes a list"),
        (lambda ix: ix.get_by_ids("a"), BindingError, "takes a list of ids"),
        (lambda ix: ix.query([1, 2], top_k=1), BindingError, "the query vector has 2 dimensions"),
    ],
)
async def test_bad_calls_are_named(app: App, call: Any, error: type[Exception], message: str) -> None:
    await app.env.DOCS.upsert(DOCS)
    with pytest.raises(error, match=message):
        await call(app.env.DOCS)


async def test_camel_case_names_get_their_python_spelling(app: App) -> None:
    with pytest.raises(AttributeError, match="did you mean `get_by_ids`"):
        _ = app.env.DOCS.getByIds
    with pytest.raises(BindingError, match="did you mean `top_k`"):
        await app.env.DOCS.query([1, 2, 3], topK=3)


@pytest.mark.parametrize("kind", [k for k in BACKENDS if k != "memory"])
async def test_vectors_are_durable_and_other_processes_see_changes(manifest: Path, tmp_path: Path, kind: str) -> None:
    url = backend_url(kind, tmp_path)
    async with App.from_manifest(manifest, backend=url) as first, App.from_manifest(manifest, backend=url) as second:
        await first.env.DOCS.upsert(DOCS)
        assert (await second.env.DOCS.query([0, 1, 0], top_k=1))["matches"][0]["id"] == "c"
        await second.env.DOCS.delete_by_ids(["c"])
        assert (await first.env.DOCS.query([0, 1, 0], top_k=1))["matches"][0]["id"] != "c"
    async with App.from_manifest(manifest, backend=url) as again:
        assert (await again.env.DOCS.describe())["vector_count"] == 3
        (b,) = await again.env.DOCS.get_by_ids(["b"])
        assert b["metadata"] == {"lang": "fr", "year": 2022} and b["values"] == pytest.approx([0.9, 0.1, 0.0])


def test_the_manifest_checks_the_block(tmp_path: Path) -> None:
    path = tmp_path / "raindrop.manifest"
    path.write_text('application "a" {\n  vector_index "v" {\n    dimensions = 4000\n  }\n}\n')
    with pytest.raises(ManifestError, match="dimensions is from 1 to 1536"):
        App.from_manifest(path)
    path.write_text('application "a" {\n  vector_index "v" {\n    metric = "manhattan"\n  }\n}\n')
    with pytest.raises(ManifestError, match="metric"):
        App.from_manifest(path)


def test_generate_types_the_binding(manifest: Path) -> None:
    from runtime.generate import bindings
    from runtime.manifest import load

    rows = {name: typed for name, typed, _ in bindings(load(manifest))}
    assert rows["DOCS"] == "runtime.types.VectorIndex"


@pytest.mark.skipif(not hnsw_available(), reason="usearch is not installed")
@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot-product"])
def test_the_hnsw_search_finds_what_the_exact_one_does(metric: Any) -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(size=(2000, 32)).astype(np.float32)
    assert isinstance(make_search(32, metric, 2000, hnsw_from=1000), HnswSearch)
    assert isinstance(make_search(32, metric, 999, hnsw_from=1000), ExactSearch)
    exact, graph = ExactSearch(32, metric), HnswSearch(32, metric)
    exact.set(rows)
    graph.set(rows)
    hits = 0
    for query in rng.normal(size=(20, 32)).astype(np.float32):
        truth = [p for p, _ in exact.search(query, 10, None)]
        found = graph.search(query, 10, None)
        hits += len(set(truth) & {p for p, _ in found})
        scores = [s for _, s in found]
        assert scores == sorted(scores, reverse=metric != "euclidean")  # closest first, exact scores
    assert hits / 200 > 0.9  # recall@10
    only_even = graph.search(rows[0], 5, lambda p: p % 2 == 0)  # a filter: exact over the allowed rows
    assert only_even[0][0] == 0 and all(p % 2 == 0 for p, _ in only_even)


async def test_the_dashboard_shows_what_an_index_holds(manifest: Path) -> None:
    import httpx

    from runtime.dashboard import Dashboard

    async with App.from_manifest(manifest, backend="memory://") as app:
        await app.env.DOCS.upsert(DOCS)
        transport = httpx.ASGITransport(app=Dashboard(app, {}), client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            resources = (await client.get("/_runtime/api/overview")).json()["resources"]
    details = {r["name"]: r.get("detail") for r in resources}
    assert details["docs"] == "4 vectors, 3 dimensions, cosine"
    assert details["plain"] == "0 vectors, ? dimensions, cosine"


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot-product"])
def test_adding_and_removing_rows_matches_a_search_built_from_scratch(metric: Any) -> None:
    rng = np.random.default_rng(11)
    rows = rng.normal(size=(300, 8)).astype(np.float32)
    grown = ExactSearch(8, metric)
    grown.set(rows[:10])
    for start in range(10, 300, 29):  # appends of uneven sizes, across several capacity doublings
        grown.add(rows[start : start + 29])
    removed = list(range(0, 300, 3))
    grown.remove(removed + removed[:5])  # removing twice counts once
    assert grown.removed == len(removed)
    kept = [p for p in range(300) if p % 3]
    fresh = ExactSearch(8, metric)
    fresh.set(rows[kept])
    for query in rng.normal(size=(10, 8)).astype(np.float32):
        found = grown.search(query, 7, None)
        expected = [(kept[p], s) for p, s in fresh.search(query, 7, None)]
        assert [p for p, _ in found] == [p for p, _ in expected]
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], rel=1e-5, abs=1e-5)
        filtered = grown.search(query, 5, lambda p: p % 2 == 0)
        assert filtered and all(p % 2 == 0 and p % 3 for p, _ in filtered)


@pytest.mark.skipif(not hnsw_available(), reason="usearch is not installed")
def test_the_hnsw_graph_takes_additions_and_removals_in_place() -> None:
    rng = np.random.default_rng(5)
    rows = rng.normal(size=(600, 16)).astype(np.float32)
    graph = HnswSearch(16, "cosine")
    graph.set(rows[:400])
    graph.add(rows[400:])
    graph.remove(range(0, 600, 2))
    for position in (1, 401, 599):  # each odd row, the one added later too, finds itself first
        assert graph.search(rows[position], 3, None)[0][0] == position
    for position in (0, 400, 598):  # a removed row is never a match, not even of itself
        assert all(p % 2 for p, _ in graph.search(rows[position], 10, None))


async def test_writes_update_the_search_in_place_and_it_agrees_with_brute_force(manifest: Path) -> None:
    """Own upserts, inserts and deletes change the live search (no rebuild per write), and every
    query still gives what brute force over the index's current vectors gives."""
    rng = np.random.default_rng(3)
    truth: dict[str, np.ndarray[Any, Any]] = {}
    async with App.from_manifest(manifest, backend="memory://") as app:
        index: VectorIndex = app.env.DOCS
        await index.upsert([{"id": "seed", "values": [1.0, 0.0, 0.0]}])
        truth["seed"] = np.array([1.0, 0.0, 0.0], dtype=np.float32)
        await index.query([1.0, 0.0, 0.0], top_k=1)
        search = index._search
        assert search is not None
        for round_ in range(30):
            batch = [{"id": f"v{int(i)}", "values": rng.normal(size=3).tolist()} for i in rng.integers(0, 60, size=8)]
            if round_ % 3 == 2:
                await index.insert(batch)
                for item in batch:
                    truth.setdefault(item["id"], np.asarray(item["values"], dtype=np.float32))
            else:
                await index.upsert(batch)
                truth.update({item["id"]: np.asarray(item["values"], dtype=np.float32) for item in batch})
            gone = [f"v{int(i)}" for i in rng.integers(0, 60, size=3)]
            await index.delete_by_ids(gone)
            for key in gone:
                truth.pop(key, None)
            query = rng.normal(size=3).astype(np.float32)
            found = await index.query(query.tolist(), top_k=5)
            keys = list(truth)
            matrix = np.stack([truth[k] for k in keys])
            cosine = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
            expected = [keys[i] for i in np.argsort(-cosine, kind="stable")[:5]]
            assert [m["id"] for m in found["matches"]] == expected
            assert (await index.describe())["vector_count"] == len(truth)
        assert index._search is search  # the same search all along: updated, never rebuilt
