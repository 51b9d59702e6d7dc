from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime.backends import open_backend
from runtime.backends.base import Backend
from tests.backends import BACKENDS, backend_url

MANIFESTS = Path(__file__).parent / "manifests"


@pytest.fixture
def manifests() -> Path:
    return MANIFESTS


@pytest.fixture(params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def backend(backend_kind: str, tmp_path: Path) -> AsyncIterator[Backend]:
    store = open_backend(backend_url(backend_kind, tmp_path))
    await store.open()
    yield store
    await store.close()
