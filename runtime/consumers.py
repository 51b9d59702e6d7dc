"""``QueueHost``: every queue consumer of an app and everything that reaches them.

The queue machinery in one place, beside :class:`~runtime.actors.ActorHost`: it builds one
:class:`~runtime.observers.QueueConsumer` per queue-sourced or bucket-sourced observer, wakes
them when a send in this process (``notify``) or another one (``watch``) makes work, gives a
loop the messages another process claimed for it (``hand_over``), turns bucket changes into
messages on each observer's internal queue (through the queue binding, so they meet the same
checks as any send), and answers the questions tools ask about queues (``stats``,
``dead_letters``). ``app.queues`` is the host of a running app.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from runtime.backends.base import Backend, Handover, QueueStats, StoredMessage
from runtime.clock import Clock
from runtime.config import LocalSettings
from runtime.handlers import Batch, Each, ExecutionContext
from runtime.loader import instantiate
from runtime.manifest import Manifest
from runtime.manifest.model import BucketSource, QueueSource
from runtime.manifest.schema import closest
from runtime.observers import QueueConsumer, RunRecord
from runtime.queue import Queue

if TYPE_CHECKING:
    from runtime.env import Env

log = logging.getLogger("raindrop.queues")

WATCH_INTERVAL = 0.25  # seconds between checks for writes by other processes, when idle


def bucket_queue(observer: str) -> str:
    """The internal queue carrying a bucket observer's events."""
    return f"$bucket:{observer}"


