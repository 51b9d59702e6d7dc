"""Redis backend (``redis://host:port/db``): many processes, one state.

Every key lives under ``raindrop:<app>:`` (or ``?prefix=`` in the URL), so apps can share a
server. Queues use the same model as SQLite: per queue a sorted set of message ids scored by
``visible_at`` (a claim moves the score to the end of the lease), with bodies and metadata in
hashes; every multi-key change is one Lua script, so it is atomic across processes. A send
hands its messages to idle consumer loops, claimed for them, over pub/sub (see SEND); other
changes (retries, alarms, redrives) are announced on ``<prefix>events``. No process polls. KV entries carry their own expiry, judged by the ``now`` each read passes in; Redis
frees them an hour after that. Cron fires are claimed with ``SET NX``.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import parse_qs, urlparse

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from runtime.backends.base import (
    Alarm,
    Backend,
    Handover,
    KvEntry,
    KvKey,
    KvStore,
    NewMessage,
    QueueStats,
    QueueStore,
    Retry,
    StateStore,
    StoredMessage,
)
from runtime.backends.resp import RespConnection
from runtime.errors import BackendError

log = logging.getLogger("raindrop.redis")

# The claim every consumer step and every hand-over makes, as a Lua function over KEYS vis, meta,
# body: up to `limit` messages visible at `now`, each leased until `lease`; returns a flat list
# id, body, meta-json per message.
_CLAIM_FN = """
local function claim(now, lease, limit)
  local out = {}
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)) do
    local meta = cjson.decode(redis.call('HGET', KEYS[2], id))
    meta['attempts'] = meta['attempts'] + 1
    meta['claimed'] = 1
    local encoded = cjson.encode(meta)
    redis.call('HSET', KEYS[2], id, encoded)
    redis.call('ZADD', KEYS[1], lease, id)
    table.insert(out, id)
    table.insert(out, redis.call('HGET', KEYS[3], id))
    table.insert(out, encoded)
  end
  return out
end
"""

# Handing messages to idle consumers. A consumer loop that claims nothing joins its queue's idle
# set (in the claim script itself, so no send can slip between the empty claim and the joining):
# a sorted set of "<process token> <visibility timeout> <loop>" scored by how many messages the
# loop takes at once; a loop that claims something leaves it. A send then pops idle loops and
# claims the ready messages for them, up to each one's limit, leased for its visibility timeout,
# and publishes them on that loop's process's own channel ("wake:<token>"): the loop starts on
# them without a claim of its own. Delayed messages only wake one idle loop, to re-arm its timer.
# A loop whose process is gone has no subscriber and is dropped without being handed anything.
# So busy consumers cost a send nothing, and of many idle processes only as many wake as there
# are messages for. A payload is netstrings: queue, member, then id, body, meta per message.
#
# KEYS: vis, meta, body, the set of queue names, the queue's idle set; ARGV: queue, key prefix,
# now, then per message id, body, meta (JSON), visible_at. One command instead of a MULTI of five
# per message: the client builds and parses one reply, which is what bounds a producer sending
# one at a time.
SEND = (
    _CLAIM_FN
    + """
local now = tonumber(ARGV[3])
local ready = 0
for i = 4, #ARGV, 4 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
  redis.call('ZADD', KEYS[1], ARGV[i + 3], ARGV[i])
  if tonumber(ARGV[i + 3]) <= now then ready = ready + 1 end
end
redis.call('SADD', KEYS[4], ARGV[1])
local function net(s) return #s .. ':' .. s end
local woken = false
while ready > 0 or not woken do
  local popped = redis.call('ZPOPMIN', KEYS[5])
  if #popped == 0 then break end
  local member, limit = popped[1], tonumber(popped[2])
  local token, visibility = string.match(member, '^(%S+) (%S+) ')
  local channel = ARGV[2] .. 'wake:' .. token
  if redis.call('PUBSUB', 'NUMSUB', channel)[2] > 0 then
    local parts = {net(ARGV[1]), net(member)}
    if ready > 0 then
      local claimed = claim(now, now + tonumber(visibility), limit)
      for _, field in ipairs(claimed) do table.insert(parts, net(field)) end
      ready = ready - #claimed / 3
    end
    redis.call('PUBLISH', channel, table.concat(parts))
    woken = true
  end
