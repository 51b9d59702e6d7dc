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
import sqlite3
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio

from runtime.arguments import checked_arguments
from runtime.errors import BindingError
from runtime.naming import platform_names
from runtime.smart.embeddings import Embedder
from runtime.smart.memory_store import (
    DEFAULT_PROCEDURES,
    DEFAULT_TIMELINE,
    SUMMARY_MODEL,
    MemoryStore,
    as_moment,
    as_positive,
    as_text,
    as_utc,
)
from runtime.smart.memory_writer import MemoryWriter
from runtime.smart.procedural import ProceduralMemory
from runtime.smart.retrieval import RetrievalIndex

if TYPE_CHECKING:
    from runtime.ai import AI

__all__ = ["ProceduralMemory", "SmartMemory", "WorkingMemory"]


class _LongTermMemory:
    """Episodic and semantic memory: reachable from the binding and from every session."""

    _memory: MemoryStore

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
        return await self._memory.get_semantic(object_id)

    async def search_semantic_memory(self, needle: str) -> dict[str, Any]:
        """Semantic documents that match ``needle``, best first."""
        return await self._memory.search_semantic(needle)

    async def delete_semantic_memory(self, object_id: str) -> dict[str, Any]:
        """Delete the semantic document ``object_id``."""
        return await self._memory.delete_semantic(object_id)


@platform_names
@checked_arguments
class SmartMemory(_LongTermMemory):
    """``env.<SMARTMEMORY>``."""

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
        self._memory = MemoryStore(name, index, embedder, ai, now, writer)

    def __repr__(self) -> str:
        return f"<SmartMemory {self.name!r}>"

    async def start_working_memory_session(self) -> dict[str, Any]:
        """A new working-memory session: ``{"session_id", "working_memory"}``."""
        session_id = await self._memory.new_session()
        return {"session_id": session_id, "working_memory": WorkingMemory(self._memory, session_id)}

    async def get_working_memory_session(self, session_id: str) -> WorkingMemory:
        """The session's stub. :raises BindingError: for a session this memory never started."""
        if self._memory.session_exists(session_id) is None:
            raise BindingError(f"smartmemory {self.name!r}: no working memory session {session_id!r}")
        return WorkingMemory(self._memory, session_id)

    async def rehydrate_session(self, session_id: str, summary_only: bool = False) -> dict[str, Any]:
        """A new working memory session holding an ended session's entries (or its summary)."""
        new_id = await self._memory.new_session()
        stub = WorkingMemory(self._memory, new_id)
        outcome = await stub.rehydrate_session(session_id, summary_only)
        return {"session_id": new_id, "working_memory": stub, **outcome}

    async def get_procedural_memory(self, id: str | None = None) -> ProceduralMemory:
        """The procedure store ``id`` (default: the app's default store)."""
        return ProceduralMemory(self._memory, id or DEFAULT_PROCEDURES)

    # -- for the dashboard ------------------------------------------------------------------------

    async def overview(self) -> dict[str, Any]:
        """Sessions, counts and procedures, for the dashboard."""
        return await self._memory.overview()

    async def entries(self, session_id: str) -> list[dict[str, Any]]:
        """Every entry of one working-memory session, for the dashboard."""
        return await self._memory.entries(session_id)


