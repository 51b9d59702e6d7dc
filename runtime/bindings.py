"""The bindings a manifest declares, built for one run of an app: what ``env`` holds, by kind,
and the resources behind them (SQL database files, the AI binding, the smart components, a
scratch folder under the memory backend), closed together when the run ends.

``App`` assembles a run from this and the loops it drives (observers, schedules, actors); it
does not build bindings itself.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.actors import ActorHost
from runtime.ai import AI
from runtime.backends.base import Backend
from runtime.buckets import Bucket, EventSink
from runtime.clock import Clock
from runtime.code_checks import stray_migrations
from runtime.config import LocalSettings, read_dotenv, resolve_env
from runtime.env import Env
from runtime.errors import AppStateError
from runtime.handlers import Service
from runtime.kinds import STORE_KINDS
from runtime.kv import KvCache
from runtime.manifest import Manifest
from runtime.manifest.model import EnvVar, Store
from runtime.observers import RunRecord
from runtime.private import private_dir
from runtime.queue import Queue
from runtime.services import ServiceStub
from runtime.smart import SmartComponents
from runtime.smart.sql import SmartSql
from runtime.sql import SqlDatabase
from runtime.tracing import Annotation, Tracer
from runtime.vector_index import VectorIndex

if TYPE_CHECKING:
    from mcp.server.fastmcp import FastMCP

    from runtime.mcp import McpHost

log = logging.getLogger("raindrop.app")

#: The KV namespace behind ``env.mem`` (``kv _mem list`` reads it from the command line).
MEM_NAMESPACE = "_mem"


@dataclass(frozen=True, slots=True)
class _Build:
    """What every store binding of one run is built from."""

    backend: Backend
    files: Path  # the state folder (or the scratch folder of a backend that keeps nothing)
    values: dict[str, str | None]  # the app's env values, for ${NAME} in local settings


class McpBinding:
    """``env.<MCP_SERVICE>``: ``server`` is the SDK's server with the module's tools, for calls
    in the same process (``await env.TOOLS.server.call_tool("add", {"a": 1, "b": 2})``)."""

    def __init__(self, name: str, hosts: Mapping[str, McpHost]) -> None:
        self._name = name
        self._hosts = hosts

    def __repr__(self) -> str:
        return f"<McpService {self._name!r}>"

    @property
    def server(self) -> FastMCP[Any]:
        host = self._hosts.get(self._name)
        if host is None:
            raise AppStateError(
                f"mcp_service {self._name!r} is not loaded in this process (start the app with handlers)"
            )
        return host.server


class Bindings:
    """One run's bindings. :meth:`build` makes ``env``; :meth:`close` lets go of what it opened.

    :param spawn: runs background work of a binding (smart bucket indexing) as the app's task.
    :param notify: wakes the observers of a queue a message was sent to.
    :param bucket_event: delivers a bucket change to the bucket's observers.
    :param record_run: records a traced run (``env.tracer``, ``env.annotation``).
    """

    def __init__(
        self,
        manifest: Manifest,
        settings: LocalSettings,
        clock: Clock,
        state_dir: Path,
        environ: Mapping[str, str],
        *,
        spawn: Callable[[Awaitable[Any]], Any],
        notify: Callable[[str, float], None],
        bucket_event: EventSink,
        record_run: Callable[[RunRecord], None],
    ) -> None:
        self.manifest = manifest
        self.settings = settings
        self.clock = clock
        self.state_dir = state_dir
        self._environ = environ
        self._spawn = spawn
        self._notify = notify
        self._bucket_event = bucket_event
        self._record_run = record_run
        self._dotenv: dict[str, str] | None = None  # .env beside the manifest, read once
        #: The SQL databases (``sql_database`` and ``smartsql`` blocks) by name.
        self.databases: dict[str, SqlDatabase] = {}
        #: The smart buckets and memories with what they share, once one is declared.
        self.smart: SmartComponents | None = None
        self._ai: AI | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._pending_setup: list[Awaitable[None]] = []

    def build(
        self,
        backend: Backend,
        actors: ActorHost,
        services: Callable[[str], Callable[[], Service]],
        mcp: Mapping[str, McpHost],
    ) -> Env:
        """``env``: one binding per declaration, then the app's env values, then ``AI``.

        :param services: a service's name to what finds its loaded handler (``env.<SERVICE>``).
        :param mcp: the loaded MCP services by name, filled in once their modules load.
        """
        app = self.manifest.application
        bindings: dict[str, Any] = {}
        values = self.env_values(app.env)
        if not backend.persistent:  # nothing is kept: neither are its files
            self._scratch = tempfile.TemporaryDirectory(prefix="raindrop-")
        files = Path(self._scratch.name) if self._scratch is not None else self.state_dir
        if any(STORE_KINDS[store.kind].on_disk for store in app.stores):
            private_dir(files)  # before the buckets', databases' and indexes' own folders (0700)
        build = _Build(backend, files, values)
        for store in app.stores:
            builder = BUILDERS.get(store.kind)
            if builder is None:  # the manifest's model admits no other kind; a new one needs a builder
                raise NotImplementedError(f'{store.kind} "{store.name}": no binding class for this kind')
            bindings[store.binding] = builder(self, store, build)
        for actor in app.actors:
            bindings[actor.binding] = actors.namespace(actor.name)
        for service in app.services:
            bindings[service.binding] = ServiceStub(service.name, services(service.name))
        for resource in app.mcp_services:
            bindings[resource.binding] = McpBinding(resource.name, mcp)
        bindings.update(values)
        bindings.setdefault("AI", self._ai_binding(values))  # a built-in on every module
        # env.mem: the KV namespace every generated Env of the platform has; its namespace name
        # starts with "_" so no declared kv_cache (names are letters, digits and "-") shares it.
        bindings.setdefault(
            "mem", KvCache(MEM_NAMESPACE, backend.kv, self.clock, enforce_limits=self.settings.kv.enforce_limits)
        )
        tracer = Tracer(self._record_run, self.clock.time)
        annotation = Annotation(backend.state, app.name, self._record_run, self.clock.time)
        return Env(bindings, logging.getLogger(f"raindrop.{app.name}"), self.clock, tracer, annotation)

    async def setup(self) -> None:
        """Finish what building started and must await (creating a remote bucket)."""
        for setup in self._pending_setup:
            await setup
        self._pending_setup.clear()

    def migrate(self) -> None:
        """Apply each SQL database's new migrations (``db/<name>/``); warn of migrations no database reads."""
        for name, database in self.databases.items():
            applied = database.migrate(self.manifest.root / "db" / name)
            if applied:
                log.info("database %s: applied migrations %s", name, ", ".join(applied))
        for warning in stray_migrations(self.manifest.root, list(self.databases)):
            log.warning("%s", warning)

    def env_values(self, variables: tuple[EnvVar, ...]) -> dict[str, str | None]:
        """The values of ``variables`` (from the environment, ``.env`` and the local settings)."""
        if self._dotenv is None:
            self._dotenv = read_dotenv(self.manifest.root / ".env")
        return resolve_env(variables, environ=self._environ, dotenv=self._dotenv, settings=self.settings)

    def close(self) -> None:
        """Close the databases and smart components and remove the scratch folder."""
        for database in self.databases.values():
            database.close()
        self.databases.clear()
        if self.smart is not None:
            self.smart.close()
            self.smart = None
        self._ai = None
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    # -- one builder per store kind (BUILDERS) ----------------------------------------------------

    def _queue(self, store: Store, build: _Build) -> Queue:
        return Queue(store.name, build.backend.queues, self.clock, self._notify)

    def _kv(self, store: Store, build: _Build) -> KvCache:
        return KvCache(store.name, build.backend.kv, self.clock, enforce_limits=self.settings.kv.enforce_limits)

    def _plain_bucket(self, store: Store, build: _Build) -> Bucket:
        return self._bucket(store.name, build.files, build.values)

    def _smartbucket(self, store: Store, build: _Build) -> Any:
        components = self._smart_components(build.files, build.values)
        return components.bucket(store.name, self._bucket(store.name, build.files, build.values))

    def _smartmemory(self, store: Store, build: _Build) -> Any:
        return self._smart_components(build.files, build.values).memory(store.name)

    def _database(self, store: Store, build: _Build) -> SqlDatabase:
        database = SqlDatabase(
            store.name,
            build.files / "sql" / f"{store.name}.sqlite",
            statement_timeout=self.settings.sql.statement_timeout,
        )
        self.databases[store.name] = database  # migrated from db/<name>/ (smartsql too)
        return database

    def _smartsql(self, store: Store, build: _Build) -> SmartSql:
        return SmartSql(
            store.name,
            self._database(store, build),
            self._ai_binding(build.values),
            self.clock.time,
            text_query_writes=self.settings.smartsql_settings(store.name).text_query_writes,
        )

    def _vector_index(self, store: Store, build: _Build) -> VectorIndex:
        return VectorIndex(store.name, build.backend.state, store.dimensions, store.metric)

    def _fill(self, values: dict[str, str | None]) -> Callable[[str | None], str | None]:
        """Replaces ``${NAME}`` in a local setting with the app's env value (else the process's)."""

        def fill(text: str | None) -> str | None:
            if text is None:
                return None
            return re.sub(
                r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                lambda m: values.get(m.group(1)) or self._environ.get(m.group(1), ""),
                text,
            )

        return fill

    def _ai_binding(self, values: dict[str, str | None]) -> AI:
        if self._ai is None:
            self._ai = AI(self.settings.ai, self._fill(values))
        return self._ai

    def _smart_components(self, files: Path, values: dict[str, str | None]) -> SmartComponents:
        if self.smart is None:
            self.smart = SmartComponents(files, self._ai_binding(values), self._spawn, self.clock.time)
        return self.smart

    def _bucket(self, name: str, files: Path, values: dict[str, str | None]) -> Bucket:
        remote = self.settings.buckets.get(name)
        if remote is None:
            bucket = Bucket(name, files / "buckets" / name, self._bucket_event, now=self.clock.time)
            self._pending_setup.append(bucket.store.open())  # moves a folder of the old layout over
            return bucket
        from runtime.s3 import S3Bucket

        fill = self._fill(values)
        bucket = S3Bucket(
            name,
            bucket=remote.bucket or name,
            endpoint_url=fill(remote.endpoint_url) or remote.endpoint_url,
            region=remote.region,
            access_key_id=fill(remote.access_key_id),
            secret_access_key=fill(remote.secret_access_key),
            on_event=self._bucket_event,
        )
        if remote.create:
            self._pending_setup.append(bucket.ensure())
        return bucket


#: The builder of each store kind's binding; every kind of :data:`runtime.kinds.STORE_KINDS`
#: has one (``tests/test_kinds.py``).
BUILDERS: dict[str, Callable[[Bindings, Store, _Build], Any]] = {
    "queue": Bindings._queue,
    "kv_cache": Bindings._kv,
    "kv_store": Bindings._kv,
    "bucket": Bindings._plain_bucket,
    "smartbucket": Bindings._smartbucket,
    "smartmemory": Bindings._smartmemory,
    "smartsql": Bindings._smartsql,
    "sql_database": Bindings._database,
    "vector_index": Bindings._vector_index,
}
