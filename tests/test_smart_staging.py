"""Two processes write one retrieval index (``serve`` and a ``worker`` on one state folder): a
writer's first sweep deletes the staging a dead writer left, never a live one's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from runtime.smart.embeddings import DIMENSIONS
from runtime.smart.memory_writer import STAGING, WRITE_BATCH, MemoryWriter
from runtime.smart.retrieval import RetrievalIndex
from runtime.smart.staging import StagingArea

pytestmark = pytest.mark.anyio


def vectors(count: int) -> Any:
    rng = np.random.default_rng(7)
    return rng.standard_normal((count, DIMENSIONS)).astype(np.float32)


def staged(index: RetrievalIndex) -> int:
    (count,) = index.conn.execute(
        "SELECT count(*) FROM chunks WHERE collection >= ? AND collection < ?", (STAGING, STAGING[:-1] + ";")
    ).fetchone()
    return int(count)


async def test_a_live_writers_staging_survives_another_writers_sweep(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    first_index, second_index = RetrievalIndex(path), RetrievalIndex(path)
    first, second = MemoryWriter(first_index), MemoryWriter(second_index)
    texts = [f"chunk {n} about ferries" for n in range(WRITE_BATCH * 3)]
    write = first.write
    batches = 0

    async def interleaved(job: Any, cost: int = 1) -> Any:
        nonlocal batches
        result = await write(job, cost)
        batches += 1
        if batches == 1:  # the huge document is half staged: another process starts writing
            assert staged(first_index) == WRITE_BATCH
            await second.document("notes", "p", "small", ["a small note"], vectors(1))
            assert staged(first_index) == WRITE_BATCH  # not swept: its writer is alive
        return result

    first.write = interleaved  # type: ignore[method-assign]
    try:
        await first.document("notes", "p", "huge", texts, vectors(len(texts)))
        assert first_index.count("notes") == len(texts) + 1  # every chunk of it, and the small note
        assert staged(first_index) == 0
    finally:
        first.close()
        second.close()
        first_index.close()
        second_index.close()


KILLED = """
import asyncio, os, signal, sys
from pathlib import Path
import numpy as np
from runtime.smart.embeddings import DIMENSIONS
from runtime.smart.memory_writer import MemoryWriter, WRITE_BATCH
from runtime.smart.retrieval import RetrievalIndex

async def main() -> None:
    writer = MemoryWriter(RetrievalIndex(Path(sys.argv[1])))
    write = writer.write
    async def dying(job, cost=1):
        result = await write(job, cost)
        print("staged", flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)  # stopped mid-document; the test kills it
        return result
    writer.write = dying
    texts = [f"chunk {n}" for n in range(WRITE_BATCH * 2)]
    await writer.document("notes", "p", "huge", texts, np.ones((len(texts), DIMENSIONS), np.float32))

asyncio.run(main())
"""


@pytest.mark.slow
async def test_a_killed_writers_staging_is_swept_and_a_stopped_ones_is_not(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    RetrievalIndex(path).close()  # the file and its tables exist before the writer starts
    process = subprocess.Popen([sys.executable, "-c", KILLED, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "staged"
        index = RetrievalIndex(path)
        assert staged(index) == WRITE_BATCH
        paused = MemoryWriter(index)
        await paused.write(lambda conn, after: None)  # a first write sweeps: the stopped process is alive
        assert staged(index) == WRITE_BATCH
        paused.close()
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    later_index = RetrievalIndex(path)
    later = MemoryWriter(later_index)
    try:
        await later.write(lambda conn, after: None)
        assert staged(later_index) == 0  # the killed writer's lock went with it
        assert [file.name for file in (tmp_path / "index.db.staging").iterdir()] == [later._staging.token]
    finally:
        later.close()
        later_index.close()
        index.close()


def test_staging_with_no_lock_file_is_abandoned_and_a_held_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    index = RetrievalIndex(path)
    alive, sweeper = StagingArea(path, STAGING), StagingArea(path, STAGING)
    alive.claim()
    rows = [(alive.collection("c"), "k"), (f"{STAGING}0123456789ab:c", "k"), (f"{STAGING}{sweeper.token}:c", "k")]
    index.conn.executemany(
        "INSERT INTO chunks (collection, scope, partition, key, seq, text, vector) VALUES (?, '', '', ?, 0, '', x'')",
        rows,
    )
    try:
        assert sweeper.abandoned(index.conn) == ["0123456789ab"]  # a runtime older than lock files left it
        alive.release()
        assert sorted(sweeper.abandoned(index.conn)) == sorted(["0123456789ab", alive.token])
    finally:
        alive.release()
        index.close()
