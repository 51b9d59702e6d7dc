"""SmartMemory's procedural memory: named stores of procedures (``get_procedural_memory(id)``),
text values under keys, searchable by key and by value through the retrieval engine."""

from __future__ import annotations

import sqlite3
from typing import Any

from runtime.arguments import checked_arguments
from runtime.errors import BindingError
from runtime.naming import platform_names
from runtime.smart.memory_store import MemoryStore, as_positive, as_text, as_utc


@platform_names
@checked_arguments
class ProceduralMemory:
    """A named store of procedures (``get_procedural_memory(id)``): text values under keys."""

    def __init__(self, memory: MemoryStore, store: str) -> None:
        self._memory = memory
        self.id = store

    def __repr__(self) -> str:
        return f"<ProceduralMemory {self._memory.name!r} {self.id!r}>"

    async def put_procedure(self, key: str, value: str) -> None:
        key = as_text(key, "a procedure's key")
        if not isinstance(value, str):
            raise BindingError(f"procedure {key!r}: the value is text, not {type(value).__name__}")
        now = self._memory.now()
        name, store = self._memory.name, self.id
        collection = self._memory.collection(f"procedural:{self.id}")
        key_texts, key_vectors = await self._memory.embed_chunks(key)
        value_texts, value_vectors = await self._memory.embed_chunks(value or key)

        def row(conn: sqlite3.Connection, after: Any) -> None:
            conn.execute(
                "INSERT INTO memory_procedures (memory, store, key, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (memory, store, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (name, store, key, value, now, now),
            )

        # The row with the key's chunks, then the value's (a big value is written in batches).
        await self._memory.writer.document(collection, "keys", key, key_texts, key_vectors, row)
        await self._memory.writer.document(collection, "values", key, value_texts, value_vectors)

    async def get_procedure(self, key: str) -> str | None:
        return await self._memory.read(self._get, key)

    def _get(self, conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute(
            "SELECT value FROM memory_procedures WHERE memory = ? AND store = ? AND key = ?",
            (self._memory.name, self.id, key),
        ).fetchone()
        return None if row is None else str(row[0])

    async def delete_procedure(self, key: str) -> bool:
        collection = self._memory.collection(f"procedural:{self.id}")

        def row(conn: sqlite3.Connection, after: Any) -> int:
            return conn.execute(
                "DELETE FROM memory_procedures WHERE memory = ? AND store = ? AND key = ?",
                (self._memory.name, self.id, key),
            ).rowcount

        gone = await self._memory.writer.remove(collection, None, key, row)  # keys and values
        return bool(gone)

    async def list_procedures(self) -> list[dict[str, Any]]:
        return await self._memory.read(self._list)

    def _list(self, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        rows = conn.execute(
            "SELECT key, value, created_at, updated_at FROM memory_procedures WHERE memory = ? AND store = ? ORDER BY key",
            (self._memory.name, self.id),
        ).fetchall()
        return [{"key": r[0], "value": r[1], "created_at": as_utc(r[2]), "updated_at": as_utc(r[3])} for r in rows]

    async def search_procedures(
        self, terms: str, n_most_recent: int | None = None, search_keys: bool = True, search_values: bool = True
    ) -> list[dict[str, Any]] | None:
        """Procedures nearest to ``terms`` by key and/or value, best first; None when none match."""
        terms = as_text(terms, "search_procedures terms")
        newest = as_positive(n_most_recent, "n_most_recent")
        parts = [p for p, wanted in (("keys", search_keys), ("values", search_values)) if wanted]
        if not parts:
            return None
        vector = await self._memory.query_vector(terms)

        def find(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            listed = {p["key"]: p for p in self._list(conn)}
            if newest is not None:
                recent = sorted(listed.values(), key=lambda p: p["updated_at"], reverse=True)[:newest]
                listed = {p["key"]: p for p in recent}
            hits = self._memory.search(f"procedural:{self.id}", terms, vector, partitions=parts, keys=list(listed))
            order: dict[str, None] = {}
            for hit in hits:
                order.setdefault(hit.key)
            return [listed[key] for key in order]

        return await self._memory.read(find) or None
