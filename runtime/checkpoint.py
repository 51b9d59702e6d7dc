"""The runtime's SQLite connections, and WAL checkpoints off the event loop.

Every connection the runtime writes through is made by :func:`connect` and put in WAL mode by
:func:`use_wal` (:func:`open_wal` does both and registers the file for checkpoints), so the
state backend, the SQL databases and the smart indexes keep one durability promise: a commit
that returned is in the WAL, ``synchronous=NORMAL``, and survives a process crash.

SQLite copies its write-ahead log back into the database file (a checkpoint) inside whichever
commit crosses ``wal_autocheckpoint`` pages: several milliseconds of copying on the event loop,
felt by every request in flight (it was the p99 of the podcast app's cache hits). Instead, one
daemon thread per process checkpoints every registered database in the background, in PASSIVE
mode, which never blocks writers; SQLite releases the GIL while it copies. The connections keep
a far higher autocheckpoint as a safety net, should the thread ever fall behind.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from runtime.private import private_file

FALLBACK_PAGES = 20_000  # wal_autocheckpoint of the app's own connections (~80 MB of WAL)
THRESHOLD_BYTES = 1 << 20  # checkpoint once the WAL holds about a megabyte
PERIOD = 0.5  # seconds between looks at the WAL sizes

log = logging.getLogger("raindrop.checkpoint")

_lock = threading.Lock()
_paths: dict[str, int] = {}  # database path -> how many open connections registered it
_thread: threading.Thread | None = None


BUSY_MS = 10_000  # how long a runtime connection waits for another's lock


def connect(path: Path) -> sqlite3.Connection:
    """A connection to ``path`` (created 0600 with its folder 0700, see :mod:`runtime.private`),
    autocommitting, usable from any thread, waiting up to 10 s for a lock. The file is not
    changed yet: :func:`use_wal` does that, once the caller has looked at what the file is."""
    private_file(path)
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    return conn


def use_wal(conn: sqlite3.Connection) -> None:
    """WAL mode with ``synchronous=NORMAL``: a commit that returned survives a process crash."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


def open_wal(path: Path) -> sqlite3.Connection:
    """:func:`connect` and :func:`use_wal`, registered here for background checkpoints."""
    conn = connect(path)
    use_wal(conn)
    register(path, conn)
    return conn


def open_read_only(path: Path, *, busy_ms: int = 10_000) -> sqlite3.Connection:
    """A connection to ``path`` that cannot write (``mode=ro`` and ``PRAGMA query_only``),
    usable from any thread, waiting up to ``busy_ms`` for a lock: what reads on behalf of a
    user (the query box, SmartSQL's reads) run on."""
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA query_only=ON")
    conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    return conn


def register(path: Path | str, conn: sqlite3.Connection) -> None:
    """Checkpoint ``path`` in the background while ``conn`` (a WAL connection) is open."""
    global _thread
    conn.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")
    key = str(Path(path).resolve())
    with _lock:
        _paths[key] = _paths.get(key, 0) + 1
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_run, name="raindrop-checkpoint", daemon=True)
            _thread.start()


def unregister(path: Path | str) -> None:
    key = str(Path(path).resolve())
    with _lock:
        count = _paths.get(key, 0) - 1
        if count > 0:
            _paths[key] = count
        else:
            _paths.pop(key, None)


def _run() -> None:
    connections: dict[str, sqlite3.Connection] = {}
    seen: dict[str, tuple[int, int]] = {}  # the WAL's (size, mtime) after the last checkpoint
    while True:  # a daemon thread: it ends with the process
        time.sleep(PERIOD)
        with _lock:
            wanted = set(_paths)
        for key in set(connections) - wanted:
            connections.pop(key).close()
            seen.pop(key, None)
        for key in wanted:
            try:
                wal = os.stat(key + "-wal")
                if wal.st_size < THRESHOLD_BYTES or seen.get(key) == (wal.st_size, wal.st_mtime_ns):
                    continue
                conn = connections.get(key)
                if conn is None:
                    conn = connections[key] = sqlite3.connect(key, isolation_level=None, check_same_thread=False)
                    conn.execute("PRAGMA busy_timeout=1000")
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                wal = os.stat(key + "-wal")
                seen[key] = (wal.st_size, wal.st_mtime_ns)
            except FileNotFoundError:
                continue
            except sqlite3.Error as exc:  # busy or gone: the next look tries again
                log.debug("checkpoint of %s skipped: %s", key, exc)
                stale = connections.pop(key, None)
                if stale is not None:
                    stale.close()
