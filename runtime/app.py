"""``App``: a manifest brought to life. It owns the lifecycle of one run: open the backend,
assemble ``env``, start the hosts and loops, drain them in tests, stop them.

What runs lives elsewhere, one concern a module: the bindings in ``bindings.py``, queue
consumers in ``consumers.py`` (``app.queues``), actors in ``actors.py`` (``app.actors``),
services and MCP services in ``service_host.py`` (``app.services``, ``app.mcp``), schedules in
``scheduler.py``, the run log in ``runs.py`` (``app.runs``) and the KV sweeper in ``sweeper.py``.

::

    app = App.from_manifest("raindrop.manifest", backend="memory://", clock=FakeClock())
    async with app:
        await app.env.JOBS.send({"id": 1})
        await app.drain()          # every due message handled, nothing in flight
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any

from runtime.actors import ActorHost
from runtime.assembly import Run, assemble
from runtime.backends import default_url, open_backend
from runtime.backends.base import Backend, QueueStats, StoredMessage
from runtime.clock import Clock, SystemClock
from runtime.config import LocalSettings, load_settings
from runtime.consumers import QueueHost, bucket_queue, dead_queue, dead_queue_named
from runtime.env import Env
from runtime.errors import AppStateError
from runtime.looplag import LoopLag
from runtime.manifest import Manifest, load
from runtime.observers import RunRecord
from runtime.runs import RunLog
from runtime.scheduler import ScheduleRunner
from runtime.service_host import ServiceHost
from runtime.services import ServiceApp
from runtime.smart import SmartComponents
from runtime.sql import SqlDatabase

if TYPE_CHECKING:
    from runtime.typescript.runner import TypeScriptApp

__all__ = ["App", "bucket_queue"]

NOT_RUNNING = "the app is not running: use `async with app:` first"


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
        #: The latest runs of every handler, oldest first (``runs.total`` counts them all).
        self.runs = RunLog()
        #: The services and MCP services, loaded when the app starts with handlers.
        self.services = ServiceHost(manifest, settings, clock, self.spawn, self.runs.record)
        #: The MCP services (``mcp_service``) by name, once their modules are loaded.
        self.mcp = self.services.mcp
        self.loop_lag = LoopLag()  # the event loop's own lag, probed while the app runs
        #: Writes that failed to commit (each raised StorageError in its caller); set when the app stops.
        self.backend_failed_writes = 0
        #: The Node child that runs the TypeScript handlers (None when every handler is Python).
        self.typescript: TypeScriptApp | None = None
        self._environ = environ
        self._run: Run | None = None  # what this run holds, from start to stop
        self._failures: list[BaseException] = []  # handler exceptions since the last drain()
        self._background: set[asyncio.Task[Any]] = set()
        self._started = False

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
        folder = Path(state_dir) if state_dir is not None else manifest.root / (settings.state_dir or ".raindrop")
        return cls(
            manifest,
            settings,
            backend=backend or settings.backend or default_url(folder),
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
        try:
            run = await assemble(
                self.manifest,
                self.settings,
                self.clock,
                backend,
                self.services,
                state_dir=self.state_dir,
                environ=self._environ,
                spawn=self.spawn,
                record=self.runs.record,
                on_failure=self._failed,
                consume=consume,
                load_handlers=load_handlers,
            )
        except BaseException:
            await backend.close()
            raise
        self._run = run
        self.typescript = run.typescript
        self._started = True
        if consume:
            run.start_loops(self._failed)
            self.loop_lag.start()
            if self.smart is not None:
                self.smart.start()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking work, let running handlers finish within ``grace`` seconds, hand back the rest."""
        if not self._started or self._run is None:
            return
        await self.loop_lag.stop()
        await self._run.stop(grace, self._background)
        self._background.clear()
        self.typescript = None
        self.backend_failed_writes = self._run.backend.failed_writes
        self._started = False

    async def drain(self, timeout: float = 60.0, *, raise_errors: bool = True) -> None:
        """Run until every queue with an observer is empty of due messages and nothing is in flight.

        The clock is not moved: a message delayed past ``clock.time()`` is not due yet.

        :param raise_errors: re-raise, once settled, the first exception a handler (observer,
            schedule, alarm) raised since the previous drain, with its traceback, so that a test
            fails where the handler did. ``False`` keeps failures as data (retries, dead letters),
            for tests about them; ``app.runs`` lists every run either way.
        :raises TimeoutError: when work is still going on after ``timeout`` real seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.queues.draining(True)
        try:
            quiet_rounds = 0
            while True:
                if await self._settled():
                    quiet_rounds += 1
                    if quiet_rounds >= 2:  # twice in a row: nothing woke up in between
                        break
                else:
                    quiet_rounds = 0
                if loop.time() > deadline:
                    busy = self.queues.busy
                    raise TimeoutError(f"drain: still busy after {timeout} s (observers at work: {busy or 'none'})")
                await asyncio.sleep(0.0005 if quiet_rounds == 0 else 0)
        finally:
            self.queues.draining(False)
        failures, self._failures = self._failures, []
        if failures and raise_errors:
            raise failures[0]

    def _failed(self, exc: BaseException) -> None:
        self._failures.append(exc)

    async def _settled(self) -> bool:
        if any(not t.done() for t in self._background):
            return False
        return await self._current.settled(self.clock.time())

    def spawn(self, work: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run ``work`` in the background; ``drain()`` waits for it and ``stop()`` cancels it."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    # -- what runs (public attributes) ------------------------------------------------------------

    @property
    def _current(self) -> Run:
        if self._run is None:
            raise AppStateError(NOT_RUNNING)
        return self._run

    @property
    def env(self) -> Env:
        """The bindings, as handlers see them."""
        return self._current.env

    @property
    def backend(self) -> Backend:
        """The backend this run keeps its state in."""
        return self._current.backend

    @property
    def queues(self) -> QueueHost:
        """The queue consumers of this run and what tools ask about queues (stats, dead letters)."""
        return self._current.queues

    @property
    def actors(self) -> ActorHost:
        """The actors of this run: their instances, alarms and (on a shared backend) ownership."""
        return self._current.actors

    @property
    def smart(self) -> SmartComponents | None:
        """The app's smart buckets and memories, with what they share (None when it has none)."""
        return self._run.bindings.smart if self._run is not None else None

    @property
    def databases(self) -> Mapping[str, SqlDatabase]:
        """The app's SQL databases (``sql_database`` and ``smartsql`` blocks) by name."""
        return MappingProxyType(self._run.bindings.databases if self._run is not None else {})

    @property
    def runs_total(self) -> int:
        """Every run recorded, also those ``runs`` has let go (``runs.total``)."""
        return self.runs.total

    @property
    def runs_hook(self) -> Callable[[RunRecord], None] | None:
        """Called with every run as it is recorded (``runs.hook``; ``serve`` logs runs through it)."""
        return self.runs.hook

    @runs_hook.setter
    def runs_hook(self, hook: Callable[[RunRecord], None] | None) -> None:
        self.runs.hook = hook

    # -- shortcuts tests and tools use ----------------------------------------------------------

    async def fire(self, name: str) -> None:
        """Run the scheduled handler ``name`` (a task or cron-sourced observer) now, and wait for it.

        :raises KeyError: when no schedule has that name.
        :raises Exception: whatever the handler raised.
        """
        schedules = self._run.schedules if self._run is not None else {}
        runner = schedules.get(name)
        if runner is None:
            known = ", ".join(schedules) or "none"
            raise KeyError(f"no scheduled handler named {name!r} (schedules: {known})")
        await runner.execute(self.clock.time(), raise_errors=True)

    def asgi(self, service: str, *, raise_exceptions: bool = False) -> ServiceApp:
        """The ASGI app of ``service`` (for httpx's ``ASGITransport``, or any ASGI server).

        :param raise_exceptions: a handler's exception propagates to the caller (as in
            Starlette's ``TestClient``) instead of becoming a 500 response.
        """
        return self.services.asgi(service, raise_exceptions=raise_exceptions)

    def schedules(self) -> dict[str, ScheduleRunner]:
        """Every schedule (tasks and cron-sourced observers) by name, with its runner."""
        return dict(self._run.schedules) if self._run is not None else {}

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
