"""Scale-out on Redis: worker processes sharing one backend keep the same promises."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime import App, FakeClock
from tests.backends import REDIS, REDIS_UP, SKIP_REDIS

pytestmark = [pytest.mark.skipif(not REDIS_UP, reason=SKIP_REDIS), pytest.mark.redis]
CRASH = Path(__file__).parent / "apps" / "crash"
MESSAGES = 20_000
WORKERS = 4


def recorded(folder: Path) -> Counter[int]:
    counts: Counter[int] = Counter()
    for path in folder.glob("record-*.txt"):
        counts.update(int(line) for line in path.read_text().split())
    return counts


@pytest.mark.slow  # worker processes, one killed
def test_four_workers_one_killed_lose_nothing(tmp_path: Path) -> None:
    url = f"{REDIS}?prefix=test-{uuid.uuid4().hex[:12]}"

    async def send() -> None:
        app = App.from_manifest(CRASH / "raindrop.manifest", backend=url, state_dir=tmp_path / "s")
        await app.start(consume=False)  # a producer only
        try:
            for start in range(0, MESSAGES, 100):
                await app.env.WORK.send_batch([{"body": {"n": n}} for n in range(start, start + 100)])
        finally:
            await app.stop()

    asyncio.run(send())
    workers = []
    for i in range(WORKERS):
        env = {**os.environ, "RECORD_FILE": str(tmp_path / f"record-{i}.txt")}
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "runtime", "worker", str(CRASH / "raindrop.manifest"), "--backend", url, "--state", str(tmp_path / f"w{i}")],
                env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / f"worker-{i}.log").open("w"),
            )
        )  # fmt: skip
    try:
        # Kill worker 0 once it is itself busy (the others may have started first and done a lot).
        victim_record = tmp_path / "record-0.txt"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if victim_record.exists() and len(victim_record.read_text().split()) >= 100:
                break
            time.sleep(0.01)
        assert len(recorded(tmp_path)) < MESSAGES, "the work finished before the kill: send more messages"
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)  # in the middle of its batches
        victim.wait()
        deadline = time.monotonic() + 120
        while len(recorded(tmp_path)) < MESSAGES and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for worker in workers[1:]:
            worker.send_signal(signal.SIGTERM)
        for i, worker in enumerate(workers[1:], start=1):
            assert worker.wait(timeout=60) == 0, (tmp_path / f"worker-{i}.log").read_text()[-2000:]
    counts = recorded(tmp_path)
    assert set(counts) == set(range(MESSAGES)), f"lost {MESSAGES - len(counts)}"
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates <= 10  # only the dead worker's batch in flight (max_batch_size 10)
    per_worker = [len((tmp_path / f"record-{i}.txt").read_text().split()) for i in range(WORKERS)]
    assert all(n > 0 for n in per_worker), per_worker  # the work was shared


@pytest.mark.anyio
async def test_every_minute_schedule_fires_once_across_apps(tmp_path: Path) -> None:
    shutil.copytree(Path(__file__).parent / "apps" / "clock", tmp_path / "clock")
    manifest = tmp_path / "clock" / "raindrop.manifest"
    manifest.write_text(manifest.read_text().replace('cron = "0 3 * * *"', 'cron = "* * * * *"'))
    url = f"{REDIS}?prefix=test-{uuid.uuid4().hex[:12]}"
    clock = FakeClock(datetime(2025, 1, 1, 0, 0, 30, tzinfo=UTC))
    apps = [App.from_manifest(manifest, backend=url, clock=clock, state_dir=tmp_path / f"s{i}") for i in range(4)]
    for app in apps:
        await app.start()
    try:
        for minute in range(1, 6):
            clock.set(datetime(2025, 1, 1, 0, minute, 1, tzinfo=UTC))
            for app in apps:
                await app.drain()
        fires = json.loads(await apps[0].env.RESULTS.get("nightly"))
        times = [f["at"] for f in fires]
        assert len(times) == 5 and len(set(times)) == 5  # once per minute, not once per app
    finally:
        for app in apps:
            await app.stop()


@pytest.mark.anyio
async def test_the_keys_of_a_tests_prefix_are_dropped_when_it_ends(tmp_path: Path) -> None:
    """What tests/conftest.py does after every test: the prefixes handed out are emptied."""
    import redis

    from tests.backends import HANDED_OUT, backend_url, drop_handed_out

    url = backend_url("redis", tmp_path)
    assert url in HANDED_OUT
    async with App.from_manifest(CRASH / "raindrop.manifest", backend=url, state_dir=tmp_path) as app:
        await app.backend.kv.put("ns", "k", b"v", None, None)
        await app.backend.state.put("ns", "actor", {"k": "1"})
    client = redis.Redis.from_url(REDIS)
    prefix = url.rsplit("prefix=", 1)[1]
    assert list(client.scan_iter(match=f"{prefix}:*"))
    drop_handed_out()
    assert list(client.scan_iter(match=f"{prefix}:*")) == [] and HANDED_OUT == []
    client.close()
