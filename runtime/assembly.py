"""One run of an app, assembled: the hosts (queues, actors, services, schedules) and ``env``
over an open backend, and the loops they run. ``App.start`` assembles a :class:`Run`;
``App.stop`` takes it apart.

Handler modules are imported only when the run loads handlers (``App.start(handlers=...)``);
the CLI's state tools run without them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.actors import ActorHost
from runtime.backends.base import Backend
from runtime.bindings import Bindings
from runtime.clock import Clock
from runtime.config import LocalSettings
from runtime.consumers import QueueHost
from runtime.env import Env
from runtime.handlers import ExecutionContext
from runtime.loader import actor_classes
from runtime.manifest import Manifest
from runtime.observers import RunRecord
from runtime.scheduler import Scheduler, ScheduleRunner, build_runners
from runtime.service_host import ServiceHost
from runtime.sweeper import sweep_kv

if TYPE_CHECKING:
    from runtime.typescript.runner import TypeScriptApp

__all__ = ["Run", "assemble"]


@dataclass(eq=False)
class Run:
    """What one run of the app holds, from start to stop."""

    backend: Backend
    queues: QueueHost
    actors: ActorHost
    bindings: Bindings  # closed when the run stops
    env: Env
    schedules: Mapping[str, ScheduleRunner]
    typescript: TypeScriptApp | None  # the Node child, when handlers are TypeScript
    settings: LocalSettings
    clock: Clock
    scheduler: Scheduler | None = None  # once the loops start
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)  # the loops

    def start_loops(self, on_failure: Callable[[BaseException], None]) -> None:
        """Start the queue consumers, the scheduler, the actors' loops and the KV sweeper."""
        self.tasks += self.queues.start()
        for runner in self.schedules.values():
            runner.on_failure = on_failure
        self.scheduler = Scheduler(list(self.schedules.values()), self.backend.state, self.clock)
        self.actors.on_failure = on_failure
        loops: dict[str, Coroutine[Any, Any, None]] = {
            "schedules": self.scheduler.run(),
            "actor alarms": self.actors.alarms.run(),
            "actor leases": self.actors.renew_leases(),
            "actor eviction": self.actors.evict_idle_loop(),
            "kv sweeper": sweep_kv(self.backend.kv, self.clock, self.settings.kv.sweep_interval),
        }
        if self.backend.shared:
            loops["backend watcher"] = self.queues.watch(self.actors.alarms.wake)
        self.tasks += [asyncio.create_task(work, name=name) for name, work in loops.items()]

    async def settled(self, now: float) -> bool:
        """Whether no schedule is due at ``now``, no actor alarm is, and no consumer has work."""
        if self.scheduler is not None and self.scheduler.pending(now):
            return False
        self.actors.alarms.wake()
        if await self.actors.alarms.pending(now):
            return False
        return await self.queues.settled()

    async def stop(self, grace: float, background: set[asyncio.Task[Any]]) -> None:
        """Stop taking work, let running handlers finish within ``grace`` seconds, cancel the
        loops and ``background``, hand the actors over, and close what the run opened."""
        self.queues.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.actors.stop()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        consumers = [t for t in self.tasks if t.get_name().startswith("observer ")]
        if consumers:
            _, pending = await asyncio.wait(consumers, timeout=grace)
            for task in pending:
                task.cancel()
        smart = self.bindings.smart
        if smart is not None:  # indexing gets what is left of the grace period
            await smart.settle(deadline - loop.time())
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, *background, return_exceptions=True)
        await self.actors.release()  # a process that stops hands its actors over
        self.tasks.clear()
        if self.typescript is not None:
            await self.typescript.stop()
            self.typescript = None
        await self.backend.close()
        self.bindings.close()


async def assemble(
    manifest: Manifest,
    settings: LocalSettings,
    clock: Clock,
    backend: Backend,
    services: ServiceHost,
    *,
    state_dir: Path,
    environ: Mapping[str, str],
    spawn: Callable[[Awaitable[Any]], asyncio.Task[Any]],
    record: Callable[[RunRecord], None],
    on_failure: Callable[[BaseException], None],
    consume: bool,
    load_handlers: bool,
) -> Run:
    """Build the hosts and ``env`` of one run over ``backend`` (already open), apply the SQL
    migrations, and with ``load_handlers`` import the handler modules; nothing runs yet.

    :param consume: build the queue consumers (started by :meth:`Run.start_loops`).
    """
    queues = QueueHost(manifest, settings, backend, clock, on_run=record, on_failure=on_failure, spawn=spawn)
    typescript = await _start_typescript(manifest, clock, spawn) if load_handlers else None
    try:
        built: dict[str, Env] = {}  # actors find env once it is built
        actors = ActorHost(
            actor_classes(manifest) if load_handlers else {},
            backend.state,
            clock,
            lambda: built["env"],
            spawn,
            on_run=record,
            shared=backend.shared,
        )
        bindings = Bindings(
            manifest,
            settings,
            clock,
            state_dir,
            environ,
            spawn=spawn,
            notify=queues.notify,
            bucket_event=queues.bucket_event,
            record_run=record,
        )
        env = built["env"] = bindings.build(backend, actors, services.handler, services.mcp)
        await bindings.setup()
        if typescript is not None:
            await typescript.bind(env)
        bindings.migrate()
        ctx = ExecutionContext(spawn)
        schedules: Mapping[str, ScheduleRunner] = {}
        if load_handlers:
            services.build(env, bindings.env_values)
            await services.build_mcp(env, backend.state, actors, typescript)
        if consume:
            queues.build(env, ctx)
        if load_handlers:
            schedules = build_runners(manifest, settings, env, ctx, backend.state, clock, record)
    except BaseException:
        if typescript is not None:
            await typescript.stop()
        raise
    return Run(backend, queues, actors, bindings, env, schedules, typescript, settings, clock)


async def _start_typescript(
    manifest: Manifest, clock: Clock, spawn: Callable[[Awaitable[Any]], asyncio.Task[Any]]
) -> TypeScriptApp | None:
    """The Node child that runs the app's TypeScript handlers, started (None for a Python-only app)."""
    from runtime.typescript import typescript_resources

    resources = typescript_resources(manifest)
    if not resources:  # a Python-only app never starts (or looks for) Node
        return None
    from runtime.typescript.runner import TypeScriptApp

    typescript = TypeScriptApp(manifest, resources, clock, spawn)
    try:
        await typescript.start()
    except BaseException:
        await typescript.stop()
        raise
    return typescript
