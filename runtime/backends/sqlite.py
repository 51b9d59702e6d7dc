"""SQLite backend (``sqlite:///path/state.db``), the default: one WAL-mode file.

Several processes may share the file. Every write is one statement or one short transaction;
claims are a single ``UPDATE … RETURNING`` so two consumers never get the same message.
``synchronous=NORMAL`` in WAL mode keeps every committed write across a process crash (only
a power loss can take the last transactions), at several times the speed of ``FULL``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from runtime import checkpoint
from runtime.backends.base import (
    Backend,
    KvEntry,
    KvKey,
    KvStore,
    NewMessage,
    QueueStats,
    QueueStore,
    Retry,
    StoredMessage,
    Waiter,
)
from runtime.backends.commits import GroupCommit
from runtime.backends.failures import storage_errors
from runtime.backends.sqlite_state import SqliteStateStore, add_lease_epochs
from runtime.errors import BackendError, StorageError
from runtime.private import private_file

MESSAGES_TABLE = """
CREATE TABLE IF NOT EXISTS messages (
    queue TEXT NOT NULL,
    visible_at REAL NOT NULL,          -- ready when <= now; while claimed, the end of the lease
    id TEXT NOT NULL,
    body BLOB NOT NULL,
    content_type TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    origin TEXT,                       -- for dead letters: the queue they died on
    failed_attempts INTEGER,           -- for dead letters: their attempts on that queue
    PRIMARY KEY (queue, visible_at, id)
) WITHOUT ROWID;                       -- one B-tree: a send writes one, a claim reads it in order
"""

SCHEMA = (
    MESSAGES_TABLE
    + """
