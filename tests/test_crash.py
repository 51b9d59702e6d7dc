"""Real processes killed with SIGKILL: nothing sent is ever lost.

A child consumes from SQLite and is killed again and again in the middle of batches; a last
child finishes the queue. Every message must be processed at least once, and the only
duplicates allowed are the messages in flight at each kill (at most one batch per kill).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from runtime import App

pytestmark = [pytest.mark.anyio, pytest.mark.slow]  # processes killed with SIGKILL
APP = Path(__file__).parent / "apps" / "crash"
KILLS = 8
MESSAGES = 3000
BATCH = 10


def spawn(mode: str, state: Path, record: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RECORD_FILE": str(record)}
    return subprocess.Popen(
        [sys.executable, str(APP / "child.py"), mode, str(state)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def recorded(record: Path) -> list[int]:
    return [int(line) for line in record.read_text().split()] if record.exists() else []


async def test_sigkill_mid_batch_loses_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    record = tmp_path / "record.txt"
    app = App.from_manifest(APP / "raindrop.manifest", state_dir=state)
    async with app:
        for start in range(0, MESSAGES, 100):
            await app.env.WORK.send_batch([{"body": {"n": n}} for n in range(start, start + 100)])
    rng = random.Random(7)
    kills = 0
    for _ in range(KILLS):
        before = len(recorded(record))
        child = spawn("consume", state, record)
        # Kill once the child is visibly working, at a random moment.
        deadline = time.monotonic() + 20
        while len(recorded(record)) < before + 5 and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.05))
        child.send_signal(signal.SIGKILL)
        child.wait()
        kills += 1
    assert len(set(recorded(record))) < MESSAGES, "the kills came too late to interrupt anything"
    finisher = spawn("finish", state, record)
    _, err = finisher.communicate(timeout=120)
    assert finisher.returncode == 0, err.decode()[-2000:]

    counts = Counter(recorded(record))
    assert set(counts) == set(range(MESSAGES)), f"lost: {sorted(set(range(MESSAGES)) - set(counts))[:20]}"
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates <= kills * BATCH, f"{duplicates} duplicates for {kills} kills"
    conn = sqlite3.connect(state / "state.db")
    assert conn.execute("SELECT count(*) FROM messages").fetchone() == (0,)


async def test_sigkill_during_send_batch_is_all_or_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    record = tmp_path / "unused.txt"
    for _ in range(3):
        child = spawn("send-batches", state, record)
        assert child.stdout is not None
        for _ in range(3):  # let a few batches land, then kill between or inside sends
            child.stdout.readline()
        time.sleep(random.uniform(0, 0.01))
        child.send_signal(signal.SIGKILL)
        child.wait()
    conn = sqlite3.connect(state / "state.db")
    sizes = conn.execute(
        "SELECT json_extract(body, '$.batch'), count(*) FROM messages GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert sizes, "no batch was sent"
    assert {count for _, count in sizes} == {100}, sizes


STORM_MESSAGES = 5000
STORM_KILLS = 50  # of each: `worker`, then `serve`


def spawn_command(command: str, state: Path, record: Path, port: int) -> subprocess.Popen[bytes]:
    manifest = str(APP / "raindrop.manifest")
    if command == "worker":
        argv = ["worker", manifest, "--backend", f"sqlite:///{state / 'state.db'}", "--state", str(state)]
    else:
        argv = ["serve", manifest, "--state", str(state), "--port", str(port), "--no-request-log"]
    env = {**os.environ, "RECORD_FILE": str(record), "RECORD_DELAY": "0.002"}
    return subprocess.Popen(
        [sys.executable, "-m", "runtime", *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def test_crash_storm_of_worker_and_serve_loses_nothing(tmp_path: Path) -> None:
    """At least 100 SIGKILLs of real `worker` and `serve` processes over 5,000 messages."""
    from tests.test_serve import free_port

    state = tmp_path / "state"
    record = tmp_path / "record.txt"
    app = App.from_manifest(APP / "raindrop.manifest", state_dir=state)
    async with app:
        for start in range(0, STORM_MESSAGES, 100):
            await app.env.WORK.send_batch([{"body": {"n": n}} for n in range(start, start + 100)])
    rng = random.Random(12)
    kills = 0
    for command in ("worker", "serve"):
        for _ in range(STORM_KILLS):
            before = len(recorded(record))
            if before >= STORM_MESSAGES * 0.95:
                break
            child = spawn_command(command, state, record, free_port())
            deadline = time.monotonic() + 20
            while len(recorded(record)) <= before and time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.03))
            child.send_signal(signal.SIGKILL)
            child.wait()
            kills += 1
    assert kills >= 2 * STORM_KILLS, f"the messages ran out after {kills} kills"
    finisher = spawn("finish", state, record)
    _, err = finisher.communicate(timeout=120)
    assert finisher.returncode == 0, err.decode()[-2000:]
    counts = Counter(recorded(record))
    assert set(counts) == set(range(STORM_MESSAGES)), f"lost: {sorted(set(range(STORM_MESSAGES)) - set(counts))[:20]}"
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates <= kills * BATCH, f"{duplicates} duplicates for {kills} kills"
