"""SmartSQL (``smartsql`` blocks): SQL and natural language over one SQLite file per resource.

``execute_query(sql_query=...)`` runs one statement and answers the platform's shape:
``{"message", "results" (a JSON or CSV string), "status", "query_executed", "ai_reasoning"}``;
a failing statement is status 400 with SQLite's message (never a traceback).
``execute_query(text_query=...)`` asks ``env.AI`` (model ``llama-3.3-70b``, as configured in
``raindrop.local.yaml``) for one statement, with the tables' metadata as context, runs it
and shows it; it must be a single read-only statement unless the resource opts in
(``smartsql: {NAME: {text_query_writes: true}}``). With the offline provider it answers
status 501 and how to configure a model.

``get_metadata`` reads the live schema (through ``sqlite-utils``) with a sample value per
column; ``update_metadata`` keeps descriptions of tables (replace, merge or append) that
``get_metadata`` reports over the live ones. Writes are scanned for personal data
(:mod:`runtime.smart.pii`), which ``get_pii_data`` reports per table and record.

Migrations come from ``db/<name>/*.sql`` beside the manifest, as for ``sql_database``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio

from runtime.arguments import checked_arguments
from runtime.errors import BindingError
from runtime.naming import platform_names
from runtime.output_gate import before_effect
from runtime.smart.sql_pii import PiiTracker
from runtime.smart.sql_readonly import (
    SMALL,
    DeadlineExceeded,
    ReadPool,
    Refused,
    TooLarge,
    check_allowed,
    format_rows,
    quote,
)
from runtime.sql import SqlDatabase, SqlError

if TYPE_CHECKING:
    from runtime.ai import AI

TEXT_MODEL = "llama-3.3-70b"
SAMPLE_ROWS = 3
_INTERNAL = ("_raindrop_", "_smartsql_", "sqlite_")
_SELECT = re.compile(r"^\s*select\b", re.IGNORECASE)
_WRITE = re.compile(r"^\s*(insert|replace|update|delete|upsert)\b", re.IGNORECASE)

SCHEMA = """
CREATE TABLE IF NOT EXISTS _smartsql_metadata (
    table_name TEXT PRIMARY KEY,
    description TEXT NOT NULL,         -- JSON: the table's entry as update_metadata gave it
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS _smartsql_pii (
    detection_id TEXT PRIMARY KEY,
    table_name TEXT NOT NULL,
    record_id TEXT NOT NULL,
    entities TEXT NOT NULL,            -- JSON list
    detected_at REAL NOT NULL,
    UNIQUE (table_name, record_id)
);
"""


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).isoformat().replace("+00:00", "Z")


def _reply(
    status: int, message: str, query: str | None, results: str | None = None, reasoning: str | None = None
) -> dict[str, Any]:
    return {
        "message": message,
        "results": results,
        "status": status,
        "query_executed": query,
        "ai_reasoning": reasoning,
    }


@platform_names
@checked_arguments
class SmartSql:
    """``env.<SMARTSQL>``: ``execute_query``, ``get_metadata``, ``update_metadata``, ``get_pii_data``."""

    def __init__(
        self,
        name: str,
        database: SqlDatabase,
        ai: AI,
        now: Callable[[], float],
        *,
        text_query_writes: bool = False,
    ) -> None:
        self.name = name
        self._db = database
        self._ai = ai
        self._now = now
        self._text_writes = text_query_writes
        database._worker.call_blocking(lambda conn: conn.executescript(SCHEMA))
        self._reads = ReadPool(database.path)
        self._pii = database._worker.call_blocking(lambda conn: PiiTracker(database, conn, self._reads, now))

    def __repr__(self) -> str:
        return f"<SmartSql {self.name!r}>"

    @property
    def path(self) -> Path:
        return self._db.path

    # -- queries ----------------------------------------------------------------------------------

    async def execute_query(
        self,
        sql_query: str | None = None,
        text_query: str | None = None,
        format: Literal["json", "csv"] = "json",
    ) -> dict[str, Any]:
        """Run ``sql_query``, or the statement ``env.AI`` writes for ``text_query``.

        :raises BindingError: for neither or both queries, or an unknown format (a mistake in
            the call, not in the SQL: SQL errors are a status 400 reply).
        """
        if (sql_query is None) == (text_query is None):
            raise BindingError(f"smartsql {self.name!r}: execute_query takes sql_query or text_query (one of them)")
        if format not in ("json", "csv"):
            raise BindingError(f"smartsql {self.name!r}: format is 'json' or 'csv', not {format!r}")
        if sql_query is not None:
            if not isinstance(sql_query, str) or not sql_query.strip():
                return _reply(400, "sql_query is empty", sql_query)
            return await self._run(sql_query, format, None, writes=True)
        if not isinstance(text_query, str) or not text_query.strip():
            return _reply(400, "text_query is empty", None)
        provider = self._ai.provider_for(TEXT_MODEL)
        if provider.kind == "offline":
            return _reply(
                501,
                f"text_query needs a language model, and {TEXT_MODEL} is answered offline here: set one in "
                f"raindrop.local.yaml, e.g. ai: {{models: {{{TEXT_MODEL}: {{provider: openai-compatible, "
                "base_url: 'http://127.0.0.1:11434/v1', model: 'qwen2.5-coder'}}}} (or provider: anthropic)",
                None,
            )
        statement, reasoning = await self._write_sql(text_query)
        if statement is None:
            return _reply(422, "the model's answer held no SQL statement", None, reasoning=reasoning)
        return await self._run(statement, format, reasoning, writes=self._text_writes, untrusted=True)

    async def _run(
        self, statement: str, format: str, reasoning: str | None, *, writes: bool, untrusted: bool = False
    ) -> dict[str, Any]:
        """Run one statement. ``untrusted`` (a model wrote it): reads pass the allow-list and the
        deadline of :mod:`runtime.smart.sql_readonly`, and, unless ``writes``, so must the
        statement's first word."""
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        statement = statement.strip()
        if not sqlite3.complete_statement(statement if statement.endswith(";") else statement + ";") or _several(
            statement
        ):
            return _reply(400, "one SQL statement at a time, please", statement, reasoning=reasoning)
        if untrusted and not writes:
            try:
                check_allowed(statement)
            except Refused as exc:
                return _reply(403, f"{exc} (text queries are read-only here)", statement, reasoning=reasoning)
        is_write = not await self._db._worker.call(lambda conn: _readonly(conn, statement))
        if is_write and not writes:
            return _reply(
                403,
                "the statement the model wrote changes data, and text queries are read-only here "
                f"(smartsql: {{{self.name}: {{text_query_writes: true}}}} in raindrop.local.yaml allows it)",
                statement,
                reasoning=reasoning,
            )
        if not is_write:
            try:  # off the loop, on a read-only connection: a large result never holds the loop
                text, count = await anyio.to_thread.run_sync(
                    lambda: self._reads.run(statement, format, untrusted=untrusted), abandon_on_cancel=True
                )
            except Refused as exc:
                return _reply(403, str(exc), statement, reasoning=reasoning)
            except DeadlineExceeded as exc:
                return _reply(408, str(exc), statement, reasoning=reasoning)
            except TooLarge as exc:
                return _reply(413, str(exc), statement, reasoning=reasoning)
            except sqlite3.Error as exc:
                if untrusted or "no such table" not in str(exc):
                    return _reply(400, f"SQL error: {exc}", statement, reasoning=reasoning)
                # a TEMP table of this resource's own connection: read it there
            else:
                return _reply(200, f"Query executed successfully; {count} row(s)", statement, text, reasoning)
        await self._db._worker.call(lambda conn: self._pii.track())
        try:
            result = await self._db.prepare(statement).all()
        except SqlError as exc:
            reason = str(exc).split(": ", 1)[-1].split(" in '")[0]
            return _reply(400, f"SQL error: {reason}", statement, reasoning=reasoning)
        finally:
            await self._pii.catch_up()
        rows: list[dict[str, Any]] = result["results"]
        meta = result["meta"]
        message = (
            f"Query executed successfully; {meta['changes']} row(s) changed"
            if is_write
            else f"Query executed successfully; {len(rows)} row(s)"
        )
        text = (
            await anyio.to_thread.run_sync(format_rows, rows, format)
            if len(rows) > SMALL
            else format_rows(rows, format)
        )
        return _reply(200, message, statement, text, reasoning)

    async def _write_sql(self, question: str) -> tuple[str | None, str | None]:
        tables = (await self.get_metadata())["tables"]
        schema = "\n".join(
            f"{t['table_name']}("
            + ", ".join(
                f"{c['column_name']} {c['data_type']}" + (f" e.g. {c['sample_data']!r}" if c["sample_data"] else "")
                for c in t["columns"]
            )
            + ")"
            for t in tables
        )
        reply = await self._ai.run(
            TEXT_MODEL,
            {
                "messages": [
                    {
                        "role": "system",
                        "content": "You write one SQLite statement that answers the user's question over these "
                        f"tables:\n{schema}\nAnswer with the statement in a ```sql block, then one line starting "
                        "with 'Reasoning:'.",
                    },
                    {"role": "user", "content": question},
                ]
            },
        )
        text = str(reply.get("response", ""))
        fenced = re.search(r"```(?:sql)?\s*(.+?)```", text, re.IGNORECASE | re.DOTALL)
        if fenced:
            statement = fenced.group(1).strip()
        else:
            # no fence: a statement that begins a line, up to its ';' or the answer's end
            found = re.search(
                r"^\s*(select|with|insert|update|delete)\s.+?(;|\Z)", text, re.IGNORECASE | re.DOTALL | re.MULTILINE
            )
            statement = found.group(0).strip() if found else None
        said = re.search(r"Reasoning:\s*(.+)", text, re.IGNORECASE | re.DOTALL)
        reasoning = said.group(1).strip() if said else text.replace(fenced.group(0), "").strip() if fenced else None
        return (statement.rstrip(";").strip() if statement else None), (reasoning or None)

    # -- metadata ---------------------------------------------------------------------------------

    async def get_metadata(self, table_name: str | None = None) -> dict[str, Any]:
        """The live schema (every table, or ``table_name``) with a sample value per column,
        overlaid with what :meth:`update_metadata` stored."""
        return await self._db._worker.call(lambda conn: self._metadata(conn, table_name))

    def _metadata(self, conn: sqlite3.Connection, table_name: str | None) -> dict[str, Any]:
        """On the database's worker: :meth:`get_metadata`'s answer."""
        names = [
            row[0]
            for row in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")
            if not row[0].startswith(_INTERNAL)
        ]
        stored = {
            row[0]: (json.loads(row[1]), row[2], row[3])
            for row in conn.execute("SELECT table_name, description, created_at, updated_at FROM _smartsql_metadata")
        }
        tables = []
        for name in sorted(set(names) | set(stored)):
            if table_name is not None and name != table_name:
                continue
            live = _live_table(conn, name) if name in names else None
            described, created, updated = stored.get(name, ({}, None, None))
            entry = live or {"table_name": name, "columns": [], "created_at": None, "updated_at": None}
            if described:
                by_name = {c["column_name"]: c for c in entry["columns"]}
                for column in described.get("columns", []):
                    by_name[column["column_name"]] = {**by_name.get(column["column_name"], {}), **column}
                entry = {
                    **entry,
                    **{k: v for k, v in described.items() if k != "columns"},
                    "columns": list(by_name.values()),
                }
                entry["created_at"], entry["updated_at"] = _iso(created), _iso(updated)
            tables.append(entry)
        moments = [row[2] for row in stored.values()]
        return {"tables": tables, "last_updated": _iso(max(moments)) if moments else _iso(self._now())}

    async def update_metadata(
        self, tables: list[dict[str, Any]], mode: Literal["replace", "merge", "append"] = "replace"
    ) -> dict[str, Any]:
        """Store descriptions of ``tables`` (each ``{"table_name", "columns": [...], ...}``):
        ``replace`` the stored ones wholly, ``merge`` into them column by column, or ``append``
        only tables not described yet."""
        if mode not in ("replace", "merge", "append"):
            return {
                "success": False,
                "tables_updated": 0,
                "message": f"mode is 'replace', 'merge' or 'append', not {mode!r}",
            }
        if not isinstance(tables, list) or not all(
            isinstance(t, dict) and isinstance(t.get("table_name"), str) for t in tables
        ):
            return {"success": False, "tables_updated": 0, "message": "tables is a list of {'table_name': str, ...}"}
        now = self._now()
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        updated = await self._db._worker.call(lambda conn: _store_metadata(conn, tables, mode, now))
        return {"success": True, "tables_updated": updated, "message": f"{updated} table(s) updated ({mode})"}

    # -- personal data ----------------------------------------------------------------------------

    async def get_pii_data(self, table_name: str, record_id: str | None = None) -> dict[str, Any]:
        """Personal data found in ``table_name`` (one record's, with ``record_id``):
        ``{"pii_detections": [{"detection_id", "table_name", "record_id", "entities", "detected_at"}]}``."""
        await self._pii.catch_up()
        found = await self._pii.report(table_name, None if record_id is None else str(record_id))
        return {"pii_detections": [{**d, "detected_at": _iso(d["detected_at"])} for d in found]}


def _live_table(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
    info = conn.execute('SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid', (name,)).fetchall()
    samples = list(conn.execute(f"SELECT * FROM {quote(name)} LIMIT {SAMPLE_ROWS}"))
    columns = []
    for index, (column, kind, notnull, pk) in enumerate(info):
        sample = next((row[index] for row in samples if index < len(row) and row[index] is not None), None)
        columns.append(
            {
                "column_name": column,
                "data_type": kind or "ANY",
                "sample_data": None if sample is None else str(sample)[:100],
                "nullable": not notnull,
                "is_primary_key": bool(pk),
            }
        )
    return {"table_name": name, "columns": columns, "created_at": None, "updated_at": None}


def _store_metadata(conn: sqlite3.Connection, tables: list[dict[str, Any]], mode: str, now: float) -> int:
    """On the database's worker, in one transaction: ``update_metadata``'s writes."""
    updated = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        if mode == "replace":
            conn.execute("DELETE FROM _smartsql_metadata")
        for table in tables:
            row = conn.execute(
                "SELECT description, created_at FROM _smartsql_metadata WHERE table_name = ?",
                (table["table_name"],),
            ).fetchone()
            if row is not None and mode == "append":
                continue
            description = dict(table)
            if row is not None and mode == "merge":
                old = json.loads(row[0])
                columns = {c["column_name"]: c for c in old.get("columns", [])}
                for column in table.get("columns", []):
                    columns[column["column_name"]] = {**columns.get(column["column_name"], {}), **column}
                description = {**old, **table, "columns": list(columns.values())}
            conn.execute(
                "INSERT OR REPLACE INTO _smartsql_metadata (table_name, description, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (table["table_name"], json.dumps(description), row[1] if row else now, now),
            )
            updated += 1
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return updated


def _several(statement: str) -> bool:
    """Whether more than one statement is in ``statement`` (a ``;`` with more after it)."""
    head, sep, tail = statement.partition(";")
    while sep:
        if sqlite3.complete_statement(head + ";") and tail.strip():
            return True
        more, sep, tail = tail.partition(";")
        head = head + ";" + more
    return False


def _readonly(conn: sqlite3.Connection, statement: str) -> bool:
    """Whether ``statement`` only reads, as SQLite itself judges it (``EXPLAIN`` under an
    authorizer that denies every write), whatever its first word."""
    if _SELECT.match(statement):  # a plain SELECT cannot write: no need to compile it twice
        return True
    writes: list[int] = []
    denied = {
        sqlite3.SQLITE_INSERT,
        sqlite3.SQLITE_UPDATE,
        sqlite3.SQLITE_DELETE,
        sqlite3.SQLITE_CREATE_TABLE,
        sqlite3.SQLITE_DROP_TABLE,
        sqlite3.SQLITE_ALTER_TABLE,
        sqlite3.SQLITE_CREATE_INDEX,
        sqlite3.SQLITE_DROP_INDEX,
        sqlite3.SQLITE_PRAGMA,
        sqlite3.SQLITE_ATTACH,
        sqlite3.SQLITE_CREATE_VIEW,
        sqlite3.SQLITE_DROP_VIEW,
        sqlite3.SQLITE_CREATE_TRIGGER,
        sqlite3.SQLITE_DROP_TRIGGER,
    }

    def authorize(action: int, *args: Any) -> int:
        if action in denied:
            writes.append(action)
        return sqlite3.SQLITE_OK

    conn.set_authorizer(authorize)
    try:
        conn.execute("EXPLAIN " + statement).fetchall()
    except sqlite3.Error:
        return not _WRITE.match(statement)  # it will fail when run, with SQLite's message
    finally:
        conn.set_authorizer(None)
    return not writes


__all__ = ["SmartSql"]
