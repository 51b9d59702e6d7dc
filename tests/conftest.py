from __future__ import annotations

from pathlib import Path

import pytest

MANIFESTS = Path(__file__).parent / "manifests"


@pytest.fixture
def manifests() -> Path:
    return MANIFESTS
