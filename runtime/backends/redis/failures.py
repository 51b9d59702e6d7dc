"""Redis's failures (a lost connection, a server out of memory, a timeout) as StorageError."""

from __future__ import annotations

from typing import Any

import redis.exceptions

from runtime.backends.failures import storage_errors


def _where(store: Any) -> str:
    return f"Redis (keys {store._p}*)"  # the server's address is in redis-py's message; never the URL's password


redis_errors = storage_errors((redis.exceptions.RedisError, OSError), _where)
