"""In-process backend: fast, and gone when the process exits (``memory://``)."""

from __future__ import annotations

import bisect
import builtins
import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from runtime.backends.base import (
    FIRE_RECORDS_KEPT,
    Alarm,
    Backend,
    Fence,
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
from runtime.errors import LeaseLostError


@dataclass(slots=True)
class _Message:
    id: str
    queue: str
    body: bytes
    content_type: str
    created_at: float
    visible_at: float
    seq: int
    attempts: int = 0
    claimed: bool = False
    last_error: str | None = None
    origin: str | None = None
    failed_attempts: int | None = None
    version: int = 0

    def stored(self) -> StoredMessage:
        return StoredMessage(
            self.id,
            self.queue,
            self.body,
            self.content_type,
            self.created_at,
            self.attempts,
            self.last_error,
            self.origin,
            self.failed_attempts,
        )


@dataclass(slots=True)
class _Queue:
    messages: dict[str, _Message] = field(default_factory=dict)
    # (visible_at, seq, id, version); entries whose version is stale are skipped.
    heap: list[tuple[float, int, str, int]] = field(default_factory=list)


class MemoryQueueStore(QueueStore):
    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}
        self._seq = itertools.count()

    def _queue(self, name: str) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = _Queue()
        return queue

    def _schedule(self, queue: _Queue, message: _Message) -> None:
        message.version += 1
        heapq.heappush(queue.heap, (message.visible_at, message.seq, message.id, message.version))

    async def send(self, queue: str, messages: Sequence[NewMessage]) -> None:
        q = self._queue(queue)
        for new in messages:
            message = _Message(
                new.id, queue, new.body, new.content_type, new.created_at, new.visible_at, next(self._seq)
            )
            q.messages[new.id] = message
            self._schedule(q, message)

    async def claim(self, queue: str, limit: int, now: float, lease_until: float) -> list[StoredMessage]:
        q = self._queue(queue)
        claimed: list[_Message] = []
        while q.heap and len(claimed) < limit and q.heap[0][0] <= now:
            _, _, message_id, version = heapq.heappop(q.heap)
            message = q.messages.get(message_id)
            if message is None or message.version != version:
                continue
            claimed.append(message)
        result = []
        for message in claimed:
            message.attempts += 1
            message.claimed = True
            message.visible_at = lease_until
            self._schedule(q, message)
            result.append(message.stored())
        return result

    async def settle(self, queue: str, acks: Sequence[str], retries: Sequence[Retry]) -> None:
        q = self._queue(queue)
        for message_id in acks:
            q.messages.pop(message_id, None)
        for retry in retries:
            message = q.messages.get(retry.id)
            if message is None:
                continue
            message.claimed = False
            message.visible_at = retry.visible_at
            message.last_error = retry.error
            self._schedule(q, message)

    async def dead_letter(self, queue: str, dead_queue: str, ids: Sequence[str], errors: Sequence[str | None]) -> None:
        q, dead = self._queue(queue), self._queue(dead_queue)
        for message_id, error in zip(ids, errors, strict=True):
            message = q.messages.pop(message_id, None)
            if message is None:
                continue
            message.queue, message.origin, message.last_error = dead_queue, queue, error
            message.claimed = False
            message.failed_attempts = message.attempts
            message.attempts = 0  # the dead-letter queue's consumer sees its first delivery as 1
            message.visible_at = message.created_at
            dead.messages[message_id] = message
            self._schedule(dead, message)

    async def extend(self, queue: str, ids: Sequence[str], lease_until: float) -> None:
        q = self._queue(queue)
        for message_id in ids:
            message = q.messages.get(message_id)
            if message is not None and message.claimed:
                message.visible_at = lease_until
                self._schedule(q, message)

    async def release(self, queue: str, ids: Sequence[str], now: float) -> None:
        q = self._queue(queue)
        for message_id in ids:
            message = q.messages.get(message_id)
            if message is not None and message.claimed:
                message.claimed = False
                message.attempts = max(0, message.attempts - 1)
                message.visible_at = now
                self._schedule(q, message)

    async def stats(self, queue: str, now: float, dead_queue: str | None = None) -> QueueStats:
        ready = in_flight = delayed = 0
        for message in self._queue(queue).messages.values():
            if message.visible_at <= now:
                ready += 1
            elif message.claimed:
                in_flight += 1
            else:
                delayed += 1
        dead = len(self._queue(dead_queue).messages) if dead_queue else 0
        return QueueStats(ready, in_flight, delayed, dead)

    async def next_visible(self, queue: str) -> float | None:
        q = self._queue(queue)
        while q.heap:
            visible_at, _, message_id, version = q.heap[0]
            message = q.messages.get(message_id)
            if message is not None and message.version == version:
                return visible_at
            heapq.heappop(q.heap)
        return None

    async def peek(self, queue: str, limit: int = 100) -> list[StoredMessage]:
        messages = sorted(self._queue(queue).messages.values(), key=lambda m: (m.visible_at, m.seq))
        return [m.stored() for m in messages[:limit]]

    async def redrive(self, dead_queue: str, now: float, to_queue: str | None = None) -> int:
        dead = self._queue(dead_queue)
        moved = 0
        for message in list(dead.messages.values()):
            target = to_queue or message.origin
            if target is None:
                continue
            del dead.messages[message.id]
            message.queue, message.origin, message.last_error, message.failed_attempts = target, None, None, None
            message.attempts, message.claimed, message.visible_at = 0, False, now
            q = self._queue(target)
            q.messages[message.id] = message
            self._schedule(q, message)
            moved += 1
        return moved

    async def purge(self, queue: str) -> int:
        q = self._queue(queue)
        count = len(q.messages)
        q.messages.clear()
        q.heap.clear()
        return count

    async def queues(self) -> list[str]:
        return sorted(name for name, q in self._queues.items() if q.messages)


