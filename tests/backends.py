"""The backends every contract test runs against (Redis joins when its backend lands)."""

from __future__ import annotations

from pathlib import Path

BACKENDS = ["memory", "sqlite"]


def backend_url(kind: str, tmp_path: Path) -> str:
    return {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path / 'state.db'}"}[kind]