end
return 0
"""
)

# A consumer's settle, over KEYS vis, meta, body: acks deleted, retries made visible again.
_SETTLE_LUA = """
for _, id in ipairs(cjson.decode(ARGV[1])) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
end
for _, r in ipairs(cjson.decode(ARGV[2])) do
  local raw = redis.call('HGET', KEYS[2], r[1])
  if raw then
    local meta = cjson.decode(raw)
    meta['claimed'] = 0
    meta['last_error'] = r[3]
    redis.call('HSET', KEYS[2], r[1], cjson.encode(meta))
    redis.call('ZADD', KEYS[1], r[2], r[1])
  end
end
"""

# ARGV: now, lease, limit. Returns [id, body, meta-json, ...].
CLAIM = _CLAIM_FN + "return claim(ARGV[1], ARGV[2], tonumber(ARGV[3]))\n"
# ARGV: acks-json, retries-json ([[id, visible_at, error], ...]).
SETTLE = _SETTLE_LUA + "return 1\n"
# KEYS: vis, meta, body, idle set. ARGV: acks-json, retries-json, now, lease, limit, idle member
# (or ''): SETTLE, then CLAIM, in one step; the member joins the idle set (with its limit) when
# nothing was claimed, and leaves it when something was. Claiming nothing returns
# {earliest visible_at}, or {} when the queue is empty.
SETTLE_CLAIM = (
    _CLAIM_FN
    + _SETTLE_LUA
    + """
local out = claim(ARGV[3], ARGV[4], tonumber(ARGV[5]))
if ARGV[6] ~= '' then
  if #out == 0 then redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6]) else redis.call('ZREM', KEYS[4], ARGV[6]) end
end
if #out == 0 then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {first[2]}
end
return out
"""
)

# KEYS: owner key. ARGV: owner, lease ms. Take or extend the lease unless another owner holds it.
OWN_ACTOR = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# KEYS: owner key. ARGV: owner. End the lease if it is still this owner's.
DISOWN_ACTOR = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

# KEYS: vis, meta, body, dead-vis, dead-meta, dead-body. ARGV: origin, dead-queue, [[id, error], ...].
DEAD_LETTER = """
for _, d in ipairs(cjson.decode(ARGV[3])) do
  local raw = redis.call('HGET', KEYS[2], d[1])
  if raw then
    local meta = cjson.decode(raw)
    local body = redis.call('HGET', KEYS[3], d[1])
    meta['claimed'] = 0
    meta['attempts'] = 0
    meta['last_error'] = d[2]
    meta['origin'] = ARGV[1]
    redis.call('ZREM', KEYS[1], d[1])
    redis.call('HDEL', KEYS[2], d[1])
    redis.call('HDEL', KEYS[3], d[1])
    redis.call('HSET', KEYS[5], d[1], cjson.encode(meta))
    redis.call('HSET', KEYS[6], d[1], body)
    redis.call('ZADD', KEYS[4], meta['created_at'], d[1])
  end
end
return 1
"""

# KEYS: vis, meta. ARGV: ids-json, score, mode ('extend' keeps attempts; 'release' undoes one).
MOVE_CLAIMED = """
for _, id in ipairs(cjson.decode(ARGV[1])) do
  local raw = redis.call('HGET', KEYS[2], id)
  if raw then
    local meta = cjson.decode(raw)
    if meta['claimed'] == 1 then
      if ARGV[3] == 'release' then
        meta['claimed'] = 0
        meta['attempts'] = math.max(meta['attempts'] - 1, 0)
        redis.call('HSET', KEYS[2], id, cjson.encode(meta))
      end
      redis.call('ZADD', KEYS[1], ARGV[2], id)
    end
  end
