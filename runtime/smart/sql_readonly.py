"""SmartSQL's reads off the event loop, and the rules a model's SQL must pass.

Reads run in a worker thread on connections of their own, opened read-only (``mode=ro`` and
``PRAGMA query_only``), so a large result is fetched and encoded without holding the loop.

A ``text_query``'s statement (written by a model, so untrusted) also passes an allow-list:

- its first word is ``SELECT``, ``WITH`` or ``VALUES`` (so ``ROLLBACK``, ``COMMIT``,
  ``SAVEPOINT``, ``REINDEX``, ``VACUUM``, ``PRAGMA``, ``ATTACH`` are refused before anything
  runs);
- SQLite compiles it under an authorizer that allows reading tables and calling functions
  only (a ``WITH … DELETE`` is refused);
- it must finish within :data:`TEXT_QUERY_DEADLINE` seconds (a progress handler interrupts
  it: a recursive CTE without a ``LIMIT`` ends there) and return at most
  :data:`TEXT_QUERY_ROWS` rows.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from runtime import checkpoint

T = TypeVar("T")

TEXT_QUERY_DEADLINE = 5.0  # seconds a text_query's statement may run
TEXT_QUERY_ROWS = 100_000  # rows a text_query's statement may return
BATCH_ROWS = 500  # rows fetched or encoded per call (each call holds the GIL)
SMALL = 20  # rows of a SELECT encoded in Python; more are encoded by SQLite
POOL = 4  # idle read connections kept per database
_PROGRESS_STEPS = 10_000  # SQLite VM steps between deadline checks

_LEADING = re.compile(r"\s*(?:--[^\n]*(?:\n|\Z)\s*|/\*.*?\*/\s*)*", re.DOTALL)
_FIRST_WORD = re.compile(r"[A-Za-z]+")
ALLOWED = ("select", "with", "values")
_SELECT = re.compile(r"^\s*select\b", re.IGNORECASE)
_READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, 33})  # 33: RECURSIVE


class Refused(Exception):
    """The statement is not one a text query may run; the message says why."""


class DeadlineExceeded(Exception):
    """The statement ran past its deadline and was interrupted."""


class TooLarge(Exception):
    """The statement's result is over what a text query returns."""


def first_word(statement: str) -> str:
    """The statement's first keyword, lower case, after any comments ('' when none)."""
    lead = _LEADING.match(statement)
    found = _FIRST_WORD.match(statement, lead.end() if lead else 0)
    return found.group(0).lower() if found else ""


def check_allowed(statement: str) -> None:
    """:raises Refused: unless the statement starts with SELECT, WITH or VALUES."""
    word = first_word(statement)
    if word not in ALLOWED:
        raise Refused(
            f"a text query runs SELECT, WITH … SELECT or VALUES only, and this statement starts with "
            f"{word.upper() or 'no keyword'}"
        )


def _authorize(action: int, *args: Any) -> int:
    return sqlite3.SQLITE_OK if action in _READ_ACTIONS else sqlite3.SQLITE_DENY


class ReadPool:
    """Read-only connections to one database file, used from worker threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._closed = False

    def _take(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return checkpoint.open_read_only(self.path)

    def _give(self, conn: sqlite3.Connection) -> None:
        conn.set_authorizer(None)
        conn.set_progress_handler(None, 0)
        if self._closed or self._idle.qsize() >= POOL:
            conn.close()
        else:
            self._idle.put(conn)

    def call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(connection)`` on one of the read connections (from a worker thread)."""
        conn = self._take()
        try:
            return work(conn)
        finally:
            self._give(conn)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def run(self, statement: str, format: str, *, untrusted: bool) -> tuple[str, int]:
        """Run a read and encode its rows (JSON or CSV): ``(text, row count)``. Call it from a
        worker thread. ``untrusted`` applies the allow-list and the deadline.

        :raises Refused: for a statement an untrusted query may not run.
        :raises DeadlineExceeded: past the deadline.
        :raises sqlite3.Error: as SQLite reports it.
        """
        if untrusted:
            check_allowed(statement)
        conn = self._take()
        deadline = time.monotonic() + TEXT_QUERY_DEADLINE
        late = False

        def past_deadline() -> int:
            nonlocal late
            late = time.monotonic() > deadline
            return 1 if late else 0

        try:
            if untrusted:
                conn.set_authorizer(_authorize)
                conn.set_progress_handler(past_deadline, _PROGRESS_STEPS)
            try:
                return _encode(conn, statement, format, TEXT_QUERY_ROWS if untrusted else None)
            except sqlite3.DatabaseError as exc:
                if late:
                    raise DeadlineExceeded(
                        f"the statement ran past the deadline of {TEXT_QUERY_DEADLINE:g} s and was stopped"
                    ) from None
                if untrusted and "not authorized" in str(exc):
                    raise Refused("a text query only reads tables: this statement would do more") from None
                raise
        finally:
            self._give(conn)


