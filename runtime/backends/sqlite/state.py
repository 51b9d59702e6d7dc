"""Actor storage, alarms, actor leases and cron fires on SQLite (the tables are created with the
rest of the schema by :class:`~runtime.backends.sqlite.SqliteBackend`).

Actor leases do not depend on processes agreeing about wall-clock time. A lease is a row of
``actor_owners``: its owner, its epoch (one more each time the lease is taken anew) and a
heartbeat counter the owner bumps at every extension. A process that wants the actor takes a
free row at once; a held one only after it has seen the row unchanged (same owner, epoch and
heartbeat) for a whole lease by its own monotonic clock: the owner stopped extending it. Every
write of an actor call checks, in the transaction of the write, that the row still names the
call's owner and epoch (:class:`~runtime.backends.base.Fence`); else it writes nothing and
raises :class:`~runtime.errors.LeaseLostError`. Rows are never deleted (a released lease keeps
its epoch with an empty owner), so an epoch never comes back.
"""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runtime import actor_ids
from runtime.backends.base import Alarm, Fence, StateStore
from runtime.backends.sqlite import cron as sqlite_cron
from runtime.backends.sqlite.common import _ids, sqlite_errors
from runtime.errors import LeaseLostError

if TYPE_CHECKING:
    from runtime.backends.sqlite import SqliteBackend


_PUT = "INSERT OR REPLACE INTO actor_storage (ns, actor, key, value) VALUES (?, ?, ?, ?)"
#: One key under a fence, in one statement: written only if, when it runs, the lease row names
#: the call's owner and epoch. It joins the backend's group commit (the writes of concurrent
#: actors share a commit); whether it was refused is read from the lease row afterwards.
_PUT_FENCED = (
    "INSERT OR REPLACE INTO actor_storage (ns, actor, key, value) SELECT ?1, ?2, ?3, ?4 WHERE EXISTS "
    "(SELECT 1 FROM actor_owners WHERE ns = ?1 AND actor = ?2 AND owner = ?5 AND epoch = ?6)"
)
_HELD = "SELECT 1 FROM actor_owners WHERE ns = ? AND actor = ? AND owner = ? AND epoch = ?"
_DELETE = "DELETE FROM actor_storage WHERE ns = ? AND actor = ? AND key IN (SELECT value FROM json_each(?))"
_SET_ALARM = (
    "INSERT OR REPLACE INTO actor_alarms (ns, actor, name, at, retries, leased_until) VALUES (?, ?, ?, ?, 0, 0)"
)
_DELETE_ALARM = "DELETE FROM actor_alarms WHERE ns = ? AND actor = ?"
Statements = list[tuple[str, list[tuple[Any, ...]]]]


