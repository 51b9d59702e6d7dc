"""The backends every contract test runs against (Redis joins when its backend lands)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime.backends import open_backend
from runtime.backends.base import Backend

BACKENDS = ["memory", "sqlite"]


def backend_url(kind: str, tmp_path: Path) -> str:
    return {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path / 'state.db'}"}[kind]


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def backend(backend_kind: str, tmp_path: Path) -> AsyncIterator[Backend]:
    store = open_backend(backend_url(backend_kind, tmp_path))
    await store.open()
    yield store
    await store.close()
