"""What a backend can do is declared on its class (``persistent``, ``shared``, ``pushes_changes``
with ``events()``), and the app follows the declaration, never the URL or an ``hasattr`` probe."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import runtime.app
import runtime.consumers
from runtime import App
from runtime.backends import open_backend
from runtime.backends.base import Backend, Handover
from runtime.backends.memory import MemoryBackend

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("url", "persistent", "shared", "pushes_changes"),
    [
        ("memory://", False, False, False),
        ("sqlite:///state.db", True, True, False),
        ("redis://127.0.0.1:6379/15", True, True, True),
    ],
)
def test_each_backend_declares_what_it_can_do(
    tmp_path: Path, url: str, persistent: bool, shared: bool, pushes_changes: bool
) -> None:
    backend = open_backend(url, base=tmp_path)  # not opened: the class says it
    assert (backend.persistent, backend.shared, backend.pushes_changes) == (persistent, shared, pushes_changes)
    overrides_events = type(backend).events is not Backend.events
    assert overrides_events == pushes_changes


def test_a_backend_that_claims_to_push_changes_must_implement_events() -> None:
    with pytest.raises(TypeError, match="declares pushes_changes but does not implement events"):

        class Silent(MemoryBackend):
            shared = True
            pushes_changes = True

    with pytest.raises(TypeError, match="declares pushes_changes but not shared"):

        class Alone(MemoryBackend):
            pushes_changes = True

            async def events(self) -> AsyncIterator[str | Handover]:
                yield "*"


def test_events_of_a_backend_that_does_not_push_says_so() -> None:
    with pytest.raises(NotImplementedError, match="MemoryBackend does not push changes"):
        MemoryBackend().events()


class _Watched(MemoryBackend):
    """A shared backend in this process's memory that records how the app watched it."""

    shared = True

    def __init__(self, url: str = "memory://") -> None:
        super().__init__(url)
        self.polled = 0
        self.listened = 0

    async def changed(self) -> bool:
        self.polled += 1
        return False

    async def events(self) -> AsyncIterator[str | Handover]:
        self.listened += 1
        yield "*"
        await asyncio.Event().wait()


class _Pushing(_Watched):
    pushes_changes = True


def _manifest(tmp_path: Path) -> Path:
    path = tmp_path / "raindrop.manifest"
    path.write_text('application "caps" {\n  bucket "files" {}\n}\n')
    return path


def _use(monkeypatch: pytest.MonkeyPatch, backend: Backend) -> None:
    monkeypatch.setattr(runtime.app, "open_backend", lambda *args, **kwargs: backend)


@pytest.mark.parametrize(("kind", "listens"), [(_Watched, False), (_Pushing, True)])
async def test_the_app_listens_or_polls_as_the_backend_declares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: type[_Watched], listens: bool
) -> None:
    # _Watched has an events() it does not declare: an hasattr probe would listen to it.
    backend = kind()
    _use(monkeypatch, backend)
    async with App.from_manifest(_manifest(tmp_path), state_dir=tmp_path / "state"):
        for _ in range(100):
            if backend.polled or backend.listened:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(runtime.consumers.WATCH_INTERVAL * 1.5)
    assert (backend.listened > 0, backend.polled > 0) == (listens, not listens)


@pytest.mark.parametrize(("url", "persistent"), [("custom://scratch", False), ("memory://kept", True)])
async def test_files_of_an_app_live_as_long_as_its_backend_declares(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, persistent: bool
) -> None:
    # The URL says the opposite of the declaration: the declaration wins.
    backend = MemoryBackend(url)
    backend.persistent = persistent
    _use(monkeypatch, backend)
    state = tmp_path / "state"
    async with App.from_manifest(_manifest(tmp_path), state_dir=state) as app:
        await app.env.FILES.put("note.txt", b"hello")
        kept = list((state / "buckets" / "files").rglob("*")) if (state / "buckets").exists() else []
        assert bool(kept) == persistent


def test_no_backend_is_told_apart_by_its_url_or_probed() -> None:
    found = []
    for path in sorted((ROOT / "runtime").rglob("*.py")):
        text = path.read_text()
        for pattern in (r"startswith\(\s*['\"]memory", r"(getattr|hasattr)\(\s*backend\b"):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []
