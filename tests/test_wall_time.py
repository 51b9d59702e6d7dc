"""An observer's delivery that never ends is cancelled after ``max_wall_time`` (the platform ends a
consumer invocation after 15 minutes): its message is retried, then dead-lettered, instead of
being held forever by the heartbeat renewing its lease."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime import App, FakeClock
from runtime.clock import SystemClock
from tests.backends import BACKENDS, backend_url

pytestmark = pytest.mark.anyio

MANIFEST = (
    'application "a" {\n  queue "jobs" {}\n  kv_cache "seen" {}\n'
    '  observer "work" {\n    source {\n      queue = "jobs"\n    }\n  }\n}\n'
)

EACH = """
import asyncio
from runtime import Each


class Work(Each):
    async def process(self, message):
        body = message.body
        await self.env.SEEN.put(f"{body['id']}:{message.attempts}", "started")
        if body.get("hang") == "always" or (body.get("hang") == "first" and message.attempts == 1):
            await asyncio.sleep(3600)
        if body.get("hang") == "short":
            await asyncio.sleep(0.8)
        if body.get("hang") == "swallow":
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass  # a handler that will not be cancelled
            await asyncio.sleep(0.01)  # would raise at once if the loop were left cancelling
        if body.get("hang") == "swallow, then hang" and message.attempts == 1:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                pass
            await asyncio.sleep(3600)
        if body.get("hang") == "in finally" and message.attempts == 1:
            try:
                await asyncio.sleep(3600)
            finally:
                await asyncio.sleep(3600)  # cleanup that never ends
        await self.env.SEEN.put(f"{body['id']}:done", str(message.attempts))
"""

BATCH = """
import asyncio
from runtime import Batch


class Work(Batch):
    async def process(self, batch):
        first = batch.messages[0]
        if first.attempts == 1:
            await asyncio.sleep(3600)
        for message in batch.messages:
            await self.env.SEEN.put(f"{message.body['id']}:done", str(message.attempts))
"""


async def seen(app: App, key: str) -> None:
    """Wait (up to 5 s) until the handler has written ``key``."""
    for _ in range(500):
        if await app.env.SEEN.get(key) is not None:
            return
        await asyncio.sleep(0.01)


def project(tmp_path: Path, code: str, settings: str) -> Path:
    (tmp_path / "raindrop.manifest").write_text(MANIFEST)
    (tmp_path / "raindrop.local.yaml").write_text(settings)
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "work.py").write_text(code)
    return tmp_path / "raindrop.manifest"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_message_whose_handler_never_ends_is_cancelled_then_dead_lettered(tmp_path: Path, backend: str) -> None:
    path = project(tmp_path, EACH, "observers:\n  work: {max_wall_time: 0.3, max_retries: 1}\n")
    async with App.from_manifest(path, backend=backend_url(backend, tmp_path)) as app:
        await app.env.JOBS.send_batch([{"body": {"id": "stuck", "hang": "always"}}, {"body": {"id": "next"}}])
        await app.drain(timeout=20, raise_errors=False)
        (letter,) = await app.dead_letters("jobs")
        assert letter.attempts == 2
        assert "max_wall_time" in (letter.last_error or "") and "0.3 s" in (letter.last_error or "")
        # The message after the stuck one in the same delivery was never started: it was handed
        # back with its attempt undone, and ran once, as its first attempt.
        assert await app.env.SEEN.get("next:done") == "1"
        assert await app.env.SEEN.get("next:2") is None
        errors = [run for run in app.runs if run.outcome == "error"]
        assert len(errors) == 2 and all("max_wall_time" in (run.error or "") for run in errors)
        stats = (await app.queue_stats())["jobs"]
        assert (stats.depth, stats.in_flight, stats.dead_lettered) == (0, 0, 1)


async def test_drain_re_raises_the_overrun_as_a_timeout_naming_the_observer(tmp_path: Path) -> None:
    path = project(tmp_path, EACH, "observers:\n  work: {max_wall_time: 0.2}\n")
    async with App.from_manifest(path) as app:
        await app.env.JOBS.send({"id": "slow", "hang": "first"})
        with pytest.raises(TimeoutError, match=r"observer .work.: the handler ran past its wall time of 0\.2 s"):
            await app.drain(timeout=20)
        await app.drain(timeout=20)
        assert await app.env.SEEN.get("slow:done") == "2"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_batch_that_never_ends_is_retried_whole(tmp_path: Path, backend: str) -> None:
    path = project(
        tmp_path, BATCH, "observers:\n  work: {max_wall_time: 0.3, max_batch_size: 3, max_batch_timeout: 0}\n"
    )
    async with App.from_manifest(path, backend=backend_url(backend, tmp_path)) as app:
        await app.env.JOBS.send_batch([{"body": {"id": i}} for i in range(3)])
        await app.drain(timeout=20, raise_errors=False)
        assert [await app.env.SEEN.get(f"{i}:done") for i in range(3)] == ["2", "2", "2"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_handler_that_swallows_the_cancel_finishes_and_the_loop_goes_on(tmp_path: Path, backend: str) -> None:
    path = project(tmp_path, EACH, "observers:\n  work: {max_wall_time: 0.2}\n")
    async with App.from_manifest(path, backend=backend_url(backend, tmp_path)) as app:
        await app.env.JOBS.send({"id": "stubborn", "hang": "swallow"})
        await app.drain(timeout=20)
        assert await app.env.SEEN.get("stubborn:done") == "1"
        await app.env.JOBS.send({"id": "after"})
        await app.drain(timeout=20)
        assert await app.env.SEEN.get("after:done") == "1"


@pytest.mark.parametrize("hang", ["swallow, then hang", "in finally"])
async def test_a_handler_that_goes_on_after_the_cancel_is_cancelled_again(tmp_path: Path, hang: str) -> None:
    """Before, the heartbeat cancelled a delivery once: a handler that swallowed that cancel and
    awaited on, or awaited in a finally, held its message for good (drain timed out)."""
    path = project(tmp_path, EACH, "observers:\n  work: {max_wall_time: 0.2}\n")
    async with App.from_manifest(path) as app:
        await app.env.JOBS.send({"id": "stubborn", "hang": hang})
        await app.drain(timeout=20, raise_errors=False)
        assert await app.env.SEEN.get("stubborn:done") == "2"
        (error,) = [run for run in app.runs if run.outcome == "error"]
        assert "max_wall_time" in (error.error or "")


async def test_under_a_fake_clock_the_wall_time_is_the_clock_s(tmp_path: Path, raindrop_clock: FakeClock) -> None:
    """The default limit is the platform's 15 minutes, on the app's clock: a test reaches it by
    moving the clock, and a handler that waits on real time alone is not cut short."""
    path = project(tmp_path, EACH, "")
    async with App.from_manifest(path, clock=raindrop_clock) as app:
        await app.env.JOBS.send({"id": "stuck", "hang": "first"})
        await seen(app, "stuck:1")  # the handler runs
        raindrop_clock.advance(minutes=14)
        await asyncio.sleep(0.2)
        assert await app.env.SEEN.get("stuck:done") is None and app.queues.busy == ["work"]
        raindrop_clock.advance(minutes=1, seconds=1)
        await app.drain(timeout=20, raise_errors=False)
        assert await app.env.SEEN.get("stuck:done") == "2"


TASK_MANIFEST = (
    'application "a" {\n  kv_cache "seen" {}\n  task "stuck" {\n    type = "cron"\n    cron = "0 3 * * *"\n  }\n}\n'
)
TASK = """
import asyncio
from runtime import Task


