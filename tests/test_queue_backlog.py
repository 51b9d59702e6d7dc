"""A backlog worked through by a handler that never waits does not hold the event loop."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from runtime import App
from runtime.backends import open_backend
from runtime.backends.base import NewMessage

pytestmark = pytest.mark.anyio
MANIFEST = Path(__file__).parent / "apps" / "backlog" / "raindrop.manifest"


async def test_a_backlog_of_no_op_messages_leaves_the_loop_free(tmp_path: Path) -> None:
    # 20,000 messages sharing one visible_at, as one send_batch or a bulk import leaves them.
    backend = open_backend(f"sqlite:///{tmp_path / 'state.db'}")
    await backend.open()
    now = time.time()
    for first in range(0, 20_000, 5_000):
        batch = [NewMessage(uuid.uuid4().hex, b'{"i": 1}', "json", now, now) for _ in range(first, first + 5_000)]
        await backend.queues.send("work", batch)
    await backend.close()

    gaps: list[float] = []

    async def ticker() -> None:
        # Stands for every request and timer that shares the loop with the consumer.
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            gaps.append(time.perf_counter() - before - 0.005)

    app = App.from_manifest(MANIFEST, state_dir=tmp_path)
    async with app:
        ticking = asyncio.create_task(ticker())
        await app.drain()
        ticking.cancel()
        assert (await app.queue_stats())["work"].depth == 0
    assert len(gaps) > 3, "the backlog was gone before the loop ran anything else"
    assert max(gaps) < 0.1, f"the loop was held for {max(gaps) * 1000:.0f} ms while the backlog drained"
