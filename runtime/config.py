"""Local settings (``raindrop.local.yaml``) and env var resolution, validated once at the edge.

The platform has no syntax for delivery settings, backends, ports or env values; they live in
an optional ``raindrop.local.yaml`` beside the manifest::

    backend: sqlite:///.raindrop/state.db     # or memory://, redis://127.0.0.1:6379/0
    host: 127.0.0.1
    port: 8787
    services:
      web: {port: 8790}
    observers:
      podcast-queue-handler:
        max_batch_size: 1
        max_retries: 5
        visibility_timeout: 300
    schedules:
      podcast-pregeneration-cron: {timezone: America/Chicago, catch_up: skip}
    kv:
      enforce_limits: true
    sql:
      statement_timeout: 30     # seconds before a statement is interrupted
    env:
      CRON_SECRET: dev-secret
    vars:                       # free-form settings for the app's own code (env.LOCAL)
      auth: optional

Errors carry the file, line and column of the offending key, like manifest errors.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runtime.errors import ManifestError
from runtime.manifest.diagnostics import Diagnostic, Source, Span, decode_text, make
from runtime.manifest.model import EnvVar, Manifest

LOCAL_FILE = "raindrop.local.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObserverSettings(_Strict):
    """Delivery settings of one queue observer; defaults are the platform's (Cloudflare Queues)."""

    max_batch_size: int = Field(10, ge=1, le=100)
    max_batch_timeout: float = Field(5.0, ge=0, le=60)
    max_retries: int = Field(3, ge=0, le=100)
    max_concurrency: int = Field(1, ge=1, le=250)
    visibility_timeout: float = Field(30.0, gt=0)
    max_wall_time: float = Field(900.0, gt=0)  # seconds one delivery may run (the platform's 15 min)
    retry_delay: float = Field(0.0, ge=0, le=43_200)
    dead_letter_queue: str | None = None

    def dead_queue(self, queue: str) -> str:
        """Where ``queue``'s dead letters go: ``dead_letter_queue``, else ``<queue>-dlq``."""
        return self.dead_letter_queue or f"{queue}-dlq"


class ScheduleSettings(_Strict):
    timezone: str = "UTC"
    catch_up: Literal["fire_once", "skip", "all"] = "fire_once"
    max_wall_time: float = Field(300.0, gt=0)  # seconds one run may take (the platform's 5 minutes)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}: expected an IANA name such as 'Europe/Paris'") from exc
        return value


class ServiceSettings(_Strict):
    port: int | None = Field(None, ge=1, le=65535)
    token: str | None = None  # a protected service's bearer token (default: made up per process)


class BucketSettings(_Strict):
    """An S3-compatible service for one bucket; ``${NAME}`` in a value reads the app's env."""

    endpoint_url: str
    bucket: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    create: bool = False  # create the remote bucket when it is missing (for local S3 servers)


class KvSettings(_Strict):
    enforce_limits: bool = True
    sweep_interval: float = Field(60.0, gt=0)


class HttpSettings(_Strict):
    """Read timeouts of ``serve``'s connections (see :mod:`runtime.http_timeouts`)."""

    header_timeout: float = Field(10.0, gt=0)
    body_timeout: float = Field(30.0, gt=0)


class AiModelSettings(_Strict):
    """Who answers an ``env.AI.run`` model locally; ``${NAME}`` in a value reads the app's env."""

    provider: Literal["offline", "anthropic", "openai-compatible"] = "offline"
    model: str | None = None  # the provider's own model name (default: the platform's name)
    base_url: str | None = None  # anthropic: optional; openai-compatible: required (…/v1)
    api_key: str | None = None
    max_tokens: int = Field(1024, ge=1)
    timeout: float = Field(120.0, gt=0)


class AiSettings(_Strict):
    default: AiModelSettings = AiModelSettings()
    models: dict[str, AiModelSettings] = {}

    def for_model(self, name: str) -> AiModelSettings:
        return self.models.get(name) or self.default


class SmartSqlSettings(_Strict):
    text_query_writes: bool = False  # let text_query run statements that change data


class SqlSettings(_Strict):
    """Limits of ``sql_database`` and ``smartsql`` statements."""

    statement_timeout: float = Field(30.0, gt=0)  # seconds before a statement is interrupted


class McpSettings(_Strict):
    port: int | None = Field(None, ge=1, le=65535)
    token: str | None = None  # the bearer token of a protected service (default: made up per process)


