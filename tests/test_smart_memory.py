"""SmartMemory end to end on the fake clock, on every backend: working memory, episodes,
semantic documents and procedures, durable across a restart."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from runtime import App, BindingError, FakeClock
from tests.backends import BACKENDS, backend_url

pytestmark = pytest.mark.anyio
APP = Path(__file__).parent / "apps" / "smart"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return backend_url(request.param, tmp_path)


@pytest.fixture
async def app(backend: str, clock: FakeClock, tmp_path: Path) -> AsyncIterator[App]:
    shutil.copytree(APP, tmp_path / "smart")
    running = App.from_manifest(
        tmp_path / "smart" / "raindrop.manifest", backend=backend, clock=clock, state_dir=tmp_path / "state"
    )
    async with running:
        yield running


async def test_a_session_then_its_episode_the_next_day(app: App, clock: FakeClock) -> None:
    memory = app.env.AGENT_MEMORY
    started = await memory.start_working_memory_session()
    session, wm = started["session_id"], started["working_memory"]
    first = await wm.put_memory("The user wants a podcast about healthcare policy every morning", agent="planner")
    clock.advance(minutes=5)
    await wm.put_memory("They live in Columbus, Ohio", timeline="profile", key="city", agent="planner")
    clock.advance(minutes=5)
    await wm.put_memory("Prefers episodes shorter than ten minutes", timeline="profile", key="length")

    everything = await wm.get_memory()
    assert [e["content"][:9] for e in everything] == ["The user ", "They live", "Prefers e"]
    entry = everything[0]
    assert set(entry) == {"id", "in", "timeline", "by", "due_to", "content", "at", "key", "agent"}
    assert entry["id"] == first and entry["in"] == session and entry["timeline"] == "*defaultTimeline"
    assert entry["at"] == START and entry["agent"] == "planner"
    profile = await wm.get_memory(timeline="profile")
    assert [e["key"] for e in profile] == ["city", "length"]
    assert [e["key"] for e in await wm.get_memory(timeline="profile", n_most_recent=1)] == ["length"]
    assert await wm.get_memory(key="city") == [profile[0]]
    assert await wm.get_memory(key="nothing") is None
    window = await wm.get_memory(start_time=START + timedelta(minutes=4), end_time=START + timedelta(minutes=6))
    assert [e["key"] for e in window] == ["city"]

    found = await wm.search_memory("medical topics in the news")  # a paraphrase of "healthcare policy"
    assert found[0]["id"] == first
    assert (await wm.search_memory("where do they live", timeline="profile"))[0]["key"] == "city"

    summary = await wm.summarize_memory(everything)
    assert summary["metadata"] == {"duration": 600_000, "timeline_count": 2, "entry_count": 3, "agent": "planner"}
    assert set(summary["entries"]) == {"*defaultTimeline", "profile"} and "offline" in summary["summary"]

    await wm.end_session(flush=True)
    with pytest.raises(BindingError, match="has ended"):
        await wm.put_memory("too late")

    clock.advance(days=1)
    episodes = await memory.search_episodic_memory("health care shows")
    (episode,) = episodes["results"]
    assert episode["session_id"] == session and episode["entry_count"] == 3 and episode["timeline_count"] == 2
    assert episode["duration"] == 600_000 and episode["created_at"] == START + timedelta(minutes=10)
    assert episode["score"] > 0 and episodes["pagination"]["total"] == 1
    later = await memory.search_episodic_memory("health care", start_time=START + timedelta(hours=1))
    assert later["results"] == []
    assert (await memory.search_episodic_memory("health care", n_most_recent=1))["results"][0]["session_id"] == session

    restored = await memory.rehydrate_session(session)
    assert restored["success"] and restored["entries_restored"] == 3 and restored["session_id"] != session
    again = await restored["working_memory"].get_memory(timeline="profile")
    assert [e["content"] for e in again] == [e["content"] for e in profile]
    status = await restored["working_memory"].get_rehydration_status()
    assert status["status"] == "completed" and status["entries_restored"] == 3 and status["session_id"] == session
    only_summary = await memory.rehydrate_session(session, summary_only=True)
    assert only_summary["entries_restored"] == 1
    assert not (await memory.rehydrate_session("no-such-session"))["success"]


async def test_sessions_are_separate_and_deletes_work(app: App) -> None:
    memory = app.env.AGENT_MEMORY
    one = (await memory.start_working_memory_session())["working_memory"]
    two = (await memory.start_working_memory_session())["working_memory"]
    kept = await one.put_memory("glaciers are retreating")
    await two.put_memory("glaciers are advancing in Norway")
    assert [e["content"] for e in await one.search_memory("glaciers")] == ["glaciers are retreating"]
    await one.delete_memory(kept)
    assert await one.get_memory() is None and await one.search_memory("glaciers") is None
    same = await memory.get_working_memory_session(two.session_id)
    assert len(await same.get_memory()) == 1
    with pytest.raises(BindingError, match="no working memory session 'nope'"):
        await memory.get_working_memory_session("nope")
    with pytest.raises(BindingError, match="must be non-empty text"):
        await one.put_memory("   ")
    with pytest.raises(BindingError, match="positive whole number"):
        await one.get_memory(n_most_recent=0)
    with pytest.raises(BindingError, match="naive datetime"):
        await one.get_memory(start_time=datetime(2026, 1, 1))


async def test_semantic_documents_and_procedures(app: App, clock: FakeClock) -> None:
    memory = app.env.AGENT_MEMORY
    put = await memory.put_semantic_memory({"title": "Solar subsidies", "body": "Tax credits for rooftop panels"})
    assert put["success"] and put["error"] is None
    await memory.put_semantic_memory({"title": "Fishing quotas", "body": "Limits on cod in the North Atlantic"})
    got = await memory.get_semantic_memory(put["object_id"])
    assert got == {
        "success": True,
        "document": {"title": "Solar subsidies", "body": "Tax credits for rooftop panels"},
        "error": None,
    }
    found = await memory.search_semantic_memory("renewable power incentives for houses")
    assert found["success"] and found["document_search_response"]["results"][0]["source"] == put["object_id"]
    # a document that is one chunk is found as its JSON, which apps parse back
    assert json.loads(found["document_search_response"]["results"][0]["text"]) == {
        "title": "Solar subsidies",
        "body": "Tax credits for rooftop panels",
    }
    assert (await memory.delete_semantic_memory(put["object_id"])) == {"success": True, "error": None}
    assert not (await memory.get_semantic_memory(put["object_id"]))["success"]
    assert not (await memory.put_semantic_memory(["not", "a", "dict"]))["success"]  # type: ignore[arg-type]

    procedures = await memory.get_procedural_memory()
    await procedures.put_procedure("greeting", "Welcome the listener by name and mention their state")
    clock.advance(seconds=30)
    await procedures.put_procedure("sign-off", "Thank the listener and preview tomorrow's topics")
    assert await procedures.get_procedure("greeting") == "Welcome the listener by name and mention their state"
    listed = await procedures.list_procedures()
    assert [p["key"] for p in listed] == ["greeting", "sign-off"] and listed[1]["created_at"] == START + timedelta(
        seconds=30
    )
    assert (await procedures.search_procedures("saying goodbye at the end"))[0]["key"] == "sign-off"
    assert (await procedures.search_procedures("greeting", search_values=False))[0]["key"] == "greeting"
    assert await procedures.search_procedures("anything", search_keys=False, search_values=False) is None
    assert [p["key"] for p in await procedures.search_procedures("listener", n_most_recent=1)] == ["sign-off"]
    assert await procedures.delete_procedure("greeting") is True
    assert await procedures.delete_procedure("greeting") is False
    other = await memory.get_procedural_memory("podcast-style")
    assert await other.list_procedures() == []


async def test_memories_survive_a_restart(backend: str, clock: FakeClock, tmp_path: Path) -> None:
    shutil.copytree(APP, tmp_path / "smart")
    manifest = tmp_path / "smart" / "raindrop.manifest"
    if backend.startswith("memory"):
        pytest.skip("the memory backend keeps nothing after its process: nothing to survive")
    async with App.from_manifest(manifest, backend=backend, clock=clock, state_dir=tmp_path / "state") as app:
        memory = app.env.AGENT_MEMORY
        wm = (await memory.start_working_memory_session())["working_memory"]
        await wm.put_memory("the listener likes jazz")
        await wm.end_session(flush=True)
        doc = await memory.put_semantic_memory({"fact": "Ohio's capital is Columbus"})
        await (await memory.get_procedural_memory()).put_procedure("tone", "calm and friendly")
    async with App.from_manifest(manifest, backend=backend, clock=clock, state_dir=tmp_path / "state") as again:
        memory = again.env.AGENT_MEMORY
        assert (await memory.search_episodic_memory("music taste"))["results"][0]["entry_count"] == 1
        assert (await memory.get_semantic_memory(doc["object_id"]))["document"] == {
            "fact": "Ohio's capital is Columbus"
        }
        assert await (await memory.get_procedural_memory()).get_procedure("tone") == "calm and friendly"


async def test_concurrent_writes_share_commits_and_a_failed_one_fails_alone(app: App) -> None:
    memory = app.env.AGENT_MEMORY
    wm = (await memory.start_working_memory_session())["working_memory"]
    await wm.put_memory("the embedding model loads once")
    assert app.smart is not None
    writer = app.smart.memory_writer
    before = writer.commits
    async with anyio.create_task_group() as group:
        for number in range(50):
            group.start_soon(wm.put_memory, f"ferry note {number}")
    assert len(await wm.get_memory()) == 51
    assert writer.commits - before < 50  # fifty writes in flight share transactions

    def broken(conn: Any, after: Any) -> None:
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    results = await asyncio.gather(
        writer.write(broken), wm.put_memory("written beside a broken job", key="beside"), return_exceptions=True
    )
    assert isinstance(results[0], sqlite3.OperationalError) and isinstance(results[1], str)
    assert (await wm.get_memory(key="beside"))[0]["content"] == "written beside a broken job"


WRITER = """
import asyncio, sys
from pathlib import Path
from runtime import App

