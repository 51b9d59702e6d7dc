"""SQLite backend (``sqlite:///path/state.db``), the default: one WAL-mode file.

Several processes may share the file. Every write is one statement or one short transaction;
claims are a single ``UPDATE … RETURNING`` so two consumers never get the same message.
``synchronous=NORMAL`` in WAL mode keeps every committed write across a process crash (only
a power loss can take the last transactions), at several times the speed of ``FULL``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from runtime import checkpoint
from runtime.backends.base import Backend
from runtime.backends.commits import GroupCommit
from runtime.backends.sqlite.common import prefix_end
from runtime.backends.sqlite.kv import _KV_UPSERT, SqliteKvStore
from runtime.backends.sqlite.queues import SqliteQueueStore
from runtime.backends.sqlite.schema import (
    APPLICATION_ID,
    SCHEMA,
    SCHEMA_VERSION,
    add_failed_attempts,
    check_state_file,
    configure,
    migrate_messages,
)
from runtime.backends.sqlite.state import SqliteStateStore, add_lease_epochs, upgrade_actor_ids
from runtime.errors import BackendError

__all__ = [
    "APPLICATION_ID",
    "SCHEMA",
    "_KV_UPSERT",
    "SqliteBackend",
    "SqliteKvStore",
    "SqliteQueueStore",
    "SqliteStateStore",
    "configure",
    "prefix_end",
]


class SqliteBackend(Backend):
    shared = True

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._conn: sqlite3.Connection | None = None
        self._data_version: int | None = None

    async def open(self) -> None:
        try:
            self._conn = checkpoint.connect(self.path)
            check_state_file(self._conn, self.path)  # before anything is changed in the file (WAL mode)
            configure(self._conn)
            self._conn.executescript(SCHEMA)
            migrate_messages(self._conn)
            add_failed_attempts(self._conn)
            add_lease_epochs(self._conn)
            upgrade_actor_ids(self._conn)
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
