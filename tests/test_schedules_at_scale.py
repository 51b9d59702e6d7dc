"""Many schedules: the cost of a wake-up does not grow with how many schedules there are, each
time fires once across processes sharing a backend, a clock jump fires every schedule's missed
times per its ``catch_up`` policy, and the SQLite fire ledger stays bounded."""

from __future__ import annotations

import inspect
import logging
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runtime import App, FakeClock
from runtime.backends.base import StateStore
from tests.backends import BACKENDS, SKIP_REDIS, backend_url

pytestmark = pytest.mark.anyio
START = datetime(2025, 1, 1, 2, 59, 30, tzinfo=UTC)
HANDLER = """import os
from pathlib import Path

from runtime import Task

NAME = {name!r}


class Tick(Task):
    async def handle(self, event):
        with open(Path(__file__).parent.parent / "fires.log", "a") as log:
            log.write(f"{{NAME}} {{event.scheduled_time}} {{os.getpid()}}\\n")
"""


def write_app(folder: Path, crons: list[str], settings: str = "") -> Path:
    """An app with schedule ``t<i>`` per cron expression, each with its own handler file that
    appends ``name scheduled_ms pid`` to ``fires.log``."""
    (folder / "workers").mkdir(parents=True)
    blocks = []
    for i, cron in enumerate(crons):
        (folder / "workers" / f"t{i}.py").write_text(HANDLER.format(name=f"t{i}"))
        blocks.append(
            f'  task "t{i}" {{\n    type = "cron"\n    cron = "{cron}"\n    handler = "workers/t{i}.py"\n  }}\n'
        )
    (folder / "raindrop.manifest").write_text('application "many" {\n' + "".join(blocks) + "}\n")
    if settings:
        (folder / "raindrop.local.yaml").write_text(settings)
    return folder / "raindrop.manifest"


def fires(folder: Path) -> list[tuple[str, int, int]]:
    log = folder / "fires.log"
    if not log.exists():
        return []
    return [(name, int(at), int(pid)) for name, at, pid in (line.split() for line in log.read_text().splitlines())]


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def count_calls(store: StateStore) -> Counter[str]:
    """Count every call of the store's coroutine methods (patched on this instance)."""
    calls: Counter[str] = Counter()
    for name in dir(StateStore):
        method = getattr(store, name)
        if name.startswith("_") or not inspect.iscoroutinefunction(method):
            continue

        def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _method(*args, **kwargs)

        setattr(store, name, counted)
    return calls


async def wake_up_calls(folder: Path, schedules: int, backend: str) -> Counter[str]:
    manifest = write_app(folder, ["* * * * *"] * schedules)
    clock = FakeClock(START)
    async with App.from_manifest(manifest, clock=clock, backend=backend) as app:
        await app.drain()
        calls = count_calls(app.backend.state)
        clock.advance(minutes=1)
        await app.drain()
    assert len(fires(folder)) == schedules
    return calls


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_wake_up_costs_the_same_store_calls_for_5_or_300_schedules(kind: str, tmp_path: Path) -> None:
    few = await wake_up_calls(tmp_path / "few", 5, backend_url(kind, tmp_path / "few"))
    many = await wake_up_calls(tmp_path / "many", 300, backend_url(kind, tmp_path / "many"))
    # Only the schedules' calls: the actor alarm loop's own (next_alarm, claim_alarms) follow timing.
    cron_few, cron_many = ({n: c for n, c in calls.items() if "fire" in n} for calls in (few, many))
    assert cron_few == cron_many == {"claim_fires": 1}  # one claim of every due fire, nothing per schedule


@pytest.mark.slow  # two processes
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_processes_fire_each_time_exactly_once(kind: str, tmp_path: Path) -> None:
    if kind not in BACKENDS:
        pytest.skip(SKIP_REDIS)
    schedules, steps = 40, 3
    manifest = write_app(tmp_path, ["* * * * *"] * schedules)
    url = backend_url(kind, tmp_path)
    go = tmp_path / "go"
    child = Path(__file__).parent / "schedules_child.py"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    args = [sys.executable, str(child), str(manifest), url, str(START.timestamp()), str(steps), str(go)]
    processes = [subprocess.Popen(args, env=env) for _ in range(2)]
    go.touch()
    for process in processes:
        assert process.wait(timeout=120) == 0
    found = fires(tmp_path)
    times = [ms(f"2025-01-01T03:0{m}:00") for m in range(steps)]
    assert Counter((name, at) for name, at, _ in found) == {(f"t{i}", t): 1 for i in range(schedules) for t in times}


