"""SQL databases (``sql_database`` blocks): the D1-shaped API on one SQLite file per database.

``env.DB.prepare("SELECT * FROM users WHERE id = ?").bind(7).first()``; ``all()`` returns
``{"results": [row dicts], "success": True, "meta": {...}}``; ``run()`` returns the meta for
writes; ``raw()`` rows as lists; ``exec(sql)`` runs a script; ``batch([stmts])`` runs
statements all or nothing (a savepoint in the group below).

Writes are group-committed: a write opens a transaction (or joins the one already open), and
the transaction commits once the tasks that are ready in this turn of the event loop have run.
Each writer waits for that commit before its call returns, so a write is durable when
``run()`` returns, as on the platform, while fifty concurrent requests share one commit
instead of paying for fifty. Reads never wait.

Migrations are the files ``db/<name>/*.sql`` beside the manifest, applied once each, in
lexical order, when the app starts; each is recorded in ``_raindrop_migrations``.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runtime import checkpoint
from runtime.errors import MigrationError as MigrationError  # raised here; importable from here as before
from runtime.errors import SqlCommitError as SqlCommitError
from runtime.errors import SqlError as SqlError
from runtime.naming import platform_names

_READ = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(?:select|values|explain)\b", re.IGNORECASE | re.DOTALL)


#: What running a statement can raise: SQLite's errors, and sqlite3's for values it cannot bind
#: (text with a lone surrogate, an int past 64 bits).
_STATEMENT_ERRORS = (sqlite3.Error, ValueError, OverflowError)


def _meta(cursor: sqlite3.Cursor, conn: sqlite3.Connection, started: float, rows_read: int) -> dict[str, Any]:
    return {
        "duration": round((time.perf_counter() - started) * 1000, 3),
        "changes": max(cursor.rowcount, 0),
        "last_row_id": cursor.lastrowid,
        "changed_db": conn.total_changes > 0 and cursor.rowcount > 0,
        "rows_read": rows_read,
        "rows_written": max(cursor.rowcount, 0),
    }


@platform_names
class PreparedStatement:
    """A statement and its bound parameters. ``bind`` returns a new statement."""

    def __init__(self, db: SqlDatabase, sql: str, params: tuple[Any, ...] = ()) -> None:
        self._db = db
        self.sql = sql
        self.params = params

    def __repr__(self) -> str:
        return f"<PreparedStatement {self.sql!r} {self.params!r}>"

    def bind(self, *params: Any) -> PreparedStatement:
        for value in params:
            if value is not None and not isinstance(value, str | int | float | bytes | bool):
                raise SqlError(
                    f"cannot bind a {type(value).__name__} ({value!r:.40}); bind str, int, float, bytes, bool or None"
                )
        return PreparedStatement(self._db, self.sql, params)

    async def all(self) -> dict[str, Any]:
        started = time.perf_counter()
        cursor, rows = await self._db._query(self.sql, self.params)
        return self._all_result(cursor, rows, started)

    def _all_result(self, cursor: sqlite3.Cursor, rows: list[Any], started: float) -> dict[str, Any]:
        columns = [c[0] for c in cursor.description or []]
        results = [dict(zip(columns, row, strict=True)) for row in rows]
        return {"results": results, "success": True, "meta": _meta(cursor, self._db._conn, started, len(rows))}

    async def first(self, column: str | None = None) -> Any:
        cursor, rows = await self._db._query(self.sql, self.params)
        if not rows:
            return None
        columns = [c[0] for c in cursor.description or []]
        record = dict(zip(columns, rows[0], strict=True))
        if column is None:
            return record
        if column not in record:
            raise SqlError(f"column {column!r} is not in the result (columns: {', '.join(columns)})")
        return record[column]

    async def run(self) -> dict[str, Any]:
        """Run the statement; ``results`` holds the rows it produced (a SELECT, ``RETURNING``), as D1."""
        started = time.perf_counter()
        cursor, rows = await self._db._query(self.sql, self.params)
        return self._all_result(cursor, rows, started)

    async def raw(self, *, column_names: bool = False) -> list[list[Any]]:
        cursor, fetched = await self._db._query(self.sql, self.params)
        rows = [list(row) for row in fetched]
        if column_names:
            rows.insert(0, [c[0] for c in cursor.description or []])
        return rows


@platform_names
class SqlDatabase:
    """``env.<DB>``: one SQLite database."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self._conn = checkpoint.open_wal(path)
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._group: asyncio.Future[None] | None = None  # the commit the writes of this turn wait for

    def __repr__(self) -> str:
        return f"<SqlDatabase {self.name!r}>"

    def close(self) -> None:
        """Close the connection (the app does this when it stops)."""
        self._commit()
        self._conn.close()
        checkpoint.unregister(self.path)

    def prepare(self, sql: str) -> PreparedStatement:
        """A statement to ``bind(...)`` and run with ``all()``, ``first()``, ``run()`` or ``raw()``."""
        if not isinstance(sql, str) or not sql.strip():
            raise SqlError(f"database {self.name!r}: prepare() needs an SQL statement")
        return PreparedStatement(self, sql)

    async def exec(self, sql: str) -> dict[str, Any]:
        """Run a script without parameters, as D1 does: each non-empty line is a statement (a
        statement cannot span lines); ``{"count": statements run, "duration": ms}``.

        :raises SqlError: naming the line that failed; the lines before it stay applied.
        """
        started = time.perf_counter()
        lines = [line for line in sql.split("\n") if line.strip()]
        for number, line in enumerate(lines, 1):
            try:
                self._conn.executescript(line)
            except _STATEMENT_ERRORS as exc:
                raise SqlError(
                    f"database {self.name!r}: {exc} in line {number} of exec: {line.strip()[:200]!r}"
                ) from None
        return {"count": len(lines), "duration": round((time.perf_counter() - started) * 1000, 3)}

    async def batch(self, statements: Sequence[PreparedStatement]) -> list[dict[str, Any]]:
        """Run ``statements`` together, all or nothing: a savepoint inside this turn's group, so
        a batch shares the group's commit and returns once it is durable."""
        if not statements:
            return []
        group = self._join_group()
        self._conn.execute("SAVEPOINT raindrop_batch")
        results = []
        try:
            for statement in statements:  # synchronously: nothing else runs inside the savepoint
                started = time.perf_counter()
                cursor, rows = self._execute(statement.sql, statement.params)
                results.append(statement._all_result(cursor, rows, started))
        except BaseException as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK TO raindrop_batch")
                self._conn.execute("RELEASE raindrop_batch")
            else:
                self._fail_group(exc)
            raise
        self._conn.execute("RELEASE raindrop_batch")
        await asyncio.shield(group)
        return results

    def _join_group(self) -> asyncio.Future[None]:
        """The commit this turn's writes wait for, opening the write transaction if needed."""
        if self._group is None:
            loop = asyncio.get_running_loop()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise SqlError(f"database {self.name!r}: cannot start a write: {exc}") from None
            self._group = loop.create_future()
            loop.call_soon(self._commit)
        return self._group

    async def _query(self, sql: str, params: tuple[Any, ...]) -> tuple[sqlite3.Cursor, list[Any]]:
        """Run one statement and fetch its rows; a write returns once its group has committed."""
        if _READ.match(sql):
            return self._execute(sql, params)
        group = self._join_group()
        result = self._execute(sql, params)
        await asyncio.shield(group)
        return result

    def _execute(self, sql: str, params: tuple[Any, ...]) -> tuple[sqlite3.Cursor, list[Any]]:
        was_in_transaction = self._conn.in_transaction
        try:
            cursor = self._conn.execute(sql, params)
            return cursor, cursor.fetchall() if cursor.description else []
        except _STATEMENT_ERRORS as exc:
            if was_in_transaction and not self._conn.in_transaction:
                self._fail_group(exc)
            raise SqlError(f"database {self.name!r}: {exc} in {sql.strip()[:200]!r}") from None

    def _fail_group(self, exc: BaseException) -> None:
        """An error rolled back the whole transaction: the group's other writers must not believe
        their writes were applied."""
        group, self._group = self._group, None
        if group is not None and not group.done():
            group.set_exception(SqlError(f"database {self.name!r}: the transaction was rolled back: {exc}"))

    def _commit(self) -> None:
        group, self._group = self._group, None
        error: SqlCommitError | None = None
        if self._conn.in_transaction:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                error = SqlCommitError(f"database {self.name!r}: commit failed, the writes were not applied: {exc}")
        if group is not None and not group.done():
            if error is None:
                group.set_result(None)
            else:
                group.set_exception(error)

    def migrate(self, folder: Path) -> list[str]:
        """Apply the ``*.sql`` files of ``folder`` not applied yet, in lexical order; returns their names.

        :raises MigrationError: naming the file and SQLite's reason; that file is not recorded.
        """
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS _raindrop_migrations (name TEXT PRIMARY KEY, checksum TEXT, applied_at REAL)"
        )
        if not folder.is_dir():
            return []
        done = {row[0] for row in self._conn.execute("SELECT name FROM _raindrop_migrations")}
        applied = []
        for file in sorted(folder.glob("*.sql")):
            if file.name in done:
                continue
            script = file.read_text(encoding="utf-8")
            try:
                self._conn.executescript(f"BEGIN;\n{script}\n;COMMIT;")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise MigrationError(f"database {self.name!r}: migration {file} failed: {exc}") from None
            self._conn.execute(
                "INSERT INTO _raindrop_migrations (name, checksum, applied_at) VALUES (?, ?, ?)",
                (file.name, hashlib.sha256(script.encode()).hexdigest(), time.time()),
            )
            applied.append(file.name)
        return applied
