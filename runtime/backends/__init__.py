"""Backends by URL: ``sqlite:///path/state.db`` (default), ``memory://``, ``redis://host:port/db``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from runtime.backends.base import Backend
from runtime.errors import BackendURLError

__all__ = ["Backend", "default_url", "open_backend"]


def default_url(state_dir: Path) -> str:
    return f"sqlite:///{state_dir / 'state.db'}"


def open_backend(
    url: str, *, base: Path | None = None, app: str = "app", clock_now: Callable[[], float] = time.time
) -> Backend:
    """The backend named by ``url`` (not yet opened). Relative SQLite paths are under ``base``.

    :raises BackendURLError: for a URL the runtime does not understand.
    """
    parsed = urlparse(url)
    if parsed.scheme == "memory":
        from runtime.backends.memory import MemoryBackend

        return MemoryBackend(url)
    if parsed.scheme == "sqlite":
        # As in SQLAlchemy: sqlite:///relative/state.db, sqlite:////absolute/state.db.
        if not url.startswith("sqlite:///") or len(url) == len("sqlite:///"):
            raise BackendURLError(f"backend URL {url!r} names no file: expected sqlite:///path/to/state.db")
        path = Path(url[len("sqlite:///") :])
        if not path.is_absolute() and base is not None:
            path = base / path
        from runtime.backends.sqlite import SqliteBackend

        return SqliteBackend(path)
    if parsed.scheme in ("redis", "rediss"):
        from runtime.backends.redis import RedisBackend

        return RedisBackend(url, app, clock_now)
    raise BackendURLError(
        f"unknown backend URL {url!r}: expected sqlite:///path/state.db, memory:// or redis://host:port/db"
    )