def add_lease_epochs(conn: sqlite3.Connection) -> None:
    """State files written before leases were fenced lack ``actor_owners.epoch`` and ``beat``:
    add them (schema version 3). A lease such a file holds is taken over with epoch 1."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(actor_owners)")}
    for column in ("epoch", "beat"):
        if column in columns:
            continue
        try:
            conn.execute(f"ALTER TABLE actor_owners ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):  # else another process added it first
                raise


def upgrade_actor_ids(conn: sqlite3.Connection) -> None:
    """Files of schema version 3 and before hold actor ids without their class's signature:
    rekey every actor's rows to the id it has now (:func:`runtime.actor_ids.upgrade`, which
    leaves an id of the new form as it is, so running this twice, or in two processes, is
    harmless). MCP services' own state and rows that are no actor's are left alone."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= 4:
        return

    def rekey(namespace: str, actor: str) -> str:
        return actor_ids.upgrade(namespace.removeprefix("~names:"), actor)

    conn.create_function("raindrop_actor_id", 2, rekey, deterministic=True)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in ("actor_storage", "actor_alarms", "actor_owners"):
                conn.execute(
                    f"UPDATE OR REPLACE {table} SET actor = raindrop_actor_id(ns, actor) "
                    "WHERE ns NOT LIKE 'mcp:%' AND length(actor) = 64 AND actor <> raindrop_actor_id(ns, actor)"
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.create_function("raindrop_actor_id", 2, None)


@sqlite_errors
class SqliteStateStore(StateStore):
    def __init__(self, conn: sqlite3.Connection, backend: SqliteBackend) -> None:
        self._conn = conn
        self._backend = backend
        self._path = backend.path
        # (ns, actor) -> the (owner, epoch, beat) last seen on another process's lease, and the
        # monotonic moment it was first seen so: that lease is over once it stood still a lease long.
        self._seen: dict[tuple[str, str], tuple[tuple[str, int, int], float]] = {}

    def _write(self, fence: Fence | None, namespace: str, actor: str, statements: Statements) -> int:
        """Run ``statements`` in one transaction, after checking ``fence`` in it; returns how
        many rows they changed. A single unfenced statement commits on its own."""
        if fence is None and len(statements) == 1 and len(statements[0][1]) == 1:
            sql, (params,) = statements[0]
            return self._conn.execute(sql, params).rowcount
        changed = 0
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            if (
                fence is not None
                and not self._conn.execute(_HELD, (namespace, actor, fence.owner, fence.epoch)).fetchone()
            ):
                raise LeaseLostError.refused(namespace, actor)  # `with` rolls back: nothing written
            for sql, rows in statements:
                changed += self._conn.executemany(sql, rows).rowcount
        return changed

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

    async def put(self, namespace: str, actor: str, items: dict[str, str], fence: Fence | None = None) -> None:
        if fence is not None and len(items) == 1:  # the usual write: one key, during a call
            ((key, value),) = items.items()
            params = (namespace, actor, key, value, fence.owner, fence.epoch)
            await self._backend.writes.write(_PUT_FENCED, [params], "actor storage put")
            # Committed. A take of the lease raises its epoch and epochs never come back, so a
            # row that names this owner and epoch now named them when the write ran: it is stored.
            if not self._conn.execute(_HELD, (namespace, actor, fence.owner, fence.epoch)).fetchone():
                raise LeaseLostError.refused(namespace, actor)
            return
        self._write(fence, namespace, actor, [(_PUT, [(namespace, actor, k, v) for k, v in items.items()])])

    async def delete(self, namespace: str, actor: str, keys: Sequence[str], fence: Fence | None = None) -> int:
        return self._write(fence, namespace, actor, [(_DELETE, [(namespace, actor, _ids(keys))])])

    async def delete_all(self, namespace: str, actor: str, fence: Fence | None = None) -> None:
        where = [(namespace, actor)]
        self._write(
            fence,
            namespace,
            actor,
            [("DELETE FROM actor_storage WHERE ns = ? AND actor = ?", where), (_DELETE_ALARM, where)],
        )

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

    async def set_alarm(
        self, namespace: str, actor: str, name: str | None, at: float, fence: Fence | None = None
    ) -> None:
        self._write(fence, namespace, actor, [(_SET_ALARM, [(namespace, actor, name, at)])])

    async def delete_alarm(self, namespace: str, actor: str, fence: Fence | None = None) -> None:
        self._write(fence, namespace, actor, [(_DELETE_ALARM, [(namespace, actor)])])

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

    async def claim_fires(self, claims: Sequence[tuple[str, float]], now: float) -> builtins.list[bool]:
        return sqlite_cron.claim_fires(self._conn, claims, now)

    async def last_fires(self, schedules: Sequence[str]) -> dict[str, float]:
        return sqlite_cron.last_fires(self._conn, schedules)

    async def actors(self, namespace: str, limit: int = 100) -> builtins.list[str]:
        rows = self._conn.execute(
            "SELECT DISTINCT actor FROM actor_storage WHERE ns = ? ORDER BY actor LIMIT ?", (namespace, limit)
        ).fetchall()
        return [row[0] for row in rows]

    async def own_actor(self, namespace: str, actor: str, owner: str, now: float, lease: float) -> int:
        # Every change is one compare-and-set statement on what was just read, so a contender
        # that is refused only reads: it never takes the write lock from the owner's writes.
        key = (namespace, actor)
        where = "WHERE ns = ? AND actor = ? AND owner = ? AND epoch = ?"
        row = self._conn.execute(
            "SELECT owner, epoch, beat FROM actor_owners WHERE ns = ? AND actor = ?", key
        ).fetchone()
        if row is None:
            inserted = self._conn.execute(
                "INSERT OR IGNORE INTO actor_owners (ns, actor, owner, lease_until, epoch, beat) VALUES (?, ?, ?, ?, 1, 0)",
                (namespace, actor, owner, now + lease),
            ).rowcount
            return 1 if inserted else 0  # else another process inserted it first: it is theirs
        holder, epoch, beat = row
        if holder == owner:  # an extension: the heartbeat others watch moves on
            extended = self._conn.execute(
                f"UPDATE actor_owners SET beat = beat + 1, lease_until = ? {where}",
                (now + lease, namespace, actor, owner, epoch),
            ).rowcount
            return int(epoch) if extended else 0
        if holder:
            seen, since = self._seen.get(key, (None, 0.0))
            moment = time.monotonic()
            if seen != (holder, epoch, beat):
                self._seen[key] = ((holder, epoch, beat), moment)
                return 0
            if moment - since < lease:
                return 0
        # Free, or its holder's heartbeat stood still a whole lease long (by this process's clock):
        # take it, provided it is still exactly as seen.
        taken = self._conn.execute(
            f"UPDATE actor_owners SET owner = ?, epoch = epoch + 1, beat = 0, lease_until = ? {where} AND beat = ?",
            (owner, now + lease, namespace, actor, holder, epoch, beat),
        ).rowcount
        if not taken:
            return 0
        self._seen.pop(key, None)
        return int(epoch) + 1

    async def disown_actor(self, namespace: str, actor: str, owner: str) -> None:
        self._conn.execute(  # the row stays, with its epoch: a later holder's epoch is higher
            "UPDATE actor_owners SET owner = '', lease_until = 0 WHERE ns = ? AND actor = ? AND owner = ?",
            (namespace, actor, owner),
        )

    async def actor_owners(self, namespace: str, now: float) -> dict[str, str]:
        rows = self._conn.execute(
            "SELECT actor, owner FROM actor_owners WHERE ns = ? AND owner != '' AND lease_until > ?", (namespace, now)
        ).fetchall()
        return dict(rows)
