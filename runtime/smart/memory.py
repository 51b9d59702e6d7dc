"""SmartMemory (``smartmemory`` blocks): working, episodic, semantic and procedural memory.

- **Working memory**: sessions of entries (``put_memory``), each on a timeline (default
  ``"*defaultTimeline"``), found by exact filters (``get_memory``) or by meaning and words
  (``search_memory``, through the retrieval engine).
- **Episodic memory**: ``end_session(flush=True)`` summarizes the session through ``env.AI``
  and keeps the summary with its entries; ``search_episodic_memory`` finds past sessions, and
  ``rehydrate_session`` brings one back as working memory.
- **Semantic memory**: JSON documents, searchable (``put/get/search/delete_semantic_memory``).
- **Procedural memory**: named key/value stores of procedures (``get_procedural_memory(id)``).

Everything is durable (one SQLite file in the app's state, beside the retrieval index) and
every moment comes from the app's clock, so tests move time with the fake clock. Times are
returned as aware UTC datetimes and accepted as datetimes or epoch seconds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import anyio

from runtime.errors import BindingError
from runtime.naming import platform_names
from runtime.smart.embeddings import Embedder
from runtime.smart.extract import chunk
from runtime.smart.retrieval import RetrievalIndex

if TYPE_CHECKING:
    from runtime.ai import AI

DEFAULT_TIMELINE = "*defaultTimeline"
DEFAULT_PROCEDURES = "default"
SUMMARY_MODEL = "llama-3.3-70b"
PAGE_SIZE = 10

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


def _moment(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise BindingError(f"{what} must be an aware datetime (tz=UTC) or epoch seconds, not a naive datetime")
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise BindingError(f"{what} must be a datetime or epoch seconds, not {type(value).__name__}")


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, tz=UTC)


def _positive(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BindingError(f"{what} must be a positive whole number, not {value!r}")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BindingError(f"{what} must be non-empty text, not {value!r:.60}")
    return value


class _Memory:
    """What the binding and its stubs share: the tables, the index, the clock, ``env.AI``."""

    def __init__(self, name: str, index: RetrievalIndex, embedder: Embedder, ai: AI, now: Callable[[], float]) -> None:
        self.name = name
        self.index = index
        self.conn = index.conn
        self.embedder = embedder
        self.ai = ai
        self.now = now
        self.conn.executescript(SCHEMA)

    def collection(self, kind: str) -> str:
        return f"memory:{self.name}:{kind}"

    async def embed_chunks(self, text: str) -> tuple[list[str], Any]:
        texts = chunk(text) or [text]
        vectors = await anyio.to_thread.run_sync(self.embedder.embed, texts)
        return texts, vectors

    async def hits(self, kind: str, terms: str, **where: Any) -> list[Any]:
        (vector,) = await anyio.to_thread.run_sync(self.embedder.embed, [terms])
        return self.index.search(self.collection(kind), terms, vector, limit=200, **where)

    def session_exists(self, session_id: str) -> str | None:
        row = self.conn.execute(
            "SELECT state FROM memory_sessions WHERE memory = ? AND session_id = ?", (self.name, session_id)
        ).fetchone()
        return None if row is None else str(row[0])

    def new_session(self) -> str:
        session_id = uuid.uuid4().hex
        with self.conn:
            self.conn.execute(
                "INSERT INTO memory_sessions (memory, session_id, state, started_at) VALUES (?, ?, 'active', ?)",
                (self.name, session_id, self.now()),
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
            "at": _utc(at),
            "key": key,
            "agent": agent,
        }

    # -- episodic -------------------------------------------------------------------------------

    async def search_episodic(
        self, terms: str, n_most_recent: int | None, start_time: Any, end_time: Any
    ) -> dict[str, Any]:
        terms = _text(terms, f"smartmemory {self.name!r}: search_episodic_memory terms")
        newest = _positive(n_most_recent, "n_most_recent")
        start, end = _moment(start_time, "start_time"), _moment(end_time, "end_time")
        rows = self.conn.execute(
            "SELECT session_id, summary, agent, entry_count, timeline_count, duration, created_at FROM memory_episodes "
            "WHERE memory = ?1 AND (?2 IS NULL OR created_at >= ?2) AND (?3 IS NULL OR created_at <= ?3) "
            "ORDER BY created_at DESC LIMIT ?4",
            (self.name, start, end, newest or -1),
        ).fetchall()
        episodes = {row[0]: row for row in rows}
        if not episodes:
            return {"results": [], "pagination": _pagination(0, 1, PAGE_SIZE)}
        best: dict[str, float] = {}
        for hit in await self.hits("episodic", terms, keys=list(episodes)):
            best[hit.key] = max(best.get(hit.key, 0.0), hit.score)
        results = [
            {
                "session_id": session_id,
                "summary": episodes[session_id][1],
                "agent": episodes[session_id][2],
                "entry_count": episodes[session_id][3],
                "timeline_count": episodes[session_id][4],
                "duration": episodes[session_id][5],
                "created_at": _utc(episodes[session_id][6]),
                "score": score,
            }
            for session_id, score in sorted(best.items(), key=lambda item: -item[1])
        ]
        return {"results": results, "pagination": _pagination(len(results), 1, max(len(results), PAGE_SIZE))}

    # -- semantic -------------------------------------------------------------------------------

    async def put_semantic(self, document: Any) -> dict[str, Any]:
        if not isinstance(document, dict):
            return {
                "success": False,
                "object_id": None,
                "error": f"a semantic document is a dict, not {type(document).__name__}",
            }
        try:
            text = json.dumps(document, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            return {"success": False, "object_id": None, "error": f"the document is not JSON-serializable: {exc}"}
        object_id = uuid.uuid4().hex
        texts, vectors = await self.embed_chunks(_document_text(document))
        with self.conn:
            self.conn.execute(
                "INSERT INTO memory_semantic (memory, object_id, document, created_at) VALUES (?, ?, ?, ?)",
                (self.name, object_id, text, self.now()),
            )
        self.index.replace(self.collection("semantic"), "", object_id, texts, vectors)
        return {"success": True, "object_id": object_id, "error": None}

    def get_semantic(self, object_id: str) -> dict[str, Any]:
        row = self.conn.execute(
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
        results = []
        seen: set[str] = set()
        for hit in await self.hits("semantic", needle):
            if hit.key in seen:
                continue
            seen.add(hit.key)
            results.append(
                {
                    "chunk_signature": f"{hit.key}:{hit.seq}",
                    "text": hit.text,
                    "source": hit.key,
                    "payload_signature": hit.key,
                    "score": hit.score,
                    "embed": None,
                    "type": "application/json",
                }
            )
        return {"success": True, "document_search_response": {"results": results[:PAGE_SIZE]}, "error": None}

    def delete_semantic(self, object_id: str) -> dict[str, Any]:
        with self.conn:
            gone = self.conn.execute(
                "DELETE FROM memory_semantic WHERE memory = ? AND object_id = ?", (self.name, object_id)
            ).rowcount
        self.index.remove(self.collection("semantic"), None, object_id)
        if not gone:
            return {"success": False, "error": f"no semantic document {object_id!r}"}
        return {"success": True, "error": None}


def _document_text(document: dict[str, Any]) -> str:
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


def _pagination(total: int, page: int, size: int) -> dict[str, Any]:
    pages = (total + size - 1) // size if size else 0
    return {"total": total, "page": page, "page_size": size, "total_pages": pages, "has_more": page < pages}


@platform_names
class SmartMemory:
    """``env.<SMARTMEMORY>``."""

    def __init__(self, name: str, index: RetrievalIndex, embedder: Embedder, ai: AI, now: Callable[[], float]) -> None:
        self.name = name
        self._memory = _Memory(name, index, embedder, ai, now)

    def __repr__(self) -> str:
        return f"<SmartMemory {self.name!r}>"

    async def start_working_memory_session(self) -> dict[str, Any]:
        """A new working-memory session: ``{"session_id", "working_memory"}``."""
        session_id = self._memory.new_session()
        return {"session_id": session_id, "working_memory": WorkingMemory(self._memory, session_id)}

    async def get_working_memory_session(self, session_id: str) -> WorkingMemory:
        """The session's stub. :raises BindingError: for a session this memory never started."""
        if self._memory.session_exists(session_id) is None:
            raise BindingError(f"smartmemory {self.name!r}: no working memory session {session_id!r}")
        return WorkingMemory(self._memory, session_id)

    async def rehydrate_session(self, session_id: str, summary_only: bool = False) -> dict[str, Any]:
        """A new working memory session holding an ended session's entries (or its summary)."""
        new_id = self._memory.new_session()
        stub = WorkingMemory(self._memory, new_id)
        outcome = await stub.rehydrate_session(session_id, summary_only)
        return {"session_id": new_id, "working_memory": stub, **outcome}

    async def search_episodic_memory(
        self, terms: str, n_most_recent: int | None = None, start_time: Any = None, end_time: Any = None
    ) -> dict[str, Any]:
        """Summaries of ended sessions that match ``terms``, best first."""
        return await self._memory.search_episodic(terms, n_most_recent, start_time, end_time)

    async def put_semantic_memory(self, document: dict[str, Any]) -> dict[str, Any]:
        """Store a JSON document in semantic memory; returns its ``object_id``."""
        return await self._memory.put_semantic(document)

    async def get_semantic_memory(self, object_id: str) -> dict[str, Any]:
        """The semantic document ``object_id``."""
        return self._memory.get_semantic(object_id)

    async def search_semantic_memory(self, needle: str) -> dict[str, Any]:
        """Semantic documents that match ``needle``, best first."""
        return await self._memory.search_semantic(needle)

    async def delete_semantic_memory(self, object_id: str) -> dict[str, Any]:
        """Delete the semantic document ``object_id``."""
        return self._memory.delete_semantic(object_id)

    async def get_procedural_memory(self, id: str | None = None) -> ProceduralMemory:
        """The procedure store ``id`` (default: the app's default store)."""
        return ProceduralMemory(self._memory, id or DEFAULT_PROCEDURES)

    # -- for the dashboard ------------------------------------------------------------------------

    def overview(self) -> dict[str, Any]:
        """Sessions, counts and procedures, for the dashboard."""
        conn, name = self._memory.conn, self.name
        sessions = conn.execute(
            "SELECT s.session_id, s.state, s.started_at, s.ended_at, count(e.id) FROM memory_sessions s "
            "LEFT JOIN memory_entries e ON e.memory = s.memory AND e.session_id = s.session_id "
            "WHERE s.memory = ? GROUP BY s.session_id ORDER BY s.started_at DESC LIMIT 50",
            (name,),
        ).fetchall()
        procedures = conn.execute(
            "SELECT store, key, value FROM memory_procedures WHERE memory = ? ORDER BY store, key LIMIT 200", (name,)
        ).fetchall()
        (episodes,) = conn.execute("SELECT count(*) FROM memory_episodes WHERE memory = ?", (name,)).fetchone()
        (documents,) = conn.execute("SELECT count(*) FROM memory_semantic WHERE memory = ?", (name,)).fetchone()
        return {
            "sessions": [
                {"session_id": s[0], "state": s[1], "started_at": _utc(s[2]).isoformat(), "entries": s[4]}
                for s in sessions
            ],
            "episodes": episodes,
            "semantic_documents": documents,
            "procedures": [{"store": p[0], "key": p[1], "value": p[2]} for p in procedures],
        }

    def entries(self, session_id: str) -> list[dict[str, Any]]:
        """Every entry of one working-memory session, for the dashboard."""
        rows = self._memory.conn.execute(
            "SELECT id, session_id, timeline, key, agent, by, due_to, content, at FROM memory_entries "
            "WHERE memory = ? AND session_id = ? ORDER BY at, id",
            (self.name, session_id),
        ).fetchall()
        return [self._memory.entry(row) for row in rows]