async def main() -> None:
    async with App.from_manifest(Path(sys.argv[1]), state_dir=Path(sys.argv[2])) as app:
        wm = (await app.env.AGENT_MEMORY.start_working_memory_session())["working_memory"]
        print(wm.session_id, flush=True)

        async def put(number: int) -> None:
            size = 8000 if number % 50 == 7 else number % 5 * 200  # some past one transaction of chunks
            content = f"note {number} " + "about ferries and islands " * size
            print(await wm.put_memory(content), flush=True)  # printed once acknowledged

        number = 0
        while True:
            await asyncio.gather(*(put(number + offset) for offset in range(50)))
            number += 50

asyncio.run(main())
"""


@pytest.mark.slow  # a writer process killed with SIGKILL
async def test_acknowledged_memory_writes_survive_sigkill(tmp_path: Path) -> None:
    shutil.copytree(APP, tmp_path / "smart")
    manifest, state = tmp_path / "smart" / "raindrop.manifest", tmp_path / "state"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(manifest), str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert child.stdout is not None
    session = child.stdout.readline().strip()
    acked: list[str] = []
    while len(acked) < 300:
        line = child.stdout.readline()
        assert line, child.stderr.read() if child.stderr else "the writer stopped"
        acked.append(line.strip())
    child.send_signal(signal.SIGKILL)
    out, _ = child.communicate()
    acked += [line for line in out.splitlines()[:-1]]  # the last line may have been cut by the kill
    async with App.from_manifest(manifest, state_dir=state) as again:
        wm = await again.env.AGENT_MEMORY.get_working_memory_session(session)
        stored = {entry["id"] for entry in await wm.get_memory() or []}
        assert not set(acked) - stored, f"{len(set(acked) - stored)} acknowledged entries lost"
        found = await wm.search_memory("ferries and islands")
        assert found is not None and {entry["id"] for entry in found} <= stored
