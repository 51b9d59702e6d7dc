"""Limits of the smart components against hostile input: indexing caps (``not_indexed`` with the
reason), documents indexed side by side, stop that abandons indexing, stored searches that
expire; SmartSQL's text-query allow-list and deadline, personal data that follows its rows,
identifiers that need quoting."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtime import App, BindingError
from runtime.smart import indexer as indexer_module
from runtime.smart import sql_pii
from tests.smart.fake_llm import FakeLlm
from tests.smart.hostile import pdf_bomb

pytestmark = pytest.mark.anyio
APPS = Path(__file__).parent / "apps"


@pytest.fixture
async def smart(tmp_path: Path) -> AsyncIterator[App]:
    shutil.copytree(APPS / "smart", tmp_path / "smart")
    async with App.from_manifest(tmp_path / "smart" / "raindrop.manifest", state_dir=tmp_path / "state") as app:
        yield app


@pytest.fixture
def callmeback(tmp_path: Path) -> Path:
    shutil.copytree(APPS / "callmeback", tmp_path / "cmb")
    return tmp_path / "cmb"


@pytest.fixture
async def sql_app(callmeback: Path) -> AsyncIterator[App]:
    async with App.from_manifest(callmeback / "raindrop.manifest") as app:
        yield app


async def wait_for(condition: Any, seconds: float) -> None:
    with anyio.fail_after(seconds):
        while not condition():
            await anyio.sleep(0.05)


# -- SmartBucket indexing --------------------------------------------------------------------------


async def test_text_past_the_cap_is_not_indexed_with_the_reason(smart: App) -> None:
    bucket = smart.env.BILLS
    await bucket.put("big.txt", b"word " * (1024 * 1024), http_metadata={"contentType": "text/plain"})  # 5 MiB
    await bucket.put("fine.txt", "a bill about rivers and bridges", http_metadata={"contentType": "text/plain"})
    await smart.drain()
    big = bucket.index_status("big.txt")
    assert big["state"] == "not_indexed" and "over the limit of 4,194,304 characters" in big["detail"]
    assert bucket.index_status("fine.txt")["state"] == "indexed"
    assert bucket._index.count(bucket._collection) == 1  # nothing of the big one was written


async def test_too_many_chunks_is_not_indexed(smart: App) -> None:
    bucket = smart.env.BILLS
    smart.smart.indexer.max_chunks = 3  # type: ignore[union-attr]
    await bucket.put("long.txt", "A sentence about the budget. " * 200, http_metadata={"contentType": "text/plain"})
    await smart.drain()
    status = bucket.index_status("long.txt")
    assert status["state"] == "not_indexed" and "more than 3 chunks" in status["detail"]


@pytest.mark.slow  # a process per PDF, or a 5 s deadline
async def test_a_pdf_that_inflates_past_the_cap_is_not_indexed(smart: App) -> None:
    bucket = smart.env.BILLS
    smart.smart.indexer.max_chars = 50_000  # type: ignore[union-attr]
    bomb = pdf_bomb(120_000)
    assert len(bomb) < 4_000  # a few kilobytes stored...
    await bucket.put("bomb.pdf", bomb, http_metadata={"contentType": "application/pdf"})
    await smart.drain()
    status = bucket.index_status("bomb.pdf")  # ...that would be over a hundred kilobytes of text
    assert status["state"] == "not_indexed" and "over the limit of 50,000 characters" in status["detail"]


@pytest.mark.slow  # a process per PDF, or a 5 s deadline
async def test_small_documents_are_not_held_behind_a_big_one_and_stop_leaves_it_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(APPS / "smart", tmp_path / "smart")
    manifest = tmp_path / "smart" / "raindrop.manifest"
    app = App.from_manifest(manifest, state_dir=tmp_path / "state")
    await app.start()
    bucket = app.env.BILLS
    await bucket.put("bomb.pdf", pdf_bomb(), http_metadata={"contentType": "application/pdf"})  # ~40 s in pypdf
    for n in range(5):
        await bucket.put(f"small-{n}.txt", f"note {n} about the harbour", http_metadata={"contentType": "text/plain"})
    await wait_for(lambda: all(bucket.index_status(f"small-{n}.txt")["state"] == "indexed" for n in range(5)), 30)
    assert bucket.index_status("bomb.pdf")["state"] == "pending"
    started = time.monotonic()
    await app.stop(grace=0.5)
    assert time.monotonic() - started < 5  # the extraction is abandoned, not waited for
    monkeypatch.setattr(indexer_module, "EXTRACT_SECONDS", 1.0)
    async with App.from_manifest(manifest, state_dir=tmp_path / "state") as again:
        assert again.env.BILLS.index_status("bomb.pdf")["state"] == "pending"  # left for this start
        await again.drain()
        status = again.env.BILLS.index_status("bomb.pdf")
        assert status["state"] == "not_indexed" and "took more than 1 s" in status["detail"]


async def test_stored_searches_expire(smart: App) -> None:
    bucket = smart.env.BILLS
    await bucket.put("a.txt", "the harbour bridge bill", http_metadata={"contentType": "text/plain"})
    await smart.drain()
    clock = [1_000_000.0]
    bucket._now = lambda: clock[0]
    await bucket.search(input="harbour", request_id="old")
    clock[0] += 31 * 60
    with pytest.raises(BindingError, match="it expired: searches are kept 30 minutes"):
        await bucket.get_paginated_results(request_id="old")
    for n in range(205):
        await bucket.search(input="bridge", request_id=f"r{n}")
    (kept,) = bucket._index.conn.execute(
        "SELECT count(*) FROM smartbucket_searches WHERE bucket = ?", (bucket.name,)
    ).fetchone()
    assert kept == 200  # the old one went at the first search past its time, then the oldest
    assert (await bucket.get_paginated_results(request_id="r204"))["pagination"]["total"] == 1


# -- SmartSQL --------------------------------------------------------------------------------------


def local_model(project: Path, llm: FakeLlm) -> None:
    (project / "raindrop.local.yaml").write_text(
        f"ai:\n  models:\n    llama-3.3-70b: {{provider: openai-compatible, base_url: '{llm.url}/v1', model: m}}\n"
    )


async def test_text_query_runs_only_select_with_and_values(callmeback: Path) -> None:
    with FakeLlm() as llm:
        local_model(callmeback, llm)
        async with App.from_manifest(callmeback / "raindrop.manifest") as app:
            db = app.env.CALL_ME_BACK_DB
            for refused in (
                "ROLLBACK",
                "COMMIT",
                "SAVEPOINT s",
                "RELEASE s",
                "BEGIN",
                "REINDEX",
                "VACUUM",
                "ANALYZE",
                "PRAGMA user_version = 7",
                "ATTACH DATABASE 'x.db' AS x",
                "WITH a AS (SELECT 1) DELETE FROM personas",
                "/* a comment first */ VACUUM",
            ):
                llm.chat_reply = f"```sql\n{refused}\n```"
                reply = await db.execute_query(text_query="do it")
                assert reply["status"] == 403, (refused, reply)
            for allowed, rows in (
                ("VALUES (1, 2)", [{"column1": 1, "column2": 2}]),
                ("WITH a(n) AS (SELECT 3) SELECT n FROM a", [{"n": 3}]),
                ("-- count them\nSELECT count(*) AS n FROM personas", [{"n": 3}]),
            ):
                llm.chat_reply = f"```sql\n{allowed}\n```"
                reply = await db.execute_query(text_query="ask")
                assert reply["status"] == 200 and json.loads(reply["results"]) == rows, (allowed, reply)
            assert not (callmeback / "x.db").exists()


@pytest.mark.slow  # a process per PDF, or a 5 s deadline
async def test_text_query_has_a_deadline(callmeback: Path) -> None:
    with FakeLlm() as llm:
        local_model(callmeback, llm)
        async with App.from_manifest(callmeback / "raindrop.manifest") as app:
            llm.chat_reply = (
                "```sql\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000000) "
                "SELECT count(*) FROM c\n```"
            )
            started = time.monotonic()
            reply = await app.env.CALL_ME_BACK_DB.execute_query(text_query="count forever")
            assert reply["status"] == 408 and "deadline of 5 s" in reply["message"]
            assert time.monotonic() - started < 8


async def test_personal_data_goes_with_its_rows_and_tables_and_is_stored_as_positions(sql_app: App) -> None:
    db = sql_app.env.CALL_ME_BACK_DB
    await db.execute_query(
        sql_query="INSERT INTO users (id, email, name) VALUES ('u1', 'ann@example.org', 'Ann'), "
        "('u2', 'bob@example.org', 'Card 4111 1111 1111 1111')"
    )
    assert {d["record_id"] for d in (await db.get_pii_data(table_name="users"))["pii_detections"]} == {"u1", "u2"}
    await db.execute_query(sql_query="DELETE FROM users WHERE id = 'u1'")
    assert [d["record_id"] for d in (await db.get_pii_data(table_name="users"))["pii_detections"]] == ["u2"]
    stored = db._db._worker.conn.execute("SELECT group_concat(entities) FROM _smartsql_pii").fetchone()[0]
    assert "ann@example.org" not in stored and "bob@example.org" not in stored and "4111" not in stored
    (u2,) = (await db.get_pii_data(table_name="users", record_id="u2"))["pii_detections"]
    assert [e["detected_text"] for e in u2["entities"]] == ["bob@example.org", "4111 1111 1111 1111"]  # from the row
    await db.execute_query(sql_query="CREATE TABLE contacts AS SELECT id, email FROM users")
    assert len((await db.get_pii_data(table_name="contacts"))["pii_detections"]) == 1  # made by the statement
    await db.execute_query(sql_query="DROP TABLE contacts")
    assert (await db.get_pii_data(table_name="contacts"))["pii_detections"] == []
    (count,) = db._db._worker.conn.execute(
        "SELECT count(*) FROM _smartsql_pii WHERE table_name = 'contacts'"
    ).fetchone()
    assert count == 0


async def test_a_one_row_update_scans_one_row(sql_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    db = sql_app.env.CALL_ME_BACK_DB
    await db.execute_query(
        sql_query="WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 10000) "
        "INSERT INTO users (id, email, name) SELECT 'u' || v, 'p' || v || '@example.org', 'n' FROM n"
    )
    assert len((await db.get_pii_data(table_name="users"))["pii_detections"]) == 10_000  # every row, not 10,000 at most
    scanned: list[str] = []
    real = sql_pii.detect

    def counting(text: str) -> list[dict[str, Any]]:
        scanned.append(text)
        return real(text)

    monkeypatch.setattr(sql_pii, "detect", counting)
    await db.execute_query(sql_query="UPDATE users SET name = 'call +14155552671' WHERE id = 'u77'")
    assert "call +14155552671" in scanned and len(scanned) <= 4, len(scanned)  # one row's text columns
    (u77,) = (await db.get_pii_data(table_name="users", record_id="u77"))["pii_detections"]
    assert [e["entity_type"] for e in u77["entities"]] == ["EMAIL", "PHONE_NUMBER"]


async def test_a_table_named_with_a_bracket_is_described_and_queried(callmeback: Path) -> None:
    with FakeLlm() as llm:
        local_model(callmeback, llm)
        async with App.from_manifest(callmeback / "raindrop.manifest") as app:
            db = app.env.CALL_ME_BACK_DB
            made = await db.execute_query(sql_query='CREATE TABLE "odd]name" ("we]ird" TEXT, "q""uote" INTEGER)')
            assert made["status"] == 200
            await db.execute_query(sql_query="INSERT INTO \"odd]name\" VALUES ('x@example.org', 1)")
            (table,) = (await db.get_metadata("odd]name"))["tables"]
            assert [(c["column_name"], c["sample_data"]) for c in table["columns"]] == [
                ("we]ird", "x@example.org"),
                ('q"uote', "1"),
            ]
            assert len((await db.get_pii_data(table_name="odd]name"))["pii_detections"]) == 1
            llm.chat_reply = '```sql\nSELECT count(*) AS n FROM "odd]name"\n```'
            reply = await db.execute_query(text_query="how many odd rows?")
            assert reply["status"] == 200 and json.loads(reply["results"]) == [{"n": 1}]


async def test_personal_data_in_a_without_rowid_table(sql_app: App) -> None:
    db = sql_app.env.CALL_ME_BACK_DB
    await db.execute_query(sql_query="CREATE TABLE notes (slug TEXT PRIMARY KEY, body TEXT) WITHOUT ROWID")
    await db.execute_query(sql_query="INSERT INTO notes VALUES ('a', 'write to ann@example.org'), ('b', 'nothing')")
    (found,) = (await db.get_pii_data(table_name="notes"))["pii_detections"]
    assert found["record_id"] == "a" and found["entities"][0]["detected_text"] == "ann@example.org"
    await db.execute_query(sql_query="UPDATE notes SET slug = 'a2' WHERE slug = 'a'")  # the key itself changes
    assert [d["record_id"] for d in (await db.get_pii_data(table_name="notes"))["pii_detections"]] == ["a2"]
    await db.execute_query(sql_query="DELETE FROM notes")
    assert (await db.get_pii_data(table_name="notes"))["pii_detections"] == []