def _encode(conn: sqlite3.Connection, statement: str, format: str, max_rows: int | None = None) -> tuple[str, int]:
    if format == "json" and _SELECT.match(statement):
        built = json_in_sqlite(conn, statement)
        if built is not None:
            return built
    cursor = conn.execute(statement)
    columns = [c[0] for c in cursor.description or []]
    rows: list[dict[str, Any]] = []
    while batch := cursor.fetchmany(BATCH_ROWS):  # a few rows at a time: other threads get the GIL between
        rows += [dict(zip(columns, row, strict=True)) for row in batch]
        if max_rows is not None and len(rows) > max_rows:
            raise TooLarge(
                f"the statement gives more than {max_rows:,} rows, the most a text query returns; ask for fewer "
                "(a LIMIT, an aggregate)"
            )
    return format_rows(rows, format), len(rows)


def json_in_sqlite(conn: sqlite3.Connection, statement: str) -> tuple[str, int] | None:
    """A SELECT's rows as the reply's JSON text. A few rows are encoded here; past ``SMALL``
    rows SQLite builds the text itself (``json_object`` per row, ``json_group_array`` over
    them: a third of the time of rows turned into dicts and then into JSON). None when it
    cannot (a BLOB, repeated column names)."""
    cursor = conn.execute(statement)
    columns = [c[0] for c in cursor.description or []]
    if not columns or len(set(columns)) != len(columns):
        return None
    first = cursor.fetchmany(SMALL + 1)
    if len(first) <= SMALL:
        rows = [dict(zip(columns, row, strict=True)) for row in first]
        return JSON.encode(rows), len(rows)
    cursor.close()
    # REALs through printf('%!.17g'): json_object writes 15 digits, which loses the last bits
    # of a double (0.6000000000000001 would read back as 0.6).
    pairs = ", ".join(
        "'{label}', CASE typeof({col}) WHEN 'real' THEN json(printf('%!.17g', {col})) ELSE {col} END".format(
            label=name.replace("'", "''"), col=quote(name)
        )
        for name in columns
    )
    try:
        text, count = conn.execute(
            f"SELECT json_group_array(json_object({pairs})), count(*) FROM ({statement})"
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise
        return None  # a BLOB: the rows are encoded in Python
    return str(text), int(count)


def quote(name: str) -> str:
    """An SQL identifier, quoted whatever it holds (``"``, ``]``, spaces)."""
    return '"' + name.replace('"', '""') + '"'


# Compact, as the platform's JSON.stringify writes it; one encoder for every reply (no cycle
# check: rows are flat), bytes as hex.
JSON = json.JSONEncoder(
    separators=(",", ":"),
    check_circular=False,
    ensure_ascii=False,
    default=lambda v: v.hex() if isinstance(v, bytes) else str(v),
)


def format_rows(rows: list[dict[str, Any]], format: str) -> str:
    """The rows as JSON or CSV, :data:`BATCH_ROWS` at a time (one encoder call over a large
    result would hold the GIL, and so the event loop, for its whole length)."""
    if format == "json":
        if len(rows) <= BATCH_ROWS:
            return JSON.encode(rows)
        parts = [JSON.encode(rows[i : i + BATCH_ROWS])[1:-1] for i in range(0, len(rows), BATCH_ROWS)]
        return "[" + ",".join(parts) + "]"
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for i in range(0, len(rows), BATCH_ROWS):
            writer.writerows(rows[i : i + BATCH_ROWS])
    return out.getvalue()
