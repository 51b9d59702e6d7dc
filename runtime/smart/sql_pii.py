"""SmartSQL's personal-data detections, kept in step with the rows they were found in.

Which rows a write changed is recorded by SQLite itself: temporary triggers on every table
(``AFTER INSERT``, ``UPDATE``, ``DELETE``, on the resource's own connection, never stored in
the file) append the changed row's key to a temporary table. After a write, only those rows
are read (in a worker thread, on a read-only connection), scanned (:func:`runtime.smart.pii.detect`,
linear in the text) and their detections replaced, in batches of :data:`BATCH` rows: a one-row
``UPDATE`` of a 10,000-row table scans one row. A deleted row's detections are deleted with it,
a dropped table's with the table.

A detection stores where the entity is (column, start and end offsets), never the matched text:
``get_pii_data`` reads the text from the live row when it reports it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from runtime.smart.pii import detect
from runtime.smart.sql_readonly import ReadPool, quote

if TYPE_CHECKING:
    from runtime.sql import SqlDatabase

BATCH = 500  # changed rows handled per step
INTERNAL = ("_raindrop_", "_smartsql_", "sqlite_")
TRIGGER_PREFIX = "_smartsql_changed_"

CHANGES = """
CREATE TEMP TABLE IF NOT EXISTS _smartsql_changes (
    id INTEGER PRIMARY KEY,
    tbl TEXT NOT NULL,
    rid ANY,                 -- the row's key (its rowid, or a WITHOUT ROWID table's primary key)
    record TEXT,             -- the record id reported (the primary key's value, else the rowid)
    gone INTEGER NOT NULL
)
"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Table:
    """How a table's rows are found again: the key expression and the record id expression."""

    def __init__(self, name: str, key: str, record: str) -> None:
        self.name = name
        self.key = key  # an SQL expression over the row: rowid, or the primary key column
        self.record = record  # an SQL expression giving the record id as text


def tables(conn: sqlite3.Connection) -> dict[str, Table | None]:
    """The user tables, each with how to track it (None: a WITHOUT ROWID table without a
    single-column primary key, which is not tracked)."""
    found: dict[str, Table | None] = {}
    listed = conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'").fetchall()
    for (name,) in listed:
        if name.startswith(INTERNAL):
            continue
        try:
            conn.execute(f"SELECT rowid FROM main.{quote(name)} LIMIT 0")
            without_rowid = False
        except sqlite3.OperationalError:
            without_rowid = True
        keys = [row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?) WHERE pk > 0", (name,))]
        single = quote(keys[0]) if len(keys) == 1 else None
        if without_rowid:
            found[name] = Table(name, single, f"CAST({{row}}.{single} AS TEXT)") if single else None
        else:
            record = (
                f"CAST(COALESCE({{row}}.{single}, {{row}}.rowid) AS TEXT)" if single else "CAST({row}.rowid AS TEXT)"
            )
            found[name] = Table(name, "rowid", record)
    return found


