"""The Redis backend that answers binding calls (from TypeScript handlers as from Python ones)
opens at most MAX_CONNECTIONS connections: a flood of concurrent calls waits for free ones."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from runtime.backends import open_backend
from runtime.backends.redis import MAX_CONNECTIONS, RedisBackend
from tests.backends import REDIS, REDIS_UP, SKIP_REDIS

pytestmark = [pytest.mark.skipif(not REDIS_UP, reason=SKIP_REDIS), pytest.mark.redis]

CALLS = 400  # enough to need more than MAX_CONNECTIONS connections at once, few enough for a shared server


@pytest.mark.anyio
async def test_concurrent_calls_share_a_capped_pool() -> None:
    """Before, every call that found no idle connection opened one: 400 concurrent calls opened
    hundreds of connections (a flood of 20,000, thousands)."""
    backend = open_backend(f"{REDIS}?prefix=test-{uuid.uuid4().hex[:12]}")
    assert isinstance(backend, RedisBackend)
    await backend.open()
    try:
        client = backend._client
        assert client is not None
        key = f"{backend.prefix}pool-probe"
        await client.set(key, b"v")
        answers = await asyncio.gather(*(client.get(key) for _ in range(CALLS)))
        assert answers == [b"v"] * CALLS  # every caller got its answer, none was refused
        pool = client.connection_pool
        opened = len(pool._available_connections) + len(pool._in_use_connections)  # type: ignore[attr-defined]
        assert 1 <= opened <= MAX_CONNECTIONS
        await backend.drop_everything()
    finally:
        await backend.close()
