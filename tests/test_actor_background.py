"""Actor writes made after a call returned (work the call started without ``wait_until``) still
land on a shared backend: they keep the actor's lease, or take it back, and the instance that
made them stays the live one when nobody else held the actor meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from runtime import App

pytestmark = pytest.mark.anyio

MANIFEST = 'application "bg" {\n  actor "tally" {}\n}\n'
HANDLER = """
import asyncio
from runtime import Actor


class Tally(Actor):
    def __init__(self, state, env):
        super().__init__(state, env)
        self.made = id(self)
        self.tasks = set()

    async def later(self, key: str, delay: float) -> int:
        async def write() -> None:
            await asyncio.sleep(delay)
            await self.state.storage.put(key, "written")
        task = asyncio.ensure_future(write())
        self.tasks.add(task)
        return self.made

    async def done(self) -> list:
        results = await asyncio.gather(*self.tasks, return_exceptions=True)
        return [type(r).__name__ if isinstance(r, BaseException) else None for r in results]

    async def read(self, key: str) -> Any:
        return await self.state.storage.get(key)

    async def me(self) -> int:
        return self.made
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "raindrop.manifest").write_text(MANIFEST)
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "tally.py").write_text(HANDLER.replace("Any", "object"))
    return tmp_path


@pytest.mark.parametrize("delay", [0.0, 0.05])  # inside the lease's linger, and well after it
async def test_background_writes_land_and_keep_the_instance(app_dir: Path, delay: float) -> None:
    backend = f"sqlite:///{app_dir / 'shared' / 'state.db'}"
    app = App.from_manifest(app_dir / "raindrop.manifest", state_dir=app_dir / "state", backend=backend)
    async with app:
        tally: Any = app.env.TALLY.get(app.env.TALLY.id_from_name("t"))
        made = await tally.later("k", delay)
        await asyncio.sleep(delay + 0.05)
        assert await tally.done() == [None]  # the write was not refused
        assert await tally.read("k") == "written"
        assert await tally.me() == made  # nobody else held the actor: the same instance goes on