async def test_a_clock_jump_fires_each_schedule_per_its_policy_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crons = ["0 * * * *", "*/15 * * * *", "0 3 * * *"] * 4  # t0..t11
    policies = {"t9": "all", "t10": "all", "t11": "skip"}
    settings = "schedules:\n" + "".join(f"  {name}:\n    catch_up: {p}\n" for name, p in policies.items())
    manifest = write_app(tmp_path, crons, settings)
    clock = FakeClock(START)
    async with App.from_manifest(manifest, clock=clock) as app:
        await app.drain()
        with caplog.at_level(logging.WARNING, logger="raindrop.scheduler"):
            clock.set(datetime(2025, 1, 2, 4, 10, 30, tzinfo=UTC))  # 25 hours later
            await app.drain()
        clock.advance(seconds=10)
        await app.drain()
    found = Counter((name, at) for name, at, _ in fires(tmp_path))
    assert all(count == 1 for count in found.values()), found
    by_name: dict[str, list[int]] = {}
    for name, at in sorted(found, key=lambda pair: pair[1]):
        by_name.setdefault(name, []).append(at)
    latest = {
        "0 * * * *": "2025-01-02T04:00:00",
        "*/15 * * * *": "2025-01-02T04:00:00",
        "0 3 * * *": "2025-01-02T03:00:00",
    }
    for i, cron in enumerate(crons[:9]):  # fire_once: the latest missed time, once
        assert by_name[f"t{i}"] == [ms(latest[cron])], (i, cron)
    assert by_name["t9"] == [ms(f"2025-01-0{1 + (h + 3) // 24}T{(h + 3) % 24:02d}:00:00") for h in range(26)]
    assert len(by_name["t10"]) == 25 * 4 + 1 and by_name["t10"] == sorted(set(by_name["t10"]))
    assert "t11" not in by_name  # skip: nothing was on time
    assert caplog.text.count("catch_up: fire_once") == 9 and caplog.text.count("catch_up: all") == 2


async def test_the_sqlite_fire_ledger_keeps_about_an_hour(tmp_path: Path) -> None:
    manifest = write_app(tmp_path, ["* * * * *"] * 3)
    clock = FakeClock(START)
    async with App.from_manifest(manifest, clock=clock, state_dir=tmp_path / "state") as app:
        await app.drain()
        for _ in range(150):
            clock.advance(minutes=1)
            await app.drain()
    assert len(fires(tmp_path)) == 3 * 150
    with sqlite3.connect(tmp_path / "state" / "state.db") as conn:
        rows = dict(conn.execute("SELECT name, count(*) FROM cron_fires GROUP BY name").fetchall())
        latest = conn.execute("SELECT max(scheduled_at) FROM cron_fires WHERE name = 't0'").fetchone()[0]
    assert set(rows) == {"t0", "t1", "t2"} and all(60 <= n <= 62 for n in rows.values()), rows
    assert latest == START.timestamp() + 30 + 149 * 60  # the latest is always kept


async def test_schedules_sharing_a_file_and_an_expression_cost_one_load_and_one_cron_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runtime.cron
    import runtime.loader

    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "tick.py").write_text(HANDLER.format(name="shared"))
    blocks = "".join(
        f'  task "t{i}" {{\n    type = "cron"\n    cron = "*/7 * * * *"\n    handler = "workers/tick.py"\n  }}\n'
        for i in range(200)
    )
    (tmp_path / "raindrop.manifest").write_text('application "shared" {\n' + blocks + "}\n")
    checks: list[str] = []
    real_check = runtime.loader.check_signature
    monkeypatch.setattr(runtime.loader, "check_signature", lambda r, c: checks.append(r.name) or real_check(r, c))
    walks: list[str] = []
    real_croniter = runtime.cron.croniter
    monkeypatch.setattr(runtime.cron, "croniter", lambda *a, **k: walks.append(a[0]) or real_croniter(*a, **k))
    clock = FakeClock(datetime(2030, 6, 1, 0, 0, 30, tzinfo=UTC))  # times no other test caches
    async with App.from_manifest(tmp_path / "raindrop.manifest", clock=clock) as app:
        await app.drain()
        assert len(checks) == 1  # the file's class found and checked once, not per schedule
        walks.clear()
        clock.advance(minutes=7)
        await app.drain()
    assert len(fires(tmp_path)) == 200
    assert len(walks) <= 3, len(walks)  # due times and next times: shared by the 200 schedules