end
return 1
"""

# KEYS: dead vis, meta, body, queues-set. ARGV: now, to_queue ('' = each message's origin), prefix.
REDRIVE = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local moved = 0
for _, id in ipairs(ids) do
  local meta = cjson.decode(redis.call('HGET', KEYS[2], id))
  local target = ARGV[2]
  if target == '' and meta['origin'] then target = meta['origin'] end
  if target ~= '' and target ~= cjson.null then
    local body = redis.call('HGET', KEYS[3], id)
    meta['origin'] = nil
    meta['last_error'] = nil
    meta['attempts'] = 0
    meta['claimed'] = 0
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    local p = ARGV[3] .. 'q:' .. target
    redis.call('HSET', p .. ':meta', id, cjson.encode(meta))
    redis.call('HSET', p .. ':body', id, body)
    redis.call('ZADD', p .. ':vis', ARGV[1], id)
    redis.call('SADD', KEYS[4], target)
    moved = moved + 1
  end
end
return moved
"""

# KEYS: vis, meta. ARGV: now. Returns {ready, in_flight, delayed}.
STATS = """
local ready = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1])
local later = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
local in_flight = 0
for _, id in ipairs(later) do
  local meta = cjson.decode(redis.call('HGET', KEYS[2], id))
  if meta['claimed'] == 1 then in_flight = in_flight + 1 end
end
return {ready, in_flight, #later - in_flight}
"""

# KEYS: alarms zset, alarm info hash. ARGV: now, lease, limit.
CLAIM_ALARMS = """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, member in ipairs(members) do
  local info = cjson.decode(redis.call('HGET', KEYS[2], member))
  if (info['leased_until'] or 0) <= tonumber(ARGV[1]) then
    info['leased_until'] = tonumber(ARGV[2])
    redis.call('HSET', KEYS[2], member, cjson.encode(info))
    table.insert(out, member)
    table.insert(out, cjson.encode(info))
  end
end
return out
"""

# KEYS: alarms zset, alarm info hash. ARGV: member, at (the claimed time), retry_at or ''.
FINISH_ALARM = """
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if not raw then return 0 end
local info = cjson.decode(raw)
if math.abs(info['at'] - tonumber(ARGV[2])) > 0.001 then return 0 end  -- re-set during its run
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  info['at'] = tonumber(ARGV[3])
  info['retries'] = info['retries'] + 1
  info['leased_until'] = 0
  redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(info))
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1
"""

# KEYS: last-fire key, fire key. ARGV: scheduled_at, now, ttl seconds.
CLAIM_FIRE = """
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', tonumber(ARGV[3])) then
  local last = redis.call('GET', KEYS[1])
  if (not last) or tonumber(last) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
  return 1
end
return 0
"""


NATIVE_EXPIRY_SLACK = 3600.0


def _float(value: float) -> str:
    return repr(float(value))


def _settle_args(acks: Sequence[str], retries: Sequence[Retry]) -> list[str]:
    return [json.dumps(list(acks)), json.dumps([[r.id, r.visible_at, r.error] for r in retries])]


class Wakeups:
    """This process's subscription: the app-wide ``events`` channel and its own ``wake:<token>``
    channel, on which sends wake its idle consumer loops (see SEND)."""

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self.token = secrets.token_hex(8)
        self.channels = (f"{prefix}events", f"{prefix}wake:{self.token}")
        self.members: dict[tuple[str, str], str] = {}  # (idle set, waiter) -> member, for this process's loops
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


