"""Redis backend (``redis://host:port/db``): many processes, one state.

Every key lives under ``raindrop:<app>:`` (or ``?prefix=`` in the URL), so apps can share a
server. Queues use the same model as SQLite: per queue a sorted set of message ids scored by
``visible_at`` (a claim moves the score to the end of the lease), with bodies and metadata in
hashes; every multi-key change is one Lua script, so it is atomic across processes. A send
hands its messages to idle consumer loops, claimed for them, over pub/sub (see SEND); other
changes (retries, alarms, redrives) are announced on ``<prefix>events``. No process polls.
KV entries carry their own expiry, judged by the ``now`` each read passes in; Redis frees them
an hour after that. Cron fires are claimed with ``SET NX``.

The package: ``scripts`` (the Lua), ``queues``, ``kv``, ``state`` (actors, alarms, cron fires),
``failures`` (redis-py's errors as StorageError), and here the backend that opens them over one
client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import redis.asyncio as aioredis

from runtime.backends.base import Backend, Handover
from runtime.backends.redis.kv import RedisKvStore
from runtime.backends.redis.queues import RedisQueueStore, Wakeups, handover
from runtime.backends.redis.state import RedisStateStore
from runtime.backends.resp import RespConnection
from runtime.errors import BackendError

log = logging.getLogger("raindrop.redis")
#: Seconds before subscribing again after the wake-up subscription was lost, doubling while
#: Redis stays away, up to the second figure.
RESUBSCRIBE_FIRST, RESUBSCRIBE_MAX = 0.1, 2.0
#: Connections one process opens to Redis at most (the wake-up subscription holds one): a flood
#: of concurrent calls waits for a free connection rather than opening one each.
MAX_CONNECTIONS = 64


def _fast_connection(client: aioredis.Redis) -> RespConnection | None:
    """A pipelined connection with the client's settings, for plain TCP (not TLS or a socket file)."""
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    if pool.connection_class is not aioredis.Connection or "host" not in kwargs:
        return None
    return RespConnection(
        kwargs["host"],
        int(kwargs.get("port", 6379)),
        int(kwargs.get("db") or 0),
        kwargs.get("username"),
        kwargs.get("password"),
    )


class RedisBackend(Backend):
    shared = True
    pushes_changes = True  # keyspace news and hand-overs arrive on pub/sub: no process polls
    recheck_idle = 2.0  # a wake-up lost to a process killed as it was woken delays a message by 2 s at most

    def __init__(self, url: str, app: str, clock_now: Any) -> None:
        parsed = urlparse(url)
        query = parse_qs(parsed.query)
        self.url = url
        self.prefix = (query.get("prefix") or [f"raindrop:{app}"])[0] + ":"
        self._connect_url = parsed._replace(query="").geturl()
        self._clock_now = clock_now
        self._client: aioredis.Redis | None = None
        self._fast: RespConnection | None = None
        self._wakeups: Wakeups | None = None

    async def open(self) -> None:
        try:
            pool = aioredis.BlockingConnectionPool.from_url(
                self._connect_url, max_connections=MAX_CONNECTIONS, timeout=None
            )
            self._client = aioredis.Redis.from_pool(pool)  # closing the client closes the pool
            await self._client.ping()
        except (OSError, aioredis.RedisError) as exc:
            raise BackendError(f"cannot reach Redis at {self._connect_url}: {exc}") from None
        self._fast = _fast_connection(self._client)
        self._wakeups = Wakeups(self._client, self.prefix)
        self.queues = RedisQueueStore(self._client, self.prefix, self._wakeups, self._fast, self)
        self.kv = RedisKvStore(self._client, self.prefix, self._clock_now, self)
        self.state = RedisStateStore(self._client, self.prefix, self)
        await self.state.upgrade_actor_ids()

    async def close(self) -> None:
        if self._wakeups is not None:
            await self._wakeups.close()
            self._wakeups = None
        if self._fast is not None:
            self._fast.close()
            self._fast = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def events(self) -> AsyncIterator[str | Handover]:
        """As they happen: names of queues with news from other processes (``$alarms`` for
        alarms), and the messages sends handed to this process's idle consumer loops."""
        assert self._wakeups is not None
        wakeups = self._wakeups
        broadcast = wakeups.channels[0].encode()
        delay = RESUBSCRIBE_FIRST
        while True:
            try:
                pubsub = await wakeups.subscription()
                delay = RESUBSCRIBE_FIRST  # subscribed: a later loss starts over from the first delay
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    if message["channel"] == broadcast:
                        yield message["data"].decode()
                    else:
                        event = handover(message["data"])
                        if event is not None:
                            yield event
            except (aioredis.RedisError, OSError) as exc:
                # Meanwhile no send hands this process anything (its channel has no subscriber)
                # and idle loops look again every recheck_idle seconds.
                log.warning("lost the Redis subscription (%s); subscribing again in %g s", exc, delay)
                await wakeups.reset()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESUBSCRIBE_MAX)  # Redis stays away: ask less and less often
                yield "*"  # whatever was announced meanwhile: every consumer looks again

    async def drop_everything(self) -> None:
        """Delete every key under this backend's prefix (tests clean up with it)."""
        assert self._client is not None
        async for key in self._client.scan_iter(match=self.prefix + "*"):
            await self._client.delete(key)
