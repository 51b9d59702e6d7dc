"""KV on SQLite: puts and deletes join the backend's group commit."""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from runtime.backends.base import KvEntry, KvKey, KvStore
from runtime.backends.sqlite.common import _where, prefix_end, sqlite_errors
from runtime.errors import StorageError

if TYPE_CHECKING:
    from runtime.backends.sqlite import SqliteBackend

_KV_UPSERT = (
    "INSERT INTO kv (ns, key, value, metadata, expires_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, "
    "expires_at = excluded.expires_at"
)


@sqlite_errors
class SqliteKvStore(KvStore):
    """KV on SQLite. Puts and deletes join the backend's :class:`GroupCommit`: each returns once
    its turn's transaction is committed; reads only ever see committed values."""

    def __init__(self, conn: sqlite3.Connection, backend: SqliteBackend) -> None:
        self._conn = conn
        self._backend = backend
        self._writes = backend.writes

    async def get(self, namespace: str, key: str, now: float) -> KvEntry | None:
        row = self._live("value, metadata, expires_at", namespace, key, now)
        return KvEntry(*row) if row else None

    def value_now(self, namespace: str, key: str, now: float) -> bytes | None:
        """The live value of ``key``, or None, without a coroutine (a read never waits here):
        the binding's hot path, reading one column."""
        row = self._live("value", namespace, key, now)
        return row[0] if row is not None else None

    def _live(self, columns: str, namespace: str, key: str, now: float) -> Any:
        """``columns`` of ``key``'s row if it is live (not expired at ``now``), else None."""
        try:
            return self._conn.execute(
                f"SELECT {columns} FROM kv WHERE ns = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)",
                (namespace, key, now),
            ).fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"{_where(self)}: get failed: {exc}") from None

    # Plain functions returning the write's coroutine: one frame fewer on the hottest write path.
    def put(
        self, namespace: str, key: str, value: bytes, expires_at: float | None, metadata: str | None
    ) -> Coroutine[Any, Any, None]:
        return self._writes.write(_KV_UPSERT, [(namespace, key, value, metadata, expires_at)], "KV put")

    def delete(self, namespace: str, key: str) -> Coroutine[Any, Any, None]:
        return self._writes.write("DELETE FROM kv WHERE ns = ? AND key = ?", [(namespace, key)], "KV delete")

    async def list(self, namespace: str, prefix: str, after: str | None, limit: int, now: float) -> list[KvKey]:
        # The range bounds let SQLite walk the primary key from the cursor and stop; substr
        # keeps it exact. The cursor is a bound of its own (not `?4 IS NULL OR key > ?4`, which
        # SQLite cannot seek on): a page deep in a large namespace costs what the first one does.
        end = prefix_end(prefix)
        start, above = (after, ">") if after is not None and after >= prefix else (prefix, ">=")
        rows = self._conn.execute(
            f"SELECT key, expires_at, metadata FROM kv WHERE ns = ?1 AND key {above} ?2 "
            f"{'' if end is None else 'AND key < ?3'} AND substr(key, 1, length(?4)) = ?4 "
            "AND (expires_at IS NULL OR expires_at > ?5) ORDER BY key LIMIT ?6",
            (namespace, start, end, prefix, now, limit),
        ).fetchall()
        return [KvKey(*row) for row in rows]

    async def sweep(self, now: float) -> int:
        return self._conn.execute("DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,)).rowcount

    async def count(self, namespace: str, now: float) -> int:
        (count,) = self._conn.execute(
            "SELECT count(*) FROM kv WHERE ns = ? AND (expires_at IS NULL OR expires_at > ?)", (namespace, now)
        ).fetchone()
        return int(count)
