"""No runtime operation holds the event loop for more than 100 ms, whatever the input.

The runtime probes its own loop (``App.loop_lag``); each hostile input below is fed to a
running app while the probe measures, and the worst lag seen must stay under the budget. Each
input stalled the loop for seconds before the work moved off it (measured then: a 19 KB PDF
that inflates to 5 MB of text, 17.8 s; a 40 MB text document, 4.2 s; a crafted 120 KB value
through the personal-data scan, 10.6 s; a one-row UPDATE of a 10,000-row table, 2.3 s; a
recursive CTE through ``text_query``, 7.4 s and unbounded; 5,000 SmartMemory entries written
50 at a time with searches among them, 190-210 ms; one 4 MB memory entry, 200-250 ms).

What is asserted is the lag this process causes (``LoopLag.held``: the lag less the time the
kernel kept the loop's thread waiting for a CPU, which other processes on a shared machine
cause). Each input is tried up to three times and must stay under the budget in one of them
(the stalls above were seconds every time).
"""

from __future__ import annotations

import asyncio
import gc
import json
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from runtime import App, looplag
from runtime.dashboard import Dashboard
from runtime.looplag import LoopLag
from runtime.sql import SqlDatabase
from tests.smart.fake_llm import FakeLlm
from tests.smart.hostile import pdf_bomb, pii_bomb

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _earlier_tests_frozen() -> Iterator[None]:
    """What the earlier tests of a whole run left in this process is frozen out of the garbage
    collector's full passes: late in a full run one such pass took 106 to 125 ms, and it landed
    in whichever step was being measured (measured alone, those steps held the loop 14 to 28
    ms). These tests measure what the runtime does to its loop, as in a process of its own."""
    gc.collect()
    gc.freeze()
    yield


APPS = Path(__file__).parent / "apps"
BUDGET = 0.100  # seconds