@platform_names
class WorkingMemory:
    """A working memory session (what ``start_working_memory_session`` returns as ``working_memory``)."""

    def __init__(self, memory: _Memory, session_id: str) -> None:
        self._m = memory
        self.session_id = session_id

    def __repr__(self) -> str:
        return f"<WorkingMemory {self._m.name!r} {self.session_id}>"

    def _active(self) -> None:
        state = self._m.session_exists(self.session_id)
        if state != "active":
            raise BindingError(
                f"smartmemory {self._m.name!r}: session {self.session_id!r} has ended; "
                "start a new one or rehydrate this one"
            )

    async def put_memory(
        self,
        content: str,
        timeline: str | None = None,
        key: str | None = None,
        agent: str | None = None,
        session_id: str | None = None,
        at: Any = None,
    ) -> str:
        """Add an entry; returns its id."""
        self._active()
        content = _text(content, f"smartmemory {self._m.name!r}: put_memory content")
        moment = _moment(at, "at")
        entry_id = uuid.uuid4().hex
        texts, vectors = await self._m.embed_chunks(content)
        with self._m.conn:
            self._m.conn.execute(
                "INSERT INTO memory_entries (memory, id, session_id, timeline, key, agent, by, due_to, content, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._m.name,
                    entry_id,
                    session_id or self.session_id,
                    timeline or DEFAULT_TIMELINE,
                    key,
                    agent,
                    agent,
                    None,
                    content,
                    moment if moment is not None else self._m.now(),
                ),
            )
        self._m.index.replace(self._m.collection("working"), session_id or self.session_id, entry_id, texts, vectors)
        return entry_id

    def _rows(
        self,
        timeline: str | None,
        key: str | None,
        start: float | None,
        end: float | None,
        ids: list[str] | None = None,
    ) -> list[tuple[Any, ...]]:
        return self._m.conn.execute(
            "SELECT id, session_id, timeline, key, agent, by, due_to, content, at FROM memory_entries "
            "WHERE memory = ?1 AND session_id = ?2 AND (?3 IS NULL OR timeline = ?3) AND (?4 IS NULL OR key = ?4) "
            "AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at <= ?6) "
            "AND (?7 IS NULL OR id IN (SELECT value FROM json_each(?7))) ORDER BY at, id",
            (self._m.name, self.session_id, timeline, key, start, end, json.dumps(ids) if ids is not None else None),
        ).fetchall()

    async def get_memory(
        self,
        timeline: str | None = None,
        key: str | None = None,
        n_most_recent: int | None = None,
        start_time: Any = None,
        end_time: Any = None,
    ) -> list[dict[str, Any]] | None:
        """Entries matching every filter given, oldest first (the ``n_most_recent`` newest ones
        when given); None when none match."""
        newest = _positive(n_most_recent, "n_most_recent")
        rows = self._rows(timeline, key, _moment(start_time, "start_time"), _moment(end_time, "end_time"))
        if newest is not None:
            rows = rows[-newest:]
        return [self._m.entry(row) for row in rows] or None

    async def search_memory(
        self,
        terms: str,
        timeline: str | None = None,
        n_most_recent: int | None = None,
        start_time: Any = None,
        end_time: Any = None,
    ) -> list[dict[str, Any]] | None:
        """Entries nearest to ``terms`` in meaning or words, best first; None when none match."""
        terms = _text(terms, f"smartmemory {self._m.name!r}: search_memory terms")
        newest = _positive(n_most_recent, "n_most_recent")
        candidates = self._rows(timeline, None, _moment(start_time, "start_time"), _moment(end_time, "end_time"))
        if newest is not None:
            candidates = candidates[-newest:]
        by_id = {row[0]: row for row in candidates}
        if not by_id:
            return None
        order: list[str] = []
        for hit in await self._m.hits("working", terms, partitions=[self.session_id], keys=list(by_id)):
            if hit.key not in order:
                order.append(hit.key)
        return [self._m.entry(by_id[entry_id]) for entry_id in order] or None

    async def delete_memory(self, entry_id: str) -> None:
        with self._m.conn:
            self._m.conn.execute(
                "DELETE FROM memory_entries WHERE memory = ? AND session_id = ? AND id = ?",
                (self._m.name, self.session_id, entry_id),
            )
        self._m.index.remove(self._m.collection("working"), self.session_id, entry_id)

    async def summarize_memory(
        self, memories: list[dict[str, Any]], system_prompt: str | None = None
    ) -> dict[str, Any]:
        """A summary of ``memories`` (entries as returned by ``get_memory``), through ``env.AI``."""
        if not isinstance(memories, list):
            raise BindingError(f"smartmemory {self._m.name!r}: summarize_memory takes a list of entries")
        entries = [m for m in memories if isinstance(m, dict) and "content" in m]
        timelines: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            timelines.setdefault(str(entry.get("timeline") or DEFAULT_TIMELINE), []).append(entry)
        moments = [e["at"].timestamp() for e in entries if isinstance(e.get("at"), datetime)]
        agents = sorted({str(e["agent"]) for e in entries if e.get("agent")})
        metadata = {
            "duration": int((max(moments) - min(moments)) * 1000) if moments else 0,
            "timeline_count": len(timelines),
            "entry_count": len(entries),
            "agent": ", ".join(agents) or None,
        }
        if not entries:
            return {"summary": "", "entries": timelines, "metadata": metadata}
        text = "\n".join(str(e["content"]) for e in entries)
        reply = await self._m.ai.run(
            SUMMARY_MODEL,
            {
                "messages": [
                    {"role": "system", "content": text},
                    {
                        "role": "user",
                        "content": f"{system_prompt or 'Summarize this conversation.'} Summarize the memories above.",
                    },
                ]
            },
        )
        return {"summary": reply["response"], "entries": timelines, "metadata": metadata}

    async def end_session(self, flush: bool) -> None:
        """End the session; with ``flush=True`` it becomes episodic memory (summary and entries)."""
        self._active()
        if flush:
            rows = self._rows(None, None, None, None)
            entries = [self._m.entry(row) for row in rows]
            summary = await self.summarize_memory(entries)
            stored = [{**e, "at": e["at"].timestamp()} for e in entries]
            meta = summary["metadata"]
            created = self._m.now()
            with self._m.conn:
                self._m.conn.execute(
                    "INSERT OR REPLACE INTO memory_episodes (memory, session_id, summary, agent, entry_count, "
                    "timeline_count, duration, entries, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self._m.name,
                        self.session_id,
                        summary["summary"],
                        meta["agent"],
                        meta["entry_count"],
                        meta["timeline_count"],
                        meta["duration"],
                        json.dumps(stored),
                        created,
                    ),
                )
            episode_text = summary["summary"] + "\n" + "\n".join(e["content"] for e in entries)
            texts, vectors = await self._m.embed_chunks(episode_text)
            self._m.index.replace(self._m.collection("episodic"), "", self.session_id, texts, vectors)
        with self._m.conn:
            self._m.conn.execute(
                "UPDATE memory_sessions SET state = 'ended', ended_at = ? WHERE memory = ? AND session_id = ?",
                (self._m.now(), self._m.name, self.session_id),
            )

    async def rehydrate_session(self, session_id: str, summary_only: bool = False) -> dict[str, Any]:
        """Copy an episodic session's entries (or only its summary) into this session."""
        self._active()
        started = self._m.now()
        row = self._m.conn.execute(
            "SELECT summary, entries FROM memory_episodes WHERE memory = ? AND session_id = ?",
            (self._m.name, session_id),
        ).fetchone()
        if row is None:
            status = {
                "status": "failed",
                "session_id": session_id,
                "entries_restored": 0,
                "error": f"no episodic memory of session {session_id!r}",
                "initiated_at": _utc(started),
                "completed_at": _utc(started),
            }
            self._save_status(status)
            return {"success": False, "message": status["error"], "entries_restored": 0}
        restored = 0
        if summary_only:
            await self.put_memory(row[0] or "(empty summary)", timeline="*summary")
            restored = 1
        else:
            for entry in json.loads(row[1]):
                await self.put_memory(
                    entry["content"],
                    timeline=entry["timeline"],
                    key=entry.get("key"),
                    agent=entry.get("agent"),
                    at=entry["at"],
                )
                restored += 1
        status = {
            "status": "completed",
            "session_id": session_id,
            "entries_restored": restored,
            "error": None,
            "initiated_at": _utc(started),
            "completed_at": _utc(self._m.now()),
        }
        self._save_status(status)
        return {
            "success": True,
            "message": f"restored {restored} entries from session {session_id}",
            "entries_restored": restored,
        }

    def _save_status(self, status: dict[str, Any]) -> None:
        stored = {
            **status,
            "initiated_at": status["initiated_at"].timestamp(),
            "completed_at": status["completed_at"].timestamp(),
        }
        with self._m.conn:
            self._m.conn.execute(
                "UPDATE memory_sessions SET rehydration = ? WHERE memory = ? AND session_id = ?",
                (json.dumps(stored), self._m.name, self.session_id),
            )

    async def get_rehydration_status(self) -> dict[str, Any] | None:
        row = self._m.conn.execute(
            "SELECT rehydration FROM memory_sessions WHERE memory = ? AND session_id = ?",
            (self._m.name, self.session_id),
        ).fetchone()
        if row is None or row[0] is None:
            return None
        status = json.loads(row[0])
        return {**status, "initiated_at": _utc(status["initiated_at"]), "completed_at": _utc(status["completed_at"])}

    async def search_episodic_memory(
        self, terms: str, n_most_recent: int | None = None, start_time: Any = None, end_time: Any = None
    ) -> dict[str, Any]:
        return await self._m.search_episodic(terms, n_most_recent, start_time, end_time)

    async def put_semantic_memory(self, document: dict[str, Any]) -> dict[str, Any]:
        return await self._m.put_semantic(document)

    async def get_semantic_memory(self, object_id: str) -> dict[str, Any]:
        return self._m.get_semantic(object_id)

    async def search_semantic_memory(self, needle: str) -> dict[str, Any]:
        return await self._m.search_semantic(needle)

    async def delete_semantic_memory(self, object_id: str) -> dict[str, Any]:
        return self._m.delete_semantic(object_id)


