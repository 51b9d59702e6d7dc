"""TypeScript handler tests: each copies an app into a temporary folder once per session (its
bundle is cached there and shared by the tests) and runs it through the pytest plugin."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

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