class MemoryKvStore(KvStore):
    def __init__(self) -> None:
        self._data: dict[str, dict[str, KvEntry]] = {}
        self._sorted: dict[str, list[str]] = {}  # sorted keys per namespace, rebuilt when stale

    async def get(self, namespace: str, key: str, now: float) -> KvEntry | None:
        entry = self._data.get(namespace, {}).get(key)
        if entry is None or (entry.expires_at is not None and entry.expires_at <= now):
            return None
        return entry

    async def put(self, namespace: str, key: str, value: bytes, expires_at: float | None, metadata: str | None) -> None:
        space = self._data.setdefault(namespace, {})
        if key not in space:
            self._sorted.pop(namespace, None)
        space[key] = KvEntry(value, metadata, expires_at)

    async def delete(self, namespace: str, key: str) -> None:
        if self._data.get(namespace, {}).pop(key, None) is not None:
            self._sorted.pop(namespace, None)

    async def list(self, namespace: str, prefix: str, after: str | None, limit: int, now: float) -> list[KvKey]:
        space = self._data.get(namespace, {})
        keys = self._sorted.get(namespace)
        if keys is None:
            keys = self._sorted[namespace] = sorted(space)
        start = max(prefix, after or "")
        index = (
            bisect.bisect_right(keys, start)
            if after is not None and after >= prefix
            else bisect.bisect_left(keys, start)
        )
        found: list[KvKey] = []
        while index < len(keys) and len(found) < limit:
            key = keys[index]
            index += 1
            if not key.startswith(prefix):
                break
            entry = space[key]
            if entry.expires_at is None or entry.expires_at > now:
                found.append(KvKey(key, entry.expires_at, entry.metadata))
        return found

    async def sweep(self, now: float) -> int:
        removed = 0
        for namespace, space in self._data.items():
            dead = [k for k, e in space.items() if e.expires_at is not None and e.expires_at <= now]
            for key in dead:
                del space[key]
            if dead:
                self._sorted.pop(namespace, None)
            removed += len(dead)
        return removed

    async def count(self, namespace: str, now: float) -> int:
        return sum(1 for e in self._data.get(namespace, {}).values() if e.expires_at is None or e.expires_at > now)