class RedisQueueStore(QueueStore):
    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        wakeups: Wakeups,
        fast: RespConnection | None = None,
    ) -> None:
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
        args: list[Any] = [queue, self._p, _float(messages[0].created_at)]  # a batch is sent at one moment
        for m in messages:  # the metadata as json.dumps writes it, for less (content types are plain words)
            meta = (
                f'{{"content_type": "{m.content_type}", "created_at": {m.created_at!r}, "attempts": 0, "claimed": 0}}'
            )
            args += [m.id, m.body, meta, _float(m.visible_at)]
        keys = [*self._keys(queue), f"{self._p}queues", self._idle(queue)]
        await self._run(self._send, keys, args)  # atomic: all or none

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """A registered script, on the pipelined connection when there is one."""
        if self._fast is not None:
            return await self._fast.script(script.script, keys, args)
        return await script(keys=keys, args=args)

    async def claim(self, queue: str, limit: int, now: float, lease_until: float) -> list[StoredMessage]:
        out = await self._run(self._claim, self._keys(queue), [_float(now), _float(lease_until), limit])
        return self._claimed(queue, out)

    async def settle_and_claim(
        self,
        queue: str,
        acks: Sequence[str],
        retries: Sequence[Retry],
        limit: int,
        now: float,
        lease_until: float,
        waiter: str | None = None,
    ) -> tuple[list[StoredMessage], float | None]:
        member = ""
        idle = self._idle(queue)
        if waiter is not None:
            if not self._wakeups.subscribed:
                await self._wakeups.subscription()  # before joining an idle set, so nothing handed over is missed
            member = f"{self._wakeups.token} {round(lease_until - now, 3)!r} {waiter}"
            self._wakeups.members[idle, waiter] = member
        args = [*_settle_args(acks, retries), _float(now), _float(lease_until), limit, member]
        out = await self._run(self._settle_claim, [*self._keys(queue), idle], args)
        if retries:
            await self._wakeups.announce(queue)
        if len(out) < 3:  # nothing claimed: the earliest visible_at, if any message is left
            return [], float(out[0]) if out else None
        return self._claimed(queue, out), None

    async def leave_idle(self, queue: str, waiter: str) -> None:
        member = self._wakeups.members.get((self._idle(queue), waiter))
        if member is not None:
            await self._r.zrem(self._idle(queue), member)

    def _claimed(self, queue: str, out: list[Any]) -> list[StoredMessage]:
        found = []
        for i in range(0, len(out), 3):
            meta = json.loads(out[i + 2])
            found.append(_stored(out[i].decode(), queue, out[i + 1], meta))
        return found

    async def settle(self, queue: str, acks: Sequence[str], retries: Sequence[Retry]) -> None:
        await self._run(self._settle, self._keys(queue), _settle_args(acks, retries))
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
        await self._move(keys=self._keys(queue)[:2], args=[json.dumps(list(ids)), _float(lease_until), "extend"])

    async def release(self, queue: str, ids: Sequence[str], now: float) -> None:
        await self._move(keys=self._keys(queue)[:2], args=[json.dumps(list(ids)), _float(now), "release"])
        await self._wakeups.announce(queue)

    async def stats(self, queue: str, now: float, dead_queue: str | None = None) -> QueueStats:
        ready, in_flight, delayed = await self._stats(keys=self._keys(queue)[:2], args=[_float(now)])
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
        return [
            _stored(i, queue, b, json.loads(m)) for i, m, b in zip(ids, metas, bodies, strict=True) if m is not None
        ]

    async def redrive(self, dead_queue: str, now: float, to_queue: str | None = None) -> int:
        moved = int(
            await self._redrive(
                keys=[*self._keys(dead_queue), f"{self._p}queues"], args=[_float(now), to_queue or "", self._p]
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


def _handover(payload: bytes) -> Handover:
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
    waiter = fields[1].decode().split(" ", 2)[2]
    messages = [
        _stored(fields[i].decode(), queue, fields[i + 1], json.loads(fields[i + 2])) for i in range(2, len(fields), 3)
    ]
    return Handover(queue, waiter, messages)


def _stored(message_id: str, queue: str, body: bytes, meta: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        message_id,
        queue,
        body,
        meta["content_type"],
        float(meta["created_at"]),
        int(meta["attempts"]),
        meta.get("last_error"),
        meta.get("origin"),
    )


class RedisKvStore(KvStore):
    def __init__(self, client: aioredis.Redis, prefix: str, clock_now: Any) -> None:
        self._r = client
        self._p = prefix
        self._now = clock_now

    def _key(self, namespace: str, key: str) -> str:
        return f"{self._p}kv:{namespace}:v:{key}"

    def _index(self, namespace: str) -> str:
        return f"{self._p}kv:{namespace}:index"

    def _expiry(self, namespace: str) -> str:
        return f"{self._p}kv:{namespace}:expiry"

    async def get(self, namespace: str, key: str, now: float) -> KvEntry | None:
        value, metadata, expires = await self._r.hmget(self._key(namespace, key), ["v", "m", "e"])
        if value is None:
            return None
        expires_at = float(expires) if expires else None
        if expires_at is not None and expires_at <= now:
            return None
        return KvEntry(value, metadata.decode() if metadata else None, expires_at)

    async def put(self, namespace: str, key: str, value: bytes, expires_at: float | None, metadata: str | None) -> None:
        name = self._key(namespace, key)
        pipe = self._r.pipeline(transaction=True)
        pipe.delete(name)
        mapping: dict[str, Any] = {"v": value}
        if metadata is not None:
            mapping["m"] = metadata
        if expires_at is not None:
            mapping["e"] = _float(expires_at)
        pipe.hset(name, mapping=mapping)
        pipe.zadd(self._index(namespace), {key: 0})
        if expires_at is not None:
            # Expiry is decided by the `now` every read passes in; Redis's own expiry only frees
            # memory, an hour after the entry expired by the runtime's clock, so that it can never
            # drop an entry a caller still considers live (say, under a fake clock).
            pipe.pexpire(name, int((max(0.0, expires_at - self._now()) + NATIVE_EXPIRY_SLACK) * 1000))
            pipe.zadd(self._expiry(namespace), {key: expires_at})
        else:
            pipe.zrem(self._expiry(namespace), key)
        await pipe.execute()

    async def delete(self, namespace: str, key: str) -> None:
        pipe = self._r.pipeline(transaction=True)
        pipe.delete(self._key(namespace, key))
        pipe.zrem(self._index(namespace), key)
        pipe.zrem(self._expiry(namespace), key)
        await pipe.execute()

    async def list(
        self, namespace: str, prefix: str, after: str | None, limit: int, now: float
    ) -> builtins.list[KvKey]:
        lower = f"({after}" if after is not None and after >= prefix else f"[{prefix}"
        upper = f"[{prefix}\xff" if prefix else "+"
        found: builtins.list[KvKey] = []
        while len(found) < limit:
            names = [
                n.decode()
                for n in await self._r.zrangebylex(self._index(namespace), lower, upper, start=0, num=limit * 2)
            ]
            if not names:
                break
            pipe = self._r.pipeline(transaction=False)
            for name in names:
                pipe.hmget(self._key(namespace, name), ["m", "e"])
            for name, (metadata, expires) in zip(names, await pipe.execute(), strict=True):
                if not name.startswith(prefix):
                    continue
                expires_at = float(expires) if expires else None
                exists = metadata is not None or expires is not None or await self._r.exists(self._key(namespace, name))
                if not exists or (expires_at is not None and expires_at <= now):
                    continue
                found.append(KvKey(name, expires_at, metadata.decode() if metadata else None))
                if len(found) == limit:
                    break
            lower = f"({names[-1]}"
        return found

    async def sweep(self, now: float) -> int:
        removed = 0
        async for index in self._r.scan_iter(match=f"{self._p}kv:*:expiry"):
            namespace = index.decode()[len(self._p) + 3 : -len(":expiry")]
            dead = [k.decode() for k in await self._r.zrangebyscore(index, "-inf", now)]
            if dead:
                pipe = self._r.pipeline(transaction=True)
                pipe.delete(*[self._key(namespace, k) for k in dead])
                pipe.zrem(self._index(namespace), *dead)
                pipe.zrem(index, *dead)
                await pipe.execute()
                removed += len(dead)
        return removed

    async def count(self, namespace: str, now: float) -> int:
        return len(await self.list(namespace, "", None, 10**9, now))


class RedisStateStore(StateStore):
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._r = client
        self._p = prefix
        self._claim_alarms = client.register_script(CLAIM_ALARMS)
        self._finish = client.register_script(FINISH_ALARM)
        self._claim_fire = client.register_script(CLAIM_FIRE)
        self._own = client.register_script(OWN_ACTOR)
        self._disown = client.register_script(DISOWN_ACTOR)

    def _actor(self, namespace: str, actor: str) -> str:
        return f"{self._p}actor:{namespace}:{actor}"

    def _alarms(self) -> tuple[str, str]:
        return f"{self._p}alarms", f"{self._p}alarm-info"

    async def get(self, namespace: str, actor: str, keys: Sequence[str]) -> dict[str, str]:
        values = await self._r.hmget(self._actor(namespace, actor), list(keys))
        return {k: v.decode() for k, v in zip(keys, values, strict=True) if v is not None}

    async def put(self, namespace: str, actor: str, items: dict[str, str]) -> None:
        await self._r.hset(self._actor(namespace, actor), mapping=items)

    async def delete(self, namespace: str, actor: str, keys: Sequence[str]) -> int:
        return int(await self._r.hdel(self._actor(namespace, actor), *keys)) if keys else 0

    async def delete_all(self, namespace: str, actor: str) -> None:
        await self._r.delete(self._actor(namespace, actor))
        await self.delete_alarm(namespace, actor)

    async def list(
        self,
        namespace: str,
        actor: str,
        *,
        prefix: str = "",
        start: str | None = None,
        end: str | None = None,
        reverse: bool = False,
        limit: int | None = None,
    ) -> builtins.list[tuple[str, str]]:
        items = {k.decode(): v.decode() for k, v in (await self._r.hgetall(self._actor(namespace, actor))).items()}
        keys = sorted(
            k for k in items if k.startswith(prefix) and (start is None or k >= start) and (end is None or k < end)
        )
        if reverse:
            keys.reverse()
        return [(k, items[k]) for k in keys[: limit if limit is not None else None]]

    async def get_alarm(self, namespace: str, actor: str) -> float | None:
        score = await self._r.zscore(self._alarms()[0], f"{namespace}\x00{actor}")
        return float(score) if score is not None else None

    async def set_alarm(self, namespace: str, actor: str, name: str | None, at: float) -> None:
        zset, info = self._alarms()
        member = f"{namespace}\x00{actor}"
        pipe = self._r.pipeline(transaction=True)
        pipe.hset(info, member, json.dumps({"name": name, "at": at, "retries": 0, "leased_until": 0}))
        pipe.zadd(zset, {member: at})
        pipe.publish(f"{self._p}events", "$alarms")
        await pipe.execute()

    async def delete_alarm(self, namespace: str, actor: str) -> None:
        zset, info = self._alarms()
        member = f"{namespace}\x00{actor}"
        await self._r.zrem(zset, member)
        await self._r.hdel(info, member)

    async def claim_alarms(self, now: float, lease_until: float, limit: int = 100) -> builtins.list[Alarm]:
        out = await self._claim_alarms(keys=list(self._alarms()), args=[_float(now), _float(lease_until), limit])
        alarms = []
        for i in range(0, len(out), 2):
            namespace, actor = out[i].decode().split("\x00", 1)
            info = json.loads(out[i + 1])
            alarms.append(Alarm(namespace, actor, info.get("name"), float(info["at"]), int(info["retries"])))
        return alarms

    async def finish_alarm(self, alarm: Alarm, retry_at: float | None) -> None:
        member = f"{alarm.namespace}\x00{alarm.actor}"
        retry = "" if retry_at is None else _float(retry_at)
        await self._finish(keys=list(self._alarms()), args=[member, _float(alarm.at), retry])

    async def next_alarm(self) -> float | None:
        zset, info = self._alarms()
        first = await self._r.zrange(zset, 0, 20, withscores=True)
        best: float | None = None
        for member, score in first:
            raw = await self._r.hget(info, member)
            leased = json.loads(raw).get("leased_until", 0) if raw else 0
            moment = max(float(score), float(leased))
            best = moment if best is None else min(best, moment)
        return best

    async def claim_fire(self, schedule: str, scheduled_at: float, now: float) -> bool:
        keys = [f"{self._p}cron:{schedule}:last", f"{self._p}cron:{schedule}:{_float(scheduled_at)}"]
        return bool(await self._claim_fire(keys=keys, args=[_float(scheduled_at), _float(now), 30 * 86_400]))

    async def last_fire(self, schedule: str) -> float | None:
        value = await self._r.get(f"{self._p}cron:{schedule}:last")
        return float(value) if value is not None else None

    async def actors(self, namespace: str, limit: int = 100) -> builtins.list[str]:
        found = []
        base = f"{self._p}actor:{namespace}:"
        async for key in self._r.scan_iter(match=base + "*"):
            found.append(key.decode()[len(base) :])
        return sorted(found)[:limit]

    def _owner(self, namespace: str, actor: str) -> str:
        return f"{self._p}owner:{namespace}:{actor}"

    async def own_actor(self, namespace: str, actor: str, owner: str, now: float, lease_until: float) -> bool:
        # Redis's own expiry ends a dead owner's lease: the lease is a key with a TTL.
        milliseconds = max(1, int((lease_until - now) * 1000))
        return bool(await self._own(keys=[self._owner(namespace, actor)], args=[owner, milliseconds]))

    async def disown_actor(self, namespace: str, actor: str, owner: str) -> None:
        await self._disown(keys=[self._owner(namespace, actor)], args=[owner])

    async def actor_owners(self, namespace: str, now: float) -> dict[str, str]:
        found = {}
        base = f"{self._p}owner:{namespace}:"
        async for key in self._r.scan_iter(match=base + "*"):
            owner = await self._r.get(key)
            if owner is not None:
                found[key.decode()[len(base) :]] = owner.decode()
        return found


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
            self._client = aioredis.from_url(self._connect_url)
            await self._client.ping()
        except (OSError, aioredis.RedisError) as exc:
            raise BackendError(f"cannot reach Redis at {self._connect_url}: {exc}") from None
        self._fast = _fast_connection(self._client)
        self._wakeups = Wakeups(self._client, self.prefix)
        self.queues = RedisQueueStore(self._client, self.prefix, self._wakeups, self._fast)
        self.kv = RedisKvStore(self._client, self.prefix, self._clock_now)
        self.state = RedisStateStore(self._client, self.prefix)

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
        while True:
            try:
                pubsub = await wakeups.subscription()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    if message["channel"] == broadcast:
                        yield message["data"].decode()
                    else:
                        yield _handover(message["data"])
            except (aioredis.RedisError, OSError) as exc:
                # Meanwhile no send hands this process anything (its channel has no subscriber)
                # and idle loops look again every recheck_idle seconds.
                log.warning("lost the Redis subscription (%s); subscribing again in 1 s", exc)
                await wakeups.reset()
                await asyncio.sleep(1.0)
                yield "*"  # whatever was announced meanwhile: every consumer looks again

    async def drop_everything(self) -> None:
        """Delete every key under this backend's prefix (tests clean up with it)."""
        assert self._client is not None
        async for key in self._client.scan_iter(match=self.prefix + "*"):
            await self._client.delete(key)
