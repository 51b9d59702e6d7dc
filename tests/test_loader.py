"""Handler loading: every way a module can be wrong gets an error naming the file and the class."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runtime import App
from runtime.errors import HandlerLoadError

MANIFEST = (
    'application "a" {\n  queue "q" {}\n  observer "worker" { source { queue = "q" } }\n  actor "user-session" {}\n}\n'
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "raindrop.manifest").write_text(MANIFEST)
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "user_session.py").write_text(
        "from runtime import Actor\n\nclass UserSession(Actor):\n    pass\n"
    )
    return tmp_path


async def start(project: Path) -> None:
    async with App.from_manifest(project / "raindrop.manifest", backend="memory://"):
        pass


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("source", "message"),
    [
        (None, r'observer "worker": handler file workers/worker\.py does not exist'),
        ("x = 1\n", r"workers/worker\.py defines no subclass of Each or Batch"),
        (
            "from runtime import Each\n\nclass A(Each):\n    pass\n\nclass B(Each):\n    pass\n",
            r"defines several subclasses of Each or Batch \(A, B\); keep one",
        ),
        (
            "import not_a_module_anywhere\n",
            r"importing handler file .*worker\.py' failed: ModuleNotFoundError: No module named 'not_a_module_anywhere'",
        ),
        ("def broken(:\n", r"importing handler file .*worker\.py' failed: SyntaxError"),
    ],
)
async def test_observer_module_mistakes(project: Path, source: str | None, message: str) -> None:
    if source is not None:
        (project / "workers" / "worker.py").write_text(source)
    with pytest.raises(HandlerLoadError, match=message):
        await start(project)


@pytest.mark.anyio
async def test_actor_class_must_be_the_pascal_case_name(project: Path) -> None:
    (project / "workers" / "worker.py").write_text("from runtime import Each\n\nclass W(Each):\n    pass\n")
    (project / "workers" / "user_session.py").write_text(
        "from runtime import Actor\n\nclass Session(Actor):\n    pass\n"
    )
    with pytest.raises(HandlerLoadError, match=r"must define class UserSession\(Actor\)"):
        await start(project)


@pytest.mark.slow  # the CLI as a process
def test_cli_reports_load_errors_without_a_traceback(project: Path) -> None:
    import subprocess
    import sys

    (project / "workers" / "worker.py").write_text("def broken(:\n")
    result = subprocess.run(
        [sys.executable, "-m", "runtime", "serve", str(project / "raindrop.manifest"), "--port", "0"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error: importing handler file" in result.stderr and "SyntaxError" in result.stderr


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "from runtime import Each\n\nclass W(Each):\n    def process(self, message):\n        pass\n",
            r"workers/worker\.py:4: W\.process must be async: expected `async def process\(self, message\)`",
        ),
        (
            "from runtime import Each\n\nclass W(Each):\n    async def process(self):\n        pass\n",
            r"W\.process\(self\) cannot be called with one message; expected `async def process\(self, message\)`",
        ),
        (
            "from runtime import Batch\n\nclass W(Batch):\n    async def process(self, batch, extra):\n        pass\n",
            r"W\.process\(self, batch, extra\) cannot be called with one batch",
        ),
        (
            "from runtime import Each\n\nclass W(Each):\n    async def handle(self, message):\n        pass\n",
            r"W does not define process; expected `async def process\(self, message\)`",
        ),
    ],
    ids=["sync", "no-argument", "two-arguments", "misnamed"],
)
async def test_handler_signatures_are_checked_at_load(project: Path, source: str, message: str) -> None:
    """Mistakes that used to surface only when the first message burned its retries."""
    (project / "workers" / "worker.py").write_text(source)
    with pytest.raises(HandlerLoadError, match=message):
        await start(project)


def test_a_cached_module_is_back_under_its_name_after_another_of_that_name_was_forgotten(tmp_path: Path) -> None:
    """Two apps with a ``workers/counter.py`` share the module's name: once the second app's
    folder is forgotten (a test run deletes it), loading the first app again puts its module
    back under that name, where its code and its tests look it up."""
    from runtime.loader import forget, import_file

    first, second = tmp_path / "first", tmp_path / "second"
    for root in (first, second):
        (root / "workers").mkdir(parents=True)
        (root / "workers" / "counter.py").write_text(f"WHO = {root.name!r}\n")
    try:
        module = import_file(first / "workers" / "counter.py", first)
        assert import_file(second / "workers" / "counter.py", second).WHO == "second"
        forget(second)
        assert module.__name__ not in sys.modules
        assert import_file(first / "workers" / "counter.py", first) is module
        assert sys.modules[module.__name__] is module
    finally:
        forget(first)
