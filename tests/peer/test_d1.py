"""Miniflare's D1 assertions, ported: packages/miniflare/test/plugins/d1/suite.ts
(cloudflare/workers-sdk). Each test names the Miniflare test it comes from."""

from __future__ import annotations

from typing import Any

import pytest

from runtime import App
from runtime.sql import SqlError
from tests.peer.conftest import reopened

pytestmark = pytest.mark.anyio

SCHEMA = """CREATE TABLE colours (id INTEGER PRIMARY KEY, name TEXT NOT NULL, rgb INTEGER NOT NULL);
CREATE TABLE kitchen_sink (id INTEGER PRIMARY KEY, int INTEGER, real REAL, text TEXT, blob BLOB);
CREATE TABLE palettes (id INTEGER PRIMARY KEY, name TEXT NOT NULL, colour_id INTEGER NOT NULL, FOREIGN KEY (colour_id) REFERENCES colours(id));
INSERT INTO colours (id, name, rgb) VALUES (1, 'red', 0xff0000);
INSERT INTO colours (id, name, rgb) VALUES (2, 'green', 0x00ff00);
INSERT INTO colours (id, name, rgb) VALUES (3, 'blue', 0x0000ff);
INSERT INTO palettes (id, name, colour_id) VALUES (1, 'Night', 3);
"""


@pytest.fixture
async def db(app: App) -> Any:
    database = app.env.DB
    assert (await database.exec(SCHEMA))["count"] == 7  # one statement per line, as D1 counts
    return database


async def test_batch(db: Any) -> None:  # "D1Database: batch"
    insert = db.prepare("INSERT INTO colours (id, name, rgb) VALUES (?, ?, ?)")
    results = await db.batch([insert.bind(4, "yellow", 0xFFFF00), db.prepare("SELECT name FROM colours")])
    assert len(results) == 2
    assert results[0]["success"] is True and results[0]["results"] == []
    expected = [{"name": "red"}, {"name": "green"}, {"name": "blue"}, {"name": "yellow"}]
    assert results[1]["success"] is True and results[1]["results"] == expected
    bad = db.prepare("PUT IN colours (id, name, rgb) VALUES (?, ?, ?)")
    with pytest.raises(SqlError, match="syntax error"):
        await db.batch(
            [insert.bind(5, "purple", 0xFF00FF), bad.bind(6, "blurple", 0x5865F2), insert.bind(7, "cyan", 0x00FFFF)]
        )
    assert (await db.prepare("SELECT name FROM colours").all())["results"] == expected  # rolled back entirely


async def test_exec(db: Any) -> None:  # "D1Database: exec"
    result = await db.exec("UPDATE colours SET name = 'Red' WHERE name = 'red'")
    assert result["count"] == 1 and result["duration"] >= 0
    assert (await db.prepare("SELECT name FROM colours WHERE name = 'Red'").all())["results"] == [{"name": "Red"}]
    result = await db.exec(
        "UPDATE colours SET name = 'Green' WHERE name = 'green'\nUPDATE colours SET name = 'Blue' WHERE name = 'blue'"
    )
    assert result["count"] == 2 and result["duration"] >= 0
    names = (await db.prepare("SELECT name FROM colours").all())["results"]
    assert names == [{"name": "Red"}, {"name": "Green"}, {"name": "Blue"}]


async def test_bind(db: Any) -> None:  # "D1PreparedStatement: bind"
    await (
        db.prepare("INSERT INTO kitchen_sink (id, int, real, text, blob) VALUES (?, ?, ?, ?, ?)")
        .bind(1, 42, 3.141, "🙈", b"Walshy")
        .run()
    )
    rows = (await db.prepare("SELECT * FROM kitchen_sink").all())["results"]
    assert rows == [{"id": 1, "int": 42, "real": 3.141, "text": "🙈", "blob": b"Walshy"}]  # bytes, in Python
    await db.prepare("UPDATE kitchen_sink SET blob = ?").bind(None).run()
    assert (await db.prepare("SELECT blob FROM kitchen_sink").first("blob")) is None
    with pytest.raises(SqlError, match="one statement at a time"):
        await (
            db.prepare("SELECT * FROM colours WHERE name = ?; SELECT * FROM colours WHERE id = ?;").bind("green").all()
        )
    await db.prepare("INSERT INTO colours (id, name, rgb) VALUES (?3, ?1, ?2)").bind("yellow", 0xFFFF00, 4).run()
    assert await db.prepare("SELECT * FROM colours WHERE id = ?1").bind(4).first() == {
        "id": 4,
        "name": "yellow",
        "rgb": 0xFFFF00,
    }


