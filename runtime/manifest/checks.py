"""From raw blocks to typed models, with every check that needs the whole file.

Checks report diagnostics instead of raising, so that one run lists every mistake. Typos of
known names are errors with "did you mean"; other unknown names are warnings and are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from runtime.cron import cron_error
from runtime.manifest.diagnostics import Diagnostic, Severity, Source, Span, make
from runtime.manifest.model import (
    Actor,
    Application,
    BucketRule,
    BucketSource,
    CodeResource,
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
    binding_name,
)
from runtime.manifest.parser import RawAttribute, RawBlock, Value
from runtime.manifest.schema import APPLICATION, CODE_KINDS, AttrSpec, BlockSpec, closest

Report = Callable[[Severity, str, Span], None]


def _type_name(value: Value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _visibility(values: dict[str, Value], default: Visibility | None = "private") -> Any:
    # Only called after value_ok() checked the value against VISIBILITIES.
    return values.get("visibility", default)


def _quoted(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


class _Checker:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    def report(self, severity: Severity, message: str, span: Span) -> None:
        self.diagnostics.append(make(self.source, severity, message, span))

    # -- shape: labels, attributes, nested blocks ---------------------------------------------

    def shape(self, block: RawBlock, spec: BlockSpec, where: str) -> dict[str, RawAttribute]:
        """Check ``block`` against ``spec``; returns its known, well-typed attributes by name."""
        what = self.describe(block)
        if spec.labels == 1 and not block.labels:
            self.report("error", f'{block.kind} block needs a name: write {block.kind} "name" {{ ... }}', block.span)
        elif len(block.labels) > spec.labels:
            extra = block.label_span(spec.labels)
            expected = "no label" if spec.labels == 0 else "one label"
            self.report("error", f"{block.kind} takes {expected}, found {len(block.labels)}", extra)
        seen: dict[str, RawAttribute] = {}
        for attribute in block.attributes:
            name = attribute.name
            if name in seen:
                self.report(
                    "error",
                    f"attribute {name!r} of {what} is set twice (first on line {seen[name].span.line})",
                    attribute.span,
                )
                continue
            attr_spec = spec.attributes.get(name)
            if attr_spec is None:
                self.unknown("attribute", name, what, attribute.span, [*spec.attributes, *spec.blocks])
                continue
            if self.value_ok(attribute, attr_spec, what):
                seen[name] = attribute
        for child in block.blocks:
            if child.kind not in spec.blocks:
                self.unknown("block", child.kind, what, child.span, [*spec.blocks, *spec.attributes])
        return seen

    def unknown(self, thing: str, name: str, where: str, span: Span, known: list[str]) -> None:
        guess = closest(name, known)
        if guess is not None:
            self.report("error", f"unknown {thing} {name!r} in {where}: did you mean {guess!r}?", span)
        else:
            self.report("warning", f"unknown {thing} {name!r} in {where} is ignored", span)

    def value_ok(self, attribute: RawAttribute, spec: AttrSpec, where: str) -> bool:
        value = attribute.value
        name = attribute.name
        expected = {
            "string": "a string",
            "bool": "true or false",
            "int": "a whole number",
            "list[string]": "a list of strings",
        }[spec.kind]
        good = {
            "string": isinstance(value, str),
            "bool": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "list[string]": isinstance(value, list) and all(isinstance(v, str) for v in value),
        }[spec.kind]
        if not good:
            self.report(
                "error", f"{name!r} of {where} must be {expected}, found {_type_name(value)}", attribute.value_span
            )
            return False
        if spec.choices:
            values = value if isinstance(value, list) else [value]
            for item in values:
                assert isinstance(item, str)
                if item not in spec.choices:
                    guess = closest(item, spec.choices)
                    hint = f": did you mean {guess!r}?" if guess else ""
                    self.report(
                        "error",
                        f"{name!r} of {where} must be one of {_quoted(spec.choices)}, not {item!r}{hint}",
                        attribute.value_span,
                    )
                    return False
        return True

    @staticmethod
    def describe(block: RawBlock) -> str:
        return f'{block.kind} "{block.labels[0]}"' if block.labels else block.kind


def build(source: Source, blocks: list[RawBlock], root: Path) -> tuple[Application | None, list[Diagnostic]]:
    """Typed models for ``blocks`` and every diagnostic found on the way."""
    checker = _Checker(source)
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
        _cross_checks(checker, app, app_block)
    return app, checker.diagnostics


class _Assembler:
    """Builds each resource model from its block; invalid blocks are reported and skipped."""

    def __init__(self, checker: _Checker, root: Path) -> None:
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


def _cross_checks(checker: _Checker, app: Application, block: RawBlock) -> None:
    report = checker.report
    # Names are unique per kind; bindings are unique across kinds, since env holds one of each.
    first: dict[tuple[str, str], Span] = {}
    bindings: dict[str, tuple[str, str, Span]] = {}
    for resource in app.resources():
        scope = getattr(resource, "service", None) or ""
        key = (resource.kind + scope, resource.name)
        if key in first:
            report(
                "error",
                f'{resource.kind} "{resource.name}" is declared twice (first on line {first[key].line})',
                resource.span,
            )
            continue
        first[key] = resource.span
        if scope:
            continue
        binding = binding_name(resource.name)
        if binding in bindings and bindings[binding][0] != resource.kind:
            other_kind, other_name, other_span = bindings[binding]
            report(
                "error",
                f'{resource.kind} "{resource.name}" and {other_kind} "{other_name}" (line {other_span.line}) '
                f"would both be bound to env.{binding}: rename one",
                resource.span,
            )
        bindings.setdefault(binding, (resource.kind, resource.name, resource.span))

    queues = [q.name for q in app.queues]
    buckets = [b.name for b in app.buckets]
    queue_names, bucket_names = set(queues), set(buckets)  # membership in constant time: manifests can be long
    readers: dict[str, str] = {}
    for observer in app.observers:
        source = observer.source
        if isinstance(source, QueueSource):
            if source.queue not in queue_names:
                guess = closest(source.queue, queues)
                hint = (
                    f": did you mean {guess!r}?"
                    if guess
                    else (f" (declared queues: {_quoted(queues)})" if queues else ': declare it with queue "name" {}')
                )
                report("error", f'observer "{observer.name}" reads unknown queue "{source.queue}"{hint}', source.span)
            elif source.queue in readers:
                report(
                    "error",
                    f'queue "{source.queue}" already has observer "{readers[source.queue]}": a queue has only one observer',
                    source.span,
                )
            else:
                readers[source.queue] = observer.name
        elif isinstance(source, BucketSource) and source.bucket not in bucket_names:
            guess = closest(source.bucket, buckets)
            hint = f": did you mean {guess!r}?" if guess else ""
            report("error", f'observer "{observer.name}" reads unknown bucket "{source.bucket}"{hint}', source.span)
    observers = {o.name: o for o in app.observers}
    for schedule in app.schedules():
        problem = cron_error(schedule.cron)
        if problem:
            span = schedule.span
            if schedule.kind == "observer":
                span = observers[schedule.name].source.span
            else:
                span = _attribute_span(block, "task", schedule.name, "cron") or span
            report("error", f'{schedule.kind} "{schedule.name}": {problem}', span)


def _attribute_span(app: RawBlock, kind: str, name: str, attribute: str) -> Span | None:
    for child in app.blocks:
        if child.kind == kind and child.labels[:1] == (name,):
            for attr in child.attributes:
                if attr.name == attribute:
                    return attr.value_span
    return None


def handler_diagnostics(source: Source, app: Application, root: Path, severity: Severity) -> list[Diagnostic]:
    """A diagnostic for each code-bearing block with neither a Python handler file nor a
    TypeScript module (``src/<name>/index.ts``)."""
    from runtime.typescript import typescript_file

    found: list[Diagnostic] = []
    for resource in app.code_resources():
        path = root / resource.handler
        if not path.is_file() and typescript_file(resource, root) is None:
            found.append(make(source, severity, _missing_handler(resource), resource.span))
    return found


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _missing_handler(resource: CodeResource) -> str:
    if isinstance(resource, Actor):
        detail = f"class {resource.class_name}(Actor)"
    elif isinstance(resource, Observer):
        base = "Task" if isinstance(resource.source, ScheduleSource) else "Each or Batch"
        detail = f"a subclass of {base}"
    elif resource.kind == "mcp_service":
        detail = "implementation = {...} and def register(server, env, state)"
    else:
        detail = f"a subclass of {CODE_KINDS[resource.kind]}"
    how = (
        ""
        if resource.handler_declared
        else f' (the default for {_article(resource.kind)} {resource.kind}; set handler = "..." to use another file)'
    )
    return (
        f'{resource.kind} "{resource.name}": handler file {resource.handler} does not exist{how}; '
        f"it should hold {detail}, or write the handler in TypeScript as src/{resource.name}/index.ts"
    )
