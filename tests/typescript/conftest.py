"""TypeScript handler tests: each copies an app into a temporary folder once per session (its
bundle is cached there and shared by the tests) and runs it through the pytest plugin."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from runtime.app import App

HERE = Path(__file__).parent

pytestmark = pytest.mark.slow


def copy_app(name: str, factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed (TypeScript handlers need Node >= 20)")
    target = factory.mktemp(name) / name
    shutil.copytree(HERE / name, target)
    return target / "raindrop.manifest"


@pytest.fixture(scope="session")
def contract_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_app("contract_app", tmp_path_factory)


@pytest.fixture(scope="session")
def guard_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Handlers that misbehave on purpose (exit, spin, throw odd values); request_timeout: 1 s."""
    return copy_app("guard_app", tmp_path_factory)


@pytest.fixture
async def raindrop_http_500(raindrop_app: App) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``raindrop_http``, but a handler's exception is the 500 response a client gets (the
    page ``serve`` sends), for tests about that page."""
    public = next(s.name for s in raindrop_app.manifest.application.services if s.visibility == "public")
    transport = httpx.ASGITransport(app=raindrop_app.asgi(public, raise_exceptions=False))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{public}.localhost") as client:
        yield client
