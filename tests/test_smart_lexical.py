"""The word index of a large collection: tantivy beside SQLite, ranked as FTS5's BM25 ranks.

The threshold is lowered so a few hundred chunks take the derived index's path.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from runtime.smart import lexical
from runtime.smart.embeddings import DIMENSIONS
from runtime.smart.retrieval import RetrievalIndex, _scope

COLLECTION = "bucket:docs"
PER_DOC = 10
# Words both stemmers leave as they are, so the two indexes hold the same tokens.
VOCABULARY = [a + b + c + d for a in "bkmrt" for b in "aiu" for c in "lnpv" for d in "aou"]


@pytest.fixture(autouse=True)
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical, "EXACT_LIMIT", 200)


def texts(documents: int, seed: int = 5) -> list[list[str]]:
    """Chunks of 3 to 20 words drawn with a skewed frequency, like prose: common and rare words.
    (Up to 23 tokens tantivy stores a chunk's length exactly; past that on a scale of 256 steps,
    which moves a score by up to about 1%: the bench measures what that changes.)"""
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(VOCABULARY))]
    return [
        [" ".join(rng.choices(VOCABULARY, weights, k=rng.randint(3, 20))) for _ in range(PER_DOC)]
        for _ in range(documents)
    ]


def fill(index: RetrievalIndex, documents: list[list[str]], partition: str = "default", prefix: str = "doc") -> None:
    vectors = np.ones((PER_DOC, DIMENSIONS), dtype=np.float32) / np.sqrt(DIMENSIONS)
    for d, chunks in enumerate(documents):
        index.replace(COLLECTION, partition, f"{prefix}-{d}", chunks, vectors)


def words(index: RetrievalIndex, query: str, partitions: list[str] | None = None) -> list[int]:
    """The lexical side's ranking, before fusion weighs each chunk by the share of terms it holds."""
    wanted = None if partitions is None else set(partitions)
    return [chunk_id for chunk_id, _ in index._lexical(index.reader(), COLLECTION, query, wanted, None)]


def fts5_scores(index: RetrievalIndex, query: str) -> dict[int, float]:
    """Every matching chunk's BM25 score from FTS5 (lower is better)."""
    match = f'scope : "{_scope(COLLECTION)}" AND text : (' + " OR ".join(f'"{w}"' for w in query.split()) + ")"
    return {
        row[0]: row[1]
        for row in index.conn.execute(
            "SELECT rowid, bm25(chunks_fts, 1.0, 0.0) FROM chunks_fts WHERE chunks_fts MATCH ?", (match,)
        )
    }


def derived(index: RetrievalIndex) -> lexical.LexicalIndex:
    return index._words[COLLECTION]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[RetrievalIndex]:
    opened = RetrievalIndex(tmp_path / "smart.sqlite")
    yield opened
    opened.close()


def test_the_ranking_is_fts5s_bm25(index: RetrievalIndex) -> None:
    fill(index, texts(60))  # 600 chunks
    rng = random.Random(8)
    queries = [" ".join(rng.sample(VOCABULARY, k)) for k in (1, 2, 3, 4) for _ in range(10)]
    queries += [f"{VOCABULARY[0]} {VOCABULARY[1]} {VOCABULARY[2]}"]  # common words: tiny weights
    for query in queries:
        found = words(index, query)[:10]
        scores = fts5_scores(index, query)
        best = sorted(scores.values())[:10]
        # The same chunks, or others of exactly the same score (ties may be broken either way).
        assert [scores[i] for i in found] == pytest.approx(best, rel=1e-6), query
    assert derived(index).builds == 1 and derived(index)._index is not None


def test_a_small_collection_is_answered_by_fts5_alone(index: RetrievalIndex) -> None:
    fill(index, texts(5))  # 50 chunks
    assert words(index, VOCABULARY[3])
    assert derived(index)._index is None and not derived(index).folder.exists()


def test_writes_and_deletes_are_reflected(index: RetrievalIndex) -> None:
    fill(index, texts(30))
    words(index, "kala")  # built
    index.replace(COLLECTION, "default", "fresh", ["zyzzyva kala"], np.ones((1, DIMENSIONS), dtype=np.float32))
    (fresh,) = words(index, "zyzzyva")
    assert index.conn.execute("SELECT key FROM chunks WHERE id = ?", (fresh,)).fetchone() == ("fresh",)
    index.remove(COLLECTION, "default", "fresh")
    assert words(index, "zyzzyva") == []
    doc0 = dict(index.conn.execute("SELECT id, text FROM chunks WHERE key = 'doc-0'").fetchall())
    assert set(words(index, doc0[min(doc0)])) & set(doc0)
    index.remove(COLLECTION, "default", "doc-0")
    assert not set(words(index, doc0[min(doc0)])) & set(doc0)
    assert derived(index).builds == 1 and derived(index).catch_ups == 3


def test_another_processs_writes_are_caught_up(tmp_path: Path) -> None:
    first = RetrievalIndex(tmp_path / "smart.sqlite")
    fill(first, texts(30))
    before = words(first, "bulo")
    assert derived(first).builds == 1
    other = RetrievalIndex(tmp_path / "smart.sqlite")  # another process: its own connection and files
    other.replace(COLLECTION, "default", "theirs", ["quokka bulo bulo"], np.ones((1, DIMENSIONS), dtype=np.float32))
    other.remove(COLLECTION, "default", "doc-1")
    (theirs,) = words(first, "quokka")
    gone = {i for i in before if i not in {row[0] for row in first.conn.execute("SELECT id FROM chunks")}}
    assert gone and not gone & set(words(first, "bulo"))
    assert derived(first).catch_ups == 1
    assert words(other, "quokka") == [theirs]  # the folder first caught up is used as it is
    assert derived(other).builds == 0 and derived(other).loads == 1
    other.close()
    first.close()


