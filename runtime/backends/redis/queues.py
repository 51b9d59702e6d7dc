"""Queues on Redis: a sorted set of message ids per queue scored by ``visible_at``, bodies and
metadata in hashes; sends hand messages to idle consumer loops over pub/sub (see SEND)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from runtime.backends.base import Handover, NewMessage, QueueStats, QueueStore, Retry, StoredMessage, Waiter
from runtime.backends.failures import Counted
from runtime.backends.redis.failures import redis_errors
from runtime.backends.redis.scripts import (
    CLAIM,
    DEAD_LETTER,
    MOVE_CLAIMED,
    REDRIVE,
    SEND,
    SETTLE,
    SETTLE_CLAIM,
    STATS,
    number,
    settle_args,
)
from runtime.backends.resp import RespConnection
from runtime.errors import BackendError


class Wakeups:
    """This process's subscription: the app-wide ``events`` channel and its own ``wake:<token>``
    channel, on which sends wake its idle consumer loops (see SEND)."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self.token = secrets.token_hex(8)
        self.channels = (f"{prefix}events", f"{prefix}wake:{self.token}")
        self.members: dict[tuple[str, Waiter], str] = {}  # (idle set, waiter) -> member, for this process's loops
        self._pubsub: PubSub | None = None
        self._subscribing = asyncio.Lock()

    async def announce(self, queue: str) -> None:
        """Tell every process that ``queue`` changed (``*``: any queue) so its idle loops look again."""
        await self._r.publish(self.channels[0], queue)

    @property
    def subscribed(self) -> bool:
        return self._pubsub is not None

    async def subscription(self) -> PubSub:
        """Subscribed, and confirmed by Redis: from then on no wake-up sent here is missed."""
        async with self._subscribing:
            if self._pubsub is None:
                pubsub = self._r.pubsub()
                await pubsub.subscribe(*self.channels)
                confirmed = 0
                while confirmed < len(self.channels):
                    reply = await pubsub.get_message(timeout=10.0)
                    if reply is None:
                        raise BackendError("Redis did not confirm the subscription to wake-ups within 10 s")
                    confirmed += reply["type"] == "subscribe"
                self._pubsub = pubsub
            return self._pubsub

    async def reset(self) -> None:
        """Drop a broken subscription; the next ``subscription()`` makes a new one."""
        if self._pubsub is not None:
            with contextlib.suppress(aioredis.RedisError, OSError):
                await self._pubsub.aclose()
            self._pubsub = None

    async def close(self) -> None:
        """Leave the idle sets (no send should try this process again) and unsubscribe."""
        if self.members:
            with contextlib.suppress(aioredis.RedisError, OSError):
                async with self._r.pipeline(transaction=False) as pipe:
                    for (key, _), member in self.members.items():
                        pipe.zrem(key, member)
                    await pipe.execute()
            self.members.clear()
        if self._pubsub is not None:
            await self._pubsub.aclose()
            self._pubsub = None