class PiiTracker:
    """Keeps ``_smartsql_pii`` in step with the rows of one SmartSQL database."""

    def __init__(self, db: SqlDatabase, conn: sqlite3.Connection, reads: ReadPool, now: Callable[[], float]) -> None:
        """Made on the database's worker (``conn`` is its connection, used on that thread only)."""
        self._db = db
        self._conn = conn
        self._reads = reads
        self._now = now
        self._version: int | None = None
        self._tables: dict[str, Table | None] = {}
        self._lock = asyncio.Lock()  # one catch-up at a time: detections are replaced in change order
        self._conn.execute(CHANGES)
        columns = {row[0] for row in self._conn.execute("SELECT name FROM pragma_table_info('_smartsql_pii')")}
        if "row_key" not in columns:  # files from before positions were stored
            self._conn.execute("ALTER TABLE _smartsql_pii ADD COLUMN row_key ANY")
        self.track()

    def _schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA main.schema_version").fetchone()[0])

    def track(self) -> None:
        """Make sure every table has its triggers (call on the database's worker before a write;
        cheap when the schema did not change)."""
        version = self._schema_version()
        if version == self._version:
            return
        for (name,) in self._conn.execute(
            "SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND name LIKE ? ESCAPE '\\'",
            (TRIGGER_PREFIX.replace("_", "\\_") + "%",),
        ).fetchall():
            self._conn.execute(f"DROP TRIGGER temp.{quote(name)}")
        self._tables = tables(self._conn)
        for number, table in enumerate(t for t in self._tables.values() if t is not None):
            on, tbl = f"main.{quote(table.name)}", _literal(table.name)
            new = f"NEW.{table.key}, {table.record.format(row='NEW')}"
            old = f"OLD.{table.key}, {table.record.format(row='OLD')}"
            insert = "INSERT INTO _smartsql_changes (tbl, rid, record, gone) VALUES"
            for event, body in (
                ("INSERT", f"{insert} ({tbl}, {new}, 0);"),
                ("UPDATE", f"{insert} ({tbl}, {old}, 1); {insert} ({tbl}, {new}, 0);"),
                ("DELETE", f"{insert} ({tbl}, {old}, 1);"),
            ):
                name = quote(f"{TRIGGER_PREFIX}{number}_{event.lower()}")
                self._conn.execute(f"CREATE TEMP TRIGGER {name} AFTER {event} ON {on} BEGIN {body} END")
        self._version = version

    async def catch_up(self) -> None:
        """Bring the detections up to date with the writes made so far."""
        async with self._lock:
            made = await self._db._worker.call(self._retrack)
            if made is not None:
                await self._forget_tables()
                for name in made:  # made by the write (CREATE TABLE … AS SELECT)
                    await self._scan_table(name)
            while True:
                changes = await self._db._worker.call(self._take_changes)
                if not changes:
                    return
                latest: dict[tuple[str, str], tuple[Any, int]] = {}
                for _, tbl, rid, record, gone in changes:
                    latest[(tbl, record)] = (rid, gone)
                await self._apply(latest)

    def _retrack(self, conn: sqlite3.Connection) -> set[str] | None:
        """On the worker: None when the schema is unchanged, else re-track and name the new tables."""
        if self._schema_version() == self._version:
            return None
        before = set(self._tables)
        self.track()
        return set(self._tables) - before

    def _take_changes(self, conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
        """On the worker: the next :data:`BATCH` changed rows, taken off the list."""
        changes = conn.execute(
            "SELECT id, tbl, rid, record, gone FROM _smartsql_changes ORDER BY id LIMIT ?", (BATCH,)
        ).fetchall()
        if changes:
            conn.execute("DELETE FROM _smartsql_changes WHERE id <= ?", (changes[-1][0],))
        return changes

    async def _apply(self, latest: dict[tuple[str, str], tuple[Any, int]]) -> None:
        by_table: dict[str, dict[str, Any]] = {}
        for (tbl, record), (rid, gone) in latest.items():
            by_table.setdefault(tbl, {})[record] = None if gone else rid
        for tbl, records in by_table.items():
            table = self._tables.get(tbl)
            present = {record: rid for record, rid in records.items() if rid is not None}
            found = await anyio.to_thread.run_sync(self._scan_rows, table, list(present.values())) if table else {}
            statements = [
                self._db.prepare("DELETE FROM _smartsql_pii WHERE table_name = ? AND record_id = ?").bind(tbl, record)
                for record in records
            ]
            now = self._now()
            for record, (rid, entities) in found.items():
                statements.append(
                    self._db.prepare(
                        "INSERT OR REPLACE INTO _smartsql_pii (detection_id, table_name, record_id, entities, "
                        "detected_at, row_key) VALUES (?, ?, ?, ?, ?, ?)"
                    ).bind(uuid.uuid4().hex, tbl, record, json.dumps(entities), now, rid)
                )
            await self._db.batch(statements)

    def _scan_rows(self, table: Table | None, keys: list[Any]) -> dict[str, tuple[Any, list[dict[str, Any]]]]:
        """In a worker thread: the detections of the rows with these keys, by record id."""
        if table is None or not keys:
            return {}
        statement = (
            f"SELECT {table.key}, {table.record.format(row=quote(table.name))}, * FROM {quote(table.name)} "
            f"WHERE {table.key} IN (SELECT value FROM json_each(?))"
        )
        return self._reads.call(lambda conn: _detections(conn.execute(statement, (json.dumps(keys),))))

    async def _scan_table(self, name: str) -> None:
        table = self._tables.get(name)
        if table is None:
            return
        last: Any = None
        while True:
            page = await anyio.to_thread.run_sync(self._page, table, last)
            if not page:
                return
            last = page[-1][0]
            await self._apply({(name, str(record)): (rid, 0) for rid, record in page})

    def _page(self, table: Table, after: Any) -> list[tuple[Any, Any]]:
        statement = (
            f"SELECT {table.key}, {table.record.format(row=quote(table.name))} FROM {quote(table.name)} "
            f"WHERE ?1 IS NULL OR {table.key} > ?1 ORDER BY {table.key} LIMIT {BATCH}"
        )
        rows: list[tuple[Any, Any]] = self._reads.call(lambda conn: conn.execute(statement, (after,)).fetchall())
        return rows

    async def _forget_tables(self) -> None:
        """Detections of tables that are gone (dropped, renamed)."""
        await self._db.batch(
            [
                self._db.prepare(
                    "DELETE FROM _smartsql_pii WHERE table_name NOT IN "
                    "(SELECT name FROM main.sqlite_master WHERE type = 'table')"
                )
            ]
        )

    async def report(self, table_name: str, record_id: str | None) -> list[dict[str, Any]]:
        """``get_pii_data``'s detections, with each entity's text read from the live row."""
        rows = await self._db._worker.call(
            lambda conn: conn.execute(
                "SELECT detection_id, table_name, record_id, entities, detected_at, row_key FROM _smartsql_pii "
                "WHERE table_name = ?1 AND (?2 IS NULL OR record_id = ?2) ORDER BY detected_at, record_id",
                (table_name, record_id),
            ).fetchall()
        )
        table = self._tables.get(table_name)
        return await anyio.to_thread.run_sync(self._fill, table, rows)

    def _fill(self, table: Table | None, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        values: dict[Any, dict[str, Any]] = {}
        keys = [row[5] for row in rows if row[5] is not None]
        if table is not None and keys:
            statement = (
                f"SELECT {table.key} AS _smartsql_key, * FROM {quote(table.name)} "
                f"WHERE {table.key} IN (SELECT value FROM json_each(?))"
            )

            def read(conn: sqlite3.Connection) -> None:
                cursor = conn.execute(statement, (json.dumps(keys),))
                columns = [c[0] for c in cursor.description]
                for row in cursor:
                    values[row[0]] = dict(zip(columns[1:], row[1:], strict=True))

            self._reads.call(read)
        found = []
        for detection_id, tbl, record, entities, detected_at, row_key in rows:
            row = values.get(row_key, {})
            listed = []
            for entity in json.loads(entities):
                if "detected_text" not in entity:  # stored as positions: the text is the row's
                    value = row.get(entity.get("column", ""))
                    text = value[entity["start_position"] : entity["end_position"]] if isinstance(value, str) else None
                    entity = {**entity, "detected_text": text}
                listed.append(entity)
            found.append(
                {
                    "detection_id": detection_id,
                    "table_name": tbl,
                    "record_id": record,
                    "entities": listed,
                    "detected_at": detected_at,
                }
            )
        return found


def _detections(cursor: sqlite3.Cursor) -> dict[str, tuple[Any, list[dict[str, Any]]]]:
    columns = [c[0] for c in cursor.description][2:]
    found: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
    for row in cursor:
        rid, record = row[0], row[1]
        entities = []
        for column, value in zip(columns, row[2:], strict=True):
            if isinstance(value, str):
                for entity in detect(value):
                    del entity["detected_text"]  # positions only: the text stays in its row
                    entities.append({**entity, "column": column})
        if entities:
            found[str(record)] = (rid, entities)
    return found