class LocalSettings(_Strict):
    backend: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(8787, ge=1, le=65535)
    state_dir: str | None = None
    request_timeout: float = Field(300.0, gt=0)
    debug: bool = False  # a 500 tells every client the exception (by default: loopback clients only)
    http: HttpSettings = HttpSettings()
    services: dict[str, ServiceSettings] = {}
    observers: dict[str, ObserverSettings] = {}
    schedules: dict[str, ScheduleSettings] = {}
    buckets: dict[str, BucketSettings] = {}
    kv: KvSettings = KvSettings()
    ai: AiSettings = AiSettings()
    smartsql: dict[str, SmartSqlSettings] = {}
    sql: SqlSettings = SqlSettings()
    mcp: dict[str, McpSettings] = {}
    env: dict[str, str | int | float | bool] = {}
    vars: dict[str, Any] = {}

    def observer(self, name: str) -> ObserverSettings:
        return self.observers.get(name) or ObserverSettings()

    def schedule(self, name: str) -> ScheduleSettings:
        return self.schedules.get(name) or ScheduleSettings()

    def smartsql_settings(self, name: str) -> SmartSqlSettings:
        return self.smartsql.get(name) or SmartSqlSettings()


def load_settings(manifest: Manifest, path: Path | None = None) -> LocalSettings:
    """The local settings beside ``manifest`` (defaults when there is no file).

    :raises ManifestError: with positioned diagnostics when the file is malformed, or when it
        names an observer, service or schedule the manifest does not declare.
    """
    path = path or manifest.root / LOCAL_FILE
    if not path.is_file():
        return LocalSettings()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(
            [Diagnostic("error", f"cannot read {str(path)!r}: {exc.strerror}", str(path), Span.point(1, 1))]
        ) from None
    text = decode_text(raw, str(path), LOCAL_FILE)
    if isinstance(text, Diagnostic):
        raise ManifestError([text])
    source = Source(str(path), text)
    node, data = _read_yaml(source)
    if data is None:
        return LocalSettings()
    if not isinstance(data, dict):
        raise ManifestError(
            [make(source, "error", "expected a mapping of settings at the top level", Span.point(1, 1))]
        )
    try:
        settings = LocalSettings.model_validate(data)
    except ValidationError as exc:
        raise ManifestError([_diagnostic(source, node, err) for err in exc.errors()]) from None
    problems = _cross_check(settings, manifest, source, node)
    if problems:
        raise ManifestError(problems)
    return settings


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 20x faster
#: Settings nest a few levels; deeper YAML is refused before PyYAML, which recurses, reads it.
MAX_YAML_DEPTH = 32
#: Aliases (``*name``) a settings file may use: enough for reuse, too few for an alias bomb.
MAX_YAML_ALIASES = 100