@redis_errors
class RedisQueueStore(QueueStore):
    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        wakeups: Wakeups,
        fast: RespConnection | None,
        backend: Counted,
    ) -> None:
        self._backend = backend
        self._r = client
        self._p = prefix
        self._wakeups = wakeups
        self._fast = fast  # the hot path (send, claim, settle) on one pipelined connection
        self._send = client.register_script(SEND)
        self._claim = client.register_script(CLAIM)
        self._settle = client.register_script(SETTLE)
        self._settle_claim = client.register_script(SETTLE_CLAIM)
        self._dead = client.register_script(DEAD_LETTER)
        self._move = client.register_script(MOVE_CLAIMED)
        self._redrive = client.register_script(REDRIVE)
        self._stats = client.register_script(STATS)

    def _keys(self, queue: str) -> list[str]:
        base = f"{self._p}q:{queue}"
        return [f"{base}:vis", f"{base}:meta", f"{base}:body"]

    def _idle(self, queue: str) -> str:
        return f"{self._p}q:{queue}:idle"

    async def send(self, queue: str, messages: Sequence[NewMessage]) -> None:
        if not messages:
            return
        args: list[Any] = [queue, self._p, number(messages[0].created_at)]  # a batch is sent at one moment
        for m in messages:  # the metadata as json.dumps writes it, for less (content types are plain words)
            meta = (
                f'{{"content_type": "{m.content_type}", "created_at": {m.created_at!r}, "attempts": 0, "claimed": 0}}'
            )
            args += [m.id, m.body, meta, number(m.visible_at)]
        keys = [*self._keys(queue), f"{self._p}queues", self._idle(queue)]
        await self._run(self._send, keys, args)  # atomic: all or none

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """A registered script, on the pipelined connection when there is one."""
        if self._fast is not None:
            return await self._fast.script(script.script, keys, args)
        return await script(keys=keys, args=args)

    async def claim(self, queue: str, limit: int, now: float, lease_until: float) -> list[StoredMessage]:
        out = await self._run(self._claim, self._keys(queue), [number(now), number(lease_until), limit])
        return self._claimed(queue, out)

    async def settle_and_claim(
        self,
        queue: str,
        acks: Sequence[str],
        retries: Sequence[Retry],
        limit: int,
        now: float,
        lease_until: float,
        waiter: Waiter | None = None,
    ) -> tuple[list[StoredMessage], float | None]:
        member = ""
        idle = self._idle(queue)
        if waiter is not None:
            if not self._wakeups.subscribed:
                await self._wakeups.subscription()  # before joining an idle set, so nothing handed over is missed
            member = f"{self._wakeups.token} {round(lease_until - now, 3)!r} {waiter}"
            self._wakeups.members[idle, waiter] = member
        args = [*settle_args(acks, retries), number(now), number(lease_until), limit, member]
        out = await self._run(self._settle_claim, [*self._keys(queue), idle], args)
        if retries:
            await self._wakeups.announce(queue)
        if len(out) < 3:  # nothing claimed: the earliest visible_at, if any message is left
            return [], float(out[0]) if out else None
        return self._claimed(queue, out), None

    async def leave_idle(self, queue: str, waiter: Waiter) -> None:
        member = self._wakeups.members.get((self._idle(queue), waiter))
        if member is not None:
            await self._r.zrem(self._idle(queue), member)

    def _claimed(self, queue: str, out: list[Any]) -> list[StoredMessage]:
        found = []
        for i in range(0, len(out), 3):
            meta = json.loads(out[i + 2])
            found.append(stored(out[i].decode(), queue, out[i + 1], meta))
        return found

    async def settle(self, queue: str, acks: Sequence[str], retries: Sequence[Retry]) -> None:
        await self._run(self._settle, self._keys(queue), settle_args(acks, retries))
        if retries:
            await self._wakeups.announce(queue)

    async def dead_letter(self, queue: str, dead_queue: str, ids: Sequence[str], errors: Sequence[str | None]) -> None:
        await self._dead(
            keys=[*self._keys(queue), *self._keys(dead_queue)],
            args=[queue, dead_queue, json.dumps([[i, e] for i, e in zip(ids, errors, strict=True)])],
        )
        await self._r.sadd(f"{self._p}queues", dead_queue)
        await self._wakeups.announce(dead_queue)  # its consumer, in whatever process, starts on them

    async def extend(self, queue: str, ids: Sequence[str], lease_until: float) -> None:
        await self._move(keys=self._keys(queue)[:2], args=[json.dumps(list(ids)), number(lease_until), "extend"])

    async def release(self, queue: str, ids: Sequence[str], now: float) -> None:
        await self._move(keys=self._keys(queue)[:2], args=[json.dumps(list(ids)), number(now), "release"])
        await self._wakeups.announce(queue)

    async def stats(self, queue: str, now: float, dead_queue: str | None = None) -> QueueStats:
        ready, in_flight, delayed = await self._stats(keys=self._keys(queue)[:2], args=[number(now)])
        dead = await self._r.zcard(self._keys(dead_queue)[0]) if dead_queue else 0
        return QueueStats(int(ready), int(in_flight), int(delayed), int(dead))

    async def next_visible(self, queue: str) -> float | None:
        first = await self._r.zrange(self._keys(queue)[0], 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    async def peek(self, queue: str, limit: int = 100) -> list[StoredMessage]:
        vis, meta, body = self._keys(queue)
        ids = [i.decode() for i in await self._r.zrange(vis, 0, limit - 1)]
        if not ids:
            return []
        metas = await self._r.hmget(meta, ids)
        bodies = await self._r.hmget(body, ids)
        return [stored(i, queue, b, json.loads(m)) for i, m, b in zip(ids, metas, bodies, strict=True) if m is not None]

    async def redrive(self, dead_queue: str, now: float, to_queue: str | None = None) -> int:
        moved = int(
            await self._redrive(
                keys=[*self._keys(dead_queue), f"{self._p}queues"], args=[number(now), to_queue or "", self._p]
            )
        )
        if moved:
            await self._wakeups.announce(to_queue or "*")
        return moved

    async def purge(self, queue: str) -> int:
        vis = self._keys(queue)[0]
        count = int(await self._r.zcard(vis))
        await self._r.delete(*self._keys(queue))
        return count

    async def queues(self) -> list[str]:
        names = sorted(n.decode() for n in await self._r.smembers(f"{self._p}queues"))
        return [n for n in names if await self._r.zcard(self._keys(n)[0])]


def handover(payload: bytes) -> Handover | None:
    """Parse what SEND published for an idle loop: netstrings queue, member, then id, body, meta."""
    fields: list[bytes] = []
    at = 0
    while at < len(payload):
        colon = payload.index(b":", at)
        start = colon + 1
        end = start + int(payload[at:colon])
        fields.append(payload[start:end])
        at = end
    queue = fields[0].decode()
    waiter = Waiter.parse(fields[1].decode().split(" ", 2)[2])
    if waiter is None:  # not a member a loop of ours wrote: nothing to hand to
        return None
    messages = [
        stored(fields[i].decode(), queue, fields[i + 1], json.loads(fields[i + 2])) for i in range(2, len(fields), 3)
    ]
    return Handover(queue, waiter, messages)


def stored(message_id: str, queue: str, body: bytes, meta: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        message_id,
        queue,
        body,
        meta["content_type"],
        float(meta["created_at"]),
        int(meta["attempts"]),
        meta.get("last_error"),
        meta.get("origin"),
        meta.get("failed_attempts"),
    )