def test_a_deleted_folder_is_rebuilt_and_an_intact_one_reopened(tmp_path: Path) -> None:
    index = RetrievalIndex(tmp_path / "smart.sqlite")
    fill(index, texts(30))
    expected = words(index, "tipa rino")
    folder = derived(index).folder
    index.close()
    reopened = RetrievalIndex(tmp_path / "smart.sqlite")
    assert words(reopened, "tipa rino") == expected
    assert (derived(reopened).loads, derived(reopened).builds) == (1, 0)
    reopened.close()
    shutil.rmtree(folder)
    rebuilt = RetrievalIndex(tmp_path / "smart.sqlite")
    assert words(rebuilt, "tipa rino") == expected
    assert derived(rebuilt).builds == 1
    rebuilt.close()


@pytest.mark.parametrize("damage", ["foreign", "garbage", "ids"])
def test_a_damaged_or_foreign_folder_is_rebuilt(tmp_path: Path, damage: str) -> None:
    index = RetrievalIndex(tmp_path / "smart.sqlite")
    fill(index, texts(30))
    expected = words(index, "mapa")
    lexicon = derived(index)
    index.close()
    if damage == "foreign":
        meta = json.loads(lexicon._meta.read_text())
        lexicon._meta.write_text(json.dumps({**meta, "epoch": "another database"}))
    elif damage == "garbage":
        for path in lexicon.folder.iterdir():
            path.write_bytes(b"\x00not an index")
    else:
        np.save(lexicon._ids_file, np.arange(3, dtype=np.int64))
    reopened = RetrievalIndex(tmp_path / "smart.sqlite")
    assert words(reopened, "mapa") == expected
    assert derived(reopened).builds == 1
    reopened.close()


def test_partitions_and_keys_filter_in_the_derived_index(index: RetrievalIndex) -> None:
    fill(index, texts(25), partition="a", prefix="a")
    fill(index, texts(25, seed=6), partition="b", prefix="b")
    rows = dict(index.conn.execute("SELECT id, partition FROM chunks").fetchall())
    found = words(index, "kala bino", partitions=["b"])
    assert found and {rows[i] for i in found} == {"b"}
    assert derived(index)._index is not None
    hits = index.search(COLLECTION, "kala bino", None, mode="lexical", keys=["a-3"])
    assert hits and {hit.key for hit in hits} == {"a-3"}
    scores = fts5_scores(index, "kala bino")
    in_b = sorted(score for chunk_id, score in scores.items() if rows[chunk_id] == "b")[:10]
    assert [scores[i] for i in found[:10]] == pytest.approx(in_b, rel=1e-6)


def test_a_word_of_several_tokens_is_a_phrase_as_in_fts5(index: RetrievalIndex) -> None:
    fill(index, texts(30))
    vectors = np.ones((2, DIMENSIONS), dtype=np.float32)
    index.replace(COLLECTION, "default", "joined", ["zorp quix here", "quix then zorp"], vectors)
    found = words(index, "zorp_quix")
    assert derived(index)._index is not None
    assert set(found) == set(fts5_scores(index, "zorp_quix")) and len(found) == 1
    (key,) = index.conn.execute("SELECT key FROM chunks WHERE id = ?", (found[0],)).fetchone()
    assert key == "joined"


@pytest.mark.parametrize("damage", ["file for the folder", "folder for the ids", "empty ids", "lock is a folder"])
def test_a_derived_index_that_cannot_be_used_leaves_search_to_fts5_once_not_per_query(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Damage the derived index's files as a crash, a full disk or a stray tool would: the search
    answers as FTS5 does, the failure is counted and said once, and nothing is retried per query
    (before, a file where the folder belongs made every search raise)."""
    index = RetrievalIndex(tmp_path / "smart.sqlite")
    fill(index, texts(30))
    expected = {query: words(index, query) for query in ("mapa", "tipa rino", "kelo")}
    lexicon = derived(index)
    index.close()
    for path in (lexicon._meta, lexicon._ids_file):
        path.unlink()
    shutil.rmtree(lexicon.folder)
    if damage == "file for the folder":
        lexicon.folder.write_bytes(b"not a folder")
    elif damage == "folder for the ids":
        lexicon._ids_file.mkdir()
    elif damage == "empty ids":  # an ids file cut short, with metadata vouching for it
        lexicon._ids_file.write_bytes(b"")
        lexicon._meta.write_text("{}")
    else:
        lexicon._lock_file.unlink()
        lexicon._lock_file.mkdir()
    reopened = RetrievalIndex(tmp_path / "smart.sqlite")
    with caplog.at_level(logging.WARNING, logger="raindrop.smart.lexical"):
        for query, ranking in expected.items():
            for _ in range(3):
                assert words(reopened, query) == ranking
    lexicon = derived(reopened)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    if damage == "empty ids":  # unusable metadata: removed and rebuilt, as a damaged folder is
        assert lexicon.builds == 1 and lexicon.failures == 0
    else:
        assert lexicon.failures == 1 and len(warnings) == 1 and "full-text" in warnings[0].getMessage()
        fill(reopened, texts(2, seed=9), prefix="later")  # the collection changed: tried once more
        words(reopened, "mapa")
        assert lexicon.failures == 2
    reopened.close()
