"""The backends every contract test runs against (Redis joins when its backend lands)."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

REDIS = os.environ.get("RAINDROP_TEST_REDIS", "redis://127.0.0.1:6379/15")


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


REDIS_UP = _redis_reachable()
if not REDIS_UP and os.environ.get("CI") == "true":
    raise RuntimeError("Redis must be reachable at 127.0.0.1:6379 under CI=true")
BACKENDS = ["memory", "sqlite", *(["redis"] if REDIS_UP else [])]
SKIP_REDIS = "Redis is not reachable at 127.0.0.1:6379 (tests against it are skipped)"


def backend_url(kind: str, tmp_path: Path) -> str:
    if kind == "redis":
        # A prefix per test: tests never see each other's keys, and clean up their own.
        return f"{REDIS}?prefix=test-{uuid.uuid4().hex[:12]}"
    return {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path / 'state.db'}"}[kind]