@platform_names
@checked_arguments
class WorkingMemory(_LongTermMemory):
    """A working memory session (what ``start_working_memory_session`` returns as ``working_memory``)."""

    def __init__(self, memory: MemoryStore, session_id: str) -> None:
        self._memory = memory
        self.session_id = session_id

    def __repr__(self) -> str:
        return f"<WorkingMemory {self._memory.name!r} {self.session_id}>"

    def _active(self) -> None:
        state = self._memory.session_exists(self.session_id)
        if state != "active":
            raise BindingError(
                f"smartmemory {self._memory.name!r}: session {self.session_id!r} has ended; "
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
        content = as_text(content, f"smartmemory {self._memory.name!r}: put_memory content")
        moment = as_moment(at, "at")
        entry_id = uuid.uuid4().hex
        texts, vectors = await self._memory.embed_chunks(content)
        session = session_id or self.session_id
        row = (
            self._memory.name,
            entry_id,
            session,
            timeline or DEFAULT_TIMELINE,
            key,
            agent,
            agent,
            None,
            content,
            moment if moment is not None else self._memory.now(),
        )
        await self._memory.writer.document(
            self._memory.collection("working"),
            session,
            entry_id,
            texts,
            vectors,
            lambda conn, after: conn.execute(
                "INSERT INTO memory_entries (memory, id, session_id, timeline, key, agent, by, due_to, content, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            ),
        )
        return entry_id

    def _rows(
        self,
        conn: sqlite3.Connection,
        timeline: str | None,
        key: str | None,
        start: float | None,
        end: float | None,
        ids: list[str] | None = None,
    ) -> list[tuple[Any, ...]]:
        return conn.execute(
            "SELECT id, session_id, timeline, key, agent, by, due_to, content, at FROM memory_entries "
            "WHERE memory = ?1 AND session_id = ?2 AND (?3 IS NULL OR timeline = ?3) AND (?4 IS NULL OR key = ?4) "
            "AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR at <= ?6) "
            "AND (?7 IS NULL OR id IN (SELECT value FROM json_each(?7))) ORDER BY at, id",
            (
                self._memory.name,
                self.session_id,
                timeline,
                key,
                start,
                end,
                json.dumps(ids) if ids is not None else None,
            ),
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
        newest = as_positive(n_most_recent, "n_most_recent")
        start, end = as_moment(start_time, "start_time"), as_moment(end_time, "end_time")

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = self._rows(conn, timeline, key, start, end)
            return [self._memory.entry(row) for row in (rows if newest is None else rows[-newest:])]

        return await self._memory.read(read) or None

    async def search_memory(
        self,
        terms: str,
        timeline: str | None = None,
        n_most_recent: int | None = None,
        start_time: Any = None,
        end_time: Any = None,
    ) -> list[dict[str, Any]] | None:
        """Entries nearest to ``terms`` in meaning or words, best first; None when none match."""
        terms = as_text(terms, f"smartmemory {self._memory.name!r}: search_memory terms")
        newest = as_positive(n_most_recent, "n_most_recent")
        start, end = as_moment(start_time, "start_time"), as_moment(end_time, "end_time")
        vector = await self._memory.query_vector(terms)

        def find(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            candidates = self._rows(conn, timeline, None, start, end)
            if newest is not None:
                candidates = candidates[-newest:]
            by_id = {row[0]: row for row in candidates}
            if not by_id:
                return []
            order: dict[str, None] = {}
            for hit in self._memory.search("working", terms, vector, partitions=[self.session_id], keys=list(by_id)):
                order.setdefault(hit.key)
            return [self._memory.entry(by_id[entry_id]) for entry_id in order]

        return await self._memory.read(find) or None

    async def delete_memory(self, entry_id: str) -> None:
        await self._memory.writer.remove(
            self._memory.collection("working"),
            self.session_id,
            entry_id,
            lambda conn, after: conn.execute(
                "DELETE FROM memory_entries WHERE memory = ? AND session_id = ? AND id = ?",
                (self._memory.name, self.session_id, entry_id),
            ),
        )

    async def summarize_memory(
        self, memories: list[dict[str, Any]], system_prompt: str | None = None
    ) -> dict[str, Any]:
        """A summary of ``memories`` (entries as returned by ``get_memory``), through ``env.AI``."""
        if not isinstance(memories, list):
            raise BindingError(f"smartmemory {self._memory.name!r}: summarize_memory takes a list of entries")
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
        reply = await self._memory.ai.run(
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
        name, session = self._memory.name, self.session_id

        def ended(conn: sqlite3.Connection, after: Any) -> None:
            conn.execute(
                "UPDATE memory_sessions SET state = 'ended', ended_at = ? WHERE memory = ? AND session_id = ?",
                (self._memory.now(), name, session),
            )

        if not flush:
            await self._memory.writer.write(ended)
            return

        def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            return [self._memory.entry(row) for row in self._rows(conn, None, None, None, None)]

        entries = await self._memory.read(read)
        summary = await self.summarize_memory(entries)
        meta = summary["metadata"]
        created = self._memory.now()
        stored, episode_text = await anyio.to_thread.run_sync(
            lambda: (
                json.dumps([{**e, "at": e["at"].timestamp()} for e in entries]),
                summary["summary"] + "\n" + "\n".join(e["content"] for e in entries),
            )
        )
        texts, vectors = await self._memory.embed_chunks(episode_text)

        def episode(conn: sqlite3.Connection, after: Any) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO memory_episodes (memory, session_id, summary, agent, entry_count, "
                "timeline_count, duration, entries, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    session,
                    summary["summary"],
                    meta["agent"],
                    meta["entry_count"],
                    meta["timeline_count"],
                    meta["duration"],
                    stored,
                    created,
                ),
            )
            ended(conn, after)  # the episode and the session's end commit together

        await self._memory.writer.document(self._memory.collection("episodic"), "", session, texts, vectors, episode)

    async def rehydrate_session(self, session_id: str, summary_only: bool = False) -> dict[str, Any]:
        """Copy an episodic session's entries (or only its summary) into this session."""
        self._active()
        started = self._memory.now()

        def read(conn: sqlite3.Connection) -> tuple[str, list[dict[str, Any]]] | None:
            row = conn.execute(
                "SELECT summary, entries FROM memory_episodes WHERE memory = ? AND session_id = ?",
                (self._memory.name, session_id),
            ).fetchone()
            return None if row is None else (row[0], json.loads(row[1]))

        row = await self._memory.read(read)
        if row is None:
            status = {
                "status": "failed",
                "session_id": session_id,
                "entries_restored": 0,
                "error": f"no episodic memory of session {session_id!r}",
                "initiated_at": as_utc(started),
                "completed_at": as_utc(started),
            }
            await self._save_status(status)
            return {"success": False, "message": status["error"], "entries_restored": 0}
        restored = 0
        if summary_only:
            await self.put_memory(row[0] or "(empty summary)", timeline="*summary")
            restored = 1
        else:
            for entry in row[1]:
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
            "initiated_at": as_utc(started),
            "completed_at": as_utc(self._memory.now()),
        }
        await self._save_status(status)
        return {
            "success": True,
            "message": f"restored {restored} entries from session {session_id}",
            "entries_restored": restored,
        }

    async def _save_status(self, status: dict[str, Any]) -> None:
        stored = json.dumps(
            {
                **status,
                "initiated_at": status["initiated_at"].timestamp(),
                "completed_at": status["completed_at"].timestamp(),
            }
        )
        await self._memory.writer.write(
            lambda conn, after: conn.execute(
                "UPDATE memory_sessions SET rehydration = ? WHERE memory = ? AND session_id = ?",
                (stored, self._memory.name, self.session_id),
            )
        )

    async def get_rehydration_status(self) -> dict[str, Any] | None:
        row = self._memory.conn.execute(
            "SELECT rehydration FROM memory_sessions WHERE memory = ? AND session_id = ?",
            (self._memory.name, self.session_id),
        ).fetchone()
        if row is None or row[0] is None:
            return None
        status = json.loads(row[0])
        return {
            **status,
            "initiated_at": as_utc(status["initiated_at"]),
            "completed_at": as_utc(status["completed_at"]),
        }
