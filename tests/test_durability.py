"""Acknowledged means durable: writes a call returned from survive SIGKILL, and a full disk makes
writes fail loudly without losing what was acknowledged before."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime import App, StorageError

pytestmark = pytest.mark.anyio
APP = Path(__file__).parent / "apps" / "durable"
KILLS = 20


def acknowledged(ack_file: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    if ack_file.exists():
        for line in ack_file.read_text().splitlines():
            kind, _, key = line.partition(" ")
            if key:  # a line cut by the kill was never completely reported
                found[kind].add(key)
    return found


def kill_storm(state: Path, ack_file: Path, concurrency: int, rng: random.Random) -> None:
    for run in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, str(APP / "writer.py"), str(state), f"r{run}", str(concurrency)],
            env={**os.environ, "ACK_FILE": str(ack_file)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        ready = child.stdout.readline()
        assert ready.strip() == "ready", child.stderr.read() if child.stderr else ""
        time.sleep(rng.uniform(0.02, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait()


async def assert_all_acknowledged_are_stored(state: Path, ack_file: Path) -> dict[str, int]:
    acked = acknowledged(ack_file)
    assert set(acked) == {"kv", "queue", "sql"}, "a kind of write was never acknowledged before the kills"
    async with App.from_manifest(APP / "raindrop.manifest", state_dir=state) as app:
        missing_kv = [key for key in acked["kv"] if await app.env.CACHE.get(key) is None]
        assert not missing_kv, f"{len(missing_kv)} acknowledged KV puts lost, e.g. {missing_kv[:5]}"
        rows = await app.env.LEDGER.prepare("SELECT id FROM entries").all()
        stored = {row["id"] for row in rows["results"]}
        assert not acked["sql"] - stored, f"{len(acked['sql'] - stored)} acknowledged SQL inserts lost"
        sent = {m.body for m in await app.backend.queues.peek("jobs", limit=1_000_000)}
        queued = {body.decode() for body in sent}
        lost = [key for key in acked["queue"] if f'{{"key":"{key}"}}' not in queued]
        assert not lost, f"{len(lost)} acknowledged sends lost, e.g. {lost[:5]}"
    return {kind: len(keys) for kind, keys in acked.items()}


@pytest.mark.slow  # writer processes killed with SIGKILL
@pytest.mark.parametrize("concurrency", [1, 50], ids=["one-by-one", "50-writers"])
async def test_acknowledged_writes_survive_sigkill(tmp_path: Path, concurrency: int) -> None:
    state = tmp_path / "state"
    ack_file = tmp_path / "acks.txt"
    kill_storm(state, ack_file, concurrency, random.Random(concurrency))
    counts = await assert_all_acknowledged_are_stored(state, ack_file)
    assert all(count >= KILLS for count in counts.values()), counts


# -- a full disk ---------------------------------------------------------------------------------


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 4 MiB tmpfs: a filesystem that really fills up. Mounting needs root and a kernel that
    lets this process mount; elsewhere the test is skipped with the reason."""
    folder = Path(tempfile.mkdtemp(prefix="raindrop-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip() or 'mount failed'}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


async def test_full_disk_fails_writes_and_keeps_what_was_acknowledged(small_disk: Path) -> None:
    state = small_disk / "state"
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 1024 * 1024)  # freed later, to show writes recover without a restart
    acked: list[str] = []
    value = "v" * 8192
    async with App.from_manifest(APP / "raindrop.manifest", state_dir=state) as app:
        with pytest.raises(StorageError, match="full") as failure:
            for n in range(10_000):
                await app.env.CACHE.put(f"k{n}", value)
                acked.append(f"k{n}")
        assert "state database" in str(failure.value) and acked
        # reads keep working, and nothing acknowledged is missing
        assert await app.env.CACHE.get(acked[0]) == value
        assert await app.env.CACHE.get(acked[-1]) == value
        with pytest.raises(StorageError, match="full"):  # a queue send fails the same way
            for n in range(1_000):
                await app.env.JOBS.send({"fill": "x" * 8192, "n": n})
        filler.unlink()
        await app.env.CACHE.put("after", "room again")
        acked.append("after")
    assert app.backend_failed_writes >= 2
    copy = small_disk.parent / f"{small_disk.name}-copy"
    shutil.copytree(state, copy)
    try:
        async with App.from_manifest(APP / "raindrop.manifest", state_dir=copy) as again:
            missing = [key for key in acked if await again.env.CACHE.get(key) is None]
            assert not missing, f"{len(missing)} acknowledged puts lost on a full disk"
    finally:
        shutil.rmtree(copy, ignore_errors=True)