class MemoryStateStore(StateStore):
    def __init__(self) -> None:
        self._data: dict[tuple[str, str], dict[str, str]] = {}
        self._alarms: dict[tuple[str, str], Alarm] = {}
        self._leases: dict[tuple[str, str], float] = {}
        self._fires: dict[str, dict[float, float]] = {}  # schedule -> {scheduled_at: fired_at}
        self._owners: dict[tuple[str, str], tuple[str, float]] = {}  # (ns, actor) -> (owner, lease end)
        self._epochs: dict[tuple[str, str], int] = {}  # (ns, actor) -> epoch of its latest lease

    def _check(self, namespace: str, actor: str, fence: Fence | None) -> None:
        if fence is None:
            return
        owner = self._owners.get((namespace, actor), ("",))[0]
        if owner != fence.owner or self._epochs.get((namespace, actor)) != fence.epoch:
            raise LeaseLostError.refused(namespace, actor)

    async def get(self, namespace: str, actor: str, keys: Sequence[str]) -> dict[str, str]:
        data = self._data.get((namespace, actor), {})
        return {k: data[k] for k in keys if k in data}

    async def put(self, namespace: str, actor: str, items: dict[str, str], fence: Fence | None = None) -> None:
        self._check(namespace, actor, fence)
        self._data.setdefault((namespace, actor), {}).update(items)

    async def delete(self, namespace: str, actor: str, keys: Sequence[str], fence: Fence | None = None) -> int:
        self._check(namespace, actor, fence)
        data = self._data.get((namespace, actor), {})
        return sum(1 for k in keys if data.pop(k, None) is not None)

    async def delete_all(self, namespace: str, actor: str, fence: Fence | None = None) -> None:
        self._check(namespace, actor, fence)
        self._data.pop((namespace, actor), None)
        self._alarms.pop((namespace, actor), None)

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
    ) -> list[tuple[str, str]]:
        data = self._data.get((namespace, actor), {})
        keys = sorted(
            k for k in data if k.startswith(prefix) and (start is None or k >= start) and (end is None or k < end)
        )
        if reverse:
            keys.reverse()
        if limit is not None:
            keys = keys[:limit]
        return [(k, data[k]) for k in keys]

    async def get_alarm(self, namespace: str, actor: str) -> float | None:
        alarm = self._alarms.get((namespace, actor))
        return alarm.at if alarm else None

    async def set_alarm(
        self, namespace: str, actor: str, name: str | None, at: float, fence: Fence | None = None
    ) -> None:
        self._check(namespace, actor, fence)
        self._alarms[(namespace, actor)] = Alarm(namespace, actor, name, at)
        self._leases.pop((namespace, actor), None)

    async def delete_alarm(self, namespace: str, actor: str, fence: Fence | None = None) -> None:
        self._check(namespace, actor, fence)
        self._alarms.pop((namespace, actor), None)

    async def claim_alarms(self, now: float, lease_until: float, limit: int = 100) -> builtins.list[Alarm]:
        due = sorted(
            (a for k, a in self._alarms.items() if a.at <= now and self._leases.get(k, 0.0) <= now),
            key=lambda a: a.at,
        )[:limit]
        for alarm in due:
            self._leases[(alarm.namespace, alarm.actor)] = lease_until
        return due

    async def finish_alarm(self, alarm: Alarm, retry_at: float | None) -> None:
        key = (alarm.namespace, alarm.actor)
        current = self._alarms.get(key)
        self._leases.pop(key, None)
        if current is None or current.at != alarm.at:
            return  # deleted or re-set by the actor during its run
        if retry_at is None:
            del self._alarms[key]
        else:
            self._alarms[key] = Alarm(alarm.namespace, alarm.actor, alarm.name, retry_at, alarm.retries + 1)

    async def next_alarm(self) -> float | None:
        return min((max(a.at, self._leases.get(k, 0.0)) for k, a in self._alarms.items()), default=None)

    async def claim_fire(self, schedule: str, scheduled_at: float, now: float) -> bool:
        return self._claim(schedule, scheduled_at, now)

    async def claim_fires(self, claims: Sequence[tuple[str, float]], now: float) -> builtins.list[bool]:
        return [self._claim(schedule, at, now) for schedule, at in claims]

    def _claim(self, schedule: str, scheduled_at: float, now: float) -> bool:
        fired = self._fires.setdefault(schedule, {})
        if scheduled_at in fired:
            return False
        if len(fired) > 64:  # prune: records older than FIRE_RECORDS_KEPT, except the latest
            latest = max(fired)
            for at in [a for a, when in fired.items() if when < now - FIRE_RECORDS_KEPT and a != latest]:
                del fired[at]
        fired[scheduled_at] = now
        return True

    async def last_fire(self, schedule: str) -> float | None:
        return max(self._fires.get(schedule, ()), default=None)

    async def last_fires(self, schedules: Sequence[str]) -> dict[str, float]:
        return {name: max(self._fires[name]) for name in schedules if self._fires.get(name)}

    async def actors(self, namespace: str, limit: int = 100) -> builtins.list[str]:
        return sorted(a for (ns, a), data in self._data.items() if ns == namespace and data)[:limit]

    async def own_actor(self, namespace: str, actor: str, owner: str, now: float, lease: float) -> int:
        key = (namespace, actor)
        held = self._owners.get(key)
        if held is not None and held[0] != owner and held[1] > now:
            return 0
        if held is None or held[0] != owner or held[1] <= now:  # taken anew
            self._epochs[key] = self._epochs.get(key, 0) + 1
        self._owners[key] = (owner, now + lease)
        return self._epochs[key]

    async def disown_actor(self, namespace: str, actor: str, owner: str) -> None:
        if self._owners.get((namespace, actor), ("",))[0] == owner:
            del self._owners[(namespace, actor)]

    async def actor_owners(self, namespace: str, now: float) -> dict[str, str]:
        return {a: o for (ns, a), (o, until) in self._owners.items() if ns == namespace and until > now}


class MemoryBackend(Backend):
    persistent = False  # one process's own, gone when it closes
    shared = False

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self.queues = MemoryQueueStore()
        self.kv = MemoryKvStore()
        self.state = MemoryStateStore()
