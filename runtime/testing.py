"""The pytest plugin, active once the package is installed (entry point ``pytest11``).

Fixtures:

- ``raindrop_clock``: a :class:`~runtime.FakeClock` (``now()``, ``advance(seconds=...)``,
  ``set(datetime, catch_up=True)``). It starts at 2025-01-01T00:00:00Z, or at the
  ``raindrop_clock_start`` ini option, or at a test's ``@pytest.mark.raindrop_clock("2026-03-02T09:00:00Z")``.
- ``raindrop_http``: an ``httpx.AsyncClient`` on the app's first public service, in process. An
  exception a handler raises propagates to the test (as with Starlette's ``TestClient``);
  set the ini option ``raindrop_http_raise_exceptions = false`` to get the 500 response instead.
- ``raindrop_ai``: the app's ``env.AI``, to script per test:
  ``raindrop_ai.script({"refund": "billing"})``, then ``raindrop_ai.calls`` (see
  :mod:`runtime.ai.scripted`).
- ``raindrop_app``: the app of ``raindrop.manifest`` (or the ``raindrop_manifest`` ini option, or
  an overridden ``raindrop_manifest`` fixture), started on the fake clock with its state in a
  fresh temporary directory, stopped after the test.

Async tests that use these fixtures run on asyncio through anyio's plugin; they are marked
automatically.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.ai import AI
from runtime.app import App
from runtime.clock import FakeClock

FIXTURES = {"raindrop_ai", "raindrop_app", "raindrop_clock", "raindrop_http"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("raindrop_manifest", "path of the app's raindrop.manifest, relative to the rootdir", default="")
    parser.addini(
        "raindrop_backend", "backend URL for raindrop_app (default: SQLite in a temporary folder)", default=""
    )
    parser.addini(
        "raindrop_http_raise_exceptions",
        "raindrop_http raises a handler's exception in the test (default true) instead of answering 500",
        type="bool",
        default=True,
    )
    parser.addini(
        "raindrop_clock_start", "ISO moment the fake clock starts at (default 2025-01-01T00:00:00Z)", default=""
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "raindrop_clock(start): start this test's fake clock at an ISO moment or a datetime"
    )


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Generator[None, Any, Any]:
    """Mark an async test that names one of these fixtures before anyio's plugin looks at it
    (around every other implementation, so whatever order plugins load in): marked any later,
    anyio's plugin re-creates a parametrized test without its parameters."""
    if inspect.iscoroutinefunction(obj) and isinstance(collector, pytest.Class | pytest.Module):
        _mark_anyio(collector, name, obj)
    return (yield)


def _mark_anyio(collector: pytest.Class | pytest.Module, name: str, obj: object) -> None:
    if not collector.istestfunction(obj, name):
        return
    if any(mark.name == "anyio" for mark in getattr(obj, "pytestmark", [])):
        return
    if collector.get_closest_marker("anyio") is not None:
        return
    try:
        parameters = inspect.signature(obj).parameters  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return
    if FIXTURES.intersection(parameters):
        pytest.mark.anyio(obj)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # An async test that reaches these fixtures only through fixtures of its own is marked here.
    for item in items:
        function = getattr(item, "function", None)
        fixtures = set(getattr(item, "fixturenames", ()))
        is_async = function is not None and inspect.iscoroutinefunction(function)
        if is_async and fixtures & FIXTURES and item.get_closest_marker("anyio") is None:
            item.add_marker(pytest.mark.anyio)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def raindrop_clock(request: pytest.FixtureRequest) -> FakeClock:
    """A fake clock; only the test moves it. It starts at the test's ``raindrop_clock`` mark,
    else the ``raindrop_clock_start`` ini option, else 2025-01-01T00:00:00Z."""
    mark = request.node.get_closest_marker("raindrop_clock")
    start: object = mark.args[0] if mark is not None and mark.args else request.config.getini("raindrop_clock_start")
    if not start:
        return FakeClock(DEFAULT_START)
    if isinstance(start, datetime):
        moment = start
    else:
        try:
            moment = datetime.fromisoformat(str(start).replace("Z", "+00:00"))
        except ValueError:
            raise pytest.UsageError(
                f"raindrop_clock start {start!r} is not an ISO moment (2026-03-02T09:00:00Z)"
            ) from None
    return FakeClock(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


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
    if backend is not None and backend.startswith(("redis://", "rediss://", "unix://")):
        # A key prefix of the test's own, dropped afterwards: no state leaks between tests.
        backend += ("&" if "?" in backend else "?") + f"prefix=test-{uuid.uuid4().hex[:12]}"
    app = App.from_manifest(
        raindrop_manifest, clock=raindrop_clock, state_dir=tmp_path / "raindrop-state", backend=backend
    )
    async with app:
        yield app
    if backend is not None and backend.startswith(("redis://", "rediss://", "unix://")):
        from runtime.backends import open_backend

        store = open_backend(backend)
        await store.open()
        try:
            await store.drop_everything()  # type: ignore[attr-defined]
        finally:
            await store.close()


@pytest.fixture
async def raindrop_http(raindrop_app: App, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` on the app's first public service, in process (no sockets); a
    handler's exception is raised in the test unless ``raindrop_http_raise_exceptions = false``."""
    public = [s.name for s in raindrop_app.manifest.application.services if s.visibility == "public"]
    if not public:
        raise pytest.UsageError('raindrop_http needs a service with visibility = "public" in the manifest')
    raising = bool(request.config.getini("raindrop_http_raise_exceptions"))
    transport = httpx.ASGITransport(app=raindrop_app.asgi(public[0], raise_exceptions=raising))
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{public[0]}.localhost") as client:
        yield client


@pytest.fixture
def raindrop_ai(raindrop_app: App) -> AI:
    """The app's ``env.AI``, for scripting text generation in this test (``script(...)``)."""
    ai: AI = raindrop_app.env.AI
    return ai
