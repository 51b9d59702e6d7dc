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

import functools
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
from runtime.output_gate import before_effect
from runtime.sql_reads import _STATEMENT_ERRORS, Reads, Shape, run_statement
from runtime.sql_worker import STATEMENT_TIMEOUT, SqlWorker, interrupted

_READ = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*(?:select|values|explain)\b", re.IGNORECASE | re.DOTALL)


#: The types ``bind`` takes, looked up before the slower ``isinstance`` (which also takes subclasses).
_BINDABLE = frozenset({str, int, float, bytes, bool, type(None)})


@functools.lru_cache(maxsize=1024)
def _is_read(sql: str) -> bool:
    """Whether ``sql`` only reads (cached: a statement's text is prepared once and run often)."""
    return _READ.match(sql) is not None


def _meta(cursor: sqlite3.Cursor, started: float, rows_read: int) -> dict[str, Any]:
    changes = cursor.rowcount
    if changes < 0:
        changes = 0
    return {
        "duration": round((time.perf_counter() - started) * 1000, 3),
        "changes": changes,
        "last_row_id": cursor.lastrowid,
        "changed_db": changes > 0 and cursor.connection.total_changes > 0,
        "rows_read": rows_read,
        "rows_written": changes,
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
            if type(value) not in _BINDABLE and not isinstance(value, str | int | float | bytes | bool):
                raise SqlError(
                    f"cannot bind a {type(value).__name__} ({value!r:.40}); bind str, int, float, bytes, bool or None"
                )
        return PreparedStatement(self._db, self.sql, params)

    async def all(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._db._query(self.sql, self.params, _all)
        return result

    async def first(self, column: str | None = None) -> Any:
        def shape(cursor: sqlite3.Cursor, rows: list[Any], started: float) -> Any:
            if not rows:
                return None
            columns = [c[0] for c in cursor.description or []]
            record = dict(zip(columns, rows[0], strict=True))
            if column is None:
                return record
            if column not in record:
                raise SqlError(f"column {column!r} is not in the result (columns: {', '.join(columns)})")
            return record[column]

        return await self._db._query(self.sql, self.params, shape)

    async def run(self) -> dict[str, Any]:
        """Run the statement; ``results`` holds the rows it produced (a SELECT, ``RETURNING``), as D1."""
        result: dict[str, Any] = await self._db._query(self.sql, self.params, _all)
        return result

    async def raw(self, *, column_names: bool = False) -> list[list[Any]]:
        def shape(cursor: sqlite3.Cursor, fetched: list[Any], started: float) -> list[list[Any]]:
            rows = [list(row) for row in fetched]
            if column_names:
                rows.insert(0, [c[0] for c in cursor.description or []])
            return rows

        result: list[list[Any]] = await self._db._query(self.sql, self.params, shape)
        return result


def _all(cursor: sqlite3.Cursor, rows: list[Any], started: float) -> dict[str, Any]:
    if rows:
        columns = [c[0] for c in cursor.description or []]
        results = [dict(zip(columns, row, strict=True)) for row in rows]
    else:
        results = []  # a write's usual answer: no columns to name
    return {"results": results, "success": True, "meta": _meta(cursor, started, len(rows))}


@platform_names
class SqlDatabase:
    """``env.<DB>``: one SQLite database; no statement holds the event loop for long: writes
    share the group commit (:mod:`runtime.sql_worker`), reads are capped or run in a thread
    (:mod:`runtime.sql_reads`)."""

    def __init__(self, name: str, path: Path, *, statement_timeout: float = STATEMENT_TIMEOUT) -> None:
        self.name = name
        self.path = path
        self._worker = SqlWorker(name, path, timeout=statement_timeout)
        self._reads = Reads(name, path, self._worker.deadline.timeout)

    def __repr__(self) -> str:
        return f"<SqlDatabase {self.name!r}>"

    @property
    def statement_timeout(self) -> float:
        """Seconds a statement may run before it is interrupted."""
        return self._worker.timeout

    def close(self) -> None:
        """Finish the queued writes and close the connections (the app does this when it stops);
        a statement still running after a moment is interrupted."""
        self._worker.close()
        self._reads.close()
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

        def script(conn: sqlite3.Connection) -> None:
            deadline = self._worker.deadline
            for number, line in enumerate(lines, 1):
                deadline.arm()
                try:
                    conn.executescript(line)
                except _STATEMENT_ERRORS as exc:
                    if interrupted(exc):
                        raise deadline.error(self.name, line) from None
                    raise SqlError(
                        f"database {self.name!r}: {exc} in line {number} of exec: {line.strip()[:200]!r}"
                    ) from None
                finally:
                    deadline.disarm()

        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        await self._worker.call(script)
        return {"count": len(lines), "duration": round((time.perf_counter() - started) * 1000, 3)}

    async def batch(self, statements: Sequence[PreparedStatement]) -> list[dict[str, Any]]:
        """Run ``statements`` together, all or nothing: a savepoint inside this turn's group, so
        a batch shares the group's commit and returns once it is durable."""
        if not statements:
            return []
        pairs = [(statement.sql, statement.params) for statement in statements]

        def job(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            conn.execute("SAVEPOINT raindrop_batch")
            try:
                results = [self._statement(sql, params, _all, conn) for sql, params in pairs]
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK TO raindrop_batch")
                    conn.execute("RELEASE raindrop_batch")
                raise
            conn.execute("RELEASE raindrop_batch")
            return results

        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        results: list[dict[str, Any]] = await self._worker.write(job)
        return results

    async def _query(self, sql: str, params: tuple[Any, ...], shape: Shape) -> Any:
        """Run one statement and shape its rows where it ran (on the loop under a cap, or in a
        thread); a write returns once it has committed, alone or with its group."""
        if _is_read(sql):
            return await self._reads.run(sql, params, shape, self._worker)
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        return await self._worker.write(functools.partial(self._statement, sql, params, shape))

    def _statement(self, sql: str, params: tuple[Any, ...], shape: Shape, conn: sqlite3.Connection) -> Any:
        """A write job: run one statement on the write connection under its limit and shape the result."""
        return run_statement(self.name, conn, self._worker.deadline, sql, params, shape)

    def migrate(self, folder: Path) -> list[str]:
        """Apply the ``*.sql`` files of ``folder`` not applied yet, in lexical order; returns their names.

        :raises MigrationError: naming the file and SQLite's reason; that file is not recorded.
        """
        return self._worker.call_blocking(lambda conn: _migrate(self.name, conn, folder))


def _migrate(name: str, conn: sqlite3.Connection, folder: Path) -> list[str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _raindrop_migrations (name TEXT PRIMARY KEY, checksum TEXT, applied_at REAL)"
    )
    if not folder.is_dir():
        return []
    done = {row[0] for row in conn.execute("SELECT name FROM _raindrop_migrations")}
    applied = []
    for file in sorted(folder.glob("*.sql")):
        if file.name in done:
            continue
        script = file.read_text(encoding="utf-8")
        try:
            conn.executescript(f"BEGIN;\n{script}\n;COMMIT;")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise MigrationError(f"database {name!r}: migration {file} failed: {exc}") from None
        conn.execute(
            "INSERT INTO _raindrop_migrations (name, checksum, applied_at) VALUES (?, ?, ?)",
            (file.name, hashlib.sha256(script.encode()).hexdigest(), time.time()),
        )
        applied.append(file.name)
    return applied
