"""Actor storage, alarms, actor leases and cron fires on SQLite (the tables are created with the
rest of the schema by :class:`~runtime.backends.sqlite.SqliteBackend`)."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runtime.backends.base import Alarm, StateStore
from runtime.backends.failures import storage_errors

if TYPE_CHECKING:
    from runtime.backends.sqlite import SqliteBackend


def _ids(ids: Sequence[str]) -> str:
    return json.dumps(list(ids))


def _where(store: Any) -> str:
    return f"state database {str(store._backend.path)!r}"


#: SQLite's failures (a full disk, an I/O error, a lock held too long) as StorageError.
sqlite_errors = storage_errors((sqlite3.Error,), _where)


@sqlite_errors
class SqliteStateStore(StateStore):
    def __init__(self, conn: sqlite3.Connection, backend: SqliteBackend) -> None:
        self._conn = conn
        self._backend = backend
        self._path = backend.path

    async def get(self, namespace: str, actor: str, keys: Sequence[str]) -> dict[str, str]:
        if len(keys) == 1:
            row = self._conn.execute(
                "SELECT value FROM actor_storage WHERE ns = ? AND actor = ? AND key = ?", (namespace, actor, keys[0])
            ).fetchone()
            return {keys[0]: row[0]} if row else {}
        rows = self._conn.execute(
            "SELECT key, value FROM actor_storage WHERE ns = ? AND actor = ? AND key IN (SELECT value FROM json_each(?))",
            (namespace, actor, _ids(keys)),
        ).fetchall()
        return dict(rows)

    async def put(self, namespace: str, actor: str, items: dict[str, str]) -> None:
        sql = "INSERT OR REPLACE INTO actor_storage (ns, actor, key, value) VALUES (?, ?, ?, ?)"
        if len(items) == 1:
            ((key, value),) = items.items()
            self._conn.execute(sql, (namespace, actor, key, value))
            return
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(sql, [(namespace, actor, k, v) for k, v in items.items()])

    async def delete(self, namespace: str, actor: str, keys: Sequence[str]) -> int:
        return self._conn.execute(
            "DELETE FROM actor_storage WHERE ns = ? AND actor = ? AND key IN (SELECT value FROM json_each(?))",
            (namespace, actor, _ids(keys)),
        ).rowcount

    async def delete_all(self, namespace: str, actor: str) -> None:
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("DELETE FROM actor_storage WHERE ns = ? AND actor = ?", (namespace, actor))
            self._conn.execute("DELETE FROM actor_alarms WHERE ns = ? AND actor = ?", (namespace, actor))

    async def list(
        self,
        namespace: str,
        actor: str,
        *,
        prefix: str = "",
        start: str | None = None,
        end: str | None = None,
        reverse: bool = False,
        limit: int | None = None,
    ) -> list[tuple[str, str]]:
        rows = self._conn.execute(
            "SELECT key, value FROM actor_storage WHERE ns = ?1 AND actor = ?2 "
            "AND key >= ?3 AND substr(key, 1, length(?3)) = ?3 "
            "AND (?4 IS NULL OR key >= ?4) AND (?5 IS NULL OR key < ?5) "
            f"ORDER BY key {'DESC' if reverse else 'ASC'} LIMIT ?6",
            (namespace, actor, prefix, start, end, -1 if limit is None else limit),
        ).fetchall()
        return [(k, v) for k, v in rows]

    async def get_alarm(self, namespace: str, actor: str) -> float | None:
        row = self._conn.execute(
            "SELECT at FROM actor_alarms WHERE ns = ? AND actor = ?", (namespace, actor)
        ).fetchone()
        return float(row[0]) if row else None

    async def set_alarm(self, namespace: str, actor: str, name: str | None, at: float) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO actor_alarms (ns, actor, name, at, retries, leased_until) VALUES (?, ?, ?, ?, 0, 0)",
            (namespace, actor, name, at),
        )

    async def delete_alarm(self, namespace: str, actor: str) -> None:
        self._conn.execute("DELETE FROM actor_alarms WHERE ns = ? AND actor = ?", (namespace, actor))

    async def claim_alarms(self, now: float, lease_until: float, limit: int = 100) -> builtins.list[Alarm]:
        rows = self._conn.execute(
            "UPDATE actor_alarms SET leased_until = ?1 WHERE (ns, actor) IN "
            "(SELECT ns, actor FROM actor_alarms WHERE at <= ?2 AND leased_until <= ?2 ORDER BY at LIMIT ?3) "
            "RETURNING ns, actor, name, at, retries",
            (lease_until, now, limit),
        ).fetchall()
        return [Alarm(*row) for row in rows]

    async def finish_alarm(self, alarm: Alarm, retry_at: float | None) -> None:
        if retry_at is None:
            self._conn.execute(
                "DELETE FROM actor_alarms WHERE ns = ? AND actor = ? AND at = ?",
                (alarm.namespace, alarm.actor, alarm.at),
            )
        else:
            self._conn.execute(
                "UPDATE actor_alarms SET at = ?, retries = retries + 1, leased_until = 0 "
                "WHERE ns = ? AND actor = ? AND at = ?",
                (retry_at, alarm.namespace, alarm.actor, alarm.at),
            )

    async def next_alarm(self) -> float | None:
        # An alarm being fired (leased) is next claimable when its lease ends.
        (at,) = self._conn.execute("SELECT min(max(at, leased_until)) FROM actor_alarms").fetchone()
        return float(at) if at is not None else None

    async def claim_fire(self, schedule: str, scheduled_at: float, now: float) -> bool:
        cursor = self._conn.execute(
            "INSERT OR IGNORE INTO cron_fires (name, scheduled_at, fired_at) VALUES (?, ?, ?)",
            (schedule, scheduled_at, now),
        )
        return cursor.rowcount == 1

    async def last_fire(self, schedule: str) -> float | None:
        (at,) = self._conn.execute("SELECT max(scheduled_at) FROM cron_fires WHERE name = ?", (schedule,)).fetchone()
        return float(at) if at is not None else None

    async def actors(self, namespace: str, limit: int = 100) -> builtins.list[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT actor FROM actor_storage WHERE ns = ? ORDER BY actor LIMIT ?", (namespace, limit)
        ).fetchall()
        return [row[0] for row in rows]

    async def own_actor(self, namespace: str, actor: str, owner: str, now: float, lease_until: float) -> bool:
        cursor = self._conn.execute(
            "INSERT INTO actor_owners (ns, actor, owner, lease_until) VALUES (?1, ?2, ?3, ?4) "
            "ON CONFLICT (ns, actor) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until "
            "WHERE actor_owners.owner = excluded.owner OR actor_owners.lease_until <= ?5",
            (namespace, actor, owner, lease_until, now),
        )
        return cursor.rowcount == 1

    async def disown_actor(self, namespace: str, actor: str, owner: str) -> None:
        self._conn.execute(
            "DELETE FROM actor_owners WHERE ns = ? AND actor = ? AND owner = ?", (namespace, actor, owner)
        )

    async def actor_owners(self, namespace: str, now: float) -> dict[str, str]:
        rows = self._conn.execute(
            "SELECT actor, owner FROM actor_owners WHERE ns = ? AND lease_until > ?", (namespace, now)
        ).fetchall()
        return dict(rows)
