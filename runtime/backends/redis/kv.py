"""KV on Redis: each entry carries its own expiry, judged by the ``now`` each read passes in;
Redis frees it an hour after that."""

from __future__ import annotations

import builtins
from typing import Any

import redis.asyncio as aioredis

from runtime.backends.base import KvEntry, KvKey, KvStore
from runtime.backends.failures import Counted
from runtime.backends.redis.failures import redis_errors
from runtime.backends.redis.scripts import number

NATIVE_EXPIRY_SLACK = 3600.0


@redis_errors
class RedisKvStore(KvStore):
    def __init__(self, client: aioredis.Redis, prefix: str, clock_now: Any, backend: Counted) -> None:
        self._backend = backend
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
            mapping["e"] = number(expires_at)
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
        # Redis orders members by their UTF-8 bytes; no UTF-8 text holds the byte 0xFF, so every
        # key starting with the prefix sorts below prefix + 0xFF, whatever its next character.
        upper: str | bytes = b"[" + prefix.encode() + b"\xff" if prefix else "+"
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
