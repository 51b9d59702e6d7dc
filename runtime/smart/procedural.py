"""SmartMemory's procedural memory: named stores of procedures (``get_procedural_memory(id)``),
text values under keys, searchable by key and by value through the retrieval engine."""

from __future__ import annotations

from typing import Any

import anyio

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
        with self._memory.conn:
            self._memory.conn.execute(
                "INSERT INTO memory_procedures (memory, store, key, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (memory, store, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (self._memory.name, self.id, key, value, now, now),
            )
        collection = self._memory.collection(f"procedural:{self.id}")
        for part, text in (("keys", key), ("values", value or key)):
            texts, vectors = await self._memory.embed_chunks(text)
            self._memory.index.replace(collection, part, key, texts, vectors)

    async def get_procedure(self, key: str) -> str | None:
        row = self._memory.conn.execute(
            "SELECT value FROM memory_procedures WHERE memory = ? AND store = ? AND key = ?",
            (self._memory.name, self.id, key),
        ).fetchone()
        return None if row is None else str(row[0])

    async def delete_procedure(self, key: str) -> bool:
        with self._memory.conn:
            gone = self._memory.conn.execute(
                "DELETE FROM memory_procedures WHERE memory = ? AND store = ? AND key = ?",
                (self._memory.name, self.id, key),
            ).rowcount
        self._memory.index.remove(self._memory.collection(f"procedural:{self.id}"), None, key)
        return bool(gone)

    async def list_procedures(self) -> list[dict[str, Any]]:
        rows = self._memory.conn.execute(
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
        listed = {p["key"]: p for p in await self.list_procedures()}
        if newest is not None:
            recent = sorted(listed.values(), key=lambda p: p["updated_at"], reverse=True)[:newest]
            listed = {p["key"]: p for p in recent}
        (vector,) = await anyio.to_thread.run_sync(self._memory.embedder.embed, [terms])
        hits = self._memory.index.search(
            self._memory.collection(f"procedural:{self.id}"),
            terms,
            vector,
            partitions=parts,
            keys=list(listed),
            limit=200,
        )
        order: list[str] = []
        for hit in hits:
            if hit.key not in order:
                order.append(hit.key)
        return [listed[key] for key in order] or None
