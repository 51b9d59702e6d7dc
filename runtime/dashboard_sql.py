"""The dashboard's SQL query box: one read-only statement, with limits on what it may cost.

A statement typed there runs in a worker thread on a connection of its own, opened read-only
(``mode=ro``, ``PRAGMA query_only``), and cannot:

- **touch files or write**: an authorizer allows reading (SELECT, WITH, VALUES, EXPLAIN and the
  schema pragmas in :data:`READ_PRAGMAS`) and refuses everything else while the statement is
  compiled, before it runs: ATTACH and DETACH (which create or open other files), VACUUM and
  ``VACUUM INTO`` (SQLite runs those through an ATTACH), writes, transactions, other pragmas;
- **run long**: it is interrupted after :data:`QUERY_SECONDS`;
- **grow large**: a value may hold :data:`ROW_BYTES` divided among the statement's result
  columns (between :data:`MIN_VALUE_BYTES` and :data:`MAX_VALUE_BYTES`; SQLite's own length
  limit, so ``printf('%.*c', 1e9, 'x')`` is refused as it is computed, not after), the text
  is at most :data:`MAX_SQL_BYTES`, and the answer at most :data:`MAX_ROWS` rows and
  :data:`RESULT_BYTES` (``truncated`` says when either cut it short).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runtime import checkpoint

MAX_ROWS = 500  # rows a page or a query shows
RESULT_BYTES = 8 << 20  # bytes of values one answer carries at most
ROW_BYTES = 32 << 20  # what the values of one result row may hold together
MIN_VALUE_BYTES = 64 << 10
MAX_VALUE_BYTES = 16 << 20
MAX_SQL_BYTES = 100_000
QUERY_SECONDS = 2.0  # a query in the box is interrupted after this long

#: Pragmas the box may run: they read the schema or the file's settings and change nothing.
READ_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "database_list",
        "collation_list",
        "function_list",
        "pragma_list",
        "compile_options",
        "page_count",
        "page_size",
        "freelist_count",
        "user_version",
        "application_id",
        "schema_version",
        "encoding",
        "journal_mode",
    }
)
_NAMES_TABLE = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list"})
_READING = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE})
_AUTHORIZER_ACTIONS = (
    "CREATE_INDEX CREATE_TABLE CREATE_TEMP_INDEX CREATE_TEMP_TABLE CREATE_TEMP_TRIGGER CREATE_TEMP_VIEW "
    "CREATE_TRIGGER CREATE_VIEW DELETE DROP_INDEX DROP_TABLE DROP_TEMP_INDEX DROP_TEMP_TABLE DROP_TEMP_TRIGGER "
    "DROP_TEMP_VIEW DROP_TRIGGER DROP_VIEW INSERT PRAGMA READ SELECT TRANSACTION UPDATE ATTACH DETACH "
    "ALTER_TABLE REINDEX ANALYZE CREATE_VTABLE DROP_VTABLE FUNCTION SAVEPOINT RECURSIVE"
)
_ACTIONS = {
    getattr(sqlite3, "SQLITE_" + name): name.replace("_", " ")
    for name in _AUTHORIZER_ACTIONS.split()
    if hasattr(sqlite3, "SQLITE_" + name)
}
_EXPLAIN = re.compile(r"(?:\s|--[^\n]*(?:\n|$)|/\*.*?\*/)*explain\b", re.IGNORECASE | re.DOTALL)


class QueryRefused(Exception):
    """The statement is not one the box runs, or it went past a limit: the message says which."""


class _Guard:
    """The authorizer: reading passes, anything else is refused and remembered for the message."""

    def __init__(self) -> None:
        self.refused: str | None = None

    def __call__(self, action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None) -> int:
        if action in _READING:
            return sqlite3.SQLITE_OK
        # `PRAGMA user_version = 5` arrives with its value in arg2; table_info's arg2 is a table
        if (
            action == sqlite3.SQLITE_PRAGMA
            and (arg1 or "").lower() in READ_PRAGMAS
            and (not arg2 or (arg1 or "").lower() in _NAMES_TABLE)
        ):
            return sqlite3.SQLITE_OK
        what = _ACTIONS.get(action, f"action {action}")
        if action == sqlite3.SQLITE_ATTACH:
            what = "ATTACH or VACUUM INTO (another file)" if arg1 else "VACUUM"
        elif action == sqlite3.SQLITE_PRAGMA:
            what = f"PRAGMA {arg1}" + (f" = {arg2}" if arg2 else "")
        elif action in (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE):
            if (arg1 or "").startswith(("sqlite_master", "sqlite_schema", "sqlite_temp")):
                what = "changing the schema (CREATE, ALTER, DROP)"
                self.refused = self.refused or what  # a more telling action may follow (ANALYZE)
                return sqlite3.SQLITE_DENY
            what = f"{what} on {arg1}"
        if self.refused is None or self.refused.startswith("changing the schema"):
            self.refused = what
        return sqlite3.SQLITE_DENY


@contextmanager
def read_only(path: Path, guard: _Guard | None = None) -> Iterator[sqlite3.Connection]:
    """A connection of its own that cannot write, touch other files, or run past
    :data:`QUERY_SECONDS` (the authorizer and limits of the query box; see the module's docstring)."""
    conn = checkpoint.open_read_only(path, busy_ms=5_000)  # sqlite3.connect's default, as before
    try:
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
        conn.set_authorizer(guard or _Guard())
        ends = time.monotonic() + QUERY_SECONDS
        conn.set_progress_handler(lambda: int(time.monotonic() > ends), 10_000)
        yield conn
    finally:
        conn.close()


def run_query(path: Path, sql: str) -> dict[str, Any]:
    """Run one statement of the box (in a worker thread: this blocks) and return its answer,
    ``{"columns", "rows", "truncated"}``.

    :raises QueryRefused: naming what was refused or which limit was reached.
    """
    if len(sql.encode(errors="surrogatepass")) > MAX_SQL_BYTES:
        raise QueryRefused(f"the statement is longer than {MAX_SQL_BYTES:,} bytes")
    guard = _Guard()
    with read_only(path, guard) as conn:
        try:
            columns = _result_columns(conn, sql)
            per_value = max(MIN_VALUE_BYTES, min(MAX_VALUE_BYTES, ROW_BYTES // max(1, columns)))
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, per_value)
            cursor = conn.execute(sql)
            names = [d[0] for d in cursor.description or ()]
            rows: list[list[Any]] = []
            size = 0
            truncated = False
            for row in cursor:
                if len(rows) == MAX_ROWS or size > RESULT_BYTES:
                    truncated = True
                    break
                cells = [_cell(v) for v in row]
                size += sum(_size(c) for c in cells)
                rows.append(cells)
        except sqlite3.DataError as exc:
            if "too big" not in str(exc):
                raise
            raise QueryRefused(
                f"a value is larger than the query box shows ({per_value:,} bytes per value for "
                f"{columns} column(s)); select fewer columns, or length() or substr() of it"
            ) from None
        except sqlite3.DatabaseError as exc:
            if guard.refused is not None or "authoriz" in str(exc):
                raise QueryRefused(
                    f"the query box is read-only: it runs SELECT, WITH, VALUES, EXPLAIN and schema pragmas; "
                    f"{guard.refused or 'this statement'} is refused"
                ) from None
            raise
    return {"columns": names, "rows": rows, "truncated": truncated}


def _result_columns(conn: sqlite3.Connection, sql: str) -> int:
    """How many columns ``sql`` answers with, read from its compiled program (``EXPLAIN``
    compiles without running, and the authorizer sees everything the statement would do)."""
    if _EXPLAIN.match(sql):
        return 8  # EXPLAIN's own columns (EXPLAIN QUERY PLAN has four)
    program = conn.execute("EXPLAIN " + sql).fetchall()
    return max((int(op[3]) for op in program if op[1] == "ResultRow"), default=1)


def _cell(value: Any) -> Any:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _size(value: Any) -> int:
    return len(value) + 2 if isinstance(value, str) else 8
