"""SmartMemory's storage: its tables, the retrieval index and the clock, shared by the
binding and its stubs (``runtime.smart.memory``); episodic and semantic memory live here since
both the binding and a working-memory session reach them.

Nothing heavy runs on the event loop: writes go through the writer
(:mod:`runtime.smart.memory_writer`, a worker thread, commits shared), and chunking, embedding,
searches and reads of many rows run in worker threads, each reading through a connection of its
own (:meth:`MemoryStore.read`). What stays on the loop are one-row lookups by primary key."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import numpy as np

from runtime.errors import BindingError
from runtime.smart.embeddings import Embedder
from runtime.smart.extract import chunk
from runtime.smart.memory_writer import MemoryWriter
from runtime.smart.retrieval import Hit, RetrievalIndex

if TYPE_CHECKING:
    from runtime.ai import AI

DEFAULT_TIMELINE = "*defaultTimeline"
DEFAULT_PROCEDURES = "default"
SUMMARY_MODEL = "llama-3.3-70b"
PAGE_SIZE = 10
EMBED_BATCH = 128  # chunks embedded per thread call
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS memory_sessions (
    memory TEXT NOT NULL,
    session_id TEXT NOT NULL,
    state TEXT NOT NULL,              -- active, ended
    started_at REAL NOT NULL,
    ended_at REAL,
    rehydration TEXT,                 -- JSON status of the last rehydrate_session into it
    PRIMARY KEY (memory, session_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memory_entries (
    memory TEXT NOT NULL,
    id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    timeline TEXT NOT NULL,
    key TEXT,
    agent TEXT,
    by TEXT,
    due_to TEXT,
    content TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (memory, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memory_entries_by_session ON memory_entries (memory, session_id, at);
CREATE TABLE IF NOT EXISTS memory_episodes (
    memory TEXT NOT NULL,
    session_id TEXT NOT NULL,
    summary TEXT NOT NULL,
    agent TEXT,
    entry_count INTEGER NOT NULL,
    timeline_count INTEGER NOT NULL,
    duration INTEGER NOT NULL,        -- milliseconds from the first entry to the last
    entries TEXT NOT NULL,            -- JSON: the session's entries
    created_at REAL NOT NULL,
    PRIMARY KEY (memory, session_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memory_semantic (
    memory TEXT NOT NULL,
    object_id TEXT NOT NULL,
    document TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (memory, object_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memory_procedures (
    memory TEXT NOT NULL,
    store TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (memory, store, key)
) WITHOUT ROWID;
"""


def as_moment(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise BindingError(f"{what} must be an aware datetime (tz=UTC) or epoch seconds, not a naive datetime")
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise BindingError(f"{what} must be a datetime or epoch seconds, not {type(value).__name__}")


def as_utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, tz=UTC)


