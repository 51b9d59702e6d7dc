"""The pipelined Redis connection of the queue's hot path, against a real Redis server."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlparse

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from runtime.backends.resp import RespConnection, pack
from tests.backends import REDIS, REDIS_UP, SKIP_REDIS

pytestmark = [pytest.mark.anyio, pytest.mark.skipif(not REDIS_UP, reason=SKIP_REDIS), pytest.mark.redis]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def connection() -> RespConnection:
    url = urlparse(REDIS)
    return RespConnection(url.hostname or "127.0.0.1", url.port or 6379, int(url.path.strip("/") or 0))


def test_pack_is_the_redis_protocol() -> None:
    assert (
        pack(("SET", "k", b"v\r\n", 3, 1.5)) == b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n$1\r\n3\r\n$3\r\n1.5\r\n"
    )
    with pytest.raises(TypeError, match="NoneType"):
        pack(("SET", None))


async def test_concurrent_commands_get_their_own_replies_on_the_selected_database() -> None:
    prefix = f"test-resp-{uuid.uuid4().hex[:8]}:"
    fast = connection()
    client = aioredis.from_url(REDIS)
    try:
        await asyncio.gather(*(fast.execute("SET", f"{prefix}{i}", f"value-{i}") for i in range(300)))
        replies = await asyncio.gather(*(fast.execute("GET", f"{prefix}{i}") for i in range(300)))
        assert replies == [f"value-{i}".encode() for i in range(300)]
        assert await client.get(f"{prefix}7") == b"value-7"  # the database of the URL, not 0
        # a caller cancelled while waiting does not shift the replies of the others
        waiting = [asyncio.ensure_future(fast.execute("GET", f"{prefix}{i}")) for i in range(10)]
        waiting[3].cancel()
        done = await asyncio.gather(*waiting, return_exceptions=True)
        assert isinstance(done[3], asyncio.CancelledError)
        assert [d for i, d in enumerate(done) if i != 3] == [f"value-{i}".encode() for i in range(10) if i != 3]
        with pytest.raises(ResponseError, match="WRONGTYPE"):
            await fast.execute("LPUSH", f"{prefix}1", "x")
        assert await fast.execute("GET", f"{prefix}1") == b"value-1"  # the connection goes on
    finally:
        async for key in client.scan_iter(match=prefix + "*"):
            await client.delete(key)
        await client.aclose()
        fast.close()


async def test_scripts_load_themselves_and_a_lost_connection_comes_back() -> None:
    fast = connection()
    source = "return ARGV[1] .. KEYS[1]"
    try:
        await fast.execute("SCRIPT", "FLUSH")  # NOSCRIPT first: the script is sent in full once
        assert await fast.script(source, ["k"], ["v-"]) == b"v-k"
        assert await fast.script(source, ["j"], ["w-"]) == b"w-j"
        own = await fast.execute("CLIENT", "ID")
        pending = asyncio.ensure_future(fast.execute("BLPOP", f"never-{uuid.uuid4().hex}", 5))
        await asyncio.sleep(0.05)
        killer = aioredis.from_url(REDIS)
        await killer.execute_command("CLIENT", "KILL", "ID", own)
        await killer.aclose()
        with pytest.raises(RedisConnectionError):
            await pending
        assert await fast.execute("PING") == b"PONG"  # reconnected
    finally:
        fast.close()
