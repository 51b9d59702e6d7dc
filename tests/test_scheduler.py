"""Schedules on the fake clock: exactly-once per time, catch-up policies, restarts, sharing."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime import App, FakeClock

pytestmark = pytest.mark.anyio
APP = Path(__file__).parent / "apps" / "clock"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(APP, tmp_path / "app")
    return tmp_path / "app" / "raindrop.manifest"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(at("2025-01-01T02:59:00"))


@pytest.fixture
async def app(project: Path, clock: FakeClock) -> AsyncIterator[App]:
    async with App.from_manifest(project, clock=clock) as instance:
        await instance.drain()
        yield instance


async def fires(app: App) -> list[int]:
    return [f["at"] for f in json.loads(await app.env.RESULTS.get("nightly") or "[]")]


async def test_fires_once_when_its_time_comes(app: App, clock: FakeClock) -> None:
    clock.set(at("2025-01-01T03:01:00"))
    await app.drain()
    assert await fires(app) == [int(at("2025-01-01T03:00:00").timestamp() * 1000)]
    clock.set(at("2025-01-01T03:59:00"))
    await app.drain()
    assert len(await fires(app)) == 1
    record = json.loads(await app.env.RESULTS.get("nightly"))[0]
    assert (record["cron"], record["type"]) == ("0 3 * * *", "scheduled")


async def test_cron_sourced_observer_fires(app: App, clock: FakeClock) -> None:
    clock.set(at("2025-01-01T09:00:00"))
    await app.drain()
    assert await app.env.RESULTS.get("morning") == "1"


async def test_thirty_day_jump_fires_once_by_default(
    app: App, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="raindrop.scheduler"):
        clock.set(at("2025-01-31T03:30:00"))
        await app.drain()
    assert await fires(app) == [int(at("2025-01-31T03:00:00").timestamp() * 1000)]
    assert "29 scheduled time(s) missed" in caplog.text and "catch_up: fire_once" in caplog.text


@pytest.mark.parametrize(("policy", "expected"), [("all", 31), ("skip", 0), ("fire_once", 1)])
async def test_catch_up_policies(project: Path, clock: FakeClock, policy: str, expected: int) -> None:
    (project.parent / "raindrop.local.yaml").write_text(f"schedules:\n  nightly:\n    catch_up: {policy}\n")
    async with App.from_manifest(project, clock=clock) as app:
        await app.drain()
        clock.set(at("2025-01-31T03:30:00"))
        await app.drain()
        found = await fires(app)
    assert len(found) == expected
    if policy == "all":
        assert found == sorted(found) and len(set(found)) == 31  # Jan 1 to Jan 31


async def test_skip_still_fires_on_time(project: Path, clock: FakeClock) -> None:
    (project.parent / "raindrop.local.yaml").write_text("schedules:\n  nightly:\n    catch_up: skip\n")
    async with App.from_manifest(project, clock=clock) as app:
        await app.drain()
        clock.set(at("2025-01-01T03:00:10"))
        await app.drain()
        assert len(await fires(app)) == 1


async def test_restart_never_fires_twice_and_catches_up_once(project: Path, clock: FakeClock) -> None:
    async with App.from_manifest(project, clock=clock) as app:
        clock.set(at("2025-01-01T03:00:30"))
        await app.drain()
    async with App.from_manifest(project, clock=clock) as app:  # restart within the same minute
        await app.drain()
        assert len(await fires(app)) == 1
    clock.set(at("2025-01-05T12:00:00"))  # down for four days
    async with App.from_manifest(project, clock=clock) as app:
        await app.drain()
        assert await fires(app) == [
            int(at("2025-01-01T03:00:00").timestamp() * 1000),
            int(at("2025-01-05T03:00:00").timestamp() * 1000),
        ]


async def test_two_apps_sharing_sqlite_fire_once(project: Path, clock: FakeClock) -> None:
    async with App.from_manifest(project, clock=clock) as one, App.from_manifest(project, clock=clock) as two:
        await one.drain()
        await two.drain()
        for day in range(1, 4):
            clock.set(at(f"2025-01-0{day + 1}T03:00:00"))
            await one.drain()
            await two.drain()
        assert len(await fires(one)) == 3


async def test_failing_run_is_logged_and_the_next_time_still_fires(
    app: App, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await app.env.RESULTS.put("nightly-mode", "fail")
    with caplog.at_level(logging.ERROR, logger="raindrop.scheduler"):
        clock.set(at("2025-01-01T03:00:00"))
        await app.drain(raise_errors=False)
    assert "RuntimeError: nightly failed on purpose" in caplog.text
    await app.env.RESULTS.delete("nightly-mode")
    clock.set(at("2025-01-02T03:00:00"))
    await app.drain(raise_errors=False)
    assert len(await fires(app)) == 2
    assert [r.outcome for r in app.runs if r.module == "nightly"] == ["error", "ok"]


async def test_a_run_still_going_is_not_started_twice(
    project: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A run that outlasts its schedule's next time (its max_wall_time allowing it: a day here)."""

    (project.parent / "raindrop.local.yaml").write_text("schedules:\n  nightly: {max_wall_time: 172800}\n")
    async with App.from_manifest(project, clock=clock) as app:
        await still_going(app, clock, caplog)


async def still_going(app: App, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    import asyncio

    await app.env.RESULTS.put("nightly-mode", "hang")
    clock.set(at("2025-01-01T03:00:00"))
    for _ in range(100):
        if await fires(app):
            break
        await asyncio.sleep(0.001)
    with caplog.at_level(logging.WARNING, logger="raindrop.scheduler"):
        clock.set(at("2025-01-02T03:00:00"))
        for _ in range(20):
            await asyncio.sleep(0.001)
    assert len(await fires(app)) == 1
    assert "still going" in caplog.text
    await app.env.RESULTS.put("nightly-mode", "done")
    await app.drain()


async def test_fire_runs_a_schedule_now(app: App) -> None:
    await app.fire("nightly")
    await app.fire("morning")
    assert len(await fires(app)) == 1 and await app.env.RESULTS.get("morning") == "1"
    with pytest.raises(KeyError, match="no scheduled handler named 'nope'"):
        await app.fire("nope")
    await app.env.RESULTS.put("nightly-mode", "fail")
    with pytest.raises(RuntimeError, match="on purpose"):
        await app.fire("nightly")