def _read_yaml(source: Source) -> tuple[yaml.Node | None, Any]:
    """The composed node tree (for positions) and the loaded data of ``source``, or a positioned
    ManifestError for any text: malformed YAML, nesting too deep, too many aliases."""

    def fail(message: str, mark: Any) -> ManifestError:
        span = Span.point(mark.line + 1, mark.column + 1) if mark is not None else Span.point(1, 1)
        return ManifestError([make(source, "error", message, span)])

    try:
        depth = aliases = 0
        for event in yaml.parse(source.text, Loader=_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise fail(f"settings nest more than {MAX_YAML_DEPTH} levels deep here", event.start_mark)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_YAML_ALIASES:
                    raise fail(
                        f"more than {MAX_YAML_ALIASES} YAML aliases (*name); write the values out", event.start_mark
                    )
        node = yaml.compose(source.text, Loader=_LOADER)
        data = _LOADER("").construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        raise fail(f"invalid YAML: {exc.problem or exc}", exc.problem_mark) from None
    except yaml.YAMLError as exc:  # a reader error: a character YAML does not allow
        position = getattr(exc, "position", None)
        if isinstance(position, int):
            line = source.text.count("\n", 0, position) + 1
            col = position - (source.text.rfind("\n", 0, position) + 1) + 1
            span = Span.point(line, col)
        else:
            span = Span.point(1, 1)
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        raise ManifestError([make(source, "error", f"invalid YAML: {reason}", span)]) from None
    return node, data


def _diagnostic(source: Source, root: yaml.Node | None, error: Mapping[str, Any]) -> Diagnostic:
    loc = tuple(error["loc"])
    where = ".".join(str(p) for p in loc) or "settings"
    kind = error["type"]
    message = f"unknown setting {where!r}" if kind == "extra_forbidden" else f"{where}: {error['msg']}"
    if kind == "extra_forbidden" and loc:
        from runtime.manifest.schema import closest

        given = str(loc[-1])
        names = sorted(_setting_names())
        # A near spelling, or a stem of a longer name (max_retry is max_retries less "ies"):
        guess = closest(given, names) or next(
            (n for n in names if len(given) >= 5 and n.startswith(given[:-1]) and n != given), None
        )
        if guess:
            message += f"; did you mean {guess!r}?"
    return make(source, "error", message, _span_of(root, loc, key=kind == "extra_forbidden"))


def _setting_names() -> set[str]:
    """Every setting name of every section: what a misspelt one is compared against."""
    return {name for model in _Strict.__subclasses__() for name in model.model_fields}


def _span_of(node: yaml.Node | None, loc: tuple[Any, ...], *, key: bool = False) -> Span:
    """The position of the YAML node at ``loc`` (of its key when ``key``), or of its nearest parent."""
    best = node
    for index, part in enumerate(loc):
        if not isinstance(best, yaml.MappingNode):
            break
        for k, v in best.value:
            if k.value == str(part):
                best = k if (key and index == len(loc) - 1) else v
                break
        else:
            break
    if best is None:
        return Span.point(1, 1)
    start, end = best.start_mark, best.end_mark
    return Span(start.line + 1, start.column + 1, end.line + 1, end.column + 1)


_SINGULAR = {
    "buckets": "bucket",
    "observers": "observer",
    "services": "service",
    "schedules": "schedule",
    "mcp": "mcp_service",
}


def _cross_check(
    settings: LocalSettings, manifest: Manifest, source: Source, node: yaml.Node | None
) -> list[Diagnostic]:
    from runtime.manifest.schema import closest

    app = manifest.application
    problems = []
    declared = {
        "buckets": [b.name for b in app.buckets],
        "observers": [o.name for o in app.observers],
        "services": [s.name for s in app.services],
        "schedules": [s.name for s in app.schedules()],
        "smartsql": [s.name for s in app.stores_of("smartsql")],
        "mcp": [m.name for m in app.mcp_services],
    }
    for section, names in declared.items():
        for name in getattr(settings, section):
            if name not in names:
                guess = closest(name, names)
                hint = f": did you mean {guess!r}?" if guess else ""
                problems.append(
                    make(
                        source,
                        "error",
                        f"{section}.{name}: the manifest declares no {_SINGULAR.get(section, section)} {name!r}{hint}",
                        _span_of(node, (section, name), key=True),
                    )
                )
    from runtime.manifest.model import QueueSource

    for observer in app.observers:
        if isinstance(observer.source, QueueSource):
            queue = observer.source.queue
            if settings.observer(observer.name).dead_queue(queue) == queue:
                problems.append(
                    make(
                        source,
                        "error",
                        f"observers.{observer.name}.dead_letter_queue: queue {queue!r} cannot be its own "
                        "dead-letter queue (messages that fail there would loop forever)",
                        _span_of(node, ("observers", observer.name, "dead_letter_queue")),
                    )
                )
    from runtime.ai.catalog import CATALOG

    for model, chosen in {"default": settings.ai.default, **settings.ai.models}.items():
        where = ("ai", "default") if model == "default" else ("ai", "models", model)
        if model != "default" and model not in CATALOG:
            guess = closest(model, list(CATALOG))
            hint = f": did you mean {guess!r}?" if guess else ""
            problems.append(
                make(
                    source,
                    "error",
                    f"ai.models.{model}: not a model of the platform's catalog{hint}",
                    _span_of(node, where, key=True),
                )
            )
        if chosen.provider == "openai-compatible" and not chosen.base_url:
            problems.append(
                make(
                    source,
                    "error",
                    f"{'.'.join(where)}: the openai-compatible provider needs base_url (for example "
                    "http://127.0.0.1:11434/v1 for Ollama)",
                    _span_of(node, where, key=True),
                )
            )
    return problems


def read_dotenv(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of a ``.env`` file; ``#`` comments, ``export`` and quotes are understood."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def resolve_env(
    variables: tuple[EnvVar, ...] | list[EnvVar],
    *,
    environ: Mapping[str, str] | None = None,
    dotenv: Mapping[str, str] | None = None,
    settings: LocalSettings | None = None,
) -> dict[str, str | None]:
    """Each variable's value: process environment, then ``.env``, then the local settings, then
    the manifest's ``default``; None when none of them sets it."""
    environ = os.environ if environ is None else environ
    dotenv = dotenv or {}
    local = settings.env if settings else {}
    resolved: dict[str, str | None] = {}
    for var in variables:
        name = var.name
        if name in environ:
            resolved[name] = environ[name]
        elif name in dotenv:
            resolved[name] = dotenv[name]
        elif name in local:
            value = local[name]
            resolved[name] = str(value).lower() if isinstance(value, bool) else str(value)
        else:
            resolved[name] = var.default
    return resolved