CREATE TABLE IF NOT EXISTS kv (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    metadata TEXT,
    expires_at REAL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS actor_storage (
    ns TEXT NOT NULL,
    actor TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (ns, actor, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS actor_alarms (
    ns TEXT NOT NULL,
    actor TEXT NOT NULL,
    name TEXT,
    at REAL NOT NULL,
    retries INTEGER NOT NULL DEFAULT 0,
    leased_until REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (ns, actor)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS actor_alarms_due ON actor_alarms (at);
CREATE TABLE IF NOT EXISTS actor_owners (
    ns TEXT NOT NULL,
    actor TEXT NOT NULL,
    owner TEXT NOT NULL,               -- '' once released (the row keeps the epoch)
    lease_until REAL NOT NULL,         -- the owner's wall clock: for inspection only
    epoch INTEGER NOT NULL DEFAULT 0,  -- one more each time the lease is taken anew
    beat INTEGER NOT NULL DEFAULT 0,   -- bumped at each extension: the owner's heartbeat
    PRIMARY KEY (ns, actor)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cron_fires (
    name TEXT NOT NULL,
    scheduled_at REAL NOT NULL,
    fired_at REAL NOT NULL,
    PRIMARY KEY (name, scheduled_at)
) WITHOUT ROWID;
"""
)

_KV_UPSERT = (
    "INSERT INTO kv (ns, key, value, metadata, expires_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, "
    "expires_at = excluded.expires_at"
)
log = logging.getLogger("raindrop.backend")
T = TypeVar("T")

_SEND = "INSERT INTO messages (queue, visible_at, id, body, content_type, created_at) VALUES (?, ?, ?, ?, ?, ?)"
_MESSAGE_COLUMNS = "id, queue, body, content_type, created_at, attempts, last_error, origin, failed_attempts"
_MESSAGE_FIELDS = "queue, visible_at, id, body, content_type, created_at, attempts, claimed, last_error, origin"


def migrate_messages(conn: sqlite3.Connection) -> None:
    """State files written before the messages table was keyed (queue, visible_at, id) had it
    keyed by id with a second index: copy their messages over, in one transaction."""

    def keyed_by_id() -> bool:
        return any(row[1] == "id" and row[5] == 1 for row in conn.execute("PRAGMA table_info(messages)"))

    if not keyed_by_id():
        return
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        if keyed_by_id():  # still, now that this process holds the write lock
            conn.execute("ALTER TABLE messages RENAME TO messages_by_id")
            conn.execute(MESSAGES_TABLE)
            conn.execute(f"INSERT INTO messages ({_MESSAGE_FIELDS}) SELECT {_MESSAGE_FIELDS} FROM messages_by_id")
            conn.execute("DROP TABLE messages_by_id")


def add_failed_attempts(conn: sqlite3.Connection) -> None:
    """State files written before dead letters kept their attempts lack that column: add it
    (runtimes that predate it still read and write such a file: they name their columns)."""
    if any(row[1] == "failed_attempts" for row in conn.execute("PRAGMA table_info(messages)")):
        return
    try:
        conn.execute("ALTER TABLE messages ADD COLUMN failed_attempts INTEGER")
    except sqlite3.OperationalError as exc:
        if "duplicate column" not in str(exc):  # else another process added it first
            raise


#: ``PRAGMA application_id`` of a runtime state file ("RDRT"), and its schema version.
APPLICATION_ID = 0x52445254
SCHEMA_VERSION = 3  # 3: actor_owners.epoch and beat (fenced leases)
#: The columns each of our tables has had since its first version: an unstamped file (written
#: before stamping) passes only when every table it holds is one of these, with these columns.
_OURS = {
    "messages": {"id", "queue", "body", "content_type", "created_at", "visible_at"},
    "messages_by_id": {"id", "queue", "body", "content_type", "created_at", "visible_at"},
    "kv": {"ns", "key", "value"},
    "actor_storage": {"ns", "actor", "key", "value"},
    "actor_alarms": {"ns", "actor", "at"},
    "actor_owners": {"ns", "actor", "owner", "lease_until"},
    "cron_fires": {"name", "scheduled_at"},
}


def check_state_file(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a file that is not a runtime state file of a version this runtime knows, or that
    fails SQLite's quick integrity check, with one line naming the file and what to do.
    A new file passes; so does one written before the file was stamped (our tables only)."""
    where = f"state database {str(path)!r}"
    (app_id,) = conn.execute("PRAGMA application_id").fetchone()
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    if app_id == 0 and tables:
        # Unstamped but not empty: ours only if every table is ours by name AND by columns (a
        # foreign app's `messages` table must not be taken for ours, nor have ours added to it).
        foreign = sorted(t for t in tables if not _OURS.get(t, {"\0"}) <= _columns(conn, t))
        if foreign:
            raise BackendError(
                f"{where} is not a raindrop-runtime state file (it holds tables {', '.join(foreign[:5])} "
                "that this runtime did not create); point --state at another directory, or move the file away"
            )
    if app_id not in (0, APPLICATION_ID):
        raise BackendError(
            f"{where} belongs to another program (application id {app_id:#x}); "
            "point --state at another directory, or move the file away"
        )
    if version > SCHEMA_VERSION:
        raise BackendError(
            f"{where} was written by a newer raindrop-runtime (state version {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade the runtime, or point --state at another directory"
        )
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise BackendError(
            f"{where} is damaged ({'; '.join(problems)}); move it away (the app starts with empty state) "
            "or restore a copy"
        )


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    quoted = '"' + table.replace('"', '""') + '"'
    return {row[1] for row in conn.execute(f"PRAGMA table_info({quoted})")}


def configure(conn: sqlite3.Connection) -> None:
    """The pragmas every runtime connection uses."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    # RETURNING spills to temp files on this SQLite build; memory roughly doubles claim speed.
    conn.execute("PRAGMA temp_store=MEMORY")


def prefix_end(prefix: str) -> str | None:
    """The least text above every text starting with ``prefix`` (None: there is none, or the
    prefix is empty): its last character moved up one code point, past the surrogates, which
    text never holds. ``prefix + "\\U0010ffff"`` would not do: it cuts off keys that continue
    with that character."""
    stripped = prefix.rstrip("\U0010ffff")
    if not stripped:
        return None
    following = ord(stripped[-1]) + 1
    return stripped[:-1] + chr(0xE000 if following == 0xD800 else following)


def _ids(ids: Sequence[str]) -> str:
    return json.dumps(list(ids))


def _where(store: Any) -> str:
    return f"state database {str(store._backend.path)!r}"


#: SQLite's failures (a full disk, an I/O error, a lock held too long) as StorageError.
sqlite_errors = storage_errors((sqlite3.Error,), _where)


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

    async def send(self, queue: str, messages: Sequence[NewMessage]) -> None:
        rows = [(queue, m.visible_at, m.id, m.body, m.content_type, m.created_at) for m in messages]
        await self._backend.writes.write(_SEND, rows, "queue send")

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
            claimed = await self.claim(queue, limit, now, lease_until)
        else:
            with self._conn:  # one commit for both
                self._conn.execute("BEGIN IMMEDIATE")
                for sql, params in self._settle_statements(queue, acks, retries):
                    self._conn.execute(sql, params)
                claimed = await self.claim(queue, limit, now, lease_until)
        return claimed, None if claimed else await self.next_visible(queue)

    async def claim(self, queue: str, limit: int, now: float, lease_until: float) -> list[StoredMessage]:
        rows = self._conn.execute(
            # The whole primary key in the IN: with (visible_at, id) alone SQLite seeks on
            # (queue, visible_at) and scans every message sharing that visible_at (a send_batch
            # shares one), so a claim cost grew with the backlog (bench/scale.py).
            f"UPDATE messages SET attempts = attempts + 1, claimed = 1, visible_at = ?1 "
            f"WHERE (queue, visible_at, id) IN (SELECT queue, visible_at, id FROM messages "
            f"WHERE queue = ?2 AND visible_at <= ?3 ORDER BY visible_at, id LIMIT ?4) RETURNING {_MESSAGE_COLUMNS}",
            (lease_until, queue, now, limit),
        ).fetchall()
        for row in rows:
            self._leases[row[0]] = lease_until
        return [StoredMessage(*row) for row in rows]

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


@sqlite_errors
class SqliteKvStore(KvStore):
    """KV on SQLite. Puts and deletes join the backend's :class:`GroupCommit`: each returns once
    its turn's transaction is committed; reads only ever see committed values."""

    def __init__(self, conn: sqlite3.Connection, backend: SqliteBackend) -> None:
        self._conn = conn
        self._backend = backend
        self._writes = backend.writes

    async def get(self, namespace: str, key: str, now: float) -> KvEntry | None:
        row = self.get_now(namespace, key, now)
        return KvEntry(*row) if row else None

    def get_now(self, namespace: str, key: str, now: float) -> tuple[bytes, str | None, float | None] | None:
        """:meth:`get` without a coroutine (a read never waits here), as the row ``(value,
        metadata, expires_at)``: the binding's hot path."""
        try:
            row = self._conn.execute(
                "SELECT value, metadata, expires_at FROM kv WHERE ns = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)",
                (namespace, key, now),
            ).fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"{_where(self)}: get failed: {exc}") from None
        return row  # type: ignore[no-any-return]

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


class SqliteBackend(Backend):
    shared = True

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._conn: sqlite3.Connection | None = None
        self._data_version: int | None = None

    async def open(self) -> None:
        try:
            private_file(self.path)
            self._conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA busy_timeout=10000")
            check_state_file(self._conn, self.path)  # before anything is changed in the file (WAL mode)
            configure(self._conn)
            self._conn.executescript(SCHEMA)
            migrate_messages(self._conn)
            add_failed_attempts(self._conn)
            add_lease_epochs(self._conn)
            if self._conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:  # stamp once
                self._conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                self._conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            checkpoint.register(self.path, self._conn)
        except BackendError:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            raise
        except (OSError, sqlite3.Error) as exc:
            raise BackendError(
                f"cannot open the state database {str(self.path)!r}: {exc}; if it is damaged, move it away "
                "(the app starts with empty state) or point --state at another directory"
            ) from exc
        self.writes = GroupCommit(self._conn, self)
        self.queues = SqliteQueueStore(self._conn, self)
        self.kv = SqliteKvStore(self._conn, self)
        self.state = SqliteStateStore(self._conn, self)

    async def close(self) -> None:
        if self._conn is not None:
            self.writes.flush()
            self._conn.close()
            self._conn = None
            checkpoint.unregister(self.path)

    async def changed(self) -> bool:
        if self._conn is None:
            return False
        (version,) = self._conn.execute("PRAGMA data_version").fetchone()
        changed = self._data_version is not None and version != self._data_version
        self._data_version = version
        return changed
