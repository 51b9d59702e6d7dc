"""``sql_database`` statements run off the loop under a time limit, and closing never hangs."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from runtime.sql import SqlDatabase, SqlError

pytestmark = pytest.mark.anyio
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS n FROM c"


async def test_an_endless_read_is_stopped_at_the_limit_with_an_error_naming_the_database(tmp_path: Path) -> None:
    db = SqlDatabase("ORDERS", tmp_path / "db.sqlite", statement_timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(SqlError, match=r"database 'ORDERS': the statement ran past its 0\.3 s limit"):
            await db.prepare(ENDLESS).first()
        assert time.monotonic() - started < 3
        assert await db.prepare("SELECT 1 AS one").first("one") == 1  # the database still answers
    finally:
        db.close()


async def test_an_endless_write_is_stopped_and_the_other_writers_of_its_group_commit(tmp_path: Path) -> None:
    db = SqlDatabase("ORDERS", tmp_path / "db.sqlite", statement_timeout=0.3)
    try:
        await db.exec("CREATE TABLE t (x INTEGER)")
        endless = "INSERT INTO t (x) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
        results = await asyncio.gather(
            db.prepare("INSERT INTO t VALUES (-1)").run(),
            db.prepare(endless).run(),
            db.prepare("INSERT INTO t VALUES (-2)").run(),
            return_exceptions=True,
        )
        assert isinstance(results[1], SqlError) and "limit" in str(results[1])
        stored = {row[0] for row in sqlite3.connect(tmp_path / "db.sqlite").execute("SELECT x FROM t")}
        # an interrupted write may take its transaction with it: a writer is told so, never acked falsely
        for result, value in ((results[0], -1), (results[2], -2)):
            if isinstance(result, BaseException):
                assert value not in stored and "rolled back" in str(result)
            else:
                assert value in stored
        assert await db.prepare("INSERT INTO t VALUES (7)").run()
    finally:
        db.close()


async def test_exec_is_under_the_limit_too(tmp_path: Path) -> None:
    db = SqlDatabase("ORDERS", tmp_path / "db.sqlite", statement_timeout=0.3)
    try:
        with pytest.raises(SqlError, match=r"0\.3 s limit"):
            await db.exec(ENDLESS)
    finally:
        db.close()


async def test_close_interrupts_a_long_statement_instead_of_waiting_for_it(tmp_path: Path) -> None:
    db = SqlDatabase("ORDERS", tmp_path / "db.sqlite")  # the default limit: 30 s
    assert db.statement_timeout == 30
    running = asyncio.ensure_future(db.exec(ENDLESS))  # exec runs on the database's worker
    await asyncio.sleep(0.2)
    started = time.monotonic()
    db.close()
    assert time.monotonic() - started < 3
    with pytest.raises(SqlError, match="stopped"):
        await asyncio.wait_for(running, 3)
    with pytest.raises(SqlError, match="closed"):
        await db.prepare("SELECT 1").first()


async def test_a_point_read_and_a_read_of_a_temp_table(tmp_path: Path) -> None:
    db = SqlDatabase("ORDERS", tmp_path / "db.sqlite")
    try:
        await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        await db.prepare("INSERT INTO t VALUES (1, 'one')").run()
        assert await db.prepare("SELECT v FROM t WHERE id = ?").bind(1).first("v") == "one"
        # a TEMP table lives on the write connection: the read is answered there
        await db.exec("CREATE TEMP TABLE scratch (v TEXT)")
        await db.prepare("INSERT INTO scratch VALUES ('tmp')").run()
        assert await db.prepare("SELECT v FROM scratch").first("v") == "tmp"
        with pytest.raises(SqlError, match="no such table: missing_table"):
            await db.prepare("SELECT * FROM missing_table").all()
    finally:
        db.close()


async def test_a_write_that_meets_another_connections_lock_waits_for_it_off_the_loop(tmp_path: Path) -> None:
    db = SqlDatabase("ORDERS", tmp_path / "db.sqlite")
    try:
        await db.exec("CREATE TABLE t (x INTEGER)")
        other = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        lone = asyncio.ensure_future(db.prepare("INSERT INTO t VALUES (1)").run())
        await asyncio.sleep(0)
        group = [asyncio.ensure_future(db.prepare("INSERT INTO t VALUES (?)").bind(n).run()) for n in (2, 3)]
        started = time.monotonic()
        await asyncio.sleep(0.2)  # the loop is free meanwhile: the writes wait on the worker
        assert time.monotonic() - started < 1 and not lone.done()
        other.execute("COMMIT")
        await asyncio.gather(lone, *group)
        assert sorted(row[0] for row in other.execute("SELECT x FROM t")) == [1, 2, 3]  # acknowledged: committed
        other.close()
    finally:
        db.close()
