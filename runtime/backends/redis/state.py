"""Actor storage, alarms, ownership and cron fires on Redis.

An actor's lease is a key holding its owner, with a TTL (the server's one clock ends it), and
an epoch key (never expiring) that the take of a free lease increments. Every write of an actor
call is a script that first checks the call's fence (owner key and epoch unchanged), so a write
after the lease was lost is refused atomically and raises LeaseLostError."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence

import redis.asyncio as aioredis

from runtime import actor_ids
from runtime.backends.base import FIRE_RECORDS_KEPT, Alarm, Fence, StateStore
from runtime.backends.failures import Counted
from runtime.backends.redis.failures import redis_errors
from runtime.backends.redis.scripts import (
    CLAIM_ALARMS,
    CLAIM_FIRE,
    CLAIM_FIRES,
    DELETE_ALARM,
    DISOWN_ACTOR,
    FINISH_ALARM,
    OWN_ACTOR,
    SET_ALARM,
    STATE_DELETE,
    STATE_DELETE_ALL,
    STATE_PUT,
    number,
)
from runtime.errors import LeaseLostError


@redis_errors
class RedisStateStore(StateStore):
    def __init__(self, client: aioredis.Redis, prefix: str, backend: Counted) -> None:
        self._backend = backend
        self._r = client
        self._p = prefix
        self._claim_alarms = client.register_script(CLAIM_ALARMS)
        self._finish = client.register_script(FINISH_ALARM)
        self._claim_fire = client.register_script(CLAIM_FIRE)
        self._claim_fires = client.register_script(CLAIM_FIRES)
        self._own = client.register_script(OWN_ACTOR)
        self._disown = client.register_script(DISOWN_ACTOR)
        self._put = client.register_script(STATE_PUT)
        self._delete = client.register_script(STATE_DELETE)
        self._delete_all = client.register_script(STATE_DELETE_ALL)
        self._set_alarm = client.register_script(SET_ALARM)
        self._delete_alarm = client.register_script(DELETE_ALARM)

    async def upgrade_actor_ids(self) -> None:
        """Rekey actors written before ids carried their class's signature (as the SQLite
        backend's schema version 4 does): storage, lease and epoch keys, and alarms. Once per
        prefix; :func:`runtime.actor_ids.upgrade` leaves a new id as it is, so two processes
        doing it at once agree."""
        marker = f"{self._p}actor-ids"
        if await self._r.get(marker) == b"2":
            return

        def rekeyed(namespace: str, actor: str) -> str:
            if namespace.startswith("mcp:"):
                return actor
            return actor_ids.upgrade(namespace.removeprefix("~names:"), actor)

        async for raw in self._r.scan_iter(match=f"{self._p}*", count=1000):  # one pass over the keys
            kind, _, rest = raw.decode()[len(self._p) :].partition(":")
            if kind not in ("actor", "owner", "epoch"):
                continue
            namespace, _, actor = rest.rpartition(":")
            new = rekeyed(namespace, actor)
            if new != actor:
                await self._r.rename(raw, f"{self._p}{kind}:{namespace}:{new}")
        alarms, infos = self._alarms()
        for member, score in await self._r.zrange(alarms, 0, -1, withscores=True):
            namespace, _, actor = member.decode().partition("\x00")
            new = rekeyed(namespace, actor)
            if new != actor:
                info = await self._r.hget(infos, member)
                renamed = f"{namespace}\x00{new}"
                pipe = self._r.pipeline(transaction=True)
                pipe.zadd(alarms, {renamed: score})
                pipe.zrem(alarms, member)
                if info is not None:
                    pipe.hset(infos, renamed, info)
                    pipe.hdel(infos, member)
                await pipe.execute()
        await self._r.set(marker, "2")

    def _fenced(self, namespace: str, actor: str, fence: Fence | None) -> tuple[list[str], list[str]]:
        """The keys and arguments a fenced script starts with."""
        keys = [self._owner(namespace, actor), self._epoch(namespace, actor)]
        return keys, ["", ""] if fence is None else [fence.owner, str(fence.epoch)]

    @staticmethod
    def _check(result: object, namespace: str, actor: str) -> int:
        assert isinstance(result, int), result
        if result == -1:
            raise LeaseLostError.refused(namespace, actor)
        return result

    def _actor(self, namespace: str, actor: str) -> str:
        return f"{self._p}actor:{namespace}:{actor}"

    def _alarms(self) -> tuple[str, str]:
        return f"{self._p}alarms", f"{self._p}alarm-info"

    async def get(self, namespace: str, actor: str, keys: Sequence[str]) -> dict[str, str]:
        if not keys:
            return {}  # HMGET needs at least one field
        values = await self._r.hmget(self._actor(namespace, actor), list(keys))
        return {k: v.decode() for k, v in zip(keys, values, strict=True) if v is not None}

    async def put(self, namespace: str, actor: str, items: dict[str, str], fence: Fence | None = None) -> None:
        keys, args = self._fenced(namespace, actor, fence)
        pairs = [part for item in items.items() for part in item]
        self._check(await self._put(keys=[*keys, self._actor(namespace, actor)], args=args + pairs), namespace, actor)

    async def delete(self, namespace: str, actor: str, keys: Sequence[str], fence: Fence | None = None) -> int:
        fence_keys, args = self._fenced(namespace, actor, fence)
        found = await self._delete(keys=[*fence_keys, self._actor(namespace, actor)], args=args + list(keys))
        return self._check(found, namespace, actor)

    async def delete_all(self, namespace: str, actor: str, fence: Fence | None = None) -> None:
        keys, args = self._fenced(namespace, actor, fence)
        found = await self._delete_all(
            keys=[*keys, self._actor(namespace, actor), *self._alarms()], args=[*args, f"{namespace}\x00{actor}"]
        )
        self._check(found, namespace, actor)

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

    async def set_alarm(
        self, namespace: str, actor: str, name: str | None, at: float, fence: Fence | None = None
    ) -> None:
        keys, args = self._fenced(namespace, actor, fence)
        info = json.dumps({"name": name, "at": at, "retries": 0, "leased_until": 0})
        member = f"{namespace}\x00{actor}"
        found = await self._set_alarm(
            keys=[*keys, *self._alarms()], args=[*args, member, info, number(at), f"{self._p}events"]
        )
        self._check(found, namespace, actor)

    async def delete_alarm(self, namespace: str, actor: str, fence: Fence | None = None) -> None:
        keys, args = self._fenced(namespace, actor, fence)
        found = await self._delete_alarm(keys=[*keys, *self._alarms()], args=[*args, f"{namespace}\x00{actor}"])
        self._check(found, namespace, actor)

    async def claim_alarms(self, now: float, lease_until: float, limit: int = 100) -> builtins.list[Alarm]:
        out = await self._claim_alarms(keys=list(self._alarms()), args=[number(now), number(lease_until), limit])
        alarms = []
        for i in range(0, len(out), 2):
            namespace, actor = out[i].decode().split("\x00", 1)
            info = json.loads(out[i + 1])
            alarms.append(Alarm(namespace, actor, info.get("name"), float(info["at"]), int(info["retries"])))
        return alarms

    async def finish_alarm(self, alarm: Alarm, retry_at: float | None) -> None:
        member = f"{alarm.namespace}\x00{alarm.actor}"
        retry = "" if retry_at is None else number(retry_at)
        await self._finish(keys=list(self._alarms()), args=[member, number(alarm.at), retry])

    async def next_alarm(self) -> float | None:
        # An alarm is next claimable at max(at, leased_until): walk them by `at` until an alarm's
        # `at` is no sooner than the best moment found (no later one can beat it).
        zset, info = self._alarms()
        best: float | None = None
        start = 0
        while True:
            page = await self._r.zrange(zset, start, start + 99, withscores=True)
            if not page:
                return best
            raws = await self._r.hmget(info, [member for member, _ in page])
            for (_, score), raw in zip(page, raws, strict=True):
                if best is not None and score >= best:
                    return best
                leased = json.loads(raw).get("leased_until", 0) if raw else 0
                moment = max(float(score), float(leased))
                best = moment if best is None else min(best, moment)
            start += len(page)

    async def claim_fire(self, schedule: str, scheduled_at: float, now: float) -> bool:
        keys = [f"{self._p}cron:{schedule}:last", f"{self._p}cron:{schedule}:{number(scheduled_at)}"]
        return bool(await self._claim_fire(keys=keys, args=[number(scheduled_at), number(now), int(FIRE_RECORDS_KEPT)]))

    async def last_fire(self, schedule: str) -> float | None:
        value = await self._r.get(f"{self._p}cron:{schedule}:last")
        return float(value) if value is not None else None

    async def claim_fires(self, claims: Sequence[tuple[str, float]], now: float) -> builtins.list[bool]:
        if not claims:
            return []
        keys = []
        for schedule, at in claims:
            keys += [f"{self._p}cron:{schedule}:last", f"{self._p}cron:{schedule}:{number(at)}"]
        args: list[str | int] = [number(now), int(FIRE_RECORDS_KEPT), *(number(at) for _, at in claims)]
        return [bool(won) for won in await self._claim_fires(keys=keys, args=args)]

    async def last_fires(self, schedules: Sequence[str]) -> dict[str, float]:
        if not schedules:
            return {}
        values = await self._r.mget([f"{self._p}cron:{schedule}:last" for schedule in schedules])
        return {s: float(v) for s, v in zip(schedules, values, strict=True) if v is not None}

    async def actors(self, namespace: str, limit: int = 100) -> builtins.list[str]:
        found = []
        base = f"{self._p}actor:{namespace}:"
        async for key in self._r.scan_iter(match=base + "*"):
            found.append(key.decode()[len(base) :])
        return sorted(found)[:limit]

    def _owner(self, namespace: str, actor: str) -> str:
        return f"{self._p}owner:{namespace}:{actor}"

    def _epoch(self, namespace: str, actor: str) -> str:
        return f"{self._p}epoch:{namespace}:{actor}"

    async def own_actor(self, namespace: str, actor: str, owner: str, now: float, lease: float) -> int:
        # Redis's own expiry ends a dead owner's lease: the lease is a key with a TTL.
        milliseconds = max(1, int(lease * 1000))
        keys = [self._owner(namespace, actor), self._epoch(namespace, actor)]
        return int(await self._own(keys=keys, args=[owner, milliseconds]))

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
