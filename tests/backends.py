"""The backends every contract test runs against, and the Redis key prefixes tests get."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def _worker_url(base: str, worker: str | None) -> str:
    """The Redis URL of this test process: ``base`` itself, or under pytest-xdist (worker ``gwN``)
    the database ``N`` past ``base``'s, so parallel workers never share a database: with
    ``RAINDROP_TEST_REDIS=redis://127.0.0.1:6379/8`` and two workers, ``gw0`` gets database 8 and
    ``gw1`` database 9. Where that would pass database 15 (a server has 16 unless configured
    otherwise), the workers count down from ``base`` instead: the default 15 gives 15, 14, ..."""
    if not worker or not worker.startswith("gw"):
        return base
    parts = urlsplit(base)
    first, index = int(parts.path.strip("/") or 0), int(worker[2:])
    database = first + index if first + index <= 15 else first - index
    if database < 0:
        raise RuntimeError(f"no Redis database for xdist worker {worker} from {base}: run fewer workers")
    return urlunsplit(parts._replace(path=f"/{database}"))


#: ``RAINDROP_TEST_REDIS`` (default database 15), moved to one database per xdist worker.
REDIS = _worker_url(
    os.environ.get("RAINDROP_TEST_REDIS", "redis://127.0.0.1:6379/15"), os.environ.get("PYTEST_XDIST_WORKER")
)


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


#: The Redis URLs handed out during the current test: ``tests/conftest.py`` deletes their keys after it.
HANDED_OUT: list[str] = []


def backend_url(kind: str, tmp_path: Path) -> str:
    if kind == "redis":
        # A prefix per test: tests never see each other's keys, and their keys go when they end.
        url = f"{REDIS}?prefix=test-{uuid.uuid4().hex[:12]}"
        HANDED_OUT.append(url)
        return url
    return {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path / 'state.db'}"}[kind]


def drop_handed_out() -> None:
    """Delete the keys under every Redis prefix handed out since the last call."""
    urls, HANDED_OUT[:] = list(HANDED_OUT), []
    if not urls:
        return
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        for url in urls:
            prefix = url.rsplit("prefix=", 1)[1]
            for key in client.scan_iter(match=f"{prefix}:*", count=1000):
                client.delete(key)
    finally:
        client.close()
