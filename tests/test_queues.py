"""Queue delivery through the App, on the fake clock: no test sleeps."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime import App, FakeClock
from runtime.errors import BindingError, LimitError
from tests.backends import BACKENDS, backend_url

pytestmark = pytest.mark.anyio
MANIFEST = Path(__file__).parent / "apps" / "jobs" / "raindrop.manifest"


@pytest.fixture(params=BACKENDS)
async def app(request: pytest.FixtureRequest, tmp_path: Path, raindrop_clock: FakeClock) -> AsyncIterator[App]:
    instance = App.from_manifest(
        MANIFEST, clock=raindrop_clock, backend=backend_url(request.param, tmp_path), state_dir=tmp_path
    )
    async with instance:
        yield instance


async def done(app: App, job: int) -> dict[str, object] | None:
    value = await app.env.RESULTS.get(f"done:{job}", type="json")
    return value  # type: ignore[no-any-return]


async def test_send_then_drain_processes_each_message(app: App) -> None:
    for i in range(25):
        await app.env.JOBS.send({"id": i})
    await app.drain()
    for i in range(25):
        record = await done(app, i)
        assert record is not None and record["attempts"] == 1 and record["greeting"] == "hello"
    stats = (await app.queue_stats())["jobs"]
    assert (stats.depth, stats.in_flight, stats.dead_lettered) == (0, 0, 0)


async def test_send_batch_and_content_types(app: App) -> None:
    await app.env.JOBS.send_batch([{"body": {"id": 1}}, {"body": {"id": 2}, "content_type": "json"}])
    await app.env.OUTBOX.send("plain text", content_type="text")
    await app.env.OUTBOX.send(b"\x00\x01", content_type="bytes")
    await app.drain()
    assert await done(app, 1) and await done(app, 2)
    messages = await app.backend.queues.peek("outbox")
    assert [(m.content_type, m.body) for m in messages] == [("text", b"plain text"), ("bytes", b"\x00\x01")]


async def test_failure_retries_with_delay_then_dead_letters(app: App, raindrop_clock: FakeClock) -> None:
    await app.env.JOBS.send({"id": 7, "action": "fail"})
    await app.drain(raise_errors=False)
    stats = (await app.queue_stats())["jobs"]
    assert (stats.delayed, stats.dead_lettered) == (1, 0)  # retry_delay is 10 s: not due yet
    raindrop_clock.advance(10)
    await app.drain(raise_errors=False)
    raindrop_clock.advance(10)
    await app.drain(raise_errors=False)  # third delivery = attempts 3 > max_retries 2: dead-lettered
    stats = (await app.queue_stats())["jobs"]
    assert (stats.depth, stats.dead_lettered) == (0, 1)
    (dead,) = await app.backend.queues.peek("jobs-dlq")
    assert dead.origin == "jobs" and dead.attempts == 0  # counting restarts on the dead-letter queue
    assert dead.last_error is not None and "RuntimeError: job 7 failed on attempt 3" in dead.last_error
    assert await done(app, 7) is None


async def test_succeeds_on_a_later_attempt(app: App, raindrop_clock: FakeClock) -> None:
    await app.env.JOBS.send({"id": 3, "action": "fail-until", "succeed_on": 2})
    await app.drain(raise_errors=False)
    assert await done(app, 3) is None
    raindrop_clock.advance(9.9)
    await app.drain(raise_errors=False)
    assert await done(app, 3) is None
    raindrop_clock.advance(0.1)
    await app.drain(raise_errors=False)
    assert (await done(app, 3) or {})["attempts"] == 2


async def test_explicit_retry_delay_and_ack_win(app: App, raindrop_clock: FakeClock) -> None:
    await app.env.JOBS.send({"id": 4, "action": "retry-later", "delay": 120})
    await app.env.JOBS.send({"id": 5, "action": "ack-then-raise"})
    await app.drain(raise_errors=False)
    assert await done(app, 4) is None
    stats = (await app.queue_stats())["jobs"]
    assert (stats.delayed, stats.ready, stats.dead_lettered) == (1, 0, 0)  # 5 was acked despite raising
    raindrop_clock.advance(119)
    await app.drain(raise_errors=False)
    assert await done(app, 4) is None
    raindrop_clock.advance(1)
    await app.drain(raise_errors=False)
    assert (await done(app, 4) or {})["attempts"] == 2


async def test_delay_seconds_holds_a_message(app: App, raindrop_clock: FakeClock) -> None:
    await app.env.JOBS.send({"id": 9}, delay_seconds=300)
    await app.drain()
    assert await done(app, 9) is None
    assert (await app.queue_stats())["jobs"].delayed == 1
    raindrop_clock.advance(300)
    await app.drain()
    assert await done(app, 9) is not None


async def test_batch_handler_gets_batches_and_partial_retries(app: App, raindrop_clock: FakeClock) -> None:
    await app.env.EVENTS.send_batch([{"body": {"n": i, "bad": i == 3}} for i in range(12)])
    await app.drain()
    sizes = json.loads(await app.env.RESULTS.get("batches"))
    # The bad message is retried on every delivery: 4 deliveries (max_retries 3), then dead.
    assert sizes[:2] == [5, 5] and sum(sizes) == 12 + 3
    stats = (await app.queue_stats())["events"]
    assert (stats.depth, stats.dead_lettered) == (0, 1)
    (dead,) = await app.backend.queues.peek("events-dlq")
    assert json.loads(dead.body) == {"n": 3, "bad": True} and dead.last_error == "retried by the handler"


async def test_batch_raise_retries_every_unsettled_message(app: App) -> None:
    await app.env.EVENTS.send_batch([{"body": {"explode": True}}, {"body": {}}])
    await app.drain(raise_errors=False)
    stats = (await app.queue_stats())["events"]
    assert stats.ready == 0 and stats.delayed == 0  # retry_delay 0: redelivered at once, until dead
    assert stats.dead_lettered == 2


async def test_send_errors_are_clear(app: App) -> None:
    with pytest.raises(BindingError, match="not JSON-serializable"):
        await app.env.JOBS.send({"when": object()})
    with pytest.raises(BindingError, match="content_type 'text' needs a str body"):
        await app.env.JOBS.send(b"x", content_type="text")
    with pytest.raises(BindingError, match="not valid Unicode text"):
        await app.env.JOBS.send("\ud800", content_type="text")
    with pytest.raises(LimitError, match="128 KB"):
        await app.env.JOBS.send("x" * 140_000, content_type="text")
    with pytest.raises(LimitError, match="at most 100 messages"):
        await app.env.JOBS.send_batch([{"body": i} for i in range(101)])
    with pytest.raises(LimitError, match="43200"):
        await app.env.JOBS.send({}, delay_seconds=50_000)
    with pytest.raises(AttributeError, match=r"did you mean env\.JOBS"):
        _ = app.env.JOB


async def test_running_handler_keeps_its_lease(app: App, raindrop_clock: FakeClock) -> None:
    await app.env.JOBS.send({"id": 11, "action": "wait-until"})
    for _ in range(50):  # let the worker claim it
        if (await app.queue_stats())["jobs"].in_flight:
            break
        await __import__("asyncio").sleep(0.001)
    raindrop_clock.advance(100)  # far past the 30 s visibility timeout: heartbeats renew the lease
    await __import__("asyncio").sleep(0.01)
    stats = (await app.queue_stats())["jobs"]
    assert (stats.in_flight, stats.ready) == (1, 0)
    await app.env.RESULTS.put("go", "1")
    await app.drain()
    assert (await done(app, 11) or {})["attempts"] == 1


@pytest.fixture
def raindrop_manifest() -> Path:
    """The plugin's raindrop_app runs the repository's raindrop.manifest unless told otherwise."""
    return MANIFEST


async def test_plugin_fixture_runs_the_configured_app(raindrop_app: App) -> None:
    await raindrop_app.env.JOBS.send({"id": 1})
    await raindrop_app.drain()
    assert await raindrop_app.env.RESULTS.get("done:1", type="json")


async def test_stop_hands_unfinished_work_back(tmp_path: Path, raindrop_clock: FakeClock) -> None:
    import asyncio

    url = backend_url("sqlite", tmp_path)
    first = App.from_manifest(MANIFEST, clock=raindrop_clock, backend=url)
    await first.start()
    await first.env.JOBS.send({"id": 21, "action": "wait-until"})
    for _ in range(200):
        if (await first.queue_stats())["jobs"].in_flight:
            break
        await asyncio.sleep(0.001)
    await first.stop(grace=0.05)  # the handler never finishes: it is cancelled and its message released

    second = App.from_manifest(MANIFEST, clock=raindrop_clock, backend=url)
    async with second:
        stats = (await second.queue_stats())["jobs"]
        assert stats.in_flight == 0
        await second.env.RESULTS.put("go", "1")
        await second.drain()
        record = await second.env.RESULTS.get("done:21", type="json")
        assert record["attempts"] == 1  # the interrupted attempt was handed back, not counted


async def test_drain_times_out_with_a_clear_message(app: App) -> None:
    await app.env.JOBS.send({"id": 30, "action": "wait-until"})
    with pytest.raises(TimeoutError, match="job-worker"):
        await app.drain(timeout=0.1)
    await app.env.RESULTS.put("go", "1")
    await app.drain()


async def test_state_files_from_before_the_keyed_messages_table_are_migrated(tmp_path: Path) -> None:
    """Messages in a state file of the earlier layout (keyed by id, with a second index) survive."""
    import sqlite3

    from runtime.backends import open_backend

    old = sqlite3.connect(tmp_path / "state.db")
    old.executescript(
        """
        CREATE TABLE messages (id TEXT PRIMARY KEY, queue TEXT NOT NULL, body BLOB NOT NULL,
            content_type TEXT NOT NULL, created_at REAL NOT NULL, visible_at REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, claimed INTEGER NOT NULL DEFAULT 0, last_error TEXT,
            origin TEXT) WITHOUT ROWID;
        CREATE INDEX messages_ready ON messages (queue, visible_at);
        INSERT INTO messages VALUES ('a', 'jobs', x'7b7d', 'json', 100, 100, 0, 0, NULL, NULL);
        INSERT INTO messages VALUES ('b', 'jobs-dlq', x'7b7d', 'json', 90, 90, 4, 0, 'boom', 'jobs');
        """
    )
    old.close()
    backend = open_backend(f"sqlite:///{tmp_path / 'state.db'}")
    await backend.open()
    try:
        assert [m.id for m in await backend.queues.claim("jobs", 10, 100, 130)] == ["a"]
        dead = await backend.queues.peek("jobs-dlq")
        assert [(m.id, m.attempts, m.last_error, m.origin) for m in dead] == [("b", 4, "boom", "jobs")]
    finally:
        await backend.close()
    check = sqlite3.connect(tmp_path / "state.db")
    assert (
        check.execute("SELECT name FROM sqlite_master WHERE name IN ('messages_ready', 'messages_by_id')").fetchall()
        == []
    )
    check.close()


async def test_a_failing_backend_pauses_a_consumer_loop_instead_of_ending_it(
    tmp_path: Path, raindrop_clock: FakeClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import runtime.observers
    from runtime.backends.sqlite import SqliteQueueStore

    monkeypatch.setattr(runtime.observers, "RETRY_PAUSE", 0.01)
    original = SqliteQueueStore.settle_and_claim
    failures = [ConnectionError("connection reset by peer")] * 3  # as a dropped Redis connection raises

    async def flaky(self: SqliteQueueStore, *args: object, **kwargs: object) -> object:
        if failures:
            raise failures.pop()
        return await original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(SqliteQueueStore, "settle_and_claim", flaky)
    app = App.from_manifest(MANIFEST, clock=raindrop_clock, backend=backend_url("sqlite", tmp_path), state_dir=tmp_path)
    async with app:
        await app.env.JOBS.send({"id": 7})
        await app.drain()
        assert await done(app, 7) is not None
    assert not failures
    assert "ConnectionError: connection reset by peer; trying again" in caplog.text