class Stuck(Task):
    async def handle(self, event):
        runs = int(await self.env.SEEN.get("runs") or 0) + 1
        await self.env.SEEN.put("runs", str(runs))
        if runs == 1:
            await asyncio.sleep(3600)
        await self.env.SEEN.put("done", str(runs))
"""


async def test_a_scheduled_run_that_never_ends_is_cancelled_and_the_next_time_runs(tmp_path: Path) -> None:
    """A run still going holds every later time of its schedule ('not starting'), so one that
    never ended stopped its schedule for good; now it is cut at max_wall_time (default 300 s)."""
    (tmp_path / "raindrop.manifest").write_text(TASK_MANIFEST)
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "stuck.py").write_text(TASK)
    clock = FakeClock(datetime(2025, 1, 1, 2, 59, tzinfo=UTC))
    async with App.from_manifest(tmp_path / "raindrop.manifest", clock=clock) as app:
        clock.set(datetime(2025, 1, 1, 3, 0, 30, tzinfo=UTC))
        await seen(app, "runs")  # the first run has started
        clock.advance(299)
        await asyncio.sleep(0.1)
        assert not [run for run in app.runs if run.outcome == "error"]  # 300 s not reached yet
        clock.advance(2)
        for _ in range(500):
            if app.runs:
                break
            await asyncio.sleep(0.01)
        (run,) = app.runs
        assert run.outcome == "error" and "schedule 'stuck': the run ran past its wall time of 300 s" in (
            run.error or ""
        )
        clock.set(datetime(2025, 1, 2, 3, 0, 30, tzinfo=UTC))
        await app.drain(timeout=20, raise_errors=False)
        assert (await app.env.SEEN.get("runs"), await app.env.SEEN.get("done")) == ("2", "2")


class JumpingClock(SystemClock):
    """The wall clock, set forward by ``offset`` seconds (an administrator, NTP, a laptop's sleep)."""

    offset = 0.0

    def time(self) -> float:
        return super().time() + self.offset


async def test_a_wall_clock_set_forward_does_not_cut_a_delivery_short(tmp_path: Path) -> None:
    """With the system clock, max_wall_time is measured on the monotonic clock: the clock set an
    hour forward while a 0.8 s handler runs under a 2 s limit leaves it be."""
    path = project(tmp_path, EACH, "observers:\n  work: {max_wall_time: 2}\n")
    clock = JumpingClock()
    async with App.from_manifest(path, clock=clock) as app:
        await app.env.JOBS.send({"id": "short", "hang": "short"})
        await seen(app, "short:1")  # the handler runs
        clock.offset = 3600.0
        await app.drain(timeout=20)
        assert await app.env.SEEN.get("short:done") == "1"
        assert [run.outcome for run in app.runs] == ["ok"]


GOES_ON = """
import asyncio
from runtime import Task


class Stuck(Task):
    async def handle(self, event):
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # swallowed: it goes on
        await asyncio.sleep(0.6)
        await self.env.SEEN.put("late", "written")
"""


async def test_a_scheduled_run_that_goes_on_after_its_cancel_is_cancelled_again(tmp_path: Path) -> None:
    """Before, the run was recorded as timed out at once while its handler went on (and wrote after
    it, beside the schedule's next run); now it is cancelled again and ends before it is recorded."""
    (tmp_path / "raindrop.manifest").write_text(TASK_MANIFEST)
    (tmp_path / "raindrop.local.yaml").write_text("schedules:\n  stuck: {max_wall_time: 0.3}\n")
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "stuck.py").write_text(GOES_ON)
    async with App.from_manifest(tmp_path / "raindrop.manifest") as app:
        with pytest.raises(TimeoutError, match="max_wall_time"):
            await app.fire("stuck")
        await asyncio.sleep(1)  # the handler would have written by now
        assert await app.env.SEEN.get("late") is None
