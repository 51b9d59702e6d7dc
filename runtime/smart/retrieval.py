"""The retrieval engine behind SmartBuckets and SmartMemory: chunks found by words and by meaning.

Every indexed text is a *document* (a bucket object, a memory entry, a semantic document)
in a *collection* (one per smart resource and kind of memory) and a *partition* (a SmartBucket
partition, a memory session). Its chunks are stored in one SQLite file in the app's state:

- a lexical index, SQLite FTS5 with the Porter stemmer, ranked by BM25;
- a vector index: each chunk's embedding (256 ``float32``, normalized) stored beside it, and
  searched through :mod:`runtime.smart.ann`: by brute force in numpy for a small collection,
  through a memory-mapped HNSW graph (a cache of these vectors, in a file beside this one) for
  a large one.

A query runs both and fuses the two rankings by reciprocal rank (RRF): a chunk that either
finds near the top ranks high, one that both find ranks highest. Exact names and numbers come
through the lexical side, paraphrases through the vector side. Two choices were measured on the
labelled set in ``tests/smart/`` (42 queries, recall@5): each lexical hit counts in proportion
to the share of the query's terms it holds, so one incidental word of a long question cannot
outrank a paraphrase's true match; and k = 20 rather than the customary 60, which flattened the
ranks so much that such words still won (hybrid recall 0.94 with k = 60, 1.0 with 20, 10 or 5;
vector alone 0.98, lexical alone 0.5).

Nothing here writes on the event loop in the running app: SmartBucket documents are written
off the loop, in batches, by :mod:`runtime.smart.indexer`, and SmartMemory's writes by
:mod:`runtime.smart.memory_writer` (both through :meth:`RetrievalIndex.replace_in` and
:func:`insert_chunks` on a connection of their own). Every write commits before it returns.
Searches run in worker threads: each thread reads through a connection of its own.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from runtime import checkpoint
from runtime.smart import ann, lexical
from runtime.smart.embeddings import DIMENSIONS, Vectors

Mode = Literal["hybrid", "lexical", "vector"]
RRF_K = 20
CANDIDATES = 50  # how many each side contributes to the fusion

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    scope TEXT NOT NULL,               -- one token naming the collection, for the FTS5 query
    partition TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks (collection, partition, key, seq);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, scope, content='chunks', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, text, scope) VALUES (new.id, new.text, new.scope);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, text, scope) VALUES ('delete', old.id, old.text, old.scope);
END;
"""

# Words too common to rank by: left out of the lexical query (BM25 would weigh them near zero,
# but matching them makes every chunk a candidate).
_STOPWORDS = (
    "a an and are as at be but by for from has have he her his i if in into is it its "
    "me my of on or our she so that the their them there these they this to was we "
    "were what when where which who why will with you your do does did not no can "
    "could would should how about"
)
STOPWORDS = frozenset(_STOPWORDS.split())
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: int
    key: str
    partition: str
    seq: int
    text: str
    score: float
    #: The cosine similarity of the chunk's embedding to the query's, clipped to 0..1: comparable
    #: across queries and fit for a threshold, unlike ``score`` (the fused rank). None without a
    #: query vector (lexical mode).
    similarity: float | None = None


def _similarity(blob: bytes, query: npt.NDArray[np.float32]) -> float:
    """Cosine similarity of a stored chunk vector to the query's, clipped to 0..1."""
    vector = np.frombuffer(blob, dtype=np.float32)
    norms = float(np.linalg.norm(vector)) * float(np.linalg.norm(query))
    if norms == 0:
        return 0.0
    return round(min(1.0, max(0.0, float(vector @ query) / norms)), 4)


def query_terms(text: str) -> list[str]:
    """The words of ``text`` that the lexical index is asked for (lower case, no stopwords)."""
    words = [w.lower() for w in _WORD.findall(text)]
    kept = [w for w in words if w not in STOPWORDS]
    return kept or words


