"""Typed, frozen models of a manifest; every model carries the span it was read from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from runtime.manifest.diagnostics import Diagnostic, Span

Visibility = Literal["public", "protected", "private", "application"]


def binding_name(name: str) -> str:
    """The ``env`` attribute a resource is bound to: upper-cased, ``-`` becomes ``_``."""
    return name.upper().replace("-", "_")


def class_name(name: str) -> str:
    """The PascalCase class name an actor module must export (``podcast-generator`` → ``PodcastGenerator``)."""
    parts = [p for p in name.replace("-", "_").split("_") if p]
    return "".join(p[:1].upper() + p[1:] for p in parts)


class Node(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    span: Span


class Resource(Node):
    kind: str
    name: str

    @property
    def binding(self) -> str:
        return binding_name(self.name)


class CodeResource(Resource):
    handler: str  # path of the module, relative to the manifest's folder
    handler_declared: bool = False  # True when the manifest's `handler =` named it


class Domain(Node):
    cname: str | None = None
    fqdn: str | None = None


class EnvVar(Resource):
    kind: Literal["env"] = "env"
    secret: bool = False
    default: str | None = None
    service: str | None = None  # set for an env block nested in a service


class Service(CodeResource):
    kind: Literal["service"] = "service"
    visibility: Visibility = "private"
    visibility_declared: bool = False
    domain: Domain | None = None
    env: tuple[EnvVar, ...] = ()


class McpService(CodeResource):
    kind: Literal["mcp_service"] = "mcp_service"
    visibility: Visibility = "private"


class Actor(CodeResource):
    kind: Literal["actor"] = "actor"
    visibility: Visibility = "private"

    @property
    def class_name(self) -> str:
        return class_name(self.name)


class QueueSource(Node):
    type: Literal["queue"] = "queue"
    queue: str


class BucketRule(Node):
    actions: tuple[str, ...] = ()
    prefix: str | None = None


class BucketSource(Node):
    type: Literal["bucket"] = "bucket"
    bucket: str
    rules: tuple[BucketRule, ...] = ()


class ScheduleSource(Node):
    type: Literal["schedule"] = "schedule"
    schedule: str


ObserverSource = Annotated[QueueSource | BucketSource | ScheduleSource, Field(discriminator="type")]


class Observer(CodeResource):
    kind: Literal["observer"] = "observer"
    source: ObserverSource


class Task(CodeResource):
    kind: Literal["task"] = "task"
    type: Literal["cron"] = "cron"
    cron: str


class Store(Resource):
    """A resource without code: queues, KV, buckets, databases and the smart* kinds."""

    kind: Literal[
        "queue",
        "kv_cache",
        "kv_store",
        "bucket",
        "smartbucket",
        "sql_database",
        "smartsql",
        "smartmemory",
        "vector_index",
    ]
    visibility: Visibility | None = None
    dimensions: int | None = None  # vector_index only
    metric: str | None = None  # vector_index only


class Schedule(BaseModel):
    """A cron schedule: a task, or an observer whose source is a schedule."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    kind: Literal["task", "observer"]
    cron: str
    span: Span


class Application(Node):
    name: str
    services: tuple[Service, ...] = ()
    mcp_services: tuple[McpService, ...] = ()
    actors: tuple[Actor, ...] = ()
    observers: tuple[Observer, ...] = ()
    tasks: tuple[Task, ...] = ()
    stores: tuple[Store, ...] = ()
    env: tuple[EnvVar, ...] = ()

    def stores_of(self, *kinds: str) -> tuple[Store, ...]:
        return tuple(s for s in self.stores if s.kind in kinds)

    @property
    def queues(self) -> tuple[Store, ...]:
        return self.stores_of("queue")

    @property
    def kv_caches(self) -> tuple[Store, ...]:
        return self.stores_of("kv_cache", "kv_store")

    @property
    def buckets(self) -> tuple[Store, ...]:
        return self.stores_of("bucket", "smartbucket")

    @property
    def sql_databases(self) -> tuple[Store, ...]:
        return self.stores_of("sql_database")

    def resources(self) -> Iterator[Resource]:
        """Every declared resource, in a stable order: code first, then stores, then env."""
        yield from self.services
        yield from self.mcp_services
        yield from self.actors
        yield from self.observers
        yield from self.tasks
        yield from self.stores
        yield from self.env
        for service in self.services:
            yield from service.env

    def schedules(self) -> tuple[Schedule, ...]:
        found = [Schedule(name=t.name, kind="task", cron=t.cron, span=t.span) for t in self.tasks]
        for observer in self.observers:
            if isinstance(observer.source, ScheduleSource):
                found.append(
                    Schedule(name=observer.name, kind="observer", cron=observer.source.schedule, span=observer.span)
                )
        return tuple(found)

    def code_resources(self) -> Iterator[CodeResource]:
        yield from self.services
        yield from self.mcp_services
        yield from self.actors
        yield from self.observers
        yield from self.tasks


class Manifest(BaseModel):
    """A parsed, checked manifest. ``warnings`` holds what was accepted but looks off."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    application: Application
    warnings: tuple[Diagnostic, ...] = ()

    @property
    def root(self) -> Path:
        """The folder the manifest lives in; handler paths are relative to it."""
        return self.path.parent
