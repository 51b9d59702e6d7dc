"""An actor's alarm() that never ends is cancelled after the platform's 15 minutes (on the app's
clock) and retried as a failed alarm; before, it held its actor for good: every later call to
that actor waited behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from runtime import App, FakeClock

pytestmark = pytest.mark.anyio

MANIFEST = 'application "alarms" {\n  actor "counter" {}\n  kv_cache "seen" {}\n}\n'
HANDLER = """
import asyncio
from runtime.handlers import Actor


class Counter(Actor):
    async def add(self, n: int) -> int:
        value = (await self.state.storage.get("n") or 0) + n
        await self.state.storage.put("n", value)
        return value

    async def arm(self, at_ms: int) -> None:
        await self.state.storage.set_alarm(at_ms)

    async def alarm(self) -> None:
        runs = (await self.state.storage.get("alarms") or 0) + 1
        await self.state.storage.put("alarms", runs)
        await self.env.SEEN.put("alarm", str(runs))
        if runs == 1:
            await asyncio.sleep(3600)  # real time: only the fake clock's 15 minutes end it
"""


async def test_an_alarm_that_never_ends_is_cancelled_and_retried(tmp_path: Path, raindrop_clock: FakeClock) -> None:
    (tmp_path / "raindrop.manifest").write_text(MANIFEST)
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "counter.py").write_text(HANDLER)
    async with App.from_manifest(tmp_path / "raindrop.manifest", clock=raindrop_clock) as app:
        stub = app.env.COUNTER.get(app.env.COUNTER.id_from_name("a"))
        await stub.arm(int(raindrop_clock.time() * 1000))
        for _ in range(500):  # until the alarm runs
            if await app.env.SEEN.get("alarm") == "1":
                break
            await asyncio.sleep(0.01)
        call = asyncio.ensure_future(stub.add(1))
        await asyncio.sleep(0.2)
        assert not call.done()  # the alarm holds the actor
        raindrop_clock.advance(minutes=15, seconds=1)
        assert await asyncio.wait_for(call, 10) == 1
        (run,) = [run for run in app.runs if run.outcome == "error"]
        assert "alarm() ran past its wall time of 900 s" in (run.error or "")
        raindrop_clock.advance(seconds=3)  # the retry, 2 s later, ends
        await app.drain(timeout=20, raise_errors=False)
        assert [run.outcome for run in app.runs if run.kind == "alarm"] == ["error", "ok"]
