"""A handler that awaits a task something else cancelled gets a CancelledError though it was not
cancelled itself (a timed-out client call, ``asyncio.wait_for`` inside a library, a sibling task
given up on). That is the handler's failure like any other: before, it ended the observer's loop
for good (every later message waited forever) and the run of a schedule was taken for a timeout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime import App, FakeClock
from tests.backends import BACKENDS, backend_url

pytestmark = pytest.mark.anyio

STRAY = """
import asyncio
from runtime import Actor, Batch, Each, Service, Task
from starlette.responses import Response


async def stray_cancel():
    task = asyncio.ensure_future(asyncio.sleep(10))
    await asyncio.sleep(0)
    task.cancel()
    await task  # raises CancelledError here: the awaited task was cancelled, not this one
"""

EACH = (
    STRAY
    + """

class Work(Each):
    async def process(self, message):
        if message.attempts == 1 and message.body.get("stray"):
            await stray_cancel()
        await self.env.SEEN.put(str(message.body["id"]), str(message.attempts))
"""
)

BATCH = (
    STRAY
    + """

class Work(Batch):
    async def process(self, batch):
        if batch.messages[0].attempts == 1:
            await stray_cancel()
        for message in batch.messages:
            await self.env.SEEN.put(str(message.body["id"]), str(message.attempts))
"""
)

TASK = (
    STRAY
    + """

class Nightly(Task):
    async def handle(self, event):
        runs = int(await self.env.SEEN.get("runs") or 0) + 1
        await self.env.SEEN.put("runs", str(runs))
        if runs == 1:
            await stray_cancel()
"""
)


def project(tmp_path: Path, manifest: str, module: str, code: str) -> Path:
    (tmp_path / "raindrop.manifest").write_text(manifest)
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / f"{module}.py").write_text(code)
    return tmp_path / "raindrop.manifest"


OBSERVER = (
    'application "a" {\n  queue "jobs" {}\n  kv_cache "seen" {}\n'
    '  observer "work" {\n    source {\n      queue = "jobs"\n    }\n  }\n}\n'
)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_an_observer_whose_handler_meets_a_stray_cancel_retries_and_goes_on(tmp_path: Path, backend: str) -> None:
    path = project(tmp_path, OBSERVER, "work", EACH)
    async with App.from_manifest(path, backend=backend_url(backend, tmp_path)) as app:
        await app.env.JOBS.send({"id": 1, "stray": True})
        with pytest.raises(RuntimeError, match="raised CancelledError without being cancelled") as caught:
            await app.drain(timeout=20)
        assert isinstance(caught.value.__cause__, asyncio.CancelledError)
        await app.drain(timeout=20)
        await app.env.JOBS.send({"id": 2})
        await app.drain(timeout=20)
        assert (await app.env.SEEN.get("1"), await app.env.SEEN.get("2")) == ("2", "1")
        assert [run.outcome for run in app.runs] == ["error", "ok", "ok"]


async def test_a_batch_handler_meeting_a_stray_cancel_retries_its_batch(tmp_path: Path) -> None:
    path = project(tmp_path, OBSERVER, "work", BATCH)
    async with App.from_manifest(path) as app:
        await app.env.JOBS.send_batch([{"body": {"id": i}} for i in range(3)])
        await app.drain(timeout=20, raise_errors=False)
        assert [await app.env.SEEN.get(str(i)) for i in range(3)] == ["2", "2", "2"]


async def test_a_scheduled_run_meeting_a_stray_cancel_fails_as_itself_not_as_a_timeout(tmp_path: Path) -> None:
    manifest = 'application "a" {\n  kv_cache "seen" {}\n  task "nightly" {\n    type = "cron"\n    cron = "0 3 * * *"\n  }\n}\n'
    path = project(tmp_path, manifest, "nightly", TASK)
    clock = FakeClock(datetime(2025, 1, 1, 2, 59, tzinfo=UTC))
    async with App.from_manifest(path, clock=clock) as app:
        clock.set(datetime(2025, 1, 1, 3, 0, 30, tzinfo=UTC))
        await app.drain(timeout=20, raise_errors=False)
        (run,) = app.runs
        assert run.outcome == "error" and "raised CancelledError without being cancelled" in (run.error or "")
        assert "max_wall_time" not in (run.error or "")
        clock.set(datetime(2025, 1, 2, 3, 0, 30, tzinfo=UTC))
        await app.drain(timeout=20, raise_errors=False)
        assert await app.env.SEEN.get("runs") == "2" and app.runs[-1].outcome == "ok"


SERVICE = (
    STRAY
    + """

class Web(Service):
    async def fetch(self, request):
        if request.url.path == "/stray":
            await stray_cancel()
        if request.url.path == "/actor":
            counter = self.env.COUNTER
            return Response(str(await counter.get(counter.id_from_name("a")).poke()))
        return Response("ok")
"""
)

ACTOR = (
    STRAY
    + """

class Counter(Actor):
    async def poke(self):
        n = (await self.state.storage.get("n") or 0) + 1
        await self.state.storage.put("n", n)
        if n == 1:
            await stray_cancel()
        return n
"""
)


async def test_a_service_or_actor_meeting_a_stray_cancel_is_a_500_naming_it(tmp_path: Path) -> None:
    """Before, the CancelledError left the service's ASGI app (the test client raised it; under
    serve the server's own 500, outside the app's error page, log and runs)."""
    import httpx

    manifest = 'application "a" {\n  service "web" {\n    visibility = "public"\n  }\n  actor "counter" {}\n}\n'
    path = project(tmp_path, manifest, "counter", ACTOR)
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "web.py").write_text(SERVICE)
    async with App.from_manifest(path) as app:
        transport = httpx.ASGITransport(app=app.asgi("web"), client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://web.localhost") as client:
            response = await client.get("/stray")
            assert response.status_code == 500
            assert "service 'web' raised CancelledError without being cancelled" in response.json()["detail"]
            assert (await client.get("/")).text == "ok"
            response = await client.get("/actor")
            assert response.status_code == 500
            assert 'actor "counter" (poke) raised CancelledError without being cancelled' in response.json()["detail"]
            assert (await client.get("/actor")).text == "2"  # the put of the failed call was kept, as any error's