def as_positive(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BindingError(f"{what} must be a positive whole number, not {value!r}")
    return value


def as_text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BindingError(f"{what} must be non-empty text, not {value!r:.60}")
    return value


class MemoryStore:
    """What the binding and its stubs share: the tables, the index, the writer, the clock, ``env.AI``."""

    def __init__(
        self,
        name: str,
        index: RetrievalIndex,
        embedder: Embedder,
        ai: AI,
        now: Callable[[], float],
        writer: MemoryWriter,
    ) -> None:
        self.name = name
        self.index = index
        self.conn = index.conn
        self.embedder = embedder
        self.ai = ai
        self.now = now
        self.writer = writer
        self.conn.executescript(SCHEMA)

    def collection(self, kind: str) -> str:
        return f"memory:{self.name}:{kind}"

    async def read(self, reading: Callable[..., T], *args: Any) -> T:
        """``reading(conn, *args)`` in a worker thread, on that thread's own connection."""
        return await anyio.to_thread.run_sync(lambda: reading(self.index.reader(), *args))

    async def embed_chunks(self, text: str) -> tuple[list[str], Any]:
        texts = await anyio.to_thread.run_sync(lambda: chunk(text) or [text])
        parts = []
        for start in range(0, len(texts), EMBED_BATCH):
            parts.append(await anyio.to_thread.run_sync(self.embedder.embed, texts[start : start + EMBED_BATCH]))
        return texts, np.concatenate(parts)

    async def query_vector(self, terms: str) -> Any:
        (vector,) = await anyio.to_thread.run_sync(self.embedder.embed, [terms])
        return vector

    def search(self, kind: str, terms: str, vector: Any, **where: Any) -> list[Hit]:
        """The index's best chunks for ``terms`` (call it from a worker thread)."""
        return self.index.search(self.collection(kind), terms, vector, limit=200, **where)

    def session_exists(self, session_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT state FROM memory_sessions WHERE memory = ? AND session_id = ?", (self.name, session_id)
        ).fetchone()
        return None if row is None else str(row[0])

    async def new_session(self) -> str:
        session_id = uuid.uuid4().hex
        started = self.now()
        await self.writer.write(
            lambda conn, after: conn.execute(
                "INSERT INTO memory_sessions (memory, session_id, state, started_at) VALUES (?, ?, 'active', ?)",
                (self.name, session_id, started),
            )
        )
        return session_id

    def entry(self, row: tuple[Any, ...]) -> dict[str, Any]:
        entry_id, session_id, timeline, key, agent, by, due_to, content, at = row
        return {
            "id": entry_id,
            "in": session_id,
            "timeline": timeline,
            "by": by,
            "due_to": due_to,
            "content": content,
            "at": as_utc(at),
            "key": key,
            "agent": agent,
        }

    # -- for the dashboard (its own reads, on the loop's connection) -----------------------------

    async def overview(self) -> dict[str, Any]:
        """Sessions, counts and procedures, for the dashboard (read off the loop)."""

        def read(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
            sessions = conn.execute(
                "SELECT s.session_id, s.state, s.started_at, s.ended_at, count(e.id) FROM memory_sessions s "
                "LEFT JOIN memory_entries e ON e.memory = s.memory AND e.session_id = s.session_id "
                "WHERE s.memory = ? GROUP BY s.session_id ORDER BY s.started_at DESC LIMIT 50",
                (name,),
            ).fetchall()
            procedures = conn.execute(
                "SELECT store, key, value FROM memory_procedures WHERE memory = ? ORDER BY store, key LIMIT 200",
                (name,),
            ).fetchall()
            (episodes,) = conn.execute("SELECT count(*) FROM memory_episodes WHERE memory = ?", (name,)).fetchone()
            (documents,) = conn.execute("SELECT count(*) FROM memory_semantic WHERE memory = ?", (name,)).fetchone()
            return {
                "sessions": [
                    {"session_id": s[0], "state": s[1], "started_at": as_utc(s[2]).isoformat(), "entries": s[4]}
                    for s in sessions
                ],
                "episodes": episodes,
                "semantic_documents": documents,
                "procedures": [{"store": p[0], "key": p[1], "value": p[2]} for p in procedures],
            }

        return await self.read(read, self.name)

    async def entries(self, session_id: str) -> list[dict[str, Any]]:
        """Every entry of one working-memory session, for the dashboard (read off the loop)."""

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                "SELECT id, session_id, timeline, key, agent, by, due_to, content, at FROM memory_entries "
                "WHERE memory = ? AND session_id = ? ORDER BY at, id",
                (self.name, session_id),
            ).fetchall()
            return [self.entry(row) for row in rows]

        return await self.read(read)

    # -- episodic -------------------------------------------------------------------------------

    async def search_episodic(
        self, terms: str, n_most_recent: int | None, start_time: Any, end_time: Any
    ) -> dict[str, Any]:
        terms = as_text(terms, f"smartmemory {self.name!r}: search_episodic_memory terms")
        newest = as_positive(n_most_recent, "n_most_recent")
        start, end = as_moment(start_time, "start_time"), as_moment(end_time, "end_time")
        vector = await self.query_vector(terms)

        def find(conn: sqlite3.Connection) -> tuple[dict[str, Any], dict[str, float]]:
            rows = conn.execute(
                "SELECT session_id, summary, agent, entry_count, timeline_count, duration, created_at "
                "FROM memory_episodes WHERE memory = ?1 AND (?2 IS NULL OR created_at >= ?2) "
                "AND (?3 IS NULL OR created_at <= ?3) ORDER BY created_at DESC LIMIT ?4",
                (self.name, start, end, newest or -1),
            ).fetchall()
            episodes = {row[0]: row for row in rows}
            best: dict[str, float] = {}
            if episodes:
                for hit in self.search("episodic", terms, vector, keys=list(episodes)):
                    best[hit.key] = max(best.get(hit.key, 0.0), hit.score)
            return episodes, best

        episodes, best = await self.read(find)
        if not episodes:
            return {"results": [], "pagination": pagination(0, 1, PAGE_SIZE)}
        results = [
            {
                "session_id": session_id,
                "summary": episodes[session_id][1],
                "agent": episodes[session_id][2],
                "entry_count": episodes[session_id][3],
                "timeline_count": episodes[session_id][4],
                "duration": episodes[session_id][5],
                "created_at": as_utc(episodes[session_id][6]),
                "score": score,
            }
            for session_id, score in sorted(best.items(), key=lambda item: -item[1])
        ]
        return {"results": results, "pagination": pagination(len(results), 1, max(len(results), PAGE_SIZE))}

    # -- semantic -------------------------------------------------------------------------------

    async def put_semantic(self, document: Any) -> dict[str, Any]:
        if not isinstance(document, dict):
            return {
                "success": False,
                "object_id": None,
                "error": f"a semantic document is a dict, not {type(document).__name__}",
            }
        try:  # in a thread: a document may be megabytes
            text, words = await anyio.to_thread.run_sync(
                lambda: (json.dumps(document, ensure_ascii=False, sort_keys=True), document_text(document))
            )
        except (TypeError, ValueError) as exc:
            return {"success": False, "object_id": None, "error": f"the document is not JSON-serializable: {exc}"}
        object_id = uuid.uuid4().hex
        texts, vectors = await self.embed_chunks(words)
        created = self.now()
        await self.writer.document(
            self.collection("semantic"),
            "",
            object_id,
            texts,
            vectors,
            lambda conn, after: conn.execute(
                "INSERT INTO memory_semantic (memory, object_id, document, created_at) VALUES (?, ?, ?, ?)",
                (self.name, object_id, text, created),
            ),
        )
        return {"success": True, "object_id": object_id, "error": None}

    async def get_semantic(self, object_id: str) -> dict[str, Any]:
        return await self.read(self._get_semantic, object_id)

    def _get_semantic(self, conn: sqlite3.Connection, object_id: str) -> dict[str, Any]:
        row = conn.execute(
            "SELECT document FROM memory_semantic WHERE memory = ? AND object_id = ?", (self.name, object_id)
        ).fetchone()
        if row is None:
            return {"success": False, "document": None, "error": f"no semantic document {object_id!r}"}
        return {"success": True, "document": json.loads(row[0]), "error": None}

    async def search_semantic(self, needle: str) -> dict[str, Any]:
        if not isinstance(needle, str) or not needle.strip():
            return {
                "success": False,
                "document_search_response": {"results": []},
                "error": "the search needle is empty",
            }
        vector = await self.query_vector(needle)

        def find(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            results: list[dict[str, Any]] = []
            seen: set[str] = set()
            for hit in self.search("semantic", needle, vector):
                if hit.key in seen:
                    continue
                seen.add(hit.key)
                if len(results) >= PAGE_SIZE:
                    break
                results.append(
                    {
                        "chunk_signature": f"{hit.key}:{hit.seq}",
                        "text": self._chunk_text(conn, hit.key, hit.text),
                        "source": hit.key,
                        "payload_signature": hit.key,
                        "score": hit.score,
                        "similarity": hit.similarity,
                        "embed": None,
                        "type": "application/json",
                    }
                )
            return results

        results = await self.read(find)
        return {"success": True, "document_search_response": {"results": results}, "error": None}

    def _chunk_text(self, conn: sqlite3.Connection, object_id: str, text: str) -> str:
        """A hit's text: the document's JSON when the document is one chunk (as the platform's
        chunk of a small JSON document reads, and apps ``JSON.parse`` it), else the chunk."""
        row = conn.execute(
            "SELECT document FROM memory_semantic WHERE memory = ? AND object_id = ?", (self.name, object_id)
        ).fetchone()
        if row is None or len(chunk(document_text(json.loads(row[0])))) != 1:
            return text
        return str(row[0])

    async def delete_semantic(self, object_id: str) -> dict[str, Any]:
        gone = await self.writer.remove(
            self.collection("semantic"),
            None,
            object_id,
            lambda conn, after: (
                conn.execute(
                    "DELETE FROM memory_semantic WHERE memory = ? AND object_id = ?", (self.name, object_id)
                ).rowcount
            ),
        )
        if not gone:
            return {"success": False, "error": f"no semantic document {object_id!r}"}
        return {"success": True, "error": None}


def document_text(document: dict[str, Any]) -> str:
    """The words of a JSON document, values after their keys, for indexing."""
    parts: list[str] = []

    def walk(value: Any, label: str = "") -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, str(key))
        elif isinstance(value, list):
            for item in value:
                walk(item, label)
        elif value is not None:
            parts.append(f"{label}: {value}" if label else str(value))

    walk(document)
    return "\n".join(parts)


def pagination(total: int, page: int, size: int) -> dict[str, Any]:
    pages = (total + size - 1) // size if size else 0
    return {"total": total, "page": page, "page_size": size, "total_pages": pages, "has_more": page < pages}
