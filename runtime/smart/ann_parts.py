"""The pieces of the vector index (:mod:`runtime.smart.ann`) that touch SQLite and numpy only:
the bookkeeping tables kept in the retrieval index's transactions, reading stored vectors, and
the *delta*, vectors searched by brute force."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from runtime.smart.embeddings import DIMENSIONS, Vectors

BLOCK = 1024  # rows per product in brute force: OpenBLAS would spread a bigger one over threads,
# which on a busy machine took 15 ms for 10,000 vectors instead of 0.6 ms

SCHEMA = """
CREATE TABLE IF NOT EXISTS vector_generations (
    collection TEXT PRIMARY KEY,
    generation INTEGER NOT NULL        -- bumped by every write to the collection's chunks
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS vector_identity (
    one INTEGER PRIMARY KEY CHECK (one = 0),
    epoch TEXT NOT NULL,               -- names this database: a graph file of another is stale
    next_id INTEGER NOT NULL           -- chunk ids are handed out from here and never reused
);
"""

Ids = npt.NDArray[np.int64]
Codes = npt.NDArray[np.int32]


def prepare(conn: sqlite3.Connection) -> None:
    """Create the bookkeeping tables (idempotent)."""
    conn.executescript(SCHEMA)
    conn.execute("INSERT OR IGNORE INTO vector_identity (one, epoch, next_id) VALUES (0, ?, 1)", (uuid.uuid4().hex,))


def next_ids(conn: sqlite3.Connection, count: int) -> int:
    """The first of ``count`` fresh chunk ids (inside the writer's transaction). SQLite alone
    would hand the largest id out again once its row is deleted; a graph built before would
    then answer with the old vector under the new chunk's id."""
    (first,) = conn.execute(
        "UPDATE vector_identity SET next_id = max(next_id, (SELECT coalesce(max(id), 0) + 1 FROM chunks)) + ?1 "
        "WHERE one = 0 RETURNING next_id - ?1",
        (count,),
    ).fetchone()
    return int(first)


def bump(conn: sqlite3.Connection, collection: str) -> int:
    """Count one more write to ``collection`` (inside the writer's transaction)."""
    (generation,) = conn.execute(
        "INSERT INTO vector_generations (collection, generation) VALUES (?, 1) "
        "ON CONFLICT (collection) DO UPDATE SET generation = generation + 1 RETURNING generation",
        (collection,),
    ).fetchone()
    return int(generation)


def state(conn: sqlite3.Connection, collection: str) -> tuple[str, int]:
    (epoch,) = conn.execute("SELECT epoch FROM vector_identity WHERE one = 0").fetchone()
    row = conn.execute("SELECT generation FROM vector_generations WHERE collection = ?", (collection,)).fetchone()
    return str(epoch), int(row[0]) if row else 0


def blobs(rows: list[Any]) -> Vectors:
    if not rows:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.frombuffer(b"".join(row[-1] for row in rows), dtype=np.float32).reshape(len(rows), DIMENSIONS)


def exact_vectors(conn: sqlite3.Connection, ids: Iterable[int]) -> tuple[Ids, Vectors]:
    """The stored ``float32`` vectors of chunk ``ids`` (those that still exist)."""
    rows = conn.execute(
        "SELECT id, vector FROM chunks WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps([int(i) for i in ids]),),
    ).fetchall()
    return np.array([row[0] for row in rows], dtype=np.int64), blobs(rows)


class Delta:
    """Vectors outside the graph, searched exactly; rows are appended, and killed in place."""

    def __init__(self) -> None:
        self.ids: Ids = np.zeros(0, dtype=np.int64)
        self.codes: Codes = np.zeros(0, dtype=np.int32)
        self.vectors: Vectors = np.zeros((0, DIMENSIONS), dtype=np.float32)
        self.alive = np.zeros(0, dtype=bool)
        self.size = 0
        self.rows: dict[int, int] = {}  # chunk id -> row

    @property
    def live(self) -> int:
        return len(self.rows)

    def append(self, ids: Ids, codes: Codes, vectors: Vectors) -> None:
        need = self.size + len(ids)
        if need > len(self.ids):
            capacity = max(need, 2 * len(self.ids), 1024)
            self.ids = np.resize(self.ids, capacity)
            self.codes = np.resize(self.codes, capacity)
            self.alive = np.resize(self.alive, capacity)
            grown = np.zeros((capacity, DIMENSIONS), dtype=np.float32)
            grown[: self.size] = self.vectors[: self.size]
            self.vectors = grown
        end = self.size + len(ids)
        self.ids[self.size : end] = ids
        self.codes[self.size : end] = codes
        self.vectors[self.size : end] = vectors
        self.alive[self.size : end] = True
        for offset, chunk_id in enumerate(ids.tolist()):
            self.rows[chunk_id] = self.size + offset
        self.size = end

    def kill(self, chunk_id: int) -> bool:
        row = self.rows.pop(chunk_id, None)
        if row is None:
            return False
        self.alive[row] = False
        return True

    def search(self, query: Vectors, count: int, codes: Codes | None) -> list[tuple[float, int]]:
        if not self.rows:
            return []
        scores = np.empty(self.size, dtype=np.float32)
        for start in range(0, self.size, BLOCK):  # in blocks: BLAS stays on this thread
            np.dot(self.vectors[start : min(start + BLOCK, self.size)], query, out=scores[start : start + BLOCK])
        mask = self.alive[: self.size]
        if codes is not None:
            mask = mask & np.isin(self.codes[: self.size], codes)
        scores = np.where(mask, scores, -np.inf)
        count = min(count, self.size)
        top = np.argpartition(-scores, count - 1)[:count]
        return [(float(scores[i]), int(self.ids[i])) for i in top if np.isfinite(scores[i])]

    def live_rows(self) -> tuple[Ids, Codes, Vectors]:
        keep = np.flatnonzero(self.alive[: self.size])
        return self.ids[keep].copy(), self.codes[keep].copy(), self.vectors[keep].copy()


@contextlib.contextmanager
def snapshot(reader: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every statement inside sees the same state of the database."""
    reader.execute("BEGIN")
    try:
        yield
    finally:
        reader.execute("COMMIT")
