"""From raw blocks to typed models: each block's shape is checked (``shape.py``), its model
built here, and the whole application checked across resources (``references.py``).

Checks report diagnostics instead of raising, so that one run lists every mistake. Typos of
known names are errors with "did you mean"; other unknown names are warnings and are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from runtime.manifest.diagnostics import Diagnostic, Source, Span
from runtime.manifest.model import (
    Actor,
    Application,
    BucketRule,
    BucketSource,
    Domain,
    EnvVar,
    McpService,
    Observer,
    QueueSource,
    ScheduleSource,
    Service,
    Store,
    Task,
    Visibility,
)
from runtime.manifest.parser import RawAttribute, RawBlock, Value
from runtime.manifest.references import cross_checks
from runtime.manifest.schema import APPLICATION, closest
from runtime.manifest.shape import Checker


def _visibility(values: dict[str, Value], default: Visibility | None = "private") -> Any:
    # Only called after value_ok() checked the value against VISIBILITIES.
    return values.get("visibility", default)


def build(source: Source, blocks: list[RawBlock], root: Path) -> tuple[Application | None, list[Diagnostic]]:
    """Typed models for ``blocks`` and every diagnostic found on the way."""
    checker = Checker(source)
    applications = [b for b in blocks if b.kind == "application"]
    for block in blocks:
        if block.kind != "application":
            guess = closest(block.kind, ["application"])
            hint = " (did you mean 'application'?)" if guess else ""
            checker.report(
                "error",
                f'unexpected {block.kind!r} block at the top level{hint}: a manifest holds one application "name" {{ ... }}'
                " block with every resource inside it",
                block.span,
            )
    if not applications:
        if not blocks:
            checker.report("error", 'the manifest is empty: expected application "name" { ... }', Span.point(1, 1))
        return None, checker.diagnostics
    for extra in applications[1:]:
        checker.report(
            "error",
            f"a manifest holds one application block; another one starts here (the first is on line {applications[0].span.line})",
            extra.span,
        )
    app_block = applications[0]
    checker.shape(app_block, APPLICATION, checker.describe(app_block))
    app = _Assembler(checker, root).application(app_block)
    if app is not None:
        cross_checks(checker, app, app_block)
    return app, checker.diagnostics


class _Assembler:
    """Builds each resource model from its block; invalid blocks are reported and skipped."""

    def __init__(self, checker: Checker, root: Path) -> None:
        self.checker = checker
        self.root = root

    def application(self, block: RawBlock) -> Application | None:
        parts: dict[str, list[Any]] = {
            "services": [],
            "mcp_services": [],
            "actors": [],
            "observers": [],
            "tasks": [],
            "stores": [],
            "env": [],
        }
        for child in block.blocks:
            spec = APPLICATION.blocks.get(child.kind)
            if spec is None:
                continue
            attrs = self.checker.shape(child, spec, self.checker.describe(child))
            if not child.labels:
                continue
            built = self.resource(child, attrs)
            if built is None:
                continue
            key = {
                "service": "services",
                "mcp_service": "mcp_services",
                "actor": "actors",
                "observer": "observers",
                "task": "tasks",
                "env": "env",
            }.get(child.kind, "stores")
            parts[key].append(built)
        return Application(
            name=block.labels[0] if block.labels else "app",
            span=block.span,
            **{k: tuple(v) for k, v in parts.items()},
        )

    def handler(self, block: RawBlock, attrs: dict[str, RawAttribute]) -> dict[str, Any]:
        declared = attrs.get("handler")
        if declared is not None:
            assert isinstance(declared.value, str)
            return {"handler": declared.value, "handler_declared": True}
        folder = "handlers" if block.kind in ("service", "mcp_service") else "workers"
        return {"handler": f"{folder}/{block.labels[0].replace('-', '_')}.py"}

    def resource(self, block: RawBlock, attrs: dict[str, RawAttribute]) -> Any:
        name = block.labels[0]
        common: dict[str, Any] = {"name": name, "span": block.label_span(0)}
        values = {k: a.value for k, a in attrs.items()}
        kind = block.kind
        if kind == "env":
            return self.env(block, values, None)
        if kind == "service":
            domain = self.domain(block)
            if domain is None and isinstance(values.get("domain"), str):
                domain = Domain(span=attrs["domain"].value_span, fqdn=str(values["domain"]))
            envs = tuple(self.env(b, self.env_values(b), name) for b in block.blocks if b.kind == "env" and b.labels)
            return Service(
                **common,
                **self.handler(block, attrs),
                visibility=_visibility(values),
                visibility_declared="visibility" in values,
                domain=domain,
                env=envs,
            )
        if kind == "mcp_service":
            return McpService(**common, **self.handler(block, attrs), visibility=_visibility(values))
        if kind == "actor":
            return Actor(**common, **self.handler(block, attrs), visibility=_visibility(values))
        if kind == "observer":
            source = self.source(block)
            if source is None:
                return None
            return Observer(**common, **self.handler(block, attrs), source=source)
        if kind == "task":
            return self.task(block, attrs, common)
        if kind == "vector_index":
            dimensions = values.get("dimensions")
            if isinstance(dimensions, int) and not 1 <= dimensions <= 1536:
                self.checker.report(
                    "error",
                    f'vector_index "{name}": dimensions is from 1 to 1536 (the platform\'s limit), not {dimensions}',
                    attrs["dimensions"].value_span,
                )
            metric = values.get("metric")
            return Store(
                **common,
                kind="vector_index",
                dimensions=dimensions if isinstance(dimensions, int) else None,
                metric=metric if isinstance(metric, str) else None,
            )
        return Store(**common, kind=cast(Any, kind), visibility=_visibility(values, None))

    def env_values(self, block: RawBlock) -> dict[str, Value]:
        from runtime.manifest.schema import ENV

        attrs = self.checker.shape(block, ENV, self.checker.describe(block))
        return {k: a.value for k, a in attrs.items()}

    def env(self, block: RawBlock, values: dict[str, Value], service: str | None) -> EnvVar:
        default = values.get("default")
        return EnvVar(
            name=block.labels[0],
            span=block.label_span(0),
            secret=bool(values.get("secret", False)),
            default=default if isinstance(default, str) else None,
            service=service,
        )

    def domain(self, block: RawBlock) -> Domain | None:
        from runtime.manifest.schema import DOMAIN

        for child in block.blocks:
            if child.kind == "domain":
                attrs = self.checker.shape(child, DOMAIN, f"domain of {self.checker.describe(block)}")
                cname, fqdn = attrs.get("cname"), attrs.get("fqdn")
                return Domain(
                    span=child.span,
                    cname=str(cname.value) if cname else None,
                    fqdn=str(fqdn.value) if fqdn else None,
                )
        return None

    def source(self, block: RawBlock) -> QueueSource | BucketSource | ScheduleSource | None:
        from runtime.manifest.schema import RULE, SOURCE

        what = self.checker.describe(block)
        sources = [b for b in block.blocks if b.kind == "source"]
        if not sources:
            self.checker.report(
                "error",
                f'{what} needs a source: source {{ queue = "..." }}, source {{ bucket = "..." }} or source {{ schedule = "..." }}',
                block.label_span(0),
            )
            return None
        for extra in sources[1:]:
            self.checker.report(
                "error", f"{what} has more than one source block; an observer reads one source", extra.span
            )
        src = sources[0]
        attrs = self.checker.shape(src, SOURCE, f"source of {what}")
        given = [k for k in ("queue", "bucket", "schedule") if k in attrs]
        if len(given) != 1:
            message = f"source of {what} must name exactly one of queue, bucket or schedule" + (
                f", found {', '.join(given)}" if given else ""
            )
            self.checker.report("error", message, src.span)
            return None
        key = given[0]
        value = str(attrs[key].value)
        rules = [b for b in src.blocks if b.kind == "rule"]
        if rules and key != "bucket":
            self.checker.report(
                "error", f"rule blocks belong to bucket sources; the source of {what} reads a {key}", rules[0].span
            )
        if key == "queue":
            return QueueSource(span=attrs[key].value_span, queue=value)
        if key == "schedule":
            return ScheduleSource(span=attrs[key].value_span, schedule=value)
        built_rules = []
        for rule in rules:
            rule_attrs = self.checker.shape(rule, RULE, f"rule of {what}")
            actions = rule_attrs.get("actions")
            prefix = rule_attrs.get("prefix")
            built_rules.append(
                BucketRule(
                    span=rule.span,
                    actions=tuple(str(a) for a in actions.value) if actions and isinstance(actions.value, list) else (),
                    prefix=str(prefix.value) if prefix else None,
                )
            )
        return BucketSource(span=attrs[key].value_span, bucket=value, rules=tuple(built_rules))

    def task(self, block: RawBlock, attrs: dict[str, RawAttribute], common: dict[str, Any]) -> Task | None:
        what = self.checker.describe(block)
        if "type" not in attrs and not any(a.name == "type" for a in block.attributes):
            self.checker.report("error", f'{what} needs type = "cron"', block.label_span(0))
        if "cron" not in attrs:
            if not any(a.name == "cron" for a in block.attributes):
                self.checker.report("error", f'{what} needs a schedule: cron = "0 3 * * *"', block.label_span(0))
            return None
        return Task(**common, **self.handler(block, attrs), cron=str(attrs["cron"].value))
