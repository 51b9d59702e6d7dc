"""``App``: a manifest brought to life. It owns the backend, the bindings and every background loop.

::

    app = App.from_manifest("raindrop.manifest", backend="memory://", clock=FakeClock())
    async with app:
        await app.env.JOBS.send({"id": 1})
        await app.drain()          # every due message handled, nothing in flight
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

from runtime.actors import ActorHost
from runtime.backends import default_url, open_backend
from runtime.backends.base import Backend, QueueStats, StoredMessage
from runtime.bindings import Bindings
from runtime.clock import Clock, SystemClock
from runtime.code_checks import stray_migrations
from runtime.config import LocalSettings, load_settings
from runtime.consumers import QueueHost, bucket_queue, dead_queue, dead_queue_named
from runtime.env import Env
from runtime.errors import AppStateError
from runtime.handlers import Actor, ExecutionContext, Service, Task
from runtime.loader import handler_class, instantiate
from runtime.looplag import LoopLag
from runtime.manifest import Manifest, load
from runtime.manifest.schema import closest
from runtime.observers import RunRecord
from runtime.scheduler import Scheduler, ScheduleRunner
from runtime.services import ServiceApp
from runtime.smart import SmartComponents
from runtime.sql import SqlDatabase

if TYPE_CHECKING:
    from runtime.mcp import McpHost
    from runtime.typescript.runner import TypeScriptApp

__all__ = ["App", "bucket_queue"]

log = logging.getLogger("raindrop.app")


class App:
    """A Raindrop app running in this process. Use ``async with app:`` to start and stop it."""

    def __init__(
        self,
        manifest: Manifest,
        settings: LocalSettings,
        *,
        backend: str,
        clock: Clock,
        environ: Mapping[str, str],
        state_dir: Path,
    ) -> None:
        self.manifest = manifest
        self.settings = settings
        self.backend_url = backend
        self.clock = clock
        self.state_dir = state_dir
        self.runs: deque[RunRecord] = deque(maxlen=500)
        self.runs_total = 0  # every run recorded, also those the deque has let go (the live charts)
        self.runs_hook: Callable[[RunRecord], None] | None = None  # serve logs every run through this
        self._environ = environ
        self._backend: Backend | None = None
        #: Writes that failed to commit (each raised StorageError in its caller); set when the app stops.
        self.backend_failed_writes = 0
        self._env: Env | None = None
        self._queues: QueueHost | None = None
        self._schedules: dict[str, ScheduleRunner] = {}
        self._scheduler: Scheduler | None = None
        self._services: dict[str, Service] = {}
        self._bindings: Bindings | None = None  # this run's, built at start and closed at stop
        self._failures: list[BaseException] = []  # handler exceptions since the last drain()
        #: The MCP services (``mcp_service``), once their modules are loaded.
        self.mcp: dict[str, McpHost] = {}
        self._actors: ActorHost | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self.loop_lag = LoopLag()  # the event loop's own lag, probed while the app runs
        self._background: set[asyncio.Task[Any]] = set()
        self._started = False
        self._typescript: TypeScriptApp | None = None  # the Node child, when handlers are TypeScript

    @classmethod
    def from_manifest(
        cls,
        path: str | os.PathLike[str],
        *,
        backend: str | None = None,
        clock: Clock | None = None,
        environ: Mapping[str, str] | None = None,
        state_dir: str | os.PathLike[str] | None = None,
    ) -> App:
        """Read ``path`` and its ``raindrop.local.yaml``; nothing starts until ``async with``.

        :param backend: a backend URL; default the settings' ``backend``, else SQLite in ``state_dir``.
        :param clock: default the system clock; tests pass a :class:`~runtime.FakeClock`.
        :param environ: env values that win over everything else (default: the process environment).
        :param state_dir: where state lives (default ``.raindrop/`` beside the manifest).
        :raises ManifestError: when the manifest or its settings have errors.
        """
        manifest = load(Path(path).resolve(), handlers="ignore")
        settings = load_settings(manifest)
        root = manifest.root
        folder = Path(state_dir) if state_dir is not None else root / (settings.state_dir or ".raindrop")
        url = backend or settings.backend or default_url(folder)
        return cls(
            manifest,
            settings,
            backend=url,
            clock=clock or SystemClock(),
            environ=os.environ if environ is None else environ,
            state_dir=folder,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> App:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self, *, consume: bool = True, handlers: bool | None = None) -> None:
        """Open the backend and build ``env``; with ``consume`` (the default) also start the
        observers, schedules, alarms and background loops.

        ``consume=False`` is for tools that work on state without running the app (the CLI's
        ``send``, ``queues``, ``kv`` and ``trigger``). Handler modules are then imported only
        with ``handlers=True`` (so that ``fire()`` can run a schedule)."""
        load_handlers = consume if handlers is None else handlers
        if self._started:
            raise AppStateError("the app is already running")
        backend = open_backend(
            self.backend_url, base=self.manifest.root, app=self.manifest.application.name, clock_now=self.clock.time
        )
        await backend.open()
        self._backend = backend
        queues = QueueHost(
            self.manifest,
            self.settings,
            backend,
            self.clock,
            on_run=self._record_run,
            on_failure=self._failed,
            spawn=self.spawn,
        )
        self._queues = queues
        try:
            if load_handlers:
                await self._start_typescript()
            self._actors = ActorHost(
                self._load_actor_classes() if load_handlers else {},
                backend.state,
                self.clock,
                lambda: self.env,
                self.spawn,
                on_run=self._record_run,
                shared=backend.shared,
            )
            self._bindings = Bindings(
                self.manifest,
                self.settings,
                self.clock,
                self.state_dir,
                self._environ,
                spawn=self.spawn,
                notify=queues.notify,
                bucket_event=queues.bucket_event,
                record_run=self._record_run,
            )
            self._env = self._bindings.build(backend, self._actors, self._service_handler, self.mcp)
            await self._bindings.setup()
            if self._typescript is not None:
                await self._typescript.bind(self._env)
            self._migrate()
            if load_handlers:
                self._build_services()
                await self._build_mcp(backend)
            if consume:
                queues.build(self.env, ExecutionContext(self.spawn))
            if load_handlers:
                self._build_schedules(backend)
        except BaseException:
            if self._typescript is not None:
                await self._typescript.stop()
                self._typescript = None
            await backend.close()
            raise
        self._started = True
        if not consume:
            return
        self._tasks += queues.start()
        for runner in self._schedules.values():
            runner.on_failure = self._failed
        self._scheduler = Scheduler(list(self._schedules.values()), backend.state, self.clock)
        self._tasks.append(asyncio.create_task(self._scheduler.run(), name="schedules"))
        assert self._actors is not None
        self._actors.on_failure = self._failed
        self._tasks.append(asyncio.create_task(self._actors.run_alarms(), name="actor alarms"))
        self._tasks.append(asyncio.create_task(self._actors.renew_leases(), name="actor leases"))
        self._tasks.append(asyncio.create_task(self._actors.evict_idle_loop(), name="actor eviction"))
        self._tasks.append(asyncio.create_task(self._sweep_kv(), name="kv sweeper"))
        self.loop_lag.start()
        if self.smart is not None:
            self.smart.start()
        if backend.shared:
            self._tasks.append(asyncio.create_task(queues.watch(self._actors.wake), name="backend watcher"))

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking work, let running handlers finish within ``grace`` seconds, hand back the rest."""
        if not self._started:
            return
        if self._queues is not None:
            self._queues.stop()
        if self._scheduler is not None:
            self._scheduler.stop()
        if self._actors is not None:
            self._actors.stop()
        await self.loop_lag.stop()
        deadline = asyncio.get_running_loop().time() + grace
        consumers = [t for t in self._tasks if t.get_name().startswith("observer ")]
        if consumers:
            _, pending = await asyncio.wait(consumers, timeout=grace)
            for task in pending:
                task.cancel()
        if self.smart is not None:  # indexing gets what is left of the grace period
            await self.smart.settle(deadline - asyncio.get_running_loop().time())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._background, return_exceptions=True)
        if self._actors is not None and self._backend is not None:
            await self._actors.release()  # a process that stops hands its actors over
        self._tasks.clear()
        self._background.clear()
        if self._typescript is not None:
            await self._typescript.stop()
            self._typescript = None
        if self._backend is not None:
            await self._backend.close()
            self.backend_failed_writes = self._backend.failed_writes
        if self._bindings is not None:
            self._bindings.close()
        self._started = False

    # -- public API ---------------------------------------------------------------------------

    @property
    def env(self) -> Env:
        """The bindings, as handlers see them."""
        if self._env is None:
            raise AppStateError("the app is not running: use `async with app:` first")
        return self._env

    @property
    def smart(self) -> SmartComponents | None:
        """The app's smart buckets and memories, with what they share (None when it has none)."""
        return self._bindings.smart if self._bindings is not None else None

    @property
    def databases(self) -> Mapping[str, SqlDatabase]:
        """The app's SQL databases (``sql_database`` and ``smartsql`` blocks) by name."""
        return MappingProxyType(self._bindings.databases if self._bindings is not None else {})

    @property
    def queues(self) -> QueueHost:
        """The queue consumers of this run and what tools ask about queues (stats, dead letters)."""
        if self._queues is None:
            raise AppStateError("the app is not running: use `async with app:` first")
        return self._queues

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise AppStateError("the app is not running: use `async with app:` first")
        return self._backend

    async def drain(self, timeout: float = 60.0, *, raise_errors: bool = True) -> None:
        """Run until every queue with an observer is empty of due messages and nothing is in flight.

        The clock is not moved: a message delayed past ``clock.time()`` is not due yet.

        :param raise_errors: re-raise, once settled, the first exception a handler (observer,
            schedule, alarm) raised since the previous drain, with its traceback, so that a test
            fails where the handler did. ``False`` keeps failures as data (retries, dead letters),
            for tests about them; ``app.runs`` lists every run either way.
        :raises TimeoutError: when work is still going on after ``timeout`` real seconds.
        """
        await self._drain(timeout)
        failures, self._failures = self._failures, []
        if failures and raise_errors:
            raise failures[0]

    def _failed(self, exc: BaseException) -> None:
        self._failures.append(exc)

    async def _drain(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.queues.draining(True)
        try:
            quiet_rounds = 0
            while True:
                if await self._settled():
                    quiet_rounds += 1
                    if quiet_rounds >= 2:  # twice in a row: nothing woke up in between
                        return
                else:
                    quiet_rounds = 0
                if loop.time() > deadline:
                    busy = self.queues.busy
                    raise TimeoutError(f"drain: still busy after {timeout} s (observers at work: {busy or 'none'})")
                await asyncio.sleep(0.0005 if quiet_rounds == 0 else 0)
        finally:
            self.queues.draining(False)

    async def fire(self, name: str) -> None:
        """Run the scheduled handler ``name`` (a task or cron-sourced observer) now, and wait for it.

        :raises KeyError: when no schedule has that name.
        :raises Exception: whatever the handler raised.
        """
        runner = self._schedules.get(name)
        if runner is None:
            known = ", ".join(self._schedules) or "none"
            raise KeyError(f"no scheduled handler named {name!r} (schedules: {known})")
        await runner.execute(self.clock.time(), raise_errors=True)

    def asgi(self, service: str, *, raise_exceptions: bool = False) -> ServiceApp:
        """The ASGI app of ``service`` (for httpx's ``ASGITransport``, or any ASGI server).

        :param raise_exceptions: a handler's exception propagates to the caller (as in
            Starlette's ``TestClient``) instead of becoming a 500 response.
        """
        handler = self._services.get(service)
        if handler is None:
            names = [s.name for s in self.manifest.application.services]
            if service not in names:
                guess = closest(service, names)
                hint = f"; did you mean {guess!r}?" if guess else f" (services: {', '.join(names) or 'none'})"
                raise KeyError(f"no service named {service!r}{hint}")
            raise AppStateError(f"service {service!r} is not loaded: start the app with handlers")
        return ServiceApp(
            service,
            handler,
            timeout=self.settings.request_timeout,
            on_request=self._record_run,
            debug=self.settings.debug,
            raise_exceptions=raise_exceptions,
        )

    def schedules(self) -> dict[str, ScheduleRunner]:
        """Every schedule (tasks and cron-sourced observers) by name, with its runner."""
        return dict(self._schedules)

    async def queue_stats(self) -> dict[str, QueueStats]:
        """Depth, in flight, delayed and dead-lettered counts for every declared queue
        (``app.queues.stats()``)."""
        return await self.queues.stats()

    async def dead_letters(self, queue: str, limit: int = 100) -> list[StoredMessage]:
        """The messages ``queue`` dead-lettered, oldest first (``app.queues.dead_letters()``).

        :raises KeyError: for a name that is neither a declared queue nor one's dead-letter queue.
        """
        return await self.queues.dead_letters(queue, limit)

    def dead_queue_named(self, name: str) -> str:
        """The dead-letter queue ``name`` means (a declared queue's, or one of them by name).

        :raises KeyError: for any other name, with the closest declared queue as a hint.
        """
        return dead_queue_named(self.manifest, self.settings, name)

    def dead_queue(self, queue: str) -> str:
        """Where ``queue``'s dead letters go (its observer's ``dead_letter_queue``, else ``<queue>-dlq``)."""
        return dead_queue(self.manifest, self.settings, queue)

    def spawn(self, work: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run ``work`` in the background; ``drain()`` waits for it and ``stop()`` cancels it."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # -- internals ------------------------------------------------------------------------------

    async def _settled(self) -> bool:
        if any(not t.done() for t in self._background):
            return False
        now = self.clock.time()
        if self._scheduler is not None and self._scheduler.pending(now):
            return False
        if self._actors is not None:
            self._actors.wake()
            if await self._actors.pending(now):
                return False
        return await self.queues.settled()

    def _record_run(self, record: RunRecord) -> None:
        self.runs.append(record)
        self.runs_total += 1
        if self.runs_hook is not None:
            self.runs_hook(record)

    @property
    def _run_bindings(self) -> Bindings:
        if self._bindings is None:
            raise AppStateError("the app is not running: use `async with app:` first")
        return self._bindings

    def _service_handler(self, name: str) -> Callable[[], Service]:
        def handler() -> Service:
            found = self._services.get(name)
            if found is None:
                raise AppStateError(f"service {name!r} is not loaded in this process")
            return found

        return handler

    async def _build_mcp(self, backend: Backend) -> None:
        from runtime.actors import ActorId, ActorState, Storage
        from runtime.mcp import McpHost, load_module

        for resource in self.manifest.application.mcp_services:
            if self._typescript is not None and resource.name in self._typescript.resources:
                module = self._typescript.mcp_module(resource)
            else:
                module = load_module(resource, self.manifest.root)
            namespace = f"mcp:{resource.name}"
            actor = ActorId(hashlib.sha256(namespace.encode()).hexdigest(), resource.name)
            assert self._actors is not None
            state = ActorState(actor, Storage(backend.state, namespace, actor, self._actors.wake), self.spawn)
            settings = self.settings.mcp.get(resource.name)
            host = McpHost(resource, module, self.env, state, settings.token if settings else None)
            await host.setup()
            self.mcp[resource.name] = host

    def _build_services(self) -> None:
        ctx = ExecutionContext(self.spawn)
        for service in self.manifest.application.services:
            env = self.env
            if service.env:  # env blocks nested in the service are visible to it alone
                env = Env(
                    {**self.env.bindings(), **self._run_bindings.env_values(service.env)},
                    self.env.logger,
                    self.clock,
                    self.env.tracer,
                    self.env.annotation,
                )
            handler = instantiate(service, self.manifest.root, env, ctx)
            assert isinstance(handler, Service)
            self._services[service.name] = handler

    def _migrate(self) -> None:
        databases = self.databases
        for name, database in databases.items():
            applied = database.migrate(self.manifest.root / "db" / name)
            if applied:
                log.info("database %s: applied migrations %s", name, ", ".join(applied))
        for warning in stray_migrations(self.manifest.root, list(databases)):
            log.warning("%s", warning)

    async def _start_typescript(self) -> None:
        from runtime.typescript import typescript_resources

        resources = typescript_resources(self.manifest)
        if resources:  # a Python-only app never starts (or looks for) Node
            from runtime.typescript.runner import TypeScriptApp

            self._typescript = TypeScriptApp(self.manifest, resources, self.clock, self.spawn)
            await self._typescript.start()

    def _load_actor_classes(self) -> dict[str, type[Actor]]:
        return {a.name: handler_class(a, self.manifest.root) for a in self.manifest.application.actors}

    def _build_schedules(self, backend: Backend) -> None:
        app = self.manifest.application
        ctx = ExecutionContext(self.spawn)
        by_name = {r.name: r for r in (*app.tasks, *app.observers)}
        for schedule in app.schedules():
            handler = instantiate(by_name[schedule.name], self.manifest.root, self.env, ctx)
            assert isinstance(handler, Task)
            self._schedules[schedule.name] = ScheduleRunner(
                schedule, handler, backend.state, self.clock, self.settings.schedule(schedule.name), self._record_run
            )

    async def _sweep_kv(self) -> None:
        interval = self.settings.kv.sweep_interval
        while True:
            await self.clock.sleep_until(self.clock.time() + interval)
            with contextlib.suppress(Exception):
                removed = await self.backend.kv.sweep(self.clock.time())
                if removed:
                    log.debug("swept %d expired KV entries", removed)