class QueueHost:
    """The consumers of one running app, by observer name (``consumers``)."""

    def __init__(
        self,
        manifest: Manifest,
        settings: LocalSettings,
        backend: Backend,
        clock: Clock,
        *,
        on_run: Callable[[RunRecord], None],
        on_failure: Callable[[BaseException], None],
        spawn: Callable[[Awaitable[Any]], object],
    ) -> None:
        self.manifest = manifest
        self.settings = settings
        self.backend = backend
        self.clock = clock
        self.on_run = on_run
        self.on_failure = on_failure
        self.spawn = spawn
        #: Observer name -> its consumer; empty until :meth:`build` (tools that only read state).
        self.consumers: dict[str, QueueConsumer] = {}
        self._bucket_queues: dict[str, Queue] = {}  # observer -> the binding its bucket events go through

    # -- building and running ------------------------------------------------------------------

    def build(self, env: Env, ctx: ExecutionContext) -> None:
        """Load every queue- and bucket-sourced observer's handler and give it a consumer."""
        for observer in self.manifest.application.observers:
            if isinstance(observer.source, QueueSource):
                queue = observer.source.queue
            elif isinstance(observer.source, BucketSource):
                queue = bucket_queue(observer.name)
            else:
                continue
            handler = instantiate(observer, self.manifest.root, env, ctx)
            assert isinstance(handler, Each | Batch)
            consumer = QueueConsumer(
                observer.name,
                queue,
                handler,
                self.backend.queues,
                self.clock,
                self.settings.observer(observer.name),
                on_run=self.on_run,
                recheck=self.backend.recheck_idle,
                on_dead_letter=lambda queue: self.notify(queue, self.clock.time()),
            )
            consumer.on_failure = self.on_failure
            self.consumers[observer.name] = consumer

    def start(self) -> list[asyncio.Task[Any]]:
        """Start every consumer; ``App.stop`` waits for these tasks within its grace period."""
        return [asyncio.create_task(c.run(), name=f"observer {c.name}") for c in self.consumers.values()]

    def stop(self) -> None:
        """Stop taking work: each consumer finishes what it holds (``App.stop`` waits for that)."""
        for consumer in self.consumers.values():
            consumer.stop()

    def notify(self, queue: str, visible_at: float) -> None:
        """A send in this process: wake the consumers of ``queue`` (the queue binding's hook)."""
        for consumer in self.consumers.values():  # wake(queue) inlined: this runs for every send
            if consumer.queue == queue:
                consumer.wake()

    def wake(self, queue: str = "*") -> None:
        """Wake the consumers of ``queue`` (``"*"``: all of them) to look for work."""
        for consumer in self.consumers.values():
            if queue in ("*", consumer.queue):
                consumer.wake()

    def hand_over(self, event: Handover) -> None:
        """Give a consumer loop what a send in another process claimed for it; hand the
        messages back when that loop is gone or stopping."""
        consumer = self.consumers.get(event.waiter.observer)
        if consumer is not None and consumer.take(event.waiter.loop, event.messages):
            return
        if event.messages:
            ids = [m.id for m in event.messages]
            self.spawn(self.backend.queues.release(event.queue, ids, self.clock.time()))

    async def watch(self, on_alarms: Callable[[], None]) -> None:
        """Wake consumers (and, through ``on_alarms``, the actor host) when another process — a
        CLI ``send``, a worker — wrote to a shared backend: pushed if it can, else polled."""
        backend = self.backend
        if backend.pushes_changes:  # no polling
            async for event in backend.events():
                if isinstance(event, Handover):
                    self.hand_over(event)
                elif event == "$alarms":
                    on_alarms()
                else:
                    self.wake(event)
            return
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            if await backend.changed():
                self.wake()

    # -- drain support -------------------------------------------------------------------------

    def draining(self, value: bool) -> None:
        """While draining, batch consumers do not wait for their batch to fill."""
        for consumer in self.consumers.values():
            consumer.draining(value)

    async def settled(self) -> bool:
        """Whether every consumer is idle and none of their queues holds a due message."""
        self.wake()
        await asyncio.sleep(0)
        if not all(c.idle for c in self.consumers.values()):
            return False
        now = self.clock.time()
        for consumer in self.consumers.values():
            stats = await self.backend.queues.stats(consumer.queue, now)
            if stats.ready:
                return False
        return True

    @property
    def busy(self) -> list[str]:
        """The observers at work right now."""
        return [c.name for c in self.consumers.values() if not c.idle]

    # -- bucket events -------------------------------------------------------------------------

    async def bucket_event(self, bucket: str, action: str, key: str, size: int | None, etag: str | None) -> None:
        """Deliver a bucket change to every observer of ``bucket`` whose rules match, as a JSON
        message sent through the queue binding of that observer's internal queue."""
        from runtime.buckets import event_body

        now = self.clock.time()
        for observer in self.manifest.application.observers:
            source = observer.source
            if not isinstance(source, BucketSource) or source.bucket != bucket:
                continue
            if source.rules and not any(
                (not rule.actions or action in rule.actions) and (rule.prefix is None or key.startswith(rule.prefix))
                for rule in source.rules
            ):
                continue
            queue = self._bucket_queues.get(observer.name)
            if queue is None:
                queue = Queue(bucket_queue(observer.name), self.backend.queues, self.clock, self.notify)
                self._bucket_queues[observer.name] = queue
            await queue.send(event_body(bucket, action, key, size, etag, now), content_type="json")

    # -- what tools ask ------------------------------------------------------------------------

    async def stats(self) -> dict[str, QueueStats]:
        """Depth, in flight, delayed and dead-lettered counts for every declared queue."""
        now = self.clock.time()
        stats = {}
        for queue in self.manifest.application.queues:
            stats[queue.name] = await self.backend.queues.stats(queue.name, now, self.dead_queue(queue.name))
        return stats

    async def dead_letters(self, queue: str, limit: int = 100) -> list[StoredMessage]:
        """The messages ``queue`` dead-lettered (oldest first), with ``last_error`` and ``origin``;
        each one's ``attempts`` is how many deliveries failed on ``queue`` before it died.
        ``queue`` may also name the dead-letter queue itself (``jobs-dlq``).

        :raises KeyError: for a name that is neither a declared queue nor one's dead-letter queue.
        """
        letters = await self.backend.queues.peek(self.dead_queue_named(queue), limit)
        return [m if m.failed_attempts is None else replace(m, attempts=m.failed_attempts) for m in letters]

    def dead_queue_named(self, name: str) -> str:
        """The dead-letter queue ``name`` means: a declared queue's (see :meth:`dead_queue`), or,
        for a name that is not declared, the dead-letter queue of that name of a declared queue.

        :raises KeyError: for any other name, with the closest declared queue as a hint.
        """
        return dead_queue_named(self.manifest, self.settings, name)

    def dead_queue(self, queue: str) -> str:
        """Where ``queue``'s dead letters go (its observer's ``dead_letter_queue``, else ``<queue>-dlq``)."""
        return dead_queue(self.manifest, self.settings, queue)


def dead_queue(manifest: Manifest, settings: LocalSettings, queue: str) -> str:
    """Where ``queue``'s dead letters go (its observer's ``dead_letter_queue``, else ``<queue>-dlq``)."""
    for observer in manifest.application.observers:
        if isinstance(observer.source, QueueSource) and observer.source.queue == queue:
            return settings.observer(observer.name).dead_queue(queue)
    return settings.observer("").dead_queue(queue)


def dead_queue_named(manifest: Manifest, settings: LocalSettings, name: str) -> str:
    """See :meth:`QueueHost.dead_queue_named`."""
    names = [q.name for q in manifest.application.queues]
    if name in names:
        return dead_queue(manifest, settings, name)
    dead = [dead_queue(manifest, settings, queue) for queue in names]
    if name in dead:
        return name
    guess = closest(name, names + dead)
    raise KeyError(f"no queue named {name!r}" + (f"; did you mean {guess!r}?" if guess else ""))
