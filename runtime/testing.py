"""The pytest plugin, active once the package is installed (entry point ``pytest11``).

Fixtures:

- ``raindrop_clock``: a :class:`~runtime.FakeClock` (``now()``, ``advance(seconds=...)``, ``set(datetime)``).
- ``raindrop_http``: an ``httpx.AsyncClient`` on the app's first public service, in process.
- ``raindrop_app``: the app of ``raindrop.manifest`` (or the ``raindrop_manifest`` ini option, or
  an overridden ``raindrop_manifest`` fixture), started on the fake clock with its state in a
  fresh temporary directory, stopped after the test.

Async tests that use these fixtures run on asyncio through anyio's plugin; they are marked
automatically.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from runtime.app import App
from runtime.clock import FakeClock

FIXTURES = {"raindrop_app", "raindrop_clock", "raindrop_http"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("raindrop_manifest", "path of the app's raindrop.manifest, relative to the rootdir", default="")
    parser.addini(
        "raindrop_backend", "backend URL for raindrop_app (default: SQLite in a temporary folder)", default=""
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        fixtures = set(getattr(item, "fixturenames", ()))
        is_async = function is not None and inspect.iscoroutinefunction(function)
        if is_async and fixtures & FIXTURES and item.get_closest_marker("anyio") is None:
            item.add_marker(pytest.mark.anyio)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def raindrop_clock() -> FakeClock:
    """A fake clock starting at 2025-01-01T00:00:00Z; only the test moves it."""
    return FakeClock()


@pytest.fixture
def raindrop_manifest(request: pytest.FixtureRequest) -> Path:
    """The manifest ``raindrop_app`` runs; override this fixture to point at another app."""
    configured = str(request.config.getini("raindrop_manifest") or "raindrop.manifest")
    path = Path(configured)
    return path if path.is_absolute() else Path(request.config.rootpath) / path


@pytest.fixture
async def raindrop_app(
    raindrop_manifest: Path, raindrop_clock: FakeClock, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[App]:
    """The app, running on the fake clock, with state in a fresh temporary directory."""
    backend = str(request.config.getini("raindrop_backend") or "") or None
    app = App.from_manifest(
        raindrop_manifest, clock=raindrop_clock, state_dir=tmp_path / "raindrop-state", backend=backend
    )
    async with app:
        yield app


@pytest.fixture
async def raindrop_http(raindrop_app: App) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` on the app's first public service, in process (no sockets)."""
    public = [s.name for s in raindrop_app.manifest.application.services if s.visibility == "public"]
    if not public:
        raise pytest.UsageError('raindrop_http needs a service with visibility = "public" in the manifest')
    transport = httpx.ASGITransport(app=raindrop_app.asgi(public[0]))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{public[0]}.localhost") as client:
        yield client
