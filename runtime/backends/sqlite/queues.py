"""Queues on SQLite: messages keyed ``(queue, visible_at, id)`` in one B-tree."""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from runtime.backends.base import NewMessage, QueueStats, QueueStore, Retry, StoredMessage, Waiter
from runtime.backends.sqlite.common import _ids, sqlite_errors

if TYPE_CHECKING:
    from runtime.backends.sqlite import SqliteBackend

_SEND = "INSERT INTO messages (queue, visible_at, id, body, content_type, created_at) VALUES (?, ?, ?, ?, ?, ?)"
_MESSAGE_COLUMNS = "id, queue, body, content_type, created_at, attempts, last_error, origin, failed_attempts"


@sqlite_errors
class SqliteQueueStore(QueueStore):
    """Messages keyed (queue, visible_at, id): a send inserts into one B-tree, a claim reads the
    queue's ready messages in order from the same one. To find a claimed message again by its
    full key, the store remembers the lease it gave each message it claimed (settling, renewing
    or releasing someone else's message falls back to a scan of that queue)."""

    def __init__(self, conn: sqlite3.Connection, backend: SqliteBackend) -> None:
        self._conn = conn
        self._backend = backend
        self._path = backend.path
        self._leases: dict[str, float] = {}  # message id -> visible_at (its lease end) as claimed here

    def send(self, queue: str, messages: Sequence[NewMessage]) -> Coroutine[Any, Any, None]:
        # Not a coroutine of its own, so not wrapped by sqlite_errors: the group commit already
        # reports (and counts) a failed commit as StorageError. One coroutine frame less a send.
        rows = [(queue, m.visible_at, m.id, m.body, m.content_type, m.created_at) for m in messages]
        return self._backend.writes.write(_SEND, rows, "queue send")

    async def settle_and_claim(
        self,
        queue: str,
        acks: Sequence[str],
        retries: Sequence[Retry],
        limit: int,
        now: float,
        lease_until: float,
        waiter: Waiter | None = None,
    ) -> tuple[list[StoredMessage], float | None]:
        if not acks and not retries:
            claimed = self._claim(queue, limit, now, lease_until)
        else:
            with self._conn:  # one commit for both
                self._conn.execute("BEGIN IMMEDIATE")
                for sql, params in self._settle_statements(queue, acks, retries):
                    self._conn.execute(sql, params)
                claimed = self._claim(queue, limit, now, lease_until)
        return claimed, None if claimed else await self.next_visible(queue)

    async def claim(self, queue: str, limit: int, now: float, lease_until: float) -> list[StoredMessage]:
        return self._claim(queue, limit, now, lease_until)

    def _claim(self, queue: str, limit: int, now: float, lease_until: float) -> list[StoredMessage]:
        """``claim`` itself: settle_and_claim calls it without a coroutine (and error wrapper) more."""
        rows = self._conn.execute(
            # The whole primary key in the IN: with (visible_at, id) alone SQLite seeks on
            # (queue, visible_at) and scans every message sharing that visible_at (a send_batch
            # shares one), so a claim cost grew with the backlog (bench/scale.py).
            f"UPDATE messages SET attempts = attempts + 1, claimed = 1, visible_at = ?1 "
            f"WHERE (queue, visible_at, id) IN (SELECT queue, visible_at, id FROM messages "
            f"WHERE queue = ?2 AND visible_at <= ?3 ORDER BY visible_at, id LIMIT ?4) RETURNING {_MESSAGE_COLUMNS}",
            (lease_until, queue, now, limit),
        ).fetchall()
        leases = self._leases
        claimed = []
        for row in rows:
            leases[row[0]] = lease_until
            claimed.append(StoredMessage(*row))
        return claimed

    def _groups(self, queue: str, ids: Sequence[str], forget: bool) -> list[tuple[str, tuple[Any, ...]]]:
        """WHERE clauses (and their parameters) finding ``ids`` on ``queue``: by full key for
        messages claimed here, grouped by lease, and by a scan of the queue for the others."""
        by_lease: dict[float | None, list[str]] = {}
        for message_id in ids:
            lease = self._leases.pop(message_id, None) if forget else self._leases.get(message_id)
            by_lease.setdefault(lease, []).append(message_id)
        groups: list[tuple[str, tuple[Any, ...]]] = []
        for lease, group in by_lease.items():
            if lease is None:
                groups.append(("queue = ? AND id IN (SELECT value FROM json_each(?))", (queue, _ids(group))))
            else:
                groups.append(
                    (
                        "queue = ? AND visible_at = ? AND id IN (SELECT value FROM json_each(?))",
                        (queue, lease, _ids(group)),
                    )
                )
        return groups

    async def settle(self, queue: str, acks: Sequence[str], retries: Sequence[Retry]) -> None:
        self._run(self._settle_statements(queue, acks, retries))

    def _settle_statements(
        self, queue: str, acks: Sequence[str], retries: Sequence[Retry]
    ) -> list[tuple[str, tuple[Any, ...]]]:
        deletes = self._groups(queue, acks, forget=True)
        updates = [
            (where, (r.visible_at, r.error, *params))
            for r in retries
            for where, params in self._groups(queue, [r.id], forget=True)
        ]
        return [(f"DELETE FROM messages WHERE {where}", params) for where, params in deletes] + [
            (f"UPDATE messages SET claimed = 0, visible_at = ?, last_error = ? WHERE {where}", params)
            for where, params in updates
        ]

    async def dead_letter(self, queue: str, dead_queue: str, ids: Sequence[str], errors: Sequence[str | None]) -> None:
        statements = [
            (
                # attempts restart: the dead-letter queue's consumer sees its first delivery as 1
                f"UPDATE messages SET queue = ?, origin = ?, last_error = ?, claimed = 0, "
                f"failed_attempts = attempts, attempts = 0, "
                f"visible_at = created_at "
                f"WHERE {where}",
                (dead_queue, queue, error, *params),
            )
            for message_id, error in zip(ids, errors, strict=True)
            for where, params in self._groups(queue, [message_id], forget=True)
        ]
        self._run(statements)

    async def extend(self, queue: str, ids: Sequence[str], lease_until: float) -> None:
        statements = [
            (f"UPDATE messages SET visible_at = ? WHERE claimed = 1 AND {where} RETURNING id", (lease_until, *params))
            for where, params in self._groups(queue, ids, forget=False)
        ]
        for found in self._run(statements):
            self._leases[found] = lease_until

    async def release(self, queue: str, ids: Sequence[str], now: float) -> None:
        self._run(
            [
                (
                    f"UPDATE messages SET claimed = 0, visible_at = ?, attempts = max(attempts - 1, 0) "
                    f"WHERE claimed = 1 AND {where}",
                    (now, *params),
                )
                for where, params in self._groups(queue, ids, forget=True)
            ]
        )

    def _run(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[Any]:
        """Run ``statements`` in one transaction (a single one commits on its own); returns the
        first column of any rows they return."""
        if not statements:
            return []
        if len(statements) == 1:
            return [row[0] for row in self._conn.execute(*statements[0]).fetchall()]
        returned = []
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            for sql, params in statements:
                returned += [row[0] for row in self._conn.execute(sql, params).fetchall()]
        return returned

    async def stats(self, queue: str, now: float, dead_queue: str | None = None) -> QueueStats:
        ready, in_flight, delayed = self._conn.execute(
            "SELECT coalesce(sum(visible_at <= ?1), 0), coalesce(sum(visible_at > ?1 AND claimed = 1), 0), "
            "coalesce(sum(visible_at > ?1 AND claimed = 0), 0) FROM messages WHERE queue = ?2",
            (now, queue),
        ).fetchone()
        dead = 0
        if dead_queue:
            (dead,) = self._conn.execute("SELECT count(*) FROM messages WHERE queue = ?", (dead_queue,)).fetchone()
        return QueueStats(ready, in_flight, delayed, dead)

    async def next_visible(self, queue: str) -> float | None:
        (moment,) = self._conn.execute("SELECT min(visible_at) FROM messages WHERE queue = ?", (queue,)).fetchone()
        return float(moment) if moment is not None else None

    async def peek(self, queue: str, limit: int = 100) -> list[StoredMessage]:
        rows = self._conn.execute(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE queue = ? ORDER BY visible_at, id LIMIT ?", (queue, limit)
        ).fetchall()
        return [StoredMessage(*row) for row in rows]

    async def redrive(self, dead_queue: str, now: float, to_queue: str | None = None) -> int:
        cursor = self._conn.execute(
            "UPDATE messages SET queue = coalesce(?1, origin), origin = NULL, last_error = NULL, attempts = 0, "
            "failed_attempts = NULL, "
            "claimed = 0, visible_at = ?2 WHERE queue = ?3 AND (?1 IS NOT NULL OR origin IS NOT NULL)",
            (to_queue, now, dead_queue),
        )
        return cursor.rowcount

    async def purge(self, queue: str) -> int:
        return self._conn.execute("DELETE FROM messages WHERE queue = ?", (queue,)).rowcount

    async def queues(self) -> list[str]:
        return [row[0] for row in self._conn.execute("SELECT DISTINCT queue FROM messages ORDER BY queue")]