_SPACES = str.maketrans({c: " " for c in "\n\t\r()[]{}<>\"'`.,;:!?/\\|-_=+*&^%$#@~"})
_SEPARATORS = re.compile("[" + re.escape("\n\t\r()[]{}<>\"'`.,;:!?/\\|-_=+*&^%$#@~") + "]")


def _fold(text: str) -> str:
    """``text`` in lower case with its punctuation made spaces (``str.translate`` is quick on
    ASCII only: five times slower than the pattern on a chunk with one accented letter)."""
    lowered = text.lower()
    return lowered.translate(_SPACES) if lowered.isascii() else _SEPARATORS.sub(" ", lowered)


def _scope(collection: str) -> str:
    """The single FTS5 token that stands for ``collection``."""
    return "s" + hashlib.sha1(collection.encode(), usedforsecurity=False).hexdigest()[:16]


def _stem(word: str) -> str:
    """A crude stem for telling which query terms a chunk holds (FTS5's Porter stemmer decides
    what matches; this only weighs it): the first six letters."""
    return word[:6]


def insert_chunks(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert chunk rows ``(collection, scope, partition, key, seq, text, vector)`` under fresh
    ids (inside the writer's transaction; never an id a vector index knows); the first id."""
    first = ann.next_ids(conn, len(rows))
    conn.executemany(
        "INSERT INTO chunks (id, collection, scope, partition, key, seq, text, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(first + offset, *row) for offset, row in enumerate(rows)],
    )
    return first


class RetrievalIndex:
    """Chunks of documents, searchable by words and by meaning. One SQLite file per app."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = checkpoint.open_wal(path)
        self._conn.executescript(SCHEMA)
        ann.prepare(self._conn)
        self._vectors: dict[str, ann.VectorIndex] = {}  # per collection, built on first search
        self._words: dict[str, lexical.LexicalIndex] = {}  # per collection, past lexical.EXACT_LIMIT
        self._readers = threading.local()  # each searching thread's own connection
        self._reader_conns: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, for the smart components' own tables in the same file."""
        return self._conn

    def close(self) -> None:
        for vectors in self._vectors.values():
            vectors.close()
        for words in self._words.values():
            words.close()
        with self._readers_lock:
            for reader in self._reader_conns:
                reader.close()
            self._reader_conns.clear()
        self._conn.close()
        checkpoint.unregister(self.path)

    # -- writing -----------------------------------------------------------------------------------

    def replace(self, collection: str, partition: str, key: str, texts: Sequence[str], vectors: Vectors) -> None:
        """Make ``texts`` (with their ``vectors``) the chunks of one document, in one transaction."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            note = self.replace_in(self._conn, collection, partition, key, texts, vectors)
        note()

    def replace_in(
        self,
        conn: sqlite3.Connection,
        collection: str,
        partition: str,
        key: str,
        texts: Sequence[str],
        vectors: Vectors,
    ) -> Callable[[], None]:
        """:meth:`replace` inside the caller's transaction on ``conn``; returns what to call once
        it has committed (it tells the collection's vector index what changed)."""
        assert len(texts) == len(vectors)
        removed = _delete(conn, collection, partition, key)
        generation = ann.bump(conn, collection)
        scope = _scope(collection)
        first = insert_chunks(
            conn,
            [
                (collection, scope, partition, key, seq, text, np.asarray(vector, dtype=np.float32).tobytes())
                for seq, (text, vector) in enumerate(zip(texts, vectors, strict=True))
            ],
        )

        def committed() -> None:
            noted = self._vectors.get(collection)
            if noted is not None:
                added = np.arange(first, first + len(texts), dtype=np.int64)
                noted.changed(generation, removed, added, partition, vectors)

        return committed

    def remove(self, collection: str, partition: str | None, key: str | None = None) -> int:
        """Drop a document's chunks (``key``), or a whole partition's (``key=None``), or a
        collection's (both None); returns how many chunks went."""
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            removed, note = self.remove_in(self._conn, collection, partition, key)
        note()
        return removed

    def remove_in(
        self, conn: sqlite3.Connection, collection: str, partition: str | None, key: str | None = None
    ) -> tuple[int, Callable[[], None]]:
        """:meth:`remove` inside the caller's transaction on ``conn``: how many chunks went, and
        what to call once it has committed."""
        removed = _delete(conn, collection, partition, key)
        generation = ann.bump(conn, collection) if len(removed) else 0

        def committed() -> None:
            noted = self._vectors.get(collection)
            if noted is not None and len(removed):
                noted.changed(generation, removed)

        return len(removed), committed

    # -- reading -----------------------------------------------------------------------------------

    def count(self, collection: str) -> int:
        (count,) = self._conn.execute("SELECT count(*) FROM chunks WHERE collection = ?", (collection,)).fetchone()
        return int(count)

    def search(
        self,
        collection: str,
        query: str,
        query_vector: Vectors | None,
        *,
        partitions: Iterable[str] | None = None,
        keys: Iterable[str] | None = None,
        limit: int = CANDIDATES,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        """The best chunks for ``query``, best first. ``query_vector`` (its embedding) is needed
        unless ``mode="lexical"``. ``partitions`` and ``keys`` restrict where to look."""
        conn = self.reader()
        wanted_partitions = set(partitions) if partitions is not None else None
        wanted_keys = set(keys) if keys is not None else None
        rankings: list[list[tuple[int, float]]] = []  # (chunk id, weight) in rank order
        if mode in ("hybrid", "lexical"):
            rankings.append(self._lexical(conn, collection, query, wanted_partitions, wanted_keys))
        if mode in ("hybrid", "vector") and query_vector is not None:
            ranked = self._vector(conn, collection, query_vector, wanted_partitions, wanted_keys)
            rankings.append([(chunk_id, 1.0) for chunk_id in ranked])
        fused: dict[int, float] = {}
        for ranking in rankings:
            for rank, (chunk_id, weight) in enumerate(ranking):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (RRF_K + rank + 1)
        # Scaled so that a chunk ranked first by every ranking scores 1.0.
        top = len(rankings) / (RRF_K + 1) if rankings else 1.0
        best = sorted(((cid, score / top) for cid, score in fused.items()), key=lambda item: (-item[1], item[0]))[
            :limit
        ]
        if not best:
            return []
        rows = {
            row[0]: row
            for row in conn.execute(
                "SELECT id, key, partition, seq, text, vector FROM chunks WHERE id IN (SELECT value FROM json_each(?))",
                (f"[{','.join(str(chunk_id) for chunk_id, _ in best)}]",),
            )
        }
        wanted = None if query_vector is None else np.asarray(query_vector, dtype=np.float32).reshape(DIMENSIONS)
        return [
            Hit(
                chunk_id,
                rows[chunk_id][1],
                rows[chunk_id][2],
                rows[chunk_id][3],
                rows[chunk_id][4],
                round(score, 6),
                None if wanted is None else _similarity(rows[chunk_id][5], wanted),
            )
            for chunk_id, score in best
            if chunk_id in rows
        ]

    def _lexical(
        self, conn: sqlite3.Connection, collection: str, query: str, partitions: set[str] | None, keys: set[str] | None
    ) -> list[tuple[int, float]]:
        """BM25's ranking of the chunks holding any query term, each weighted by the share of
        the query's terms it holds: a chunk that matches one incidental word of a long question
        ranks, but counts for little in the fusion, while one holding every term counts fully."""
        terms = query_terms(query)
        if not terms:
            return []
        words = self._words.get(collection)
        if words is None:
            words = self._words.setdefault(collection, lexical.LexicalIndex(self.path, collection))
        # A large collection: its derived index, filtered there (twice the count: chunks deleted
        # since its last catch-up are dropped below).
        found = words.search(conn, terms, 2 * CANDIDATES, partitions, keys)
        ids = self._fts5(conn, collection, terms, partitions is None and keys is None) if found is None else found
        if not ids:
            return []
        # By id only (``+collection`` keeps SQLite off the collection's index, which made it walk
        # every chunk of the collection: 17 ms a query at 20,000 chunks, linear in the size).
        rows = {
            row[0]: row
            for row in conn.execute(
                "SELECT id, partition, key, text FROM chunks WHERE id IN (SELECT value FROM json_each(?)) "
                "AND +collection = ?",
                (f"[{','.join(map(str, ids))}]", collection),
            )
        }
        # Which terms a chunk holds: a word starting with the term's stem, looked for as a
        # substring after a space in the chunk's folded text (C-speed; tokenizing every
        # candidate in Python cost more than the query itself).
        stems = [" " + stem for stem in {_stem(term) for term in terms}]
        ranked = []
        for chunk_id in ids:
            if chunk_id not in rows:  # chunks being written (staged under another collection)
                continue
            _, partition, key, text = rows[chunk_id]
            if (partitions is not None and partition not in partitions) or (keys is not None and key not in keys):
                continue
            folded = " " + _fold(text)
            held = sum(1 for stem in stems if stem in folded)
            ranked.append((chunk_id, held / len(stems)))
            if len(ranked) == CANDIDATES:
                break
        return ranked

    def _fts5(self, conn: sqlite3.Connection, collection: str, terms: list[str], everywhere: bool) -> list[int]:
        """FTS5's BM25 ranking of the collection's chunks holding any of ``terms`` (the exact path;
        more of them when the caller filters by partition or key)."""
        # The collection is a token of its own column, so FTS5 intersects it with the terms in
        # its index and ranks only this collection's matches (a join to filter them came after
        # ranking every match of every collection: three times the query's cost).
        match = (
            f'scope : "{_scope(collection)}" AND text : ('
            + " OR ".join('"' + term.replace('"', '""') + '"' for term in terms)
            + ")"
        )
        wanted = CANDIDATES if everywhere else CANDIDATES * 20
        return [
            row[0]
            for row in conn.execute(
                "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts, 1.0, 0.0) LIMIT ?",
                (match, wanted),
            )
        ]

    def _vector(
        self,
        conn: sqlite3.Connection,
        collection: str,
        query_vector: Vectors,
        partitions: set[str] | None,
        keys: set[str] | None,
    ) -> list[int]:
        if keys is not None:  # a few documents (document_chat): their chunks, by brute force
            rows = conn.execute(
                "SELECT id, vector FROM chunks WHERE collection = ? AND key IN (SELECT value FROM json_each(?)) "
                "AND (? IS NULL OR partition IN (SELECT value FROM json_each(?)))",
                (collection, _json_list(keys), None if partitions is None else 1, _json_list(partitions or [])),
            ).fetchall()
            ids, vectors = ann.exact_vectors(conn, [row[0] for row in rows])
            scores = vectors @ np.asarray(query_vector, dtype=np.float32).reshape(-1)
            order = np.argsort(-scores, kind="stable")[:CANDIDATES]
            return [int(ids[i]) for i in order if scores[i] > 0]
        vectors_index = self._vectors.get(collection)
        if vectors_index is None:
            vectors_index = self._vectors.setdefault(collection, ann.VectorIndex(self.path, collection))
        return vectors_index.search(conn, query_vector, CANDIDATES, partitions)

    def reader(self) -> sqlite3.Connection:
        """This thread's connection for searching (WAL: it reads while the writer writes)."""
        reader: sqlite3.Connection | None = getattr(self._readers, "conn", None)
        if reader is None:
            reader = checkpoint.connect(self.path)
            self._readers.conn = reader
            with self._readers_lock:
                self._reader_conns.append(reader)
        return reader


def _delete(conn: sqlite3.Connection, collection: str, partition: str | None, key: str | None) -> npt.NDArray[np.int64]:
    """Delete chunks; their ids."""
    rows = conn.execute(
        "DELETE FROM chunks WHERE collection = ?1 AND (?2 IS NULL OR partition = ?2) AND (?3 IS NULL OR key = ?3) "
        "RETURNING id",
        (collection, partition, key),
    ).fetchall()
    return np.array([row[0] for row in rows], dtype=np.int64)


def _json_list(values: Iterable[str]) -> str:
    import json

    return json.dumps(list(values))
