"""The peer suites' app: one of each primitive Miniflare's plugin tests exercise."""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runtime import App, FakeClock
from tests.backends import BACKENDS, backend_url

APP = Path(__file__).parent.parent / "apps" / "peer"
#: Miniflare's KV tests run at a fixed fake time: TIME_NOW = 1000 seconds (we start later; what
#: matters is that the clock is fake and moves only when told).
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(params=[pytest.param(kind, marks=[pytest.mark.redis] if kind == "redis" else []) for kind in BACKENDS])
def kind(request: pytest.FixtureRequest) -> str:
    """Every peer case runs on every backend (memory, SQLite, Redis when it is reachable)."""
    return str(request.param)


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock, kind: str) -> AsyncIterator[App]:
    shutil.copytree(APP, tmp_path / "peer")
    running = App.from_manifest(
        tmp_path / "peer" / "raindrop.manifest",
        clock=clock,
        state_dir=tmp_path / "state",
        backend=backend_url(kind, tmp_path / "state"),
    )
    async with running:
        yield running


def reopened(app: App) -> App:
    """The same app again on the same state, as after a restart (a memory backend starts empty)."""
    if not app.backend.persistent:
        pytest.skip("the memory backend keeps nothing after its process")
    return App.from_manifest(app.manifest.path, state_dir=app.state_dir, backend=app.backend.url)


def handler_module(app: App, observer: str) -> Any:
    """The module of an observer's handler (where the test workers record what they got)."""
    handler = app.queues.consumers[observer].handler
    return sys.modules[type(handler).__module__]