@platform_names
class ProceduralMemory:
    """A named store of procedures (``get_procedural_memory(id)``): text values under keys."""

    def __init__(self, memory: _Memory, store: str) -> None:
        self._m = memory
        self.id = store

    def __repr__(self) -> str:
        return f"<ProceduralMemory {self._m.name!r} {self.id!r}>"

    async def put_procedure(self, key: str, value: str) -> None:
        key = _text(key, "a procedure's key")
        if not isinstance(value, str):
            raise BindingError(f"procedure {key!r}: the value is text, not {type(value).__name__}")
        now = self._m.now()
        with self._m.conn:
            self._m.conn.execute(
                "INSERT INTO memory_procedures (memory, store, key, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (memory, store, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (self._m.name, self.id, key, value, now, now),
            )
        collection = self._m.collection(f"procedural:{self.id}")
        for part, text in (("keys", key), ("values", value or key)):
            texts, vectors = await self._m.embed_chunks(text)
            self._m.index.replace(collection, part, key, texts, vectors)

    async def get_procedure(self, key: str) -> str | None:
        row = self._m.conn.execute(
            "SELECT value FROM memory_procedures WHERE memory = ? AND store = ? AND key = ?",
            (self._m.name, self.id, key),
        ).fetchone()
        return None if row is None else str(row[0])

    async def delete_procedure(self, key: str) -> bool:
        with self._m.conn:
            gone = self._m.conn.execute(
                "DELETE FROM memory_procedures WHERE memory = ? AND store = ? AND key = ?", (self._m.name, self.id, key)
            ).rowcount
        self._m.index.remove(self._m.collection(f"procedural:{self.id}"), None, key)
        return bool(gone)

    async def list_procedures(self) -> list[dict[str, Any]]:
        rows = self._m.conn.execute(
            "SELECT key, value, created_at, updated_at FROM memory_procedures WHERE memory = ? AND store = ? ORDER BY key",
            (self._m.name, self.id),
        ).fetchall()
        return [{"key": r[0], "value": r[1], "created_at": _utc(r[2]), "updated_at": _utc(r[3])} for r in rows]

    async def search_procedures(
        self, terms: str, n_most_recent: int | None = None, search_keys: bool = True, search_values: bool = True
    ) -> list[dict[str, Any]] | None:
        """Procedures nearest to ``terms`` by key and/or value, best first; None when none match."""
        terms = _text(terms, "search_procedures terms")
        newest = _positive(n_most_recent, "n_most_recent")
        parts = [p for p, wanted in (("keys", search_keys), ("values", search_values)) if wanted]
        if not parts:
            return None
        listed = {p["key"]: p for p in await self.list_procedures()}
        if newest is not None:
            recent = sorted(listed.values(), key=lambda p: p["updated_at"], reverse=True)[:newest]
            listed = {p["key"]: p for p in recent}
        (vector,) = await anyio.to_thread.run_sync(self._m.embedder.embed, [terms])
        hits = self._m.index.search(
            self._m.collection(f"procedural:{self.id}"), terms, vector, partitions=parts, keys=list(listed), limit=200
        )
        order: list[str] = []
        for hit in hits:
            if hit.key not in order:
                order.append(hit.key)
        return [listed[key] for key in order] or None
