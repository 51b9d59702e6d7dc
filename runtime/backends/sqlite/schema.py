"""The state file's tables, how a file is recognized as ours, and the migrations of older files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from runtime import checkpoint
from runtime.errors import BackendError

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
SCHEMA_VERSION = 4  # 3: actor_owners.epoch and beat (fenced leases); 4: actor ids signed by class
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
        # foreign app's `messages` table must not be taken for ours, nor have ours added to it,
        # even when it has every column of ours and some of its own besides).
        known = _known_columns()
        foreign = sorted(t for t in tables if not _OURS.get(t, {"\0"}) <= _columns(conn, t) <= known.get(t, set()))
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


def _known_columns() -> dict[str, set[str]]:
    """Every column each of our tables has today (older versions had fewer, never others)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(SCHEMA)
        known = {t: _columns(conn, t) for t in _OURS if t != "messages_by_id"}
    finally:
        conn.close()
    return {**known, "messages_by_id": known["messages"]}


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    quoted = '"' + table.replace('"', '""') + '"'
    return {row[1] for row in conn.execute(f"PRAGMA table_info({quoted})")}


def configure(conn: sqlite3.Connection) -> None:
    """The pragmas of the state database's connection: those of every runtime connection
    (:func:`runtime.checkpoint.use_wal`), and temporary tables in memory."""
    checkpoint.use_wal(conn)
    conn.execute(f"PRAGMA busy_timeout={checkpoint.BUSY_MS}")
    # RETURNING spills to temp files on this SQLite build; memory roughly doubles claim speed.
    conn.execute("PRAGMA temp_store=MEMORY")
