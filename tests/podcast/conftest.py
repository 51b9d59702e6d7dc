from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime import FakeClock

ROOT = Path(__file__).parent.parent.parent
APP_FILES = ["raindrop.manifest", "raindrop.local.yaml", "handlers", "workers", "hakivo", "db"]


@pytest.fixture
def podcast_root(tmp_path: Path) -> Path:
    """A copy of the podcast app, so tests may change its settings."""
    for name in APP_FILES:
        source = ROOT / name
        target = tmp_path / "app" / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    return tmp_path / "app"


@pytest.fixture
def raindrop_manifest(podcast_root: Path) -> Path:
    return podcast_root / "raindrop.manifest"


@pytest.fixture
def raindrop_clock() -> FakeClock:
    # A Wednesday, a minute before the 3 am pre-generation.
    return FakeClock(datetime(2025, 1, 1, 2, 59, tzinfo=UTC))