async def test_the_probe_sees_a_stall_and_the_dashboard_shows_it(tmp_path: Path) -> None:
    shutil.copytree(APPS / "smart", tmp_path / "smart")
    async with App.from_manifest(tmp_path / "smart" / "raindrop.manifest", state_dir=tmp_path / "state") as app:
        await asyncio.sleep(0.1)
        time.sleep(0.3)  # a handler that blocks the loop
        await asyncio.sleep(0.05)
        assert app.loop_lag.worst >= 0.25 and app.loop_lag.held >= 0.25  # the loop's own work counts in full
        dashboard = Dashboard(app, {})
        transport = httpx.ASGITransport(app=dashboard, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            lag = (await client.get("/_runtime/api/overview")).json()["loop_lag"]
            page = (await client.get("/_runtime/")).text
        assert lag["max_ms"] >= 250 and lag["p99_ms"] <= lag["max_ms"] and lag["samples"] > 3
        assert 'id="looplag"' in page


async def test_snapshot_of_no_samples() -> None:
    probe = LoopLag()
    assert probe.snapshot()["max_ms"] is None
    probe.start()
    await asyncio.sleep(0.1)
    await probe.stop()
    assert probe.snapshot()["samples"] >= 1


async def within_budget(app: App, label: str, step: Callable[[int], Awaitable[Any]]) -> None:
    """Run ``step(attempt)`` up to three times; one run must keep the loop's lag in budget."""
    seen = []
    for attempt in range(3):
        await asyncio.sleep(0.05)
        app.loop_lag.reset()
        started = time.perf_counter()
        await step(attempt)
        await asyncio.sleep(0.05)  # the probe wakes once more after the step
        lag = app.loop_lag
        seen.append((round(lag.held * 1000, 1), round(lag.worst * 1000, 1), round(time.perf_counter() - started, 2)))
        if lag.held < BUDGET:
            print(
                f"{label}: loop held at most {seen[-1][0]} ms (plain lag {seen[-1][1]} ms) over {seen[-1][2]} s; runs {seen}"
            )
            return
    pytest.fail(
        f"{label}: the event loop was held past {BUDGET * 1000:.0f} ms in every run (held ms, lag ms, s): {seen}"
    )


@pytest.mark.slow
async def test_hostile_documents_do_not_hold_the_loop(tmp_path: Path) -> None:
    shutil.copytree(APPS / "smart", tmp_path / "smart")
    async with App.from_manifest(tmp_path / "smart" / "raindrop.manifest", state_dir=tmp_path / "state") as app:
        bucket = app.env.BILLS
        assert app.smart is not None
        app.smart.indexer.extract_seconds = 5.0  # pypdf would read this stream for about a minute
        await bucket.put("warm.txt", "the embedding model loads once", http_metadata={"contentType": "text/plain"})
        await app.drain()

        async def bomb(attempt: int) -> None:
            await bucket.put(f"bomb-{attempt}.pdf", pdf_bomb(), http_metadata={"contentType": "application/pdf"})
            await bucket.put(f"note-{attempt}.txt", "a small note", http_metadata={"contentType": "text/plain"})
            await app.drain()
            assert bucket.index_status(f"bomb-{attempt}.pdf")["state"] == "not_indexed"
            assert bucket.index_status(f"note-{attempt}.txt")["state"] == "indexed"

        await within_budget(app, "PDF that inflates to megabytes", bomb)
        forty = b"lorem ipsum dolor sit amet " * (40 * 1024 * 1024 // 27)

        async def big_text(attempt: int) -> None:
            # Storing 40 MB is the plain bucket's work (its own finding); what is measured here
            # is what the SmartBucket adds: indexing it.
            await bucket.put(f"big-{attempt}.txt", forty, http_metadata={"contentType": "text/plain"})
            app.loop_lag.reset()
            await app.drain()
            assert bucket.index_status(f"big-{attempt}.txt")["state"] == "not_indexed"

        await within_budget(app, "40 MB text document", big_text)
        under_cap = b"lorem ipsum dolor sit amet. " * (3 * 1024 * 1024 // 28)  # 3 MiB: indexed, 4,000 chunks

        async def most_text(attempt: int) -> None:
            await bucket.put(f"most-{attempt}.txt", under_cap, http_metadata={"contentType": "text/plain"})
            app.loop_lag.reset()
            await app.drain()
            status = bucket.index_status(f"most-{attempt}.txt")
            assert status["state"] == "indexed" and status["chunks"] > 3000
            assert (await bucket.search(input="lorem ipsum"))["results"]

        await within_budget(app, "3 MiB text document, indexed", most_text)


@pytest.mark.slow
async def test_hostile_sql_does_not_hold_the_loop(tmp_path: Path) -> None:
    shutil.copytree(APPS / "callmeback", tmp_path / "cmb")
    project = tmp_path / "cmb"
    with FakeLlm() as llm:
        (project / "raindrop.local.yaml").write_text(
            f"ai:\n  models:\n    llama-3.3-70b: {{provider: openai-compatible, base_url: '{llm.url}/v1', model: m}}\n"
        )
        async with App.from_manifest(project / "raindrop.manifest") as app:
            db = app.env.CALL_ME_BACK_DB
            await db.execute_query(
                sql_query="WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 10000) "
                "INSERT INTO users (id, email, name, phone) SELECT 'u' || v, 'person' || v || '@example.org', "
                "printf('%.1000c', 'x'), '+1415555' || printf('%04d', v) FROM n"
            )
            crafted = pii_bomb()

            async def pii(attempt: int) -> None:
                reply = await db.execute_query(
                    sql_query=f"INSERT INTO users (id, email, name) VALUES ('bomb{attempt}', 'b{attempt}@example.org', "
                    f"'{crafted}')"
                )
                assert reply["status"] == 200

            await within_budget(app, "crafted 120 KB value through the PII scan", pii)

            async def one_row(attempt: int) -> None:
                reply = await db.execute_query(
                    sql_query=f"UPDATE users SET name = 'call 4111 1111 1111 1111 #{attempt}' WHERE id = 'u5000'"
                )
                assert reply["status"] == 200 and "1 row(s) changed" in reply["message"]

            await within_budget(app, "one-row UPDATE of a 10,000-row table", one_row)
            (u5000,) = (await db.get_pii_data(table_name="users", record_id="u5000"))["pii_detections"]
            assert "CREDIT_CARD" in [e["entity_type"] for e in u5000["entities"]]

            llm.chat_reply = (
                "```sql\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c\n```"
            )

            async def cte(attempt: int) -> None:
                reply = await db.execute_query(text_query="every number")
                assert reply["status"] in (408, 413), reply  # stopped at the deadline, or at the row cap

            await within_budget(app, "recursive CTE through text_query", cte)
            llm.chat_reply = "```sql\nWITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c WHERE x < 0\n```"

            async def endless(attempt: int) -> None:
                reply = await db.execute_query(text_query="a number below zero")
                assert reply["status"] == 408, reply

            await within_budget(app, "recursive CTE that finds nothing, stopped at the deadline", endless)

            replies: list[str] = []

            async def large(attempt: int) -> None:
                for format in ("json", "csv"):
                    reply = await db.execute_query(sql_query="SELECT * FROM users", format=format)  # type: ignore[arg-type]
                    assert reply["status"] == 200 and len(reply["results"]) > 10_000_000
                    replies.append(reply["results"])

            await within_budget(app, "10 MB SQL result", large)
            assert len(json.loads(replies[0])) >= 10_000  # parsed here: parsing 10 MB is the test's own work


class _Probed:
    """What :func:`within_budget` needs of an app: a running loop-lag probe."""

    def __init__(self) -> None:
        self.loop_lag = LoopLag()


@pytest.mark.slow
async def test_heavy_user_sql_does_not_hold_the_loop(tmp_path: Path) -> None:
    """``env.DB``'s statements run on the database's worker (before: a 3M-row CTE held the loop
    for the whole statement, seconds; a 10 MB result as long as it took to fetch and convert)."""
    db = SqlDatabase("DB", tmp_path / "db.sqlite")
    probed = _Probed()
    probed.loop_lag.start()
    try:
        await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT, n INTEGER)")

        async def cte(attempt: int) -> None:
            sql = "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 3000000) SELECT count(*) AS c FROM n"
            assert await db.prepare(sql).first("c") == 3_000_000

        await within_budget(probed, "3M-row recursive CTE through env.DB", cte)  # type: ignore[arg-type]

        async def insert_update(attempt: int) -> None:
            await db.exec("DELETE FROM t")
            inserted = await db.prepare(
                "INSERT INTO t (id, body, n) WITH RECURSIVE n(v) AS "
                "(SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 200000) SELECT v, printf('%.50c', 'x'), v FROM n"
            ).run()
            assert inserted["meta"]["changes"] == 200_000
            updated = await db.prepare("UPDATE t SET n = n + 1").run()
            assert updated["meta"]["changes"] == 200_000

        await within_budget(probed, "200k-row INSERT then UPDATE through env.DB", insert_update)  # type: ignore[arg-type]
        await db.exec("DELETE FROM t")
        await db.prepare(
            "WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 10000) "
            "INSERT INTO t (id, body, n) SELECT v, printf('%.1000c', 'x'), v FROM n"
        ).run()

        async def large(attempt: int) -> None:
            result = await db.prepare("SELECT * FROM t").all()
            assert len(result["results"]) == 10_000 and result["meta"]["rows_read"] == 10_000

        await within_budget(probed, "10 MB result through env.DB", large)  # type: ignore[arg-type]
    finally:
        await probed.loop_lag.stop()
        db.close()


@pytest.mark.slow
async def test_a_smartsql_update_of_200k_rows_does_not_hold_the_loop(tmp_path: Path) -> None:
    shutil.copytree(APPS / "callmeback", tmp_path / "cmb")
    async with App.from_manifest(tmp_path / "cmb" / "raindrop.manifest", state_dir=tmp_path / "state") as app:
        db = app.env.CALL_ME_BACK_DB
        reply = await db.execute_query(
            sql_query="WITH RECURSIVE n(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM n WHERE v < 200000) "
            "INSERT INTO users (id, email, name) SELECT 'u' || v, 'user' || v, 'name' FROM n"
        )
        assert reply["status"] == 200, reply

        async def update(attempt: int) -> None:
            reply = await db.execute_query(sql_query=f"UPDATE users SET name = 'name {attempt}'")
            assert reply["status"] == 200 and "200000 row(s) changed" in reply["message"], reply

        await within_budget(app, "SmartSQL UPDATE of 200k rows", update)


NOTE = "They cross between the islands most weekends and keep asking for departures, fares and delays. " * 10


async def _search(session: Any, found: list[Any]) -> None:
    found.append(await session.search_memory("ferry timetables"))
    found.append(await session.get_memory(n_most_recent=10))


@pytest.mark.slow
async def test_a_burst_of_memory_writes_and_searches_does_not_hold_the_loop(tmp_path: Path) -> None:
    """5,000 ``put_memory`` calls, 50 in flight, with searches among them; a search reads the
    whole session (before, each write's commit, its full-text and vector index writes and each
    search ran on the loop: a search of 5,000 entries held it for 130-210 ms)."""
    shutil.copytree(APPS / "smart", tmp_path / "smart")
    async with App.from_manifest(tmp_path / "smart" / "raindrop.manifest", state_dir=tmp_path / "state") as app:
        memory = app.env.AGENT_MEMORY
        session = (await memory.start_working_memory_session())["working_memory"]
        await session.put_memory("the embedding model loads once")
        found: list[Any] = []

        async def put(number: int) -> None:
            await session.put_memory(f"note {number}: the listener asked about ferry {number % 97} timetables. {NOTE}")

        async def burst(attempt: int) -> None:
            for start in range(attempt * 5000, attempt * 5000 + 5000, 50):
                async with anyio.create_task_group() as group:
                    for number in range(start, start + 50):
                        group.start_soon(put, number)
                    if start % 1000 == 950:  # the last while the 5,000th entry is written
                        group.start_soon(_search, session, found)
            await _search(session, found)

        await within_budget(app, "5,000 memory writes, 50 in flight, and searches", burst)
        assert found[-1] is not None
        assert len(await session.get_memory()) > 5000


@pytest.mark.slow
async def test_a_huge_memory_entry_does_not_hold_the_loop(tmp_path: Path) -> None:
    """One entry of 4 MB of text: thousands of chunks to embed and index."""
    shutil.copytree(APPS / "smart", tmp_path / "smart")
    async with App.from_manifest(tmp_path / "smart" / "raindrop.manifest", state_dir=tmp_path / "state") as app:
        memory = app.env.AGENT_MEMORY
        session = (await memory.start_working_memory_session())["working_memory"]
        await session.put_memory("the embedding model loads once")
        huge = "the listener keeps a diary of every ferry crossing. " * (4 * 1024 * 1024 // 52)

        async def put_huge(attempt: int) -> None:
            entry = await session.put_memory(huge + f" crossing {attempt}", key=f"diary-{attempt}")
            hits = await session.search_memory("diary of ferry crossings")
            assert hits is not None and entry in [hit["id"] for hit in hits]

        await within_budget(app, "one 4 MB memory entry", put_huge)


async def test_an_idle_process_is_probed_less_often_and_a_reset_or_work_brings_it_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 20 ms the probe's own wake-ups were three quarters of an idle app's CPU: idle, it
    slows down; busy (or reset, as a measuring test does), it is back at its interval. The
    process's CPU clock is the test's (other tests' threads may still be working in it)."""
    cpu = [0.0]
    monkeypatch.setattr(looplag, "_cpu", lambda: cpu[0])
    monkeypatch.setattr(looplag, "IDLE_AFTER", 0.2)
    probe = LoopLag()
    probe.start()
    try:
        await asyncio.sleep(0.5)
        assert probe._slow and probe.snapshot()["interval_ms"] == looplag.IDLE_INTERVAL * 1000  # as it probes now
        slow_from = probe.snapshot()["samples"]
        await asyncio.sleep(0.5)
        assert probe.snapshot()["samples"] - slow_from <= 0.5 / looplag.IDLE_INTERVAL + 1  # about 5, not 25
        time.sleep(0.3)  # a stall from idleness: caught, read at most IDLE_INTERVAL short
        await asyncio.sleep(0.05)
        assert probe.worst >= 0.3 - looplag.IDLE_INTERVAL - 0.01
        assert not probe._slow  # the late wake-up put it back at 20 ms
        await asyncio.sleep(0.5)
        assert probe._slow
        probe.reset()
        assert not probe._slow
        await asyncio.sleep(0.1)
        assert probe.snapshot()["samples"] >= 3  # at 20 ms again
        busy_until = time.perf_counter() + 0.6
        while time.perf_counter() < busy_until:  # a process at work stays probed at 20 ms
            cpu[0] += 0.005
            await asyncio.sleep(0.01)
        assert not probe._slow
    finally:
        await probe.stop()


async def test_a_process_with_a_periodic_chore_is_still_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """A poll of 2 ms every 250 ms (0.8% of a core) in an otherwise idle process: judged wake-up
    by wake-up (2 ms in a 20 ms span is over 5%) the probe never slowed down, and its own
    wake-ups kept an idle app at 2.4% of a core on a machine where each costs 0.3 ms."""
    cpu = [0.0]
    monkeypatch.setattr(looplag, "_cpu", lambda: cpu[0])
    monkeypatch.setattr(looplag, "IDLE_AFTER", 0.3)
    probe = LoopLag()
    probe.start()

    async def chore() -> None:
        while True:
            await asyncio.sleep(0.25)
            cpu[0] += 0.002

    task = asyncio.ensure_future(chore())
    try:
        await asyncio.sleep(1.2)
        assert probe._slow
    finally:
        task.cancel()
        await probe.stop()