async def test_first(db: Any) -> None:  # "D1PreparedStatement: first"
    select = db.prepare("SELECT * FROM colours")
    assert await select.first() == {"id": 1, "name": "red", "rgb": 0xFF0000}
    assert await select.first("id") == 1
    written = (
        await db.prepare("INSERT INTO colours (id, name, rgb) VALUES (?, ?, ?)").bind(4, "yellow", 0xFFFF00).first()
    )
    assert written is None  # a write runs, and has no row
    assert await db.prepare("SELECT id FROM colours WHERE name = ?").bind("yellow").first("id") == 4
    with pytest.raises(SqlError, match="column 'nope' is not in the result"):
        await select.first("nope")


async def test_run(db: Any) -> None:  # "D1PreparedStatement: run"
    result = await db.prepare("SELECT * FROM colours").run()
    assert result["success"] is True and result["meta"]["duration"] >= 0
    assert result["results"] == [
        {"id": 1, "name": "red", "rgb": 16711680},
        {"id": 2, "name": "green", "rgb": 65280},
        {"id": 3, "name": "blue", "rgb": 255},
    ]  # run() returns the rows a statement produces, as D1 now does
    assert result["meta"]["changed_db"] is False and result["meta"]["changes"] == 0 and result["meta"]["rows_read"] == 3
    returning = (
        await db.prepare("INSERT INTO colours (id, name, rgb) VALUES (?, ?, ?) RETURNING *")
        .bind(4, "yellow", 0xFFFF00)
        .run()
    )
    assert returning["results"] == [{"id": 4, "name": "yellow", "rgb": 16776960}]
    assert returning["meta"]["changed_db"] is True and returning["meta"]["changes"] == 1
    assert returning["meta"]["last_row_id"] == 4
    write = await db.prepare("INSERT INTO colours (id, name, rgb) VALUES (?, ?, ?)").bind(5, "orange", 0xFF8000).run()
    assert write["results"] == [] and write["meta"]["changes"] == 1 and write["meta"]["last_row_id"] == 5
    assert write["meta"]["rows_written"] == 1


async def test_all(db: Any) -> None:  # "D1PreparedStatement: all"
    result = await db.prepare("SELECT * FROM colours").all()
    assert result["success"] is True and len(result["results"]) == 3 and result["meta"]["duration"] >= 0
    assert (await db.prepare("SELECT * FROM colours WHERE name = ?").bind("none").all())["results"] == []
    joined = await db.prepare(
        "SELECT colours.name AS colour, palettes.name AS palette FROM palettes JOIN colours ON colours.id = palettes.colour_id"
    ).all()
    assert joined["results"] == [{"colour": "blue", "palette": "Night"}]


async def test_raw(db: Any) -> None:  # "D1PreparedStatement: raw"
    rows = await db.prepare("SELECT * FROM colours").raw()
    assert rows == [[1, "red", 0xFF0000], [2, "green", 0x00FF00], [3, "blue", 0x0000FF]]
    named = await db.prepare("SELECT id, name FROM colours WHERE id = 1").raw(column_names=True)
    assert named == [["id", "name"], [1, "red"]]


async def test_errors_name_the_reason(db: Any) -> None:  # throwCause(...): D1_ERROR with SQLite's reason
    with pytest.raises(SqlError, match="no such table: nope"):
        await db.prepare("SELECT * FROM nope").all()
    with pytest.raises(SqlError, match="FOREIGN KEY constraint failed"):
        await db.prepare("INSERT INTO palettes (id, name, colour_id) VALUES (2, 'Day', 99)").run()


async def test_operations_persist_d1_data(app: App, db: Any) -> None:  # "operations persist D1 data"
    await db.prepare("INSERT INTO colours (id, name, rgb) VALUES (4, 'purple', 0x800080)").run()
    await app.stop()
    async with reopened(app) as again:
        assert await again.env.DB.prepare("SELECT name FROM colours WHERE id = 4").first("name") == "purple"
